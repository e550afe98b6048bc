// Reference kernel of Scan: runs the body graph once per iteration with the reference kernels (inference
// and evaluation node by node, as the constant folder does), carrying the states and stacking the scan
// outputs. Serial; meant for small bodies (recurrences written out in ONNX functions).
#include <cstring>

#include "backends/cpu/evaluate.h"
#include "backends/cpu/kernel.h"
#include "ir/ops/scan_common.h"
#include "ir/shape_utils.h"

namespace kiln::cpu {
namespace {

using TD = std::shared_ptr<const ir::TensorData>;

[[noreturn]] void bad(const std::string& m) { throw Error(ErrorCode::kINVALID_ARGUMENT, "Scan: " + m); }

//! Runs `body` on `inputs` (one per body input) and returns its outputs.
std::vector<TD> runBody(const ir::Graph& body, const std::vector<TD>& inputs) {
  std::vector<ir::ValueInfo> infos(body.values.size());
  for (const auto& v : body.values)
    if (v->isConstant()) {
      auto& i = infos[static_cast<size_t>(v->id)];
      i.dtype = v->constant->dtype;
      i.shape = v->constant->shape;
      i.data = v->constant;
    }
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto& vi = infos[static_cast<size_t>(body.inputs[i]->id)];
    vi.dtype = inputs[i]->dtype;
    vi.shape = inputs[i]->shape;
    vi.data = inputs[i];
  }
  const ir::OpRegistry& reg = ir::defaultOpRegistry();
  for (const auto& n : body.nodes) {
    ir::inferNode(reg, *n, infos);
    std::vector<const ir::TensorData*> ins;
    for (const ir::Value* in : n->inputs) {
      const ir::TensorData* d = in ? infos[static_cast<size_t>(in->id)].data.get() : nullptr;
      if (in && !d) bad("body value '" + in->name + "' was not computed");
      ins.push_back(d);
    }
    auto outs = evaluateNode(*n, ins, infos);
    for (size_t k = 0; k < n->outputs.size() && k < outs.size(); ++k)
      infos[static_cast<size_t>(n->outputs[k]->id)].data = outs[k];
  }
  std::vector<TD> res;
  for (const ir::Value* o : body.outputs) {
    TD d = infos[static_cast<size_t>(o->id)].data;
    if (!d) bad("body output '" + o->name + "' was not computed");
    res.push_back(d);
  }
  return res;
}

using ir::scan::Split3;
using ir::scan::splitAt;

class ScanKernel : public Kernel {
 public:
  explicit ScanKernel(const ir::Node& node) : l_(ir::scan::layoutOf(node)), body_(node.attrs.find("body")->graph) {}

  void run(const KernelContext& ctx) const override {
    const int64_t N = l_.N, M = l_.M, C = l_.C, K = l_.K;
    if (static_cast<int64_t>(ctx.inputs.size()) != N + M + C || static_cast<int64_t>(ctx.outputs.size()) != N + K)
      bad("wrong number of inputs or outputs");
    auto toData = [](const TensorView& v) { return ir::makeTensor(v.dtype, v.shapeVec(), v.data, v.bytes()); };
    std::vector<TD> states, captured;
    for (int64_t i = 0; i < N; ++i) states.push_back(toData(ctx.inputs[static_cast<size_t>(i)]));
    for (int64_t i = 0; i < C; ++i) captured.push_back(toData(ctx.inputs[static_cast<size_t>(N + M + i)]));
    int64_t L = -1;
    std::vector<int64_t> inAxis(static_cast<size_t>(M));
    for (int64_t k = 0; k < M; ++k) {
      const TensorView& x = ctx.inputs[static_cast<size_t>(N + k)];
      int64_t a = l_.inAxes[static_cast<size_t>(k)];
      if (x.rank() < 1 || a < -x.rank() || a >= x.rank()) bad("scan_input_axes out of range");
      inAxis[static_cast<size_t>(k)] = a < 0 ? a + x.rank() : a;
      int64_t len = x.dim(inAxis[static_cast<size_t>(k)]);
      if (L >= 0 && len != L) bad("the scan inputs have different lengths");
      L = len;
    }
    std::vector<int64_t> outAxis(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) {
      const TensorView& y = ctx.outputs[static_cast<size_t>(N + k)];
      int64_t a = l_.outAxes[static_cast<size_t>(k)];
      if (y.rank() < 1 || a < -y.rank() || a >= y.rank()) bad("scan_output_axes out of range");
      outAxis[static_cast<size_t>(k)] = a < 0 ? a + y.rank() : a;
      if (y.dim(outAxis[static_cast<size_t>(k)]) != L) bad("a scan output's length differs from the scan length");
    }
    for (int64_t t = 0; t < L; ++t) {
      std::vector<TD> ins = states;
      for (int64_t k = 0; k < M; ++k) {
        const TensorView& x = ctx.inputs[static_cast<size_t>(N + k)];
        const int64_t a = inAxis[static_cast<size_t>(k)];
        const int64_t idx = l_.inDirs[static_cast<size_t>(k)] ? L - 1 - t : t;
        Split3 s = splitAt(x.shapeVec(), a, x.dtype);
        ir::Shape sliceShape = x.shapeVec();
        sliceShape.erase(sliceShape.begin() + a);
        void* p = nullptr;
        auto slice = ir::makeTensor(x.dtype, sliceShape, &p);
        for (int64_t o = 0; o < s.outer; ++o)
          std::memcpy(static_cast<char*>(p) + static_cast<std::size_t>(o) * s.inner,
                      static_cast<const char*>(x.data) + (static_cast<std::size_t>(o * s.len + idx)) * s.inner, s.inner);
        ins.push_back(slice);
      }
      ins.insert(ins.end(), captured.begin(), captured.end());
      std::vector<TD> outs = runBody(*body_, ins);
      for (int64_t j = 0; j < N; ++j) states[static_cast<size_t>(j)] = outs[static_cast<size_t>(j)];
      for (int64_t k = 0; k < K; ++k) {
        const TensorView& y = ctx.outputs[static_cast<size_t>(N + k)];
        const ir::TensorData& o = *outs[static_cast<size_t>(N + k)];
        const int64_t a = outAxis[static_cast<size_t>(k)];
        ir::Shape expect = y.shapeVec();
        expect.erase(expect.begin() + a);
        if (o.dtype != y.dtype || o.shape != expect) bad("a scan output of the body has the wrong type or shape");
        const int64_t idx = l_.outDirs[static_cast<size_t>(k)] ? L - 1 - t : t;
        Split3 s = splitAt(y.shapeVec(), a, y.dtype);
        for (int64_t q = 0; q < s.outer; ++q)
          std::memcpy(static_cast<char*>(y.data) + static_cast<std::size_t>(q * s.len + idx) * s.inner,
                      static_cast<const char*>(o.raw()) + static_cast<std::size_t>(q) * s.inner, s.inner);
      }
    }
    for (int64_t j = 0; j < N; ++j) {
      const TensorView& y = ctx.outputs[static_cast<size_t>(j)];
      const ir::TensorData& s = *states[static_cast<size_t>(j)];
      if (s.dtype != y.dtype || s.shape != y.shapeVec()) bad("a final state has the wrong type or shape");
      if (y.bytes()) std::memcpy(y.data, s.raw(), y.bytes());
    }
  }

 private:
  ir::scan::Layout l_;
  std::shared_ptr<const ir::Graph> body_;
};

//! If with a run-time condition: runs the taken branch on the captured inputs.
class IfKernel : public Kernel {
 public:
  explicit IfKernel(const ir::Node& node) {
    for (const char* name : {"then_branch", "else_branch"}) {
      const ir::Attr* a = node.attrs.find(name);
      if (!a || a->kind != ir::Attr::Kind::kGRAPH || !a->graph) throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("If: no ") + name);
      a->graph->verify();
      if (a->graph->inputs.size() + 1 != node.inputs.size() || a->graph->outputs.size() != node.outputs.size())
        throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("If: ") + name + " does not match the node");
      (name[0] == 't' ? then_ : else_) = a->graph;
    }
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& c = ctx.inputs[0];
    if (c.numel != 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "If: the condition must have one element");
    bool taken = false;
    dispatchType(c.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) taken = static_cast<float>(c.as<const T>()[0]) != 0.f;
      else taken = c.as<const T>()[0] != T{};
    });
    std::vector<TD> ins;
    for (size_t i = 1; i < ctx.inputs.size(); ++i) {
      const TensorView& v = ctx.inputs[i];
      ins.push_back(ir::makeTensor(v.dtype, v.shapeVec(), v.data, v.bytes()));
    }
    std::vector<TD> outs = runBody(taken ? *then_ : *else_, ins);
    for (size_t j = 0; j < ctx.outputs.size(); ++j) {
      const TensorView& y = ctx.outputs[j];
      if (!y.data && y.numel != 0) continue;
      const ir::TensorData& o = *outs[j];
      if (o.dtype != y.dtype || o.shape != y.shapeVec())
        throw Error(ErrorCode::kINVALID_ARGUMENT, "If: the taken branch's output " + std::to_string(j) + " has shape " +
                                                      ir::shapeToString(o.shape) + ", the engine expected " +
                                                      ir::shapeToString(y.shapeVec()));
      if (y.bytes()) std::memcpy(y.data, o.raw(), y.bytes());
    }
  }

 private:
  std::shared_ptr<const ir::Graph> then_, else_;
};

}  // namespace

void registerScanKernels(KernelRegistry& reg) {
  reg.add("Scan", refTactic<ScanKernel>());
  reg.add("If", refTactic<IfKernel>());
}

}  // namespace kiln::cpu
