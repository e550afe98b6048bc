// Reference kernels: Constant, Shape, Size, reshaping copies, Transpose, Expand, Tile, Shuffle,
// ConstantOfShape, Range, EyeLike, DepthToSpace, SpaceToDepth, Trilu, CumSum and CumProd, OneHot, ReverseSequence.
#include <algorithm>

#include "ir/ops/tensor_ops.h"
#include <cmath>

#include "backends/cpu/ref/tensor_impl.h"

namespace kiln::cpu::tensor_ref {
namespace {

void copyBytes(const TensorView& x, const TensorView& y) {
  if (x.bytes() != y.bytes()) invalid("element count mismatch: input has " + std::to_string(x.numel) + ", output " + std::to_string(y.numel));
  if (x.bytes() && x.data != y.data) std::memcpy(y.data, x.data, x.bytes());
}

class ConstantKernel : public Kernel {
 public:
  explicit ConstantKernel(const ir::Node& node) : value_(node.attrs.getTensor("value")) {
    if (!value_) unsupported("Constant needs a tensor attribute 'value'");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    if (y.bytes() != value_->byteSize()) invalid("Constant: output size mismatch");
    if (y.bytes()) std::memcpy(y.data, value_->raw(), y.bytes());
  }

 private:
  std::shared_ptr<const ir::TensorData> value_;
};

class ShapeKernel : public Kernel {
 public:
  explicit ShapeKernel(const ir::Node& node)
      : hasEnd_(node.attrs.has("end")), start_(node.attrs.getInt("start", 0)), end_(node.attrs.getInt("end", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    int64_t r = x.rank();
    int64_t s = start_ < 0 ? start_ + r : start_, e = hasEnd_ ? (end_ < 0 ? end_ + r : end_) : r;
    s = std::clamp<int64_t>(s, 0, r);
    e = std::clamp<int64_t>(e, 0, r);
    const TensorView& y = ctx.outputs[0];
    if (y.numel != std::max<int64_t>(e - s, 0)) invalid("Shape: output size mismatch");
    for (int64_t i = s; i < e; ++i) y.as<int64_t>()[i - s] = x.dim(i);
  }

 private:
  bool hasEnd_;
  int64_t start_, end_;
};

class SizeKernel : public Kernel {
 public:
  explicit SizeKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override { ctx.outputs[0].as<int64_t>()[0] = ctx.inputs[0].numel; }
};

//! Reshape, Flatten, Squeeze, Unsqueeze: the bytes do not move.
class CopyKernel : public Kernel {
 public:
  explicit CopyKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override { copyBytes(ctx.inputs[0], ctx.outputs[0]); }
};

using ir::tensor_ops::checkedPerm;
bool isIdentity(const std::vector<int64_t>& p) { return ir::tensor_ops::isIdentityPerm(p); }

class TransposeKernel : public Kernel {
 public:
  explicit TransposeKernel(const ir::Node& node) : has_(node.attrs.has("perm")), perm_(node.attrs.getInts("perm")) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    std::vector<int64_t> perm = perm_;
    if (!has_) {
      perm.resize(static_cast<size_t>(x.rank()));
      for (int64_t i = 0; i < x.rank(); ++i) perm[static_cast<size_t>(i)] = x.rank() - 1 - i;
    }
    perm = checkedPerm(perm, x.rank(), "Transpose: perm");
    if (ctx.outputs[0].numel != x.numel) invalid("Transpose: output size mismatch");
    if (x.numel == 0) return;
    transposeCopy(x.shapeVec(), perm, x.data, ctx.outputs[0].data, dataTypeSize(x.dtype));
  }

 private:
  bool has_;
  std::vector<int64_t> perm_;
};

class ExpandKernel : public Kernel {
 public:
  explicit ExpandKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    ir::Shape out = y.shapeVec();
    if (ir::broadcastShapes(x.shapeVec(), out) != out) invalid("Expand: output shape does not match");
    if (y.numel == 0) return;
    std::vector<int64_t> st = ir::broadcastStrides(x.shapeVec(), out);
    std::vector<std::vector<int64_t>> tabs(out.size());
    for (size_t d = 0; d < out.size(); ++d) tabs[d] = strideTable(out[d], st[d]);
    tableCopy(tabs, x.data, y.data, dataTypeSize(x.dtype), nullptr);
  }
};

class TileKernel : public Kernel {
 public:
  explicit TileKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    std::vector<int64_t> rep = readInts(ctx.inputs[1]);
    if (static_cast<int64_t>(rep.size()) != x.rank() || y.rank() != x.rank()) invalid("Tile: repeats must have one value per dim");
    for (int64_t d = 0; d < x.rank(); ++d)
      if (rep[static_cast<size_t>(d)] < 0 || y.dim(d) != x.dim(d) * rep[static_cast<size_t>(d)]) invalid("Tile: output shape mismatch");
    if (y.numel == 0) return;
    std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    std::vector<std::vector<int64_t>> tabs(static_cast<size_t>(x.rank()));
    for (int64_t d = 0; d < x.rank(); ++d) {
      auto& t = tabs[static_cast<size_t>(d)];
      t.resize(static_cast<size_t>(y.dim(d)));
      for (int64_t i = 0; i < y.dim(d); ++i) t[static_cast<size_t>(i)] = (i % x.dim(d)) * st[static_cast<size_t>(d)];
    }
    tableCopy(tabs, x.data, y.data, dataTypeSize(x.dtype), nullptr);
  }
};

// kiln "Shuffle": transpose -> reshape -> transpose. The reshaped (intermediate) shape is recovered from the
// output shape and the second permutation, so the reshape itself costs nothing.
class ShuffleKernel : public Kernel {
 public:
  explicit ShuffleKernel(const ir::Node& node)
      : first_(node.attrs.getInts("first_perm")), second_(node.attrs.getInts("second_perm")) {}

  std::size_t workspaceSize(std::span<const TensorView> inputs, std::span<const TensorView> outputs) const override {
    bool f = hasPerm(first_, inputs[0].rank()), s = hasPerm(second_, outputs[0].rank());
    return f && s ? inputs[0].bytes() : 0;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel) invalid("Shuffle: element count mismatch");
    const std::size_t es = dataTypeSize(x.dtype);
    bool f = hasPerm(first_, x.rank()), s = hasPerm(second_, y.rank());
    if (!f && !s) return copyBytes(x, y);
    if (x.numel == 0) return;
    ir::Shape reshaped = y.shapeVec();
    std::vector<int64_t> p2;
    if (s) {
      p2 = checkedPerm(second_, y.rank(), "Shuffle: second_perm");
      for (size_t i = 0; i < p2.size(); ++i) reshaped[static_cast<size_t>(p2[i])] = y.dim(static_cast<int64_t>(i));
    }
    if (f) {
      auto p1 = checkedPerm(first_, x.rank(), "Shuffle: first_perm");
      if (!s) return transposeCopy(x.shapeVec(), p1, x.data, y.data, es);
      if (ctx.workspaceBytes < x.bytes()) invalid("Shuffle: workspace too small");
      transposeCopy(x.shapeVec(), p1, x.data, ctx.workspace, es);
      return transposeCopy(reshaped, p2, ctx.workspace, y.data, es);
    }
    transposeCopy(reshaped, p2, x.data, y.data, es);
  }

 private:
  static bool hasPerm(const std::vector<int64_t>& p, int64_t rank) {
    if (p.empty()) return false;
    std::vector<int64_t> q = p;
    if (static_cast<int64_t>(q.size()) > rank) q.resize(static_cast<size_t>(rank));
    return !isIdentity(q) || static_cast<int64_t>(q.size()) != rank;
  }
  std::vector<int64_t> first_, second_;
};

class ConstantOfShapeKernel : public Kernel {
 public:
  explicit ConstantOfShapeKernel(const ir::Node& node) : value_(node.attrs.getTensor("value")) {
    if (value_ && value_->numel() != 1) unsupported("ConstantOfShape: value must have one element");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    const std::size_t es = dataTypeSize(y.dtype);
    const char* v = value_ ? static_cast<const char*>(value_->raw()) : nullptr;
    float zero = 0.f;
    if (!v) v = reinterpret_cast<const char*>(&zero);
    char* out = static_cast<char*>(y.data);
    for (int64_t i = 0; i < y.numel; ++i) std::memcpy(out + static_cast<size_t>(i) * es, v, es);
  }

 private:
  std::shared_ptr<const ir::TensorData> value_;
};

class RangeKernel : public Kernel {
 public:
  explicit RangeKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    for (int i = 0; i < 3; ++i)
      if (ctx.inputs[static_cast<size_t>(i)].numel != 1 || ctx.inputs[static_cast<size_t>(i)].dtype != y.dtype)
        invalid("Range: start, limit and delta must be scalars of the output's type");
    dispatchNumeric(y.dtype, [&](auto t) {
      using T = decltype(t);
      T* out = y.as<T>();
      if constexpr (std::is_integral_v<T>) {
        int64_t s = static_cast<int64_t>(ctx.inputs[0].as<const T>()[0]);
        int64_t d = static_cast<int64_t>(ctx.inputs[2].as<const T>()[0]);
        for (int64_t i = 0; i < y.numel; ++i) out[i] = static_cast<T>(s + i * d);
      } else {
        double s = toDouble(ctx.inputs[0].as<const T>()[0]), d = toDouble(ctx.inputs[2].as<const T>()[0]);
        for (int64_t i = 0; i < y.numel; ++i) out[i] = fromDouble<T>(s + static_cast<double>(i) * d);
      }
    });
  }
};

class EyeLikeKernel : public Kernel {
 public:
  explicit EyeLikeKernel(const ir::Node& node) : k_(node.attrs.getInt("k", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    if (y.rank() != 2) invalid("EyeLike: output must be 2-D");
    if (y.bytes()) std::memset(y.data, 0, y.bytes());
    dispatchType(y.dtype, [&](auto t) {
      using T = decltype(t);
      T* out = y.as<T>();
      int64_t n = y.dim(0), m = y.dim(1);
      for (int64_t i = 0; i < n; ++i) {
        int64_t j = i + k_;
        if (j >= 0 && j < m) out[i * m + j] = fromDouble<T>(1.0);
      }
    });
  }

 private:
  int64_t k_;
};

class DepthToSpaceKernel : public Kernel {
 public:
  DepthToSpaceKernel(const ir::Node& node, bool toSpace)
      : toSpace_(toSpace), b_(node.attrs.requireInt("blocksize")), crd_(node.attrs.getString("mode", "DCR") == "CRD") {
    if (b_ <= 0) unsupported("blocksize must be positive");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    if (x.rank() != 4) invalid("input must be 4-D");
    if (x.numel == 0) return;
    int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), b = b_;
    ir::Shape view;
    std::vector<int64_t> perm;
    ir::tensor_ops::depthSpaceTranspose(n, c, h, w, b, toSpace_, crd_, view, perm);
    transposeCopy(view, perm, x.data, ctx.outputs[0].data, dataTypeSize(x.dtype));
  }

 private:
  bool toSpace_;
  int64_t b_;
  bool crd_;
};

class TriluKernel : public Kernel {
 public:
  explicit TriluKernel(const ir::Node& node) : upper_(node.attrs.getInt("upper", 1) != 0) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    int64_t k = 0;
    if (ctx.inputs.size() > 1 && ctx.inputs[1].present) {
      auto kv = readInts(ctx.inputs[1]);
      if (kv.size() != 1) invalid("Trilu: k must be a scalar");
      k = kv[0];
    }
    if (x.numel == 0) return;
    const std::size_t es = dataTypeSize(x.dtype);
    int64_t n = x.dim(x.rank() - 2), m = x.dim(x.rank() - 1);
    int64_t mats = x.numel / (n * m);
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(y.data);
    for (int64_t b = 0; b < mats; ++b)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < m; ++j) {
          size_t off = static_cast<size_t>((b * n + i) * m + j) * es;
          bool keep = upper_ ? (j - i >= k) : (j - i <= k);
          if (keep) std::memcpy(out + off, in + off, es);
          else std::memset(out + off, 0, es);
        }
  }

 private:
  bool upper_;
};

//! CumSum and CumProd: a running sum or product along an axis (exclusive, reverse).
class CumulativeKernel : public Kernel {
 public:
  explicit CumulativeKernel(const ir::Node& node)
      : op_(node.op), product_(node.op == "CumProd"), exclusive_(node.attrs.getInt("exclusive", 0) != 0),
        reverse_(node.attrs.getInt("reverse", 0) != 0) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    auto av = readInts(ctx.inputs[1]);
    if (av.size() != 1) invalid(op_ + ": axis must be a scalar");
    int64_t axis = av[0];
    if (axis < -x.rank() || axis >= x.rank()) invalid(op_ + ": axis out of range");
    if (axis < 0) axis += x.rank();
    if (x.numel == 0) return;
    int64_t len = x.dim(axis), inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    int64_t outer = x.numel / (len * inner);
    dispatchNumeric(x.dtype, [&](auto t) {
      using T = decltype(t);
      const T* in = x.as<const T>();
      T* out = y.as<T>();
      using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;  // integers wrap like T
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          Acc acc = product_ ? Acc{1} : Acc{};
          for (int64_t s = 0; s < len; ++s) {
            int64_t j = reverse_ ? len - 1 - s : s;
            int64_t off = (o * len + j) * inner + i;
            Acc v;
            if constexpr (std::is_integral_v<T>) v = static_cast<Acc>(static_cast<int64_t>(in[off]));
            else v = toDouble(in[off]);
            Acc before = acc;
            if (product_) acc *= v;
            else acc += v;
            Acc put = exclusive_ ? before : acc;
            if constexpr (std::is_integral_v<T>) out[off] = static_cast<T>(put);
            else out[off] = fromDouble<T>(put);
          }
        }
    });
  }

 private:
  std::string op_;
  bool product_, exclusive_, reverse_;
};

class OneHotKernel : public Kernel {
 public:
  explicit OneHotKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", -1)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& ind = ctx.inputs[0];
    const TensorView& vals = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    if (vals.numel != 2 || vals.dtype != y.dtype) invalid("OneHot: values must have 2 elements of the output's type");
    if (ctx.inputs[1].numel != 1) invalid("OneHot: depth must be a scalar");
    double dd = dispatchNumeric(ctx.inputs[1].dtype, [&](auto t) { return toDouble(ctx.inputs[1].as<const decltype(t)>()[0]); });
    int64_t depth = static_cast<int64_t>(dd);
    if (depth < 1) invalid("OneHot: depth must be >= 1");
    int64_t r = ind.rank() + 1;
    int64_t axis = axis_ < 0 ? axis_ + r : axis_;
    if (axis < 0 || axis >= r) invalid("OneHot: axis out of range");
    if (y.rank() != r || y.dim(axis) != depth) invalid("OneHot: output shape mismatch");
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= ind.dim(d);
    for (int64_t d = axis; d < ind.rank(); ++d) inner *= ind.dim(d);
    const std::size_t es = dataTypeSize(vals.dtype);
    const char* off = static_cast<const char*>(vals.data);
    const char* on = off + es;
    char* out = static_cast<char*>(y.data);
    for (int64_t i = 0; i < y.numel; ++i) std::memcpy(out + static_cast<size_t>(i) * es, off, es);
    dispatchNumeric(ind.dtype, [&](auto t) {
      using T = decltype(t);
      const T* idx = ind.as<const T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t v = static_cast<int64_t>(toDouble(idx[o * inner + i]));
          if (v < 0) v += depth;
          if (v < 0 || v >= depth) continue;
          std::memcpy(out + static_cast<size_t>((o * depth + v) * inner + i) * es, on, es);
        }
    });
  }

 private:
  int64_t axis_;
};

class ReverseSequenceKernel : public Kernel {
 public:
  explicit ReverseSequenceKernel(const ir::Node& node)
      : batchAxis_(node.attrs.getInt("batch_axis", 1)), timeAxis_(node.attrs.getInt("time_axis", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    std::vector<int64_t> lens = readInts(ctx.inputs[1]);
    int64_t nb = x.dim(batchAxis_), nt = x.dim(timeAxis_);
    if (static_cast<int64_t>(lens.size()) != nb) invalid("ReverseSequence: sequence_lens length != batch size");
    for (int64_t l : lens)
      if (l < 0 || l > nt) invalid("ReverseSequence: sequence length " + std::to_string(l) + " out of [0, " + std::to_string(nt) + "]");
    if (x.numel == 0) return;
    const std::size_t chunk = static_cast<size_t>(x.numel / (nb * nt)) * dataTypeSize(x.dtype);
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(y.data);
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t t = 0; t < nt; ++t) {
        int64_t src = t < lens[static_cast<size_t>(b)] ? lens[static_cast<size_t>(b)] - 1 - t : t;
        auto pos = [&](int64_t tt) { return static_cast<size_t>(timeAxis_ == 0 ? tt * nb + b : b * nt + tt) * chunk; };
        std::memcpy(out + pos(t), in + pos(src), chunk);
      }
  }

 private:
  int64_t batchAxis_, timeAxis_;
};

struct DepthToSpaceK : DepthToSpaceKernel {
  explicit DepthToSpaceK(const ir::Node& n) : DepthToSpaceKernel(n, true) {}
};
struct SpaceToDepthK : DepthToSpaceKernel {
  explicit SpaceToDepthK(const ir::Node& n) : DepthToSpaceKernel(n, false) {}
};

}  // namespace

void registerShapeKernels(KernelRegistry& reg) {
  reg.add("Constant", refTactic<ConstantKernel>());
  reg.add("Shape", refTactic<ShapeKernel>());
  reg.add("Size", refTactic<SizeKernel>());
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}) reg.add(op, refTactic<CopyKernel>());
  reg.add("Transpose", refTactic<TransposeKernel>());
  reg.add("Expand", refTactic<ExpandKernel>());
  reg.add("Tile", refTactic<TileKernel>());
  reg.add("Shuffle", refTactic<ShuffleKernel>());
  reg.add("ConstantOfShape", refTactic<ConstantOfShapeKernel>());
  reg.add("Range", refTactic<RangeKernel>());
  reg.add("EyeLike", refTactic<EyeLikeKernel>());
  reg.add("DepthToSpace", refTactic<DepthToSpaceK>());
  reg.add("SpaceToDepth", refTactic<SpaceToDepthK>());
  reg.add("Trilu", refTactic<TriluKernel>());
  reg.add("CumSum", refTactic<CumulativeKernel>());
  reg.add("CumProd", refTactic<CumulativeKernel>());
  reg.add("OneHot", refTactic<OneHotKernel>());
  reg.add("ReverseSequence", refTactic<ReverseSequenceKernel>());
}

}  // namespace kiln::cpu::tensor_ref
