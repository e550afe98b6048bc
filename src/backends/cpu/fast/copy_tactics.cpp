// "fast" tactics of Transpose and Slice (any element type): both are strided copies, output element
// (i0, ..., in) = src[base + sum i_d * stride_d]. Adjacent output axes that walk the source in order are
// merged, and when the innermost merged axis is contiguous in the source the copy moves whole runs with
// memcpy (ShuffleNet's channel shuffle moves whole planes; a channel split copies one block). Runs are
// split over the thread pool for large tensors. Shapes and parameters are checked as in the reference.
#include <cstring>

#include "backends/cpu/fast/nn_tactics.h"
#include "backends/cpu/ref/nn_impl.h"
#include "backends/cpu/ref/tensor_impl.h"
#include "core/thread_pool.h"
#include "ir/ops/tensor_ops.h"

namespace kiln::cpu::fast {

namespace {

//! dst (contiguous, shape `len`) = src[base + sum i_d * stride_d] (element strides), elements of `esz` bytes.
void stridedCopy(std::vector<int64_t> len, std::vector<int64_t> stride, int64_t base, const void* src, void* dst,
                 std::size_t esz, ThreadPool* pool) {
  // drop unit axes, merge axes that continue each other
  std::vector<int64_t> l, s;
  for (size_t d = 0; d < len.size(); ++d) {
    if (len[d] == 1) continue;
    if (!l.empty() && s.back() == stride[d] * len[d]) {
      l.back() *= len[d];
      s.back() = stride[d];
      continue;
    }
    l.push_back(len[d]);
    s.push_back(stride[d]);
  }
  int64_t total = 1;
  for (int64_t v : l) total *= v;
  if (total == 0) return;
  if (esz == 0) nn::badData("strided copy: unknown element size");
  const char* S = static_cast<const char*>(src) + base * static_cast<int64_t>(esz);
  char* D = static_cast<char*>(dst);
  if (l.empty()) {
    std::memcpy(D, S, esz);
    return;
  }
  const size_t n = l.size();
  const int64_t inner = l[n - 1], innerStride = s[n - 1], runs = total / inner;
  const int64_t e = static_cast<int64_t>(esz);
  auto copyRuns = [&](int64_t r0, int64_t r1) {
    // source offset of run r0 (odometer over the outer axes)
    std::vector<int64_t> idx(n - 1, 0);
    int64_t off = 0, rem = r0;
    for (size_t d = n - 1; d-- > 0;) {
      idx[d] = rem % l[d];
      rem /= l[d];
      off += idx[d] * s[d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      const char* sp = S + off * e;
      char* dp = D + r * inner * e;
      if (innerStride == 1) {
        std::memcpy(dp, sp, static_cast<size_t>(inner * e));
      } else if (esz == 4) {
        const uint32_t* s4 = reinterpret_cast<const uint32_t*>(sp);
        uint32_t* d4 = reinterpret_cast<uint32_t*>(dp);
        for (int64_t j = 0; j < inner; ++j) d4[j] = s4[j * innerStride];
      } else {
        for (int64_t j = 0; j < inner; ++j) std::memcpy(dp + j * e, sp + j * innerStride * e, esz);
      }
      for (size_t d = n - 1; d-- > 0;) {
        off += s[d];
        if (++idx[d] < l[d]) break;
        off -= s[d] * l[d];
        idx[d] = 0;
      }
    }
  };
  ThreadPool* use = total * e >= (int64_t{1} << 20) && runs > 1 ? pool : nullptr;
  parallelFor(use, runs, copyRuns);
}

class FastTranspose : public Kernel {
 public:
  explicit FastTranspose(const ir::Node& node) : has_(node.attrs.has("perm")), perm_(node.attrs.getInts("perm")) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    std::vector<int64_t> perm = perm_;
    if (!has_) {
      perm.resize(static_cast<size_t>(x.rank()));
      for (int64_t i = 0; i < x.rank(); ++i) perm[static_cast<size_t>(i)] = x.rank() - 1 - i;
    }
    perm = ir::tensor_ops::checkedPerm(perm, x.rank(), "Transpose: perm");
    if (y.numel != x.numel || y.dtype != x.dtype) nn::badData("Transpose: output size mismatch");
    for (int64_t i = 0; i < x.rank(); ++i)
      if (y.dim(i) != x.dim(perm[static_cast<size_t>(i)])) nn::badData("Transpose: output shape mismatch");
    if (x.numel == 0) return;
    const std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    std::vector<int64_t> len(perm.size()), stride(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) {
      len[i] = x.dim(perm[i]);
      stride[i] = st[static_cast<size_t>(perm[i])];
    }
    stridedCopy(len, stride, 0, x.data, y.data, dataTypeSize(x.dtype), ctx.pool);
  }

 private:
  bool has_;
  std::vector<int64_t> perm_;
};

class FastSlice : public Kernel {
 public:
  explicit FastSlice(const ir::Node&) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    auto opt = [&](size_t i) { return ctx.inputs.size() > i && ctx.inputs[i].present; };
    std::vector<int64_t> starts = tensor_ref::readInts(ctx.inputs[1]), ends = tensor_ref::readInts(ctx.inputs[2]), axes, steps;
    if (opt(3)) axes = tensor_ref::readInts(ctx.inputs[3]);
    if (opt(4)) steps = tensor_ref::readInts(ctx.inputs[4]);
    const std::vector<ir::tensor_ops::SliceAxis> p =
        ir::tensor_ops::sliceParams(x.shapeVec(), starts, ends, opt(3) ? &axes : nullptr, opt(4) ? &steps : nullptr);
    if (static_cast<int64_t>(p.size()) != y.rank() || y.dtype != x.dtype) nn::badData("Slice: output shape mismatch");
    const std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    std::vector<int64_t> len(p.size()), stride(p.size());
    int64_t base = 0;
    for (size_t d = 0; d < p.size(); ++d) {
      if (p[d].length != y.dim(static_cast<int64_t>(d))) nn::badData("Slice: output shape mismatch");
      len[d] = p[d].length;
      stride[d] = p[d].step * st[d];
      if (p[d].length > 0) base += p[d].start * st[d];
    }
    if (y.numel == 0) return;
    stridedCopy(len, stride, base, x.data, y.data, dataTypeSize(x.dtype), ctx.pool);
  }
};

}  // namespace

void registerCopyTactics(KernelRegistry& reg) {
  reg.add("Transpose", makeTactic<FastTranspose>("fast", nullptr));
  reg.add("Slice", makeTactic<FastSlice>("fast", nullptr));
}

}  // namespace kiln::cpu::fast
