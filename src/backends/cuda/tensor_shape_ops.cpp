// CUDA kernels: Transpose, Shuffle (kiln, permuted case), Expand, Tile, DepthToSpace, SpaceToDepth. All are
// mapped copies (tensor_copy.cu): merged dims, tiled transposes, vectorized strided copies.
#include <algorithm>

#include "ir/ops/tensor_ops.h"

#include "backends/cuda/tensor_impl.h"

namespace kiln::gpu::tensor {
namespace {

using ir::tensor_ops::checkedPerm;
bool isIdentity(const std::vector<int64_t>& p) { return ir::tensor_ops::isIdentityPerm(p); }

void copyAll(const TensorView& x, const TensorView& y, cudaStream_t s) {
  if (x.bytes() != y.bytes()) invalid("element count mismatch");
  if (x.bytes() && x.data != y.data) KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, x.data, x.bytes(), cudaMemcpyDefault, s));
}

class TransposeKernel final : public Kernel {
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
    mappedCopy(transposeAxes(x.shapeVec(), perm), x.data, ctx.outputs[0].data, dataTypeSize(x.dtype), streamOf(ctx));
  }

 private:
  bool has_;
  std::vector<int64_t> perm_;
};

class ShuffleKernel final : public Kernel {
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
    cudaStream_t stream = streamOf(ctx);
    if (x.numel != y.numel) invalid("Shuffle: element count mismatch");
    const std::size_t es = dataTypeSize(x.dtype);
    bool f = hasPerm(first_, x.rank()), s = hasPerm(second_, y.rank());
    if (!f && !s) return copyAll(x, y, stream);
    std::vector<int64_t> reshaped = y.shapeVec(), p1, p2;
    if (s) {
      p2 = checkedPerm(second_, y.rank(), "Shuffle: second_perm");
      for (size_t i = 0; i < p2.size(); ++i) reshaped[static_cast<size_t>(p2[i])] = y.dim(static_cast<int64_t>(i));
    }
    if (f) p1 = checkedPerm(first_, x.rank(), "Shuffle: first_perm");
    if (x.numel == 0) return;
    if (f && !s) return mappedCopy(transposeAxes(x.shapeVec(), p1), x.data, y.data, es, stream);
    if (!f) return mappedCopy(transposeAxes(reshaped, p2), x.data, y.data, es, stream);
    if (ctx.workspaceBytes < x.bytes()) invalid("Shuffle: workspace too small");
    mappedCopy(transposeAxes(x.shapeVec(), p1), x.data, ctx.workspace, es, stream);
    mappedCopy(transposeAxes(reshaped, p2), ctx.workspace, y.data, es, stream);
  }

  //! The builder's choice: this tactic handles Shuffles with a permutation (copy_ops.cpp does the rest).
  static bool supports(const ir::Node& n, std::string* why) {
    for (const char* a : {"first_perm", "second_perm"})
      if (!isIdentity(n.attrs.getInts(a))) return true;
    if (why) *why = "no permutation (the copy tactic applies)";
    return false;
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

class ExpandKernel final : public Kernel {
 public:
  explicit ExpandKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() > y.rank()) invalid("Expand: output shape does not match");
    std::vector<int64_t> st = stridesOf(x.shape);
    const int64_t off = y.rank() - x.rank();
    std::vector<CopyAxis> axes(static_cast<size_t>(y.rank()));
    for (int64_t d = 0; d < y.rank(); ++d) {
      CopyAxis& a = axes[static_cast<size_t>(d)];
      a.ext = y.dim(d);
      if (d >= off) {
        int64_t n = x.dim(d - off);
        if (n != 1 && n != y.dim(d)) invalid("Expand: output shape does not match");
        a.inExt = n;
        a.inStride = n == 1 ? 0 : st[static_cast<size_t>(d - off)];
      }
    }
    if (y.numel == 0) return;
    mappedCopy(axes, x.data, y.data, dataTypeSize(x.dtype), streamOf(ctx));
  }
};

//! Tile as a broadcast: output dim d of extent r*n becomes (r, stride 0) x (n, the input's stride).
class TileKernel final : public Kernel {
 public:
  explicit TileKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (y.rank() != x.rank()) invalid("Tile: repeats must have one value per dim");
    if (y.numel == 0) return;
    std::vector<int64_t> st = stridesOf(x.shape);
    std::vector<CopyAxis> axes;
    for (int64_t d = 0; d < x.rank(); ++d) {
      int64_t n = x.dim(d), o = y.dim(d);
      if (n <= 0 || o % n) invalid("Tile: output shape mismatch");
      if (x.rank() > kMaxDims / 2) {  // too many dims for the broadcast form: sample with wrap-around
        axes.push_back(CopyAxis{o, 0, 1, n, st[static_cast<size_t>(d)], kWrap});
        continue;
      }
      CopyAxis rep, in;
      rep.ext = o / n;
      in.ext = n;
      in.inExt = n;
      in.inStride = st[static_cast<size_t>(d)];
      axes.push_back(rep);
      axes.push_back(in);
    }
    mappedCopy(axes, x.data, y.data, dataTypeSize(x.dtype), streamOf(ctx));
  }
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
    if (ctx.outputs[0].numel != x.numel) invalid("output size mismatch");
    if (x.numel == 0) return;
    int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), b = b_;
    std::vector<int64_t> view, perm;
    ir::tensor_ops::depthSpaceTranspose(n, c, h, w, b, toSpace_, crd_, view, perm);
    mappedCopy(transposeAxes(view, perm), x.data, ctx.outputs[0].data, dataTypeSize(x.dtype), streamOf(ctx));
  }

 private:
  bool toSpace_;
  int64_t b_;
  bool crd_;
};
struct DepthToSpaceK final : DepthToSpaceKernel {
  explicit DepthToSpaceK(const ir::Node& n) : DepthToSpaceKernel(n, true) {}
};
struct SpaceToDepthK final : DepthToSpaceKernel {
  explicit SpaceToDepthK(const ir::Node& n) : DepthToSpaceKernel(n, false) {}
};

}  // namespace

void registerShapeOps(KernelRegistry& reg) {
  reg.add("Transpose", cudaTactic<TransposeKernel>());
  reg.add("Shuffle", cudaTactic<ShuffleKernel>(&ShuffleKernel::supports));
  reg.add("Expand", cudaTactic<ExpandKernel>());
  reg.add("Tile", cudaTactic<TileKernel>());
  reg.add("DepthToSpace", cudaTactic<DepthToSpaceK>());
  reg.add("SpaceToDepth", cudaTactic<SpaceToDepthK>());
}

}  // namespace kiln::gpu::tensor
