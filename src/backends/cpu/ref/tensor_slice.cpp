// Reference kernels: Concat, Split, Slice, StridedSlice (kiln), Pad.
#include <algorithm>

#include "backends/cpu/ref/tensor_impl.h"

namespace kiln::cpu::tensor_ref {
namespace {

using ir::tensor_ops::SliceAxis;

int64_t normAxis(int64_t axis, int64_t rank, const char* op) {
  if (axis < -rank || axis >= rank) invalid(std::string(op) + ": axis " + std::to_string(axis) + " out of range");
  return axis < 0 ? axis + rank : axis;
}

class ConcatKernel : public Kernel {
 public:
  explicit ConcatKernel(const ir::Node& node) : axis_(node.attrs.requireInt("axis")) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    int64_t axis = normAxis(axis_, y.rank(), "Concat");
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
    const std::size_t es = dataTypeSize(y.dtype);
    std::size_t rowOut = static_cast<size_t>(y.numel == 0 ? 0 : y.numel / std::max<int64_t>(outer, 1)) * es;
    int64_t total = 0;
    for (const TensorView& x : ctx.inputs) {
      if (x.rank() != y.rank()) invalid("Concat: rank mismatch");
      for (int64_t d = 0; d < y.rank(); ++d)
        if (d != axis && x.dim(d) != y.dim(d)) invalid("Concat: shape mismatch");
      total += x.dim(axis);
    }
    if (total != y.dim(axis)) invalid("Concat: output extent mismatch");
    if (y.numel == 0) return;
    std::size_t offset = 0;
    for (const TensorView& x : ctx.inputs) {
      std::size_t row = static_cast<size_t>(x.numel / outer) * es;
      const char* in = static_cast<const char*>(x.data);
      char* out = static_cast<char*>(y.data) + offset;
      for (int64_t o = 0; o < outer && row; ++o) std::memcpy(out + static_cast<size_t>(o) * rowOut, in + static_cast<size_t>(o) * row, row);
      offset += row;
    }
  }

 private:
  int64_t axis_;
};

class SplitKernel : public Kernel {
 public:
  explicit SplitKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    int64_t axis = normAxis(axis_, x.rank(), "Split");
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    int64_t total = 0;
    for (const TensorView& y : ctx.outputs) {
      if (y.rank() != x.rank()) invalid("Split: rank mismatch");
      for (int64_t d = 0; d < x.rank(); ++d)
        if (d != axis && x.dim(d) != y.dim(d)) invalid("Split: shape mismatch");
      total += y.dim(axis);
    }
    if (total != x.dim(axis)) invalid("Split: split sizes do not add up to the input extent");
    if (x.numel == 0) return;
    const std::size_t es = dataTypeSize(x.dtype);
    std::size_t rowIn = static_cast<size_t>(x.numel / outer) * es, offset = 0;
    for (const TensorView& y : ctx.outputs) {
      std::size_t row = static_cast<size_t>(y.numel / outer) * es;
      for (int64_t o = 0; o < outer && row; ++o)
        std::memcpy(static_cast<char*>(y.data) + static_cast<size_t>(o) * row,
                    static_cast<const char*>(x.data) + static_cast<size_t>(o) * rowIn + offset, row);
      offset += row;
    }
  }

 private:
  int64_t axis_;
};

class SliceKernel : public Kernel {
 public:
  explicit SliceKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    auto opt = [&](size_t i) { return ctx.inputs.size() > i && ctx.inputs[i].present; };
    std::vector<int64_t> starts = readInts(ctx.inputs[1]), ends = readInts(ctx.inputs[2]), axes, steps;
    if (opt(3)) axes = readInts(ctx.inputs[3]);
    if (opt(4)) steps = readInts(ctx.inputs[4]);
    std::vector<SliceAxis> p =
        ir::tensor_ops::sliceParams(x.shapeVec(), starts, ends, opt(3) ? &axes : nullptr, opt(4) ? &steps : nullptr);
    std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    std::vector<std::vector<int64_t>> tabs(p.size());
    for (size_t d = 0; d < p.size(); ++d) {
      if (p[d].length != y.dim(static_cast<int64_t>(d))) invalid("Slice: output shape mismatch");
      auto& t = tabs[d];
      t.resize(static_cast<size_t>(p[d].length));
      for (int64_t i = 0; i < p[d].length; ++i) t[static_cast<size_t>(i)] = (p[d].start + i * p[d].step) * st[d];
    }
    if (y.numel == 0) return;
    tableCopy(tabs, x.data, y.data, dataTypeSize(x.dtype), nullptr);
  }
};

//! Maps coordinate c of an axis of extent n by a sampling mode; -1 = fill. Throws for STRICT_BOUNDS.
int64_t sampleCoord(int64_t c, int64_t n, int mode) {
  if (c >= 0 && c < n) return c;
  switch (mode) {
    case 1:  // WRAP
      if (n == 0) break;
      return ((c % n) + n) % n;
    case 2:  // CLAMP
      if (n == 0) break;
      return std::clamp<int64_t>(c, 0, n - 1);
    case 3: return -1;  // FILL
    case 4: {           // REFLECT (border not repeated: ..., 2, 1, [0, 1, 2], 1, 0, ...)
      if (n == 0) break;
      if (n == 1) return 0;
      int64_t period = 2 * (n - 1);
      int64_t m = ((c % period) + period) % period;
      return m < n ? m : period - m;
    }
    default: break;
  }
  invalid("sampled coordinate " + std::to_string(c) + " is outside the extent " + std::to_string(n));
}

class StridedSliceKernel : public Kernel {
 public:
  explicit StridedSliceKernel(const ir::Node& node)
      : start_(node.attrs.requireInts("start")),
        size_(node.attrs.requireInts("size")),
        stride_(node.attrs.requireInts("stride")),
        mode_(static_cast<int>(node.attrs.getInt("mode", 0))) {
    if (mode_ < 0 || mode_ > 4) unsupported("StridedSlice: unknown mode " + std::to_string(mode_));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    size_t r = static_cast<size_t>(x.rank());
    if (start_.size() != r || size_.size() != r || stride_.size() != r) invalid("StridedSlice: rank mismatch");
    std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    std::vector<std::vector<int64_t>> tabs(r);
    for (size_t d = 0; d < r; ++d) {
      if (y.dim(static_cast<int64_t>(d)) != size_[d]) invalid("StridedSlice: output shape mismatch");
      tabs[d].resize(static_cast<size_t>(size_[d]));
      for (int64_t i = 0; i < size_[d]; ++i) {
        int64_t c = sampleCoord(start_[d] + i * stride_[d], x.dim(static_cast<int64_t>(d)), mode_);
        tabs[d][static_cast<size_t>(i)] = c < 0 ? -1 : c * st[d];
      }
    }
    if (y.numel == 0) return;
    const void* fill = nullptr;
    if (ctx.inputs.size() > 1 && ctx.inputs[1].present) {
      if (ctx.inputs[1].numel != 1 || ctx.inputs[1].dtype != x.dtype) invalid("StridedSlice: bad fill value");
      fill = ctx.inputs[1].data;
    }
    tableCopy(tabs, x.data, y.data, dataTypeSize(x.dtype), fill);
  }

 private:
  std::vector<int64_t> start_, size_, stride_;
  int mode_;
};

class PadKernel : public Kernel {
 public:
  explicit PadKernel(const ir::Node& node) {
    std::string m = node.attrs.getString("mode", "constant");
    if (m == "constant") mode_ = 3;
    else if (m == "reflect") mode_ = 4;
    else if (m == "edge") mode_ = 2;
    else if (m == "wrap") mode_ = 1;
    else unsupported("Pad: unknown mode '" + m + "'");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    int64_t r = x.rank();
    std::vector<int64_t> pads = readInts(ctx.inputs[1]);
    std::vector<int64_t> axes;
    if (ctx.inputs.size() > 3 && ctx.inputs[3].present) {
      for (int64_t a : readInts(ctx.inputs[3])) axes.push_back(normAxis(a, r, "Pad"));
    } else {
      for (int64_t i = 0; i < r; ++i) axes.push_back(i);
    }
    if (pads.size() != 2 * axes.size()) invalid("Pad: pads must have 2 * (number of axes) values");
    std::vector<int64_t> pre(static_cast<size_t>(r), 0), post(static_cast<size_t>(r), 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      pre[static_cast<size_t>(axes[i])] = pads[i];
      post[static_cast<size_t>(axes[i])] = pads[i + axes.size()];
    }
    std::vector<int64_t> st = ir::stridesOf(x.shapeVec());
    std::vector<std::vector<int64_t>> tabs(static_cast<size_t>(r));
    for (int64_t d = 0; d < r; ++d) {
      size_t k = static_cast<size_t>(d);
      int64_t n = x.dim(d), o = n + pre[k] + post[k];
      if (o != y.dim(d)) invalid("Pad: output shape mismatch");
      tabs[k].resize(static_cast<size_t>(o));
      for (int64_t i = 0; i < o; ++i) {
        int64_t c = sampleCoord(i - pre[k], n, mode_);
        tabs[k][static_cast<size_t>(i)] = c < 0 ? -1 : c * st[k];
      }
    }
    if (y.numel == 0) return;
    const void* fill = nullptr;
    if (ctx.inputs.size() > 2 && ctx.inputs[2].present && ctx.inputs[2].numel > 0) {
      if (ctx.inputs[2].dtype != x.dtype) invalid("Pad: constant_value has another type");
      fill = ctx.inputs[2].data;
    }
    tableCopy(tabs, x.data, y.data, dataTypeSize(x.dtype), fill);
  }

 private:
  int mode_{3};
};

}  // namespace

void registerSliceKernels(KernelRegistry& reg) {
  reg.add("Concat", refTactic<ConcatKernel>());
  reg.add("Split", refTactic<SplitKernel>());
  reg.add("Slice", refTactic<SliceKernel>());
  reg.add("StridedSlice", refTactic<StridedSliceKernel>());
  reg.add("Pad", refTactic<PadKernel>());
}

}  // namespace kiln::cpu::tensor_ref
