// The graph IR: values (tensors), nodes (operations) and their attributes.
//
// Operations are named like ONNX operators where ONNX has one ("Conv", "Relu", "Gather"), with ONNX's
// newest semantics and attribute names, normalized so that every attribute a kernel needs is explicit
// (e.g. Conv keeps ONNX's auto_pad, resolved from the actual input shape). Operations that ONNX lacks have
// kiln names (documented in docs/ir.md). Shapes use -1 for an extent unknown until run time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/types.h"

namespace kiln::ir {

using Shape = std::vector<int64_t>;

//! Number of elements; -1 if any extent is unknown. Throws kiln::Error on overflow.
int64_t numElements(const Shape& shape);
std::string shapeToString(const Shape& shape);
Shape shapeFromDims(const Dims& dims);
//! Throws kiln::Error if the rank exceeds Dims::MAX_DIMS.
Dims dimsFromShape(const Shape& shape);

//! Immutable bytes for constants: 64-byte-aligned owned memory, or a view into memory kept alive by an
//! owner (an mmapped plan file).
class Blob {
 public:
  //! Zero-filled. Throws kiln::Error(kFAILED_ALLOCATION).
  static std::shared_ptr<Blob> allocate(std::size_t bytes);
  static std::shared_ptr<Blob> copyOf(const void* data, std::size_t bytes);
  static std::shared_ptr<Blob> view(const void* data, std::size_t bytes, std::shared_ptr<const void> owner);
  ~Blob();
  Blob(const Blob&) = delete;
  Blob& operator=(const Blob&) = delete;
  const void* data() const noexcept { return data_; }
  //! Only for blobs made by allocate() and not yet shared.
  void* mutableData() noexcept { return owned_ ? data_ : nullptr; }
  std::size_t size() const noexcept { return size_; }

 private:
  Blob() = default;
  void* data_{nullptr};
  std::size_t size_{0};
  bool owned_{false};
  std::shared_ptr<const void> owner_;
};

//! A constant tensor (dense, row-major).
struct TensorData {
  DataType dtype{DataType::kFLOAT};
  Shape shape;
  std::shared_ptr<const Blob> blob;

  int64_t numel() const { return numElements(shape); }
  std::size_t byteSize() const;
  const void* raw() const noexcept { return blob ? blob->data() : nullptr; }
  template <class T>
  const T* as() const noexcept {
    return static_cast<const T*>(raw());
  }
  //! Element i converted to int64 / double (any numeric type; bool too). Bounds are the caller's job.
  int64_t intAt(int64_t i) const;
  double floatAt(int64_t i) const;
  //! All elements as int64 (for shape-like tensors).
  std::vector<int64_t> toInts() const;
};

//! Makes a new constant of the given type and shape from raw bytes (copied). Throws on size mismatch.
std::shared_ptr<TensorData> makeTensor(DataType dtype, Shape shape, const void* data, std::size_t bytes);
//! A zero-filled constant, writable through `out` until shared.
std::shared_ptr<TensorData> makeTensor(DataType dtype, Shape shape, void** out);
std::shared_ptr<TensorData> makeInt64Tensor(const std::vector<int64_t>& values, Shape shape);
std::shared_ptr<TensorData> makeFloatTensor(const std::vector<float>& values, Shape shape);

class Graph;

struct Attr {
  enum class Kind : uint8_t { kINT, kFLOAT, kSTRING, kINTS, kFLOATS, kSTRINGS, kTENSOR, kGRAPH };
  Kind kind{Kind::kINT};
  int64_t i{0};
  double f{0};
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::shared_ptr<const TensorData> tensor;
  std::shared_ptr<const Graph> graph;
};

//! Node attributes, ordered by name (so serialization is deterministic).
class Attributes {
 public:
  bool has(const std::string& name) const { return map_.count(name) != 0; }
  const Attr* find(const std::string& name) const;
  void erase(const std::string& name) { map_.erase(name); }
  const std::map<std::string, Attr>& all() const noexcept { return map_; }

  // Getters with defaults; throw kiln::Error if present with another kind.
  int64_t getInt(const std::string& name, int64_t def) const;
  double getFloat(const std::string& name, double def) const;
  std::string getString(const std::string& name, const std::string& def) const;
  std::vector<int64_t> getInts(const std::string& name, const std::vector<int64_t>& def = {}) const;
  std::vector<double> getFloats(const std::string& name, const std::vector<double>& def = {}) const;
  std::shared_ptr<const TensorData> getTensor(const std::string& name) const;  // nullptr if absent
  // Required getters: throw kiln::Error naming the attribute if absent.
  int64_t requireInt(const std::string& name) const;
  std::vector<int64_t> requireInts(const std::string& name) const;

  void setInt(const std::string& name, int64_t v);
  void setFloat(const std::string& name, double v);
  void setString(const std::string& name, std::string v);
  void setInts(const std::string& name, std::vector<int64_t> v);
  void setFloats(const std::string& name, std::vector<double> v);
  void setStrings(const std::string& name, std::vector<std::string> v);
  void setTensor(const std::string& name, std::shared_ptr<const TensorData> t);
  void setGraph(const std::string& name, std::shared_ptr<const Graph> g);
  void set(const std::string& name, Attr a) { map_[name] = std::move(a); }

 private:
  std::map<std::string, Attr> map_;
};

struct Node;

struct Value {
  int32_t id{0};  //!< index into Graph::values (dense; see Graph::compact)
  std::string name;
  DataType dtype{DataType::kFLOAT};
  Shape shape;
  Node* producer{nullptr};
  int32_t producerOutput{0};
  std::shared_ptr<const TensorData> constant;  //!< set for constants (weights, folded values)

  bool isConstant() const noexcept { return constant != nullptr; }
};

struct Node {
  int32_t id{0};
  std::string name;
  std::string op;
  std::vector<Value*> inputs;  //!< nullptr for an omitted optional input
  std::vector<Value*> outputs;
  Attributes attrs;
  //! Names of the source nodes (ONNX nodes or network layers) this node was made from; kept by passes.
  std::vector<std::string> origins;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  Value* addValue(const std::string& name, DataType dtype, Shape shape);
  Value* addConstant(const std::string& name, std::shared_ptr<const TensorData> data);
  //! Adds a node with fresh output values named "<name>_out<i>" (rename them as needed).
  Node* addNode(const std::string& op, const std::string& name, std::vector<Value*> inputs, int numOutputs);
  //! Adds a node producing the given existing (producer-less) values.
  Node* addNodeWithOutputs(const std::string& op, const std::string& name, std::vector<Value*> inputs,
                           std::vector<Value*> outputs);

  //! A name not used by any value or node yet, based on `base`.
  std::string uniqueName(const std::string& base);
  Value* findValue(const std::string& name) const;

  //! Replaces every use of `from` (node inputs and graph outputs) with `to`.
  void replaceAllUses(Value* from, Value* to);
  //! Nodes that read `v` (in node order).
  std::vector<Node*> consumers(const Value* v) const;
  //! Removes a node; its outputs stay as producer-less values (remove them with compact()).
  void removeNode(Node* node);
  //! Removes values that nothing produces, reads or exports (except graph inputs) and renumbers ids.
  void compact();
  //! Sorts nodes topologically (stable: keeps insertion order where possible). Throws on a cycle.
  void topologicalSort();
  //! Deep copy (constants share their immutable blobs). Values and nodes keep their ids and order.
  std::unique_ptr<Graph> clone() const;
  //! Checks internal consistency (ids, producers, use-before-def). Throws kiln::Error on the first fault.
  void verify() const;

  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<std::unique_ptr<Value>> values;
  std::vector<Value*> inputs;
  std::vector<Value*> outputs;
  std::string name;

 private:
  void renumber();
  std::map<std::string, int> nameCounters_;
};

}  // namespace kiln::ir
