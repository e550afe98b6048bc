// GPU kernels of the control-flow ops Scan and If (semantics of src/ir/ops/scan.cpp; the CPU reference is
// src/backends/cpu/ref/scan.cpp). Their nested graphs run as Subgraphs (subgraph.h): a GPU kernel per node,
// launched on the run's stream, with the values in the workspace.
//
// Scan: the body runs once per iteration, everything queued on the stream (no synchronization). A scan
// input's slice is read in place where it is contiguous (outer extents 1) and 256-byte aligned, as kernels
// expect of tensors, else gathered by a (strided 2-D) copy; a scan output's slice is written in place by
// the body under the same conditions, else copied out. States alternate between two workspace buffers; the last iteration writes the node's outputs
// directly. Body shapes are the same every iteration (a state whose shape changes is refused for more
// than one iteration; the CPU reference refuses it as well, when it checks the final state).
//
// If: the condition lives on the device. The kernel copies it to the host and synchronizes the stream
// (cudaStreamSynchronize: the host waits for the work queued before the If), then queues the taken
// branch only. While the stream is being captured into a CUDA graph nothing can be read, so both
// branches are queued (the else branch into workspace buffers) and a small kernel copies the taken
// branch's outputs into place, reading the condition on the device at replay; that needs both branches'
// outputs to have the node's output shapes (else a clear error). Branches whose output shapes differ are
// otherwise allowed where the engine's output shapes are those of the taken branch (the runtime knew the
// condition when it inferred shapes, as the CPU reference requires); a taken branch whose shapes are not
// the engine's is an error, as on the CPU.
#include <algorithm>
#include <climits>
#include <cstdint>

#include "backends/cuda/subgraph.h"
#include "core/dtype.h"
#include "ir/ops/scan_common.h"
#include "ir/shape_utils.h"

namespace kiln::gpu {
namespace {

using ir::scan::Split3;
using ir::scan::splitAt;

[[noreturn]] void bad(const std::string& m) { throw Error(ErrorCode::kINVALID_ARGUMENT, "Scan: " + m); }

std::shared_ptr<const ir::Graph> graphAttr(const ir::Node& n, const char* name) {
  const ir::Attr* a = n.attrs.find(name);
  if (!a || a->kind != ir::Attr::Kind::kGRAPH || !a->graph)
    throw Error(ErrorCode::kINVALID_ARGUMENT, n.op + ": the " + name + " graph attribute is missing");
  return a->graph;
}

ir::Shape without(const ir::Shape& s, int64_t axis) {
  ir::Shape r = s;
  r.erase(r.begin() + axis);
  return r;
}

bool aligned256(const void* p) { return reinterpret_cast<uintptr_t>(p) % 256 == 0; }

void copyBytes(void* dst, const void* src, std::size_t bytes, cudaStream_t st) {
  if (bytes && dst != src) KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, st));
}

class ScanKernel final : public Kernel {
 public:
  explicit ScanKernel(const ir::Node& node) : l_(ir::scan::layoutOf(node)), body_(graphAttr(node, "body"), "Scan body") {}

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    return geometry(in, out).bytes;
  }

  void run(const KernelContext& ctx) const override {
    const Geometry g = geometry(ctx.inputs, ctx.outputs);
    if (ctx.workspaceBytes < g.bytes)
      throw Error(ErrorCode::kINVALID_STATE, "Scan: the workspace holds " + std::to_string(ctx.workspaceBytes) +
                                                 " bytes, " + std::to_string(g.bytes) + " are needed");
    const cudaStream_t st = streamOf(ctx);
    const size_t N = static_cast<size_t>(l_.N), M = static_cast<size_t>(l_.M), C = static_cast<size_t>(l_.C),
                 K = static_cast<size_t>(l_.K);
    auto* ws = static_cast<uint8_t*>(ctx.workspace);
    if (g.L == 0) {  // no iteration: the states pass through
      for (size_t j = 0; j < N; ++j) copyBytes(ctx.outputs[j].data, ctx.inputs[j].data, ctx.outputs[j].bytes(), st);
      return;
    }
    std::vector<void*> in(N + M + C), out(N + K);
    std::vector<const void*> src;
    for (size_t c = 0; c < C; ++c) in[N + M + c] = ctx.inputs[N + M + c].data;
    for (int64_t t = 0; t < g.L; ++t) {
      for (size_t j = 0; j < N; ++j) {
        in[j] = t == 0 ? ctx.inputs[j].data : ws + g.stateOff[2 * j + static_cast<size_t>((t - 1) & 1)];
        out[j] = t == g.L - 1 ? ctx.outputs[j].data : ws + g.stateOff[2 * j + static_cast<size_t>(t & 1)];
      }
      for (size_t k = 0; k < M; ++k) {
        const Split3& s = g.in[k];
        const int64_t idx = l_.inDirs[k] ? g.L - 1 - t : t;
        const uint8_t* x = static_cast<const uint8_t*>(ctx.inputs[N + k].data) + static_cast<std::size_t>(idx) * s.inner;
        if (s.outer == 1 && (g.sliceOff[k] == SIZE_MAX || aligned256(x))) {
          in[N + k] = const_cast<uint8_t*>(x);
        } else {
          in[N + k] = ws + g.sliceOff[k];
          KILN_CUDA_CHECK(cudaMemcpy2DAsync(in[N + k], s.inner, x, static_cast<std::size_t>(s.len) * s.inner, s.inner,
                                            static_cast<std::size_t>(s.outer), cudaMemcpyDefault, st));
        }
      }
      std::vector<uint8_t*> dst(K);
      for (size_t k = 0; k < K; ++k) {
        const int64_t idx = l_.outDirs[k] ? g.L - 1 - t : t;
        dst[k] = static_cast<uint8_t*>(ctx.outputs[N + k].data) + static_cast<std::size_t>(idx) * g.out[k].inner;
        const bool inPlace = g.outOff[k] == SIZE_MAX || (g.out[k].outer == 1 && aligned256(dst[k]));
        out[N + k] = inPlace ? static_cast<void*>(dst[k]) : static_cast<void*>(ws + g.outOff[k]);
      }
      body_.run(*g.plan, in, out, ws + g.bodyOff, st, src);
      // outputs the body did not write in place: states and contiguous slices are plain copies, the
      // others strided copies into the scan output
      for (size_t j = 0; j < N; ++j) copyBytes(out[j], src[j], g.stateBytes[j], st);
      for (size_t k = 0; k < K; ++k) {
        const Split3& s = g.out[k];
        if (s.outer == 1) {
          copyBytes(dst[k], src[N + k], s.inner, st);
        } else if (s.inner && src[N + k] != dst[k]) {
          KILN_CUDA_CHECK(cudaMemcpy2DAsync(dst[k], static_cast<std::size_t>(s.len) * s.inner, src[N + k], s.inner, s.inner,
                                            static_cast<std::size_t>(s.outer), cudaMemcpyDefault, st));
        }
      }
    }
  }

 private:
  struct Geometry {
    int64_t L{-1};
    std::vector<Split3> in, out;  //!< per scan input / output
    std::vector<std::size_t> stateBytes, stateOff, sliceOff, outOff;
    std::size_t bodyOff{0}, bytes{0};
    std::shared_ptr<const Subgraph::Plan> plan;
  };

  //! Checks the shapes as the CPU reference does and lays out the workspace.
  Geometry geometry(std::span<const TensorView> ins, std::span<const TensorView> outs) const {
    const int64_t N = l_.N, M = l_.M, C = l_.C, K = l_.K;
    if (static_cast<int64_t>(ins.size()) != N + M + C || static_cast<int64_t>(outs.size()) != N + K)
      bad("wrong number of inputs or outputs");
    Geometry g;
    std::vector<DataType> types;
    std::vector<ir::Shape> shapes;
    for (int64_t i = 0; i < N + M + C; ++i) {
      const TensorView& x = ins[static_cast<size_t>(i)];
      types.push_back(x.dtype);
      shapes.push_back(x.shapeVec());
      if (i < N || i >= N + M) continue;
      const size_t k = static_cast<size_t>(i - N);
      const int64_t a0 = l_.inAxes[k];
      if (x.rank() < 1 || a0 < -x.rank() || a0 >= x.rank()) bad("scan_input_axes out of range");
      const int64_t a = a0 < 0 ? a0 + x.rank() : a0;
      if (g.L >= 0 && x.dim(a) != g.L) bad("the scan inputs have different lengths");
      g.L = x.dim(a);
      g.in.push_back(splitAt(shapes.back(), a, x.dtype));
      shapes.back() = without(shapes.back(), a);
    }
    std::vector<int64_t> outAxis;
    for (size_t k = 0; k < static_cast<size_t>(K); ++k) {
      const TensorView& y = outs[static_cast<size_t>(N) + k];
      const int64_t a0 = l_.outAxes[k];
      if (y.rank() < 1 || a0 < -y.rank() || a0 >= y.rank()) bad("scan_output_axes out of range");
      outAxis.push_back(a0 < 0 ? a0 + y.rank() : a0);
      if (y.dim(outAxis.back()) != g.L) bad("a scan output's length differs from the scan length");
      g.out.push_back(splitAt(y.shapeVec(), outAxis.back(), y.dtype));
    }
    g.plan = body_.plan(types, shapes);
    const Subgraph::Plan& p = *g.plan;
    for (size_t j = 0; j < static_cast<size_t>(N); ++j) {
      const TensorView& y = outs[j];
      const ir::ValueInfo& o = p.output(j);
      if (g.L > 1 && o.shape != shapes[j])
        bad("state " + std::to_string(j) + " changes shape from " + ir::shapeToString(shapes[j]) + " to " +
            ir::shapeToString(o.shape) + " in an iteration");
      const ir::Shape& fin = g.L == 0 ? shapes[j] : o.shape;
      if (ins[j].dtype != y.dtype || o.dtype != y.dtype || fin != y.shapeVec()) bad("a final state has the wrong type or shape");
      g.stateBytes.push_back(y.bytes());
    }
    for (size_t k = 0; k < static_cast<size_t>(K); ++k) {
      const TensorView& y = outs[static_cast<size_t>(N) + k];
      const ir::ValueInfo& o = p.output(static_cast<size_t>(N) + k);
      if (o.dtype != y.dtype || o.shape != without(y.shapeVec(), outAxis[k]))
        bad("a scan output of the body has the wrong type or shape");
    }
    // workspace: two buffers per state (iterations alternate), gathered slices, slices to scatter, body
    std::size_t off = 0;
    auto take = [&off](std::size_t bytes) {
      const std::size_t at = off;
      off += align256(bytes);
      return at;
    };
    for (size_t j = 0; j < static_cast<size_t>(N); ++j)
      for (int b = 0; b < 2; ++b) g.stateOff.push_back(g.L > 1 ? take(g.stateBytes[j]) : SIZE_MAX);
    // (a slice used in place must be 256-byte aligned, as kernels expect of their tensors)
    auto inPlace = [](const Split3& s) { return s.outer == 1 && s.inner % 256 == 0; };
    for (const Split3& s : g.in) g.sliceOff.push_back(inPlace(s) ? SIZE_MAX : take(static_cast<std::size_t>(s.outer) * s.inner));
    for (size_t k = 0; k < static_cast<size_t>(K); ++k) {
      const Split3& s = g.out[k];
      g.outOff.push_back(inPlace(s) || !body_.writesOutput(static_cast<size_t>(N) + k)
                             ? SIZE_MAX
                             : take(static_cast<std::size_t>(s.outer) * s.inner));
    }
    g.bodyOff = off;
    g.bytes = off + p.bytes;
    return g;
  }

  ir::scan::Layout l_;
  Subgraph body_;
};

class IfKernel final : public Kernel {
 public:
  explicit IfKernel(const ir::Node& node)
      : then_(graphAttr(node, "then_branch"), "If then_branch"), else_(graphAttr(node, "else_branch"), "If else_branch") {
    for (const Subgraph* b : {&then_, &else_})
      if (b->numInputs() + 1 != node.inputs.size() || b->numOutputs() != node.outputs.size())
        throw Error(ErrorCode::kINVALID_ARGUMENT, "If: a branch does not match the node's inputs/outputs");
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    return geometry(in, out).bytes;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& c = ctx.inputs[0];
    if (c.numel != 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "If: the condition must have one element");
    const Geometry g = geometry(ctx.inputs, ctx.outputs);
    if (ctx.workspaceBytes < g.bytes)
      throw Error(ErrorCode::kINVALID_STATE, "If: the workspace holds " + std::to_string(ctx.workspaceBytes) + " bytes, " +
                                                 std::to_string(g.bytes) + " are needed");
    const cudaStream_t st = streamOf(ctx);
    const size_t nOut = ctx.outputs.size();
    std::vector<void*> in, y;
    for (size_t i = 1; i < ctx.inputs.size(); ++i) in.push_back(ctx.inputs[i].data);
    for (const TensorView& o : ctx.outputs) y.push_back(o.data);
    auto* ws = static_cast<uint8_t*>(ctx.workspace);
    std::vector<const void*> srcThen, srcElse;
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    KILN_CUDA_CHECK(cudaStreamIsCapturing(st, &capture));
    if (capture != cudaStreamCaptureStatusNone) {
      // CUDA graph capture: both branches, then the taken one's outputs into place (decided at replay)
      if (!g.sameShapes)
        throw Error(ErrorCode::kUNSUPPORTED_STATE,
                    "If: the branches' outputs have different shapes, so the taken branch must be known before it runs: "
                    "such an If cannot be captured into a CUDA graph (run it with CUDA graphs disabled)");
      then_.run(*g.thenPlan, in, y, ws, st, srcThen);
      std::vector<void*> tmp(nOut, nullptr);
      for (size_t j = 0; j < nOut; ++j)
        if (g.elseOutOff[j] != SIZE_MAX) tmp[j] = ws + g.elseOutOff[j];
      else_.run(*g.elsePlan, in, tmp, ws + g.elseOff, st, srcElse);
      std::vector<std::size_t> bytes;
      for (const TensorView& o : ctx.outputs) bytes.push_back(o.bytes());
      selectCopy(c.data, c.dtype, y, srcThen, srcElse, bytes, st);
      return;
    }
    // read the condition: one small copy, then the host waits for the stream
    alignas(8) uint8_t host[16] = {};
    KILN_CUDA_CHECK(cudaMemcpyAsync(host, c.data, dataTypeSize(c.dtype), cudaMemcpyDefault, st));
    KILN_CUDA_CHECK(cudaStreamSynchronize(st));
    const bool taken = conditionIsTrue(host, c.dtype);
    const Subgraph& branch = taken ? then_ : else_;
    const Subgraph::Plan& p = taken ? *g.thenPlan : *g.elsePlan;
    for (size_t j = 0; j < nOut; ++j) {
      const ir::ValueInfo& o = p.output(j);
      const TensorView& v = ctx.outputs[j];
      if (o.dtype != v.dtype || o.shape != v.shapeVec())
        throw Error(ErrorCode::kINVALID_ARGUMENT, "If: the taken branch's output " + std::to_string(j) + " has shape " +
                                                      ir::shapeToString(o.shape) + ", the engine expected " +
                                                      ir::shapeToString(v.shapeVec()));
    }
    branch.run(p, in, y, ws, st, srcThen);
    for (size_t j = 0; j < nOut; ++j) copyBytes(y[j], srcThen[j], ctx.outputs[j].bytes(), st);
  }

 private:
  struct Geometry {
    std::shared_ptr<const Subgraph::Plan> thenPlan, elsePlan;
    bool sameShapes{false};  //!< both branches give the node's output types and shapes
    std::size_t elseOff{0};
    std::vector<std::size_t> elseOutOff;
    std::size_t bytes{0};
  };

  //! Plans of both branches; workspace for the capture case too where it can happen (both branches, the
  //! else branch's computed outputs in buffers of their own).
  Geometry geometry(std::span<const TensorView> ins, std::span<const TensorView> outs) const {
    if (ins.size() != then_.numInputs() + 1 || outs.size() != then_.numOutputs())
      throw Error(ErrorCode::kINVALID_ARGUMENT, "If: wrong number of inputs or outputs");
    std::vector<DataType> types;
    std::vector<ir::Shape> shapes;
    for (size_t i = 1; i < ins.size(); ++i) {
      types.push_back(ins[i].dtype);
      shapes.push_back(ins[i].shapeVec());
    }
    Geometry g;
    g.thenPlan = then_.plan(types, shapes);
    g.elsePlan = else_.plan(types, shapes);
    g.sameShapes = true;
    for (size_t j = 0; j < outs.size(); ++j)
      for (const Subgraph::Plan* p : {g.thenPlan.get(), g.elsePlan.get()})
        g.sameShapes = g.sameShapes && p->output(j).dtype == outs[j].dtype && p->output(j).shape == outs[j].shapeVec();
    if (!g.sameShapes) {
      g.bytes = std::max(g.thenPlan->bytes, g.elsePlan->bytes);
      return g;
    }
    std::size_t off = g.thenPlan->bytes;
    g.elseOff = off;
    off += g.elsePlan->bytes;
    for (size_t j = 0; j < outs.size(); ++j) {
      g.elseOutOff.push_back(else_.writesOutput(j) ? off : SIZE_MAX);
      if (else_.writesOutput(j)) off += align256(outs[j].bytes());
    }
    g.bytes = off;
    return g;
  }

  Subgraph then_, else_;
};

bool scanSupports(const ir::Node& n, std::string* why) {
  try {
    ir::scan::Layout l = ir::scan::layoutOf(n);
    return Subgraph::supported(*l.body, "Scan body", why);
  } catch (const Error& e) {
    if (why) *why = e.message();
    return false;
  }
}

bool ifSupports(const ir::Node& n, std::string* why) {
  try {
    for (const char* name : {"then_branch", "else_branch"}) {
      std::shared_ptr<const ir::Graph> b = graphAttr(n, name);
      if (b->inputs.size() + 1 != n.inputs.size() || b->outputs.size() != n.outputs.size()) {
        if (why) *why = std::string(name) + " does not match the node's inputs/outputs";
        return false;
      }
      if (!Subgraph::supported(*b, std::string("If ") + name, why)) return false;
    }
    return true;
  } catch (const Error& e) {
    if (why) *why = e.message();
    return false;
  }
}

template <class K>
Tactic controlFlowTactic(bool (*supports)(const ir::Node&, std::string*)) {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<K>(n); };
  t.supports = supports;
  return t;
}

}  // namespace

void registerControlFlowKernels(KernelRegistry& reg) {
  reg.add("Scan", controlFlowTactic<ScanKernel>(scanSupports));
  reg.add("If", controlFlowTactic<IfKernel>(ifSupports));
}

}  // namespace kiln::gpu
