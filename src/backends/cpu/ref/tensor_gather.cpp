// Reference kernels: Gather, GatherElements, GatherND, ScatterElements, ScatterND, TopK.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "backends/cpu/ref/tensor_impl.h"

namespace kiln::cpu::tensor_ref {
namespace {

int64_t normAxis(int64_t axis, int64_t rank, const char* op) {
  if (axis < -rank || axis >= rank) invalid(std::string(op) + ": axis " + std::to_string(axis) + " out of range");
  return axis < 0 ? axis + rank : axis;
}

//! Index value normalized to [0, n); throws for out-of-range values.
int64_t checkIndex(int64_t v, int64_t n, const char* op) {
  if (v < -n || v >= n) invalid(std::string(op) + ": index " + std::to_string(v) + " is out of range [" + std::to_string(-n) + ", " + std::to_string(n) + ")");
  return v < 0 ? v + n : v;
}

void requireIndexView(const TensorView& v, const char* op) {
  if (!isIndexType(v.dtype)) invalid(std::string(op) + ": indices must be int32 or int64");
}

class GatherKernel : public Kernel {
 public:
  explicit GatherKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    requireIndexView(ind, "Gather");
    int64_t axis = normAxis(axis_, x.rank(), "Gather");
    if (y.numel != (x.dim(axis) == 0 ? y.numel : x.numel / x.dim(axis) * ind.numel)) invalid("Gather: output size mismatch");
    int64_t outer = 1, inner = 1, n = x.dim(axis);
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const std::size_t chunk = static_cast<size_t>(inner) * dataTypeSize(x.dtype);
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(y.data);
    for (int64_t i = 0; i < ind.numel; ++i) checkIndex(indexAt(ind, i), n, "Gather");
    if (y.numel == 0) return;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < ind.numel; ++i) {
        int64_t k = checkIndex(indexAt(ind, i), n, "Gather");
        std::memcpy(out + static_cast<size_t>(o * ind.numel + i) * chunk, in + static_cast<size_t>(o * n + k) * chunk, chunk);
      }
  }

 private:
  int64_t axis_;
};

//! Odometer over `shape` that tracks the offset into a tensor with `strides` (one per dim).
struct Odometer {
  std::vector<int64_t> shape, idx;
  explicit Odometer(std::vector<int64_t> s) : shape(std::move(s)), idx(shape.size(), 0) {}
  void next() {
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) return;
      idx[d] = 0;
    }
  }
};

class GatherElementsKernel : public Kernel {
 public:
  explicit GatherElementsKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    requireIndexView(ind, "GatherElements");
    if (x.rank() != ind.rank() || y.numel != ind.numel) invalid("GatherElements: shape mismatch");
    int64_t axis = normAxis(axis_, x.rank(), "GatherElements");
    for (int64_t d = 0; d < x.rank(); ++d)
      if (d != axis && ind.dim(d) > x.dim(d)) invalid("GatherElements: indices extent exceeds the data's on dim " + std::to_string(d));
    std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    const std::size_t es = dataTypeSize(x.dtype);
    Odometer od(ind.shapeVec());
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(y.data);
    for (int64_t i = 0; i < ind.numel; ++i, od.next()) {
      int64_t off = 0;
      for (int64_t d = 0; d < x.rank(); ++d) {
        int64_t c = d == axis ? checkIndex(indexAt(ind, i), x.dim(axis), "GatherElements") : od.idx[static_cast<size_t>(d)];
        off += c * st[static_cast<size_t>(d)];
      }
      std::memcpy(out + static_cast<size_t>(i) * es, in + static_cast<size_t>(off) * es, es);
    }
  }

 private:
  int64_t axis_;
};

//! Shared geometry of GatherND/ScatterND: per batch, `count` index tuples of length m; each addresses a
//! slice of `slice` elements.
struct NDGeometry {
  int64_t batches{1}, count{1}, m{0}, slice{1}, batchStride{0};
  std::vector<int64_t> dims, strides;  // the m indexed dims of data and their strides
};

NDGeometry ndGeometry(const TensorView& x, const TensorView& ind, int64_t b, const char* op) {
  NDGeometry g;
  int64_t r = x.rank(), q = ind.rank();
  if (q < 1) invalid(std::string(op) + ": indices must have rank >= 1");
  g.m = ind.dim(q - 1);
  if (b < 0 || b >= std::min(r, q) || g.m > r - b) invalid(std::string(op) + ": bad batch_dims or index length");
  std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
  for (int64_t d = 0; d < b; ++d) {
    if (x.dim(d) != ind.dim(d)) invalid(std::string(op) + ": batch dims differ");
    g.batches *= x.dim(d);
  }
  for (int64_t d = b; d < q - 1; ++d) g.count *= ind.dim(d);
  for (int64_t d = b; d < b + g.m; ++d) {
    g.dims.push_back(x.dim(d));
    g.strides.push_back(st[static_cast<size_t>(d)]);
  }
  for (int64_t d = b + g.m; d < r; ++d) g.slice *= x.dim(d);
  g.batchStride = b > 0 ? st[static_cast<size_t>(b - 1)] : 0;
  return g;
}

int64_t ndOffset(const NDGeometry& g, const TensorView& ind, int64_t tuple, const char* op) {
  int64_t off = 0;
  for (int64_t k = 0; k < g.m; ++k)
    off += checkIndex(indexAt(ind, tuple * g.m + k), g.dims[static_cast<size_t>(k)], op) * g.strides[static_cast<size_t>(k)];
  return off;
}

class GatherNDKernel : public Kernel {
 public:
  explicit GatherNDKernel(const ir::Node& node) : b_(node.attrs.getInt("batch_dims", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    requireIndexView(ind, "GatherND");
    NDGeometry g = ndGeometry(x, ind, b_, "GatherND");
    if (y.numel != g.batches * g.count * g.slice) invalid("GatherND: output size mismatch");
    const std::size_t es = dataTypeSize(x.dtype), chunk = static_cast<size_t>(g.slice) * es;
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(y.data);
    for (int64_t bi = 0; bi < g.batches; ++bi)
      for (int64_t t = 0; t < g.count; ++t) {
        int64_t off = bi * g.batchStride + ndOffset(g, ind, bi * g.count + t, "GatherND");
        if (chunk) std::memcpy(out + static_cast<size_t>(bi * g.count + t) * chunk, in + static_cast<size_t>(off) * es, chunk);
      }
  }

 private:
  int64_t b_;
};

enum class Reduction { kNONE, kADD, kMUL, kMAX, kMIN };

Reduction parseReduction(const ir::Node& node) {
  std::string r = node.attrs.getString("reduction", "none");
  if (r == "none") return Reduction::kNONE;
  if (r == "add") return Reduction::kADD;
  if (r == "mul") return Reduction::kMUL;
  if (r == "max") return Reduction::kMAX;
  if (r == "min") return Reduction::kMIN;
  unsupported("unknown reduction '" + r + "'");
}

template <class T>
void reduceInto(T& dst, T v, Reduction r) {
  if constexpr (std::is_same_v<T, bool>) {
    if (r == Reduction::kMAX || r == Reduction::kADD) dst = dst || v;
    else if (r == Reduction::kMIN || r == Reduction::kMUL) dst = dst && v;
    else dst = v;
  } else if constexpr (std::is_integral_v<T>) {
    switch (r) {
      case Reduction::kNONE: dst = v; break;
      case Reduction::kADD: dst = static_cast<T>(static_cast<uint64_t>(dst) + static_cast<uint64_t>(v)); break;
      case Reduction::kMUL: dst = static_cast<T>(static_cast<uint64_t>(dst) * static_cast<uint64_t>(v)); break;
      case Reduction::kMAX: dst = std::max(dst, v); break;
      case Reduction::kMIN: dst = std::min(dst, v); break;
    }
  } else {
    double a = toDouble(dst), b = toDouble(v);
    switch (r) {
      case Reduction::kNONE: dst = v; return;
      case Reduction::kADD: a = a + b; break;
      case Reduction::kMUL: a = a * b; break;
      case Reduction::kMAX: a = std::fmax(a, b); break;
      case Reduction::kMIN: a = std::fmin(a, b); break;
    }
    dst = fromDouble<T>(a);
  }
}

class ScatterElementsKernel : public Kernel {
 public:
  explicit ScatterElementsKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 0)), red_(parseReduction(node)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& upd = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    requireIndexView(ind, "ScatterElements");
    if (x.rank() != ind.rank() || ind.rank() != upd.rank() || ind.numel != upd.numel || y.numel != x.numel)
      invalid("ScatterElements: shape mismatch");
    int64_t axis = normAxis(axis_, x.rank(), "ScatterElements");
    for (int64_t d = 0; d < x.rank(); ++d) {
      if (ind.dim(d) != upd.dim(d)) invalid("ScatterElements: indices and updates differ in shape");
      if (d != axis && ind.dim(d) > x.dim(d)) invalid("ScatterElements: indices extent exceeds the data's");
    }
    if (x.bytes() && x.data != y.data) std::memcpy(y.data, x.data, x.bytes());
    std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      T* out = y.as<T>();
      const T* u = upd.as<const T>();
      Odometer od(ind.shapeVec());
      for (int64_t i = 0; i < ind.numel; ++i, od.next()) {
        int64_t off = 0;
        for (int64_t d = 0; d < x.rank(); ++d) {
          int64_t c = d == axis ? checkIndex(indexAt(ind, i), x.dim(axis), "ScatterElements") : od.idx[static_cast<size_t>(d)];
          off += c * st[static_cast<size_t>(d)];
        }
        reduceInto(out[off], u[i], red_);
      }
    });
  }

 private:
  int64_t axis_;
  Reduction red_;
};

class ScatterNDKernel : public Kernel {
 public:
  explicit ScatterNDKernel(const ir::Node& node) : red_(parseReduction(node)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& upd = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    requireIndexView(ind, "ScatterND");
    if (ind.rank() < 1) invalid("ScatterND: indices must have rank >= 1");
    int64_t m = ind.dim(ind.rank() - 1);
    if (m > x.rank()) invalid("ScatterND: index tuples longer than the data's rank");
    NDGeometry g;
    g.m = m;
    std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    for (int64_t d = 0; d + 1 < ind.rank(); ++d) g.count *= ind.dim(d);
    for (int64_t d = 0; d < m; ++d) {
      g.dims.push_back(x.dim(d));
      g.strides.push_back(st[static_cast<size_t>(d)]);
    }
    for (int64_t d = m; d < x.rank(); ++d) g.slice *= x.dim(d);
    if (upd.numel != g.count * g.slice || y.numel != x.numel) invalid("ScatterND: updates have the wrong size");
    if (x.bytes() && x.data != y.data) std::memcpy(y.data, x.data, x.bytes());
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      T* out = y.as<T>();
      const T* u = upd.as<const T>();
      for (int64_t t = 0; t < g.count; ++t) {
        int64_t off = ndOffset(g, ind, t, "ScatterND");
        for (int64_t s = 0; s < g.slice; ++s) reduceInto(out[off + s], u[t * g.slice + s], red_);
      }
    });
  }

 private:
  Reduction red_;
};

// TopK: NaN ranks above every number (so it comes first for largest=1 and last for largest=0); ties keep
// the lower index first. The output is always sorted (also for sorted=0).
template <class K>
bool greaterKey(K a, K b) {
  if constexpr (std::is_floating_point_v<K>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

class TopKKernel : public Kernel {
 public:
  explicit TopKKernel(const ir::Node& node)
      : axis_(node.attrs.getInt("axis", -1)), largest_(node.attrs.getInt("largest", 1) != 0) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& vals = ctx.outputs[0];
    const TensorView& idx = ctx.outputs[1];
    auto kv = readInts(ctx.inputs[1]);
    if (kv.size() != 1) invalid("TopK: K must have one element");
    int64_t axis = normAxis(axis_, x.rank(), "TopK");
    int64_t n = x.dim(axis), k = kv[0];
    if (k < 0 || k > n) invalid("TopK: K = " + std::to_string(k) + " is out of [0, " + std::to_string(n) + "]");
    if (vals.dim(axis) != k || idx.dim(axis) != k || !isIndexType(idx.dtype)) invalid("TopK: output shape/type mismatch");
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    if (vals.numel == 0) return;
    dispatchNumeric(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      using K = std::conditional_t<std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>, float, T>;
      const T* in = x.as<const T>();
      T* ov = vals.as<T>();
      std::vector<K> keys(static_cast<size_t>(n));
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          for (int64_t j = 0; j < n; ++j) keys[static_cast<size_t>(j)] = static_cast<K>(in[(o * n + j) * inner + i]);
          std::iota(order.begin(), order.end(), 0);
          auto cmp = [&](int64_t a, int64_t b) {
            K ka = keys[static_cast<size_t>(a)], kb = keys[static_cast<size_t>(b)];
            bool before = largest_ ? greaterKey(ka, kb) : greaterKey(kb, ka);
            bool after = largest_ ? greaterKey(kb, ka) : greaterKey(ka, kb);
            if (before) return true;
            if (after) return false;
            return a < b;
          };
          std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
          for (int64_t j = 0; j < k; ++j) {
            int64_t src = order[static_cast<size_t>(j)];
            int64_t dst = (o * k + j) * inner + i;
            ov[dst] = in[(o * n + src) * inner + i];
            if (idx.dtype == DataType::kINT32) idx.as<int32_t>()[dst] = static_cast<int32_t>(src);
            else idx.as<int64_t>()[dst] = src;
          }
        }
    });
  }

 private:
  int64_t axis_;
  bool largest_;
};

}  // namespace

void registerGatherKernels(KernelRegistry& reg) {
  reg.add("Gather", refTactic<GatherKernel>());
  reg.add("GatherElements", refTactic<GatherElementsKernel>());
  reg.add("GatherND", refTactic<GatherNDKernel>());
  reg.add("ScatterElements", refTactic<ScatterElementsKernel>());
  reg.add("ScatterND", refTactic<ScatterNDKernel>());
  reg.add("TopK", refTactic<TopKKernel>());
}

}  // namespace kiln::cpu::tensor_ref
