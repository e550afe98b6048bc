// CUDA kernels: Concat, Split (batched row copies), Slice, StridedSlice (kiln), Pad (mapped copies).
// Slice's starts/ends/axes/steps and Pad's pads/axes must be constants on the GPU.
#include <algorithm>

#include "backends/cuda/tensor_impl.h"
#include "ir/ops/tensor_ops.h"

namespace kiln::gpu::tensor {
namespace {

class ConcatKernel final : public Kernel {
 public:
  explicit ConcatKernel(const ir::Node& node) : axis_(node.attrs.requireInt("axis")) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    int64_t axis = normAxis(axis_, y.rank(), "Concat");
    int64_t outer = 1, total = 0;
    for (int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
    for (const TensorView& x : ctx.inputs) {
      if (x.rank() != y.rank()) invalid("Concat: rank mismatch");
      for (int64_t d = 0; d < y.rank(); ++d)
        if (d != axis && x.dim(d) != y.dim(d)) invalid("Concat: shape mismatch");
      total += x.dim(axis);
    }
    if (total != y.dim(axis)) invalid("Concat: output extent mismatch");
    if (y.numel == 0) return;
    const std::size_t es = dataTypeSize(y.dtype);
    const int64_t rowOut = y.numel / outer;
    std::vector<RowCopy> copies;
    int64_t offset = 0;
    for (const TensorView& x : ctx.inputs) {
      int64_t row = x.numel / outer;
      if (row > 0)
        copies.push_back(RowCopy{x.data, static_cast<char*>(y.data) + offset * static_cast<int64_t>(es), outer, row, row, rowOut});
      offset += row;
    }
    rowCopies(copies, es, streamOf(ctx));
  }

 private:
  int64_t axis_;
};

class SplitKernel final : public Kernel {
 public:
  explicit SplitKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    int64_t axis = normAxis(axis_, x.rank(), "Split");
    int64_t outer = 1, total = 0;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (const TensorView& y : ctx.outputs) {
      if (y.rank() != x.rank()) invalid("Split: rank mismatch");
      for (int64_t d = 0; d < x.rank(); ++d)
        if (d != axis && x.dim(d) != y.dim(d)) invalid("Split: shape mismatch");
      total += y.dim(axis);
    }
    if (total != x.dim(axis)) invalid("Split: split sizes do not add up to the input extent");
    if (x.numel == 0) return;
    const std::size_t es = dataTypeSize(x.dtype);
    const int64_t rowIn = x.numel / outer;
    std::vector<RowCopy> copies;
    int64_t offset = 0;
    for (const TensorView& y : ctx.outputs) {
      int64_t row = y.numel / outer;
      if (row > 0)
        copies.push_back(RowCopy{static_cast<const char*>(x.data) + offset * static_cast<int64_t>(es), y.data, outer, row, rowIn, row});
      offset += row;
    }
    rowCopies(copies, es, streamOf(ctx));
  }

 private:
  int64_t axis_;
};

bool sliceSupports(const ir::Node& n, std::string* why) {
  for (size_t k = 1; k < 5; ++k)
    if (hasInput(n, k) && !n.inputs[k]->isConstant()) {
      if (why) *why = "starts/ends/axes/steps must be constants on the GPU";
      return false;
    }
  return true;
}

class SliceKernel final : public Kernel {
 public:
  explicit SliceKernel(const ir::Node& node) {
    if (!constantInts(node, 1, &starts_) || !constantInts(node, 2, &ends_))
      unsupported("Slice: starts/ends must be constants on the GPU");
    hasAxes_ = hasInput(node, 3);
    hasSteps_ = hasInput(node, 4);
    if ((hasAxes_ && !constantInts(node, 3, &axes_)) || (hasSteps_ && !constantInts(node, 4, &steps_)))
      unsupported("Slice: axes/steps must be constants on the GPU");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    std::vector<ir::tensor_ops::SliceAxis> p = ir::tensor_ops::sliceParams(
        x.shapeVec(), starts_, ends_, hasAxes_ ? &axes_ : nullptr, hasSteps_ ? &steps_ : nullptr);
    std::vector<int64_t> st = stridesOf(x.shape);
    std::vector<CopyAxis> axes(p.size());
    for (size_t d = 0; d < p.size(); ++d) {
      if (p[d].length != y.dim(static_cast<int64_t>(d))) invalid("Slice: output shape mismatch");
      axes[d] = CopyAxis{p[d].length, p[d].start, p[d].step, x.dim(static_cast<int64_t>(d)), st[d], kAffine};
    }
    if (y.numel == 0) return;
    mappedCopy(axes, x.data, y.data, dataTypeSize(x.dtype), streamOf(ctx));
  }

 private:
  std::vector<int64_t> starts_, ends_, axes_, steps_;
  bool hasAxes_{false}, hasSteps_{false};
};

class StridedSliceKernel final : public Kernel {
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
    std::vector<int64_t> st = stridesOf(x.shape);
    std::vector<CopyAxis> axes(r);
    for (size_t d = 0; d < r; ++d) {
      if (y.dim(static_cast<int64_t>(d)) != size_[d]) invalid("StridedSlice: output shape mismatch");
      int64_t n = x.dim(static_cast<int64_t>(d));
      if (mode_ == 0 && size_[d] > 0) {  // STRICT_BOUNDS: the samples must lie inside (they are monotone)
        int64_t first = start_[d], last = start_[d] + (size_[d] - 1) * stride_[d];
        if (first < 0 || first >= n || last < 0 || last >= n)
          invalid("sampled coordinate outside the extent " + std::to_string(n));
      }
      axes[d] = CopyAxis{size_[d], start_[d], stride_[d], n, st[d], mode_ == 0 ? kAffine : mode_};
    }
    if (y.numel == 0) return;
    const void* fill = nullptr;
    if (present(ctx, 1)) {
      if (ctx.inputs[1].numel != 1 || ctx.inputs[1].dtype != x.dtype) invalid("StridedSlice: bad fill value");
      fill = ctx.inputs[1].data;
    }
    mappedCopy(axes, x.data, y.data, dataTypeSize(x.dtype), streamOf(ctx), fill, 0);
  }

 private:
  std::vector<int64_t> start_, size_, stride_;
  int mode_;
};

bool padSupports(const ir::Node& n, std::string* why) {
  if (!hasInput(n, 1) || !n.inputs[1]->isConstant()) {
    if (why) *why = "'pads' must be a constant on the GPU";
    return false;
  }
  if (hasInput(n, 3) && !n.inputs[3]->isConstant()) {
    if (why) *why = "'axes' must be a constant on the GPU";
    return false;
  }
  return true;
}

class PadKernel final : public Kernel {
 public:
  explicit PadKernel(const ir::Node& node) {
    std::string m = node.attrs.getString("mode", "constant");
    if (m == "constant") mode_ = kFill;
    else if (m == "reflect") mode_ = kReflect;
    else if (m == "edge") mode_ = kClamp;
    else if (m == "wrap") mode_ = kWrap;
    else unsupported("Pad: unknown mode '" + m + "'");
    if (!constantInts(node, 1, &pads_)) unsupported("Pad: 'pads' must be a constant on the GPU");
    hasAxes_ = hasInput(node, 3);
    if (hasAxes_ && !constantInts(node, 3, &axes_)) unsupported("Pad: 'axes' must be a constant on the GPU");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    int64_t r = x.rank();
    std::vector<int64_t> axes;
    if (hasAxes_) {
      for (int64_t a : axes_) axes.push_back(normAxis(a, r, "Pad"));
    } else {
      for (int64_t i = 0; i < r; ++i) axes.push_back(i);
    }
    if (pads_.size() != 2 * axes.size()) invalid("Pad: pads must have 2 * (number of axes) values");
    std::vector<int64_t> pre(static_cast<size_t>(r), 0), post(static_cast<size_t>(r), 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      pre[static_cast<size_t>(axes[i])] = pads_[i];
      post[static_cast<size_t>(axes[i])] = pads_[i + axes.size()];
    }
    std::vector<int64_t> st = stridesOf(x.shape);
    std::vector<CopyAxis> cax(static_cast<size_t>(r));
    for (int64_t d = 0; d < r; ++d) {
      size_t k = static_cast<size_t>(d);
      int64_t n = x.dim(d), o = n + pre[k] + post[k];
      if (o != y.dim(d)) invalid("Pad: output shape mismatch");
      cax[k] = CopyAxis{o, -pre[k], 1, n, st[k], mode_};
    }
    if (y.numel == 0) return;
    const void* fill = nullptr;
    if (present(ctx, 2) && ctx.inputs[2].numel > 0) {
      if (ctx.inputs[2].dtype != x.dtype) invalid("Pad: constant_value has another type");
      fill = ctx.inputs[2].data;
    }
    mappedCopy(cax, x.data, y.data, dataTypeSize(x.dtype), streamOf(ctx), fill, 0);
  }

 private:
  int32_t mode_{kFill};
  std::vector<int64_t> pads_, axes_;
  bool hasAxes_{false};
};

}  // namespace

void registerSliceOps(KernelRegistry& reg) {
  reg.add("Concat", cudaTactic<ConcatKernel>());
  reg.add("Split", cudaTactic<SplitKernel>());
  reg.add("Slice", cudaTactic<SliceKernel>(&sliceSupports));
  reg.add("StridedSlice", cudaTactic<StridedSliceKernel>());
  reg.add("Pad", cudaTactic<PadKernel>(&padSupports));
}

}  // namespace kiln::gpu::tensor
