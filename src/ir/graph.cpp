#include "ir/graph.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/dtype.h"

namespace kiln::ir {

int64_t numElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > INT64_MAX / d) throw Error(ErrorCode::kINVALID_ARGUMENT, "shape " + shapeToString(shape) + " has more than 2^63 elements");
    n *= d;
  }
  return n;
}

std::string shapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return s + "]";
}

Shape shapeFromDims(const Dims& dims) {
  if (dims.nbDims < 0 || dims.nbDims > Dims::MAX_DIMS)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "invalid Dims: nbDims = " + std::to_string(dims.nbDims));
  return Shape(dims.d, dims.d + dims.nbDims);
}

Dims dimsFromShape(const Shape& shape) {
  if (shape.size() > static_cast<size_t>(Dims::MAX_DIMS))
    throw Error(ErrorCode::kUNSUPPORTED_STATE, "rank " + std::to_string(shape.size()) + " exceeds Dims::MAX_DIMS");
  Dims d;
  d.nbDims = static_cast<int32_t>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) d.d[i] = shape[i];
  return d;
}

// ---------------------------------------------------------------------------------------------------------
// Blob

std::shared_ptr<Blob> Blob::allocate(std::size_t bytes) {
  std::shared_ptr<Blob> b(new Blob());
  std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error(ErrorCode::kFAILED_ALLOCATION, "cannot allocate " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, rounded);
  b->data_ = p;
  b->size_ = bytes;
  b->owned_ = true;
  return b;
}

std::shared_ptr<Blob> Blob::copyOf(const void* data, std::size_t bytes) {
  auto b = allocate(bytes);
  if (bytes) std::memcpy(b->data_, data, bytes);
  return b;
}

std::shared_ptr<Blob> Blob::view(const void* data, std::size_t bytes, std::shared_ptr<const void> owner) {
  std::shared_ptr<Blob> b(new Blob());
  b->data_ = const_cast<void*>(data);
  b->size_ = bytes;
  b->owner_ = std::move(owner);
  return b;
}

Blob::~Blob() {
  if (owned_) std::free(data_);
}

// ---------------------------------------------------------------------------------------------------------
// TensorData

std::size_t TensorData::byteSize() const {
  int64_t n = numel();
  if (n < 0) return 0;
  return static_cast<std::size_t>(n) * dataTypeSize(dtype);
}

int64_t TensorData::intAt(int64_t i) const {
  return dispatchType(dtype, [&](auto t) -> int64_t {
    using T = decltype(t);
    T v = static_cast<const T*>(raw())[i];
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      return static_cast<int64_t>(static_cast<float>(v));
    else
      return static_cast<int64_t>(v);
  });
}

double TensorData::floatAt(int64_t i) const {
  return dispatchType(dtype, [&](auto t) -> double {
    using T = decltype(t);
    T v = static_cast<const T*>(raw())[i];
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      return static_cast<double>(static_cast<float>(v));
    else
      return static_cast<double>(v);
  });
}

std::vector<int64_t> TensorData::toInts() const {
  int64_t n = numel();
  std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = intAt(i);
  return out;
}

std::shared_ptr<TensorData> makeTensor(DataType dtype, Shape shape, const void* data, std::size_t bytes) {
  auto t = std::make_shared<TensorData>();
  t->dtype = dtype;
  t->shape = std::move(shape);
  int64_t n = numElements(t->shape);
  if (n < 0) throw Error(ErrorCode::kINVALID_ARGUMENT, "constant with unknown shape " + shapeToString(t->shape));
  std::size_t need = static_cast<std::size_t>(n) * dataTypeSize(dtype);
  if (need != bytes)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "constant of shape " + shapeToString(t->shape) + " and type " +
                                                  dataTypeName(dtype) + " needs " + std::to_string(need) +
                                                  " bytes, got " + std::to_string(bytes));
  t->blob = Blob::copyOf(data, bytes);
  return t;
}

std::shared_ptr<TensorData> makeTensor(DataType dtype, Shape shape, void** out) {
  auto t = std::make_shared<TensorData>();
  t->dtype = dtype;
  t->shape = std::move(shape);
  int64_t n = numElements(t->shape);
  if (n < 0) throw Error(ErrorCode::kINVALID_ARGUMENT, "constant with unknown shape " + shapeToString(t->shape));
  auto blob = Blob::allocate(static_cast<std::size_t>(n) * dataTypeSize(dtype));
  *out = blob->mutableData();
  t->blob = std::move(blob);
  return t;
}

std::shared_ptr<TensorData> makeInt64Tensor(const std::vector<int64_t>& values, Shape shape) {
  return makeTensor(DataType::kINT64, std::move(shape), values.data(), values.size() * sizeof(int64_t));
}

std::shared_ptr<TensorData> makeFloatTensor(const std::vector<float>& values, Shape shape) {
  return makeTensor(DataType::kFLOAT, std::move(shape), values.data(), values.size() * sizeof(float));
}

// ---------------------------------------------------------------------------------------------------------
// Attributes

namespace {
const char* kindName(Attr::Kind k) {
  switch (k) {
    case Attr::Kind::kINT: return "int";
    case Attr::Kind::kFLOAT: return "float";
    case Attr::Kind::kSTRING: return "string";
    case Attr::Kind::kINTS: return "ints";
    case Attr::Kind::kFLOATS: return "floats";
    case Attr::Kind::kSTRINGS: return "strings";
    case Attr::Kind::kTENSOR: return "tensor";
    case Attr::Kind::kGRAPH: return "graph";
  }
  return "?";
}

[[noreturn]] void wrongKind(const std::string& name, const Attr& a, Attr::Kind want) {
  throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("attribute '") + name + "' is " + kindName(a.kind) +
                                                ", expected " + kindName(want));
}
}  // namespace

const Attr* Attributes::find(const std::string& name) const {
  auto it = map_.find(name);
  return it == map_.end() ? nullptr : &it->second;
}

int64_t Attributes::getInt(const std::string& name, int64_t def) const {
  const Attr* a = find(name);
  if (!a) return def;
  if (a->kind == Attr::Kind::kFLOAT) return static_cast<int64_t>(a->f);
  if (a->kind != Attr::Kind::kINT) wrongKind(name, *a, Attr::Kind::kINT);
  return a->i;
}

double Attributes::getFloat(const std::string& name, double def) const {
  const Attr* a = find(name);
  if (!a) return def;
  if (a->kind == Attr::Kind::kINT) return static_cast<double>(a->i);
  if (a->kind != Attr::Kind::kFLOAT) wrongKind(name, *a, Attr::Kind::kFLOAT);
  return a->f;
}

std::string Attributes::getString(const std::string& name, const std::string& def) const {
  const Attr* a = find(name);
  if (!a) return def;
  if (a->kind != Attr::Kind::kSTRING) wrongKind(name, *a, Attr::Kind::kSTRING);
  return a->s;
}

std::vector<int64_t> Attributes::getInts(const std::string& name, const std::vector<int64_t>& def) const {
  const Attr* a = find(name);
  if (!a) return def;
  if (a->kind != Attr::Kind::kINTS) wrongKind(name, *a, Attr::Kind::kINTS);
  return a->ints;
}

std::vector<double> Attributes::getFloats(const std::string& name, const std::vector<double>& def) const {
  const Attr* a = find(name);
  if (!a) return def;
  if (a->kind != Attr::Kind::kFLOATS) wrongKind(name, *a, Attr::Kind::kFLOATS);
  return a->floats;
}

std::shared_ptr<const TensorData> Attributes::getTensor(const std::string& name) const {
  const Attr* a = find(name);
  if (!a) return nullptr;
  if (a->kind != Attr::Kind::kTENSOR) wrongKind(name, *a, Attr::Kind::kTENSOR);
  return a->tensor;
}

int64_t Attributes::requireInt(const std::string& name) const {
  if (!has(name)) throw Error(ErrorCode::kINVALID_ARGUMENT, "missing attribute '" + name + "'");
  return getInt(name, 0);
}

std::vector<int64_t> Attributes::requireInts(const std::string& name) const {
  if (!has(name)) throw Error(ErrorCode::kINVALID_ARGUMENT, "missing attribute '" + name + "'");
  return getInts(name);
}

void Attributes::setInt(const std::string& name, int64_t v) {
  Attr a;
  a.kind = Attr::Kind::kINT;
  a.i = v;
  map_[name] = std::move(a);
}
void Attributes::setFloat(const std::string& name, double v) {
  Attr a;
  a.kind = Attr::Kind::kFLOAT;
  a.f = v;
  map_[name] = std::move(a);
}
void Attributes::setString(const std::string& name, std::string v) {
  Attr a;
  a.kind = Attr::Kind::kSTRING;
  a.s = std::move(v);
  map_[name] = std::move(a);
}
void Attributes::setInts(const std::string& name, std::vector<int64_t> v) {
  Attr a;
  a.kind = Attr::Kind::kINTS;
  a.ints = std::move(v);
  map_[name] = std::move(a);
}
void Attributes::setFloats(const std::string& name, std::vector<double> v) {
  Attr a;
  a.kind = Attr::Kind::kFLOATS;
  a.floats = std::move(v);
  map_[name] = std::move(a);
}
void Attributes::setStrings(const std::string& name, std::vector<std::string> v) {
  Attr a;
  a.kind = Attr::Kind::kSTRINGS;
  a.strings = std::move(v);
  map_[name] = std::move(a);
}
void Attributes::setTensor(const std::string& name, std::shared_ptr<const TensorData> t) {
  Attr a;
  a.kind = Attr::Kind::kTENSOR;
  a.tensor = std::move(t);
  map_[name] = std::move(a);
}
void Attributes::setGraph(const std::string& name, std::shared_ptr<const Graph> g) {
  Attr a;
  a.kind = Attr::Kind::kGRAPH;
  a.graph = std::move(g);
  map_[name] = std::move(a);
}

// ---------------------------------------------------------------------------------------------------------
// Graph

std::string Graph::uniqueName(const std::string& base) {
  std::string b = base.empty() ? std::string("t") : base;
  auto taken = [&](const std::string& n) {
    if (findValue(n)) return true;
    for (const auto& node : nodes)
      if (node->name == n) return true;
    return false;
  };
  int& counter = nameCounters_[b];
  if (counter == 0 && !taken(b)) {
    counter = 1;
    return b;
  }
  for (;;) {
    std::string n = b + "_" + std::to_string(counter++);
    if (!taken(n)) return n;
  }
}

Value* Graph::findValue(const std::string& n) const {
  for (const auto& v : values)
    if (v->name == n) return v.get();
  return nullptr;
}

Value* Graph::addValue(const std::string& name, DataType dtype, Shape shape) {
  auto v = std::make_unique<Value>();
  v->id = static_cast<int32_t>(values.size());
  v->name = name;
  v->dtype = dtype;
  v->shape = std::move(shape);
  values.push_back(std::move(v));
  return values.back().get();
}

Value* Graph::addConstant(const std::string& name, std::shared_ptr<const TensorData> data) {
  Value* v = addValue(name, data->dtype, data->shape);
  v->constant = std::move(data);
  return v;
}

Node* Graph::addNode(const std::string& op, const std::string& name, std::vector<Value*> ins, int numOutputs) {
  std::vector<Value*> outs;
  for (int i = 0; i < numOutputs; ++i) outs.push_back(addValue(name + "_out" + std::to_string(i), DataType::kFLOAT, {}));
  return addNodeWithOutputs(op, name, std::move(ins), std::move(outs));
}

Node* Graph::addNodeWithOutputs(const std::string& op, const std::string& name, std::vector<Value*> ins,
                                std::vector<Value*> outs) {
  auto n = std::make_unique<Node>();
  n->id = static_cast<int32_t>(nodes.size());
  n->op = op;
  n->name = name;
  n->inputs = std::move(ins);
  n->outputs = std::move(outs);
  for (size_t i = 0; i < n->outputs.size(); ++i) {
    n->outputs[i]->producer = n.get();
    n->outputs[i]->producerOutput = static_cast<int32_t>(i);
  }
  nodes.push_back(std::move(n));
  return nodes.back().get();
}

void Graph::replaceAllUses(Value* from, Value* to) {
  for (auto& n : nodes)
    for (auto& in : n->inputs)
      if (in == from) in = to;
  for (auto& o : outputs)
    if (o == from) o = to;
}

std::vector<Node*> Graph::consumers(const Value* v) const {
  std::vector<Node*> out;
  for (const auto& n : nodes)
    for (const Value* in : n->inputs)
      if (in == v) {
        out.push_back(n.get());
        break;
      }
  return out;
}

void Graph::removeNode(Node* node) {
  for (Value* o : node->outputs)
    if (o->producer == node) o->producer = nullptr;
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const auto& p) { return p.get() == node; });
  if (it != nodes.end()) nodes.erase(it);
  renumber();
}

void Graph::renumber() {
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i]->id = static_cast<int32_t>(i);
  for (size_t i = 0; i < values.size(); ++i) values[i]->id = static_cast<int32_t>(i);
}

void Graph::compact() {
  std::unordered_set<const Value*> used(inputs.begin(), inputs.end());
  used.insert(outputs.begin(), outputs.end());
  for (const auto& n : nodes) {
    for (const Value* v : n->inputs)
      if (v) used.insert(v);
    for (const Value* v : n->outputs) used.insert(v);
  }
  values.erase(std::remove_if(values.begin(), values.end(), [&](const auto& v) { return !used.count(v.get()); }),
               values.end());
  renumber();
}

void Graph::topologicalSort() {
  std::unordered_map<const Node*, int> pending;
  std::unordered_map<const Value*, std::vector<Node*>> readers;
  for (const auto& n : nodes) {
    int deps = 0;
    std::unordered_set<const Value*> seen;
    for (const Value* v : n->inputs) {
      if (!v || !v->producer || !seen.insert(v).second) continue;
      ++deps;
      readers[v].push_back(n.get());
    }
    pending[n.get()] = deps;
  }
  // Kahn's algorithm with a min-heap on the original position keeps the order stable.
  std::set<int> ready;
  for (const auto& n : nodes)
    if (pending[n.get()] == 0) ready.insert(n->id);
  std::vector<std::unique_ptr<Node>> sorted;
  std::vector<std::unique_ptr<Node>> old = std::move(nodes);
  nodes.clear();
  while (!ready.empty()) {
    int id = *ready.begin();
    ready.erase(ready.begin());
    Node* n = old[static_cast<size_t>(id)].get();
    for (const Value* o : n->outputs) {
      auto it = readers.find(o);
      if (it == readers.end()) continue;
      for (Node* r : it->second)
        if (--pending[r] == 0) ready.insert(r->id);
    }
    sorted.push_back(std::move(old[static_cast<size_t>(id)]));
  }
  if (sorted.size() != old.size()) {
    std::string name;
    for (auto& p : old)
      if (p) {
        if (name.empty()) name = p->name;
        sorted.push_back(std::move(p));
      }
    nodes = std::move(sorted);
    renumber();
    throw Error(ErrorCode::kINVALID_ARGUMENT, "the graph has a cycle through node '" + name + "'");
  }
  nodes = std::move(sorted);
  renumber();
}

std::unique_ptr<Graph> Graph::clone() const {
  auto g = std::make_unique<Graph>();
  g->name = name;
  g->nameCounters_ = nameCounters_;
  std::unordered_map<const Value*, Value*> vmap;
  for (const auto& v : values) {
    auto nv = std::make_unique<Value>(*v);
    nv->producer = nullptr;
    vmap[v.get()] = nv.get();
    g->values.push_back(std::move(nv));
  }
  for (const auto& n : nodes) {
    auto nn = std::make_unique<Node>();
    nn->id = n->id;
    nn->name = n->name;
    nn->op = n->op;
    nn->attrs = n->attrs;
    nn->origins = n->origins;
    for (const Value* in : n->inputs) nn->inputs.push_back(in ? vmap.at(in) : nullptr);
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      Value* o = vmap.at(n->outputs[i]);
      o->producer = nn.get();
      o->producerOutput = static_cast<int32_t>(i);
      nn->outputs.push_back(o);
    }
    g->nodes.push_back(std::move(nn));
  }
  for (const Value* v : inputs) g->inputs.push_back(vmap.at(v));
  for (const Value* v : outputs) g->outputs.push_back(vmap.at(v));
  return g;
}

void Graph::verify() const {
  std::unordered_set<const Value*> known;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i]->id != static_cast<int32_t>(i))
      throw Error(ErrorCode::kINTERNAL_ERROR, "value '" + values[i]->name + "' has a stale id");
    known.insert(values[i].get());
  }
  std::unordered_set<const Value*> defined;
  for (const Value* v : inputs) {
    if (!known.count(v)) throw Error(ErrorCode::kINTERNAL_ERROR, "graph input not in the value list");
    defined.insert(v);
  }
  for (const auto& v : values)
    if (v->isConstant()) defined.insert(v.get());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node* n = nodes[i].get();
    if (n->id != static_cast<int32_t>(i))
      throw Error(ErrorCode::kINTERNAL_ERROR, "node '" + n->name + "' has a stale id");
    for (const Value* in : n->inputs) {
      if (!in) continue;
      if (!known.count(in))
        throw Error(ErrorCode::kINTERNAL_ERROR, "node '" + n->name + "' reads a value not in the graph");
      if (!defined.count(in))
        throw Error(ErrorCode::kINTERNAL_ERROR,
                    "node '" + n->name + "' reads '" + in->name + "' before it is computed");
    }
    for (size_t k = 0; k < n->outputs.size(); ++k) {
      const Value* o = n->outputs[k];
      if (!known.count(o) || o->producer != n || o->producerOutput != static_cast<int32_t>(k))
        throw Error(ErrorCode::kINTERNAL_ERROR, "node '" + n->name + "' has an inconsistent output");
      defined.insert(o);
    }
  }
  for (const Value* v : outputs)
    if (!defined.count(v))
      throw Error(ErrorCode::kINTERNAL_ERROR, "graph output '" + v->name + "' is never computed");
}

}  // namespace kiln::ir
