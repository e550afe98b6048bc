// GPU layers whose parameters (Reduce*'s axes, Resize's roi/scales/sizes, Pad's pads/axes, Slice's
// starts/ends/axes/steps, CumSum's axis, TopK's K) are graph inputs instead of constants.
//
// The parameters set output shapes (or, for CumSum, the kernel's geometry), so they are read on the host,
// like TensorRT's shape tensors: the graph input must be bound to page-locked host memory. The runtime
// checks that, snapshots the values when it prepares a context and prepares again when they change
// (backends/host_inputs.h); shape inference has then already read the same values. This wrapper, the
// "cuda_host_params" tactic, reads them from the page-locked buffer when it runs (no device->host copy, no
// synchronization), makes a copy of the node with those inputs as constants and instantiates the op's
// ordinary "cuda" kernel for it. Kernels are cached per distinct parameter values (up to kMaxCached; only a
// change of values instantiates one, which happens when the runtime re-prepares anyway), so a steady run
// neither allocates device memory nor creates kernels.
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/runtime_params.h"
#include "backends/gpu.h"
#include "backends/host_inputs.h"

namespace kiln::gpu {
namespace {

constexpr const char* kTacticName = "cuda_host_params";
constexpr size_t kMaxCached = 16;

struct Spec {
  const char* op;
  uint32_t mask;     //!< inputs read on the host
  const char* what;  //!< their names, for messages
};

constexpr Spec kSpecs[] = {
    {"ReduceSum", 1u << 1, "axes"},        {"ReduceMean", 1u << 1, "axes"},
    {"ReduceMax", 1u << 1, "axes"},        {"ReduceMin", 1u << 1, "axes"},
    {"ReduceProd", 1u << 1, "axes"},       {"ReduceL1", 1u << 1, "axes"},
    {"ReduceL2", 1u << 1, "axes"},         {"ReduceLogSum", 1u << 1, "axes"},
    {"ReduceLogSumExp", 1u << 1, "axes"},  {"ReduceSumSquare", 1u << 1, "axes"},
    {"Resize", 0xEu, "roi/scales/sizes"},  {"Pad", (1u << 1) | (1u << 3), "pads/axes"},
    {"Slice", 0x1Eu, "starts/ends/axes/steps"}, {"CumSum", 1u << 1, "axis"},
    {"TopK", 1u << 1, "K"},
    {"CumProd", 1u << 1, "axis"},          {"DFT", 0x6u, "dft_length/axis"},  // signal.cu, sampling.cu (G3a)
    {"STFT", (1u << 1) | (1u << 3), "frame_step/frame_length"}, {"Col2Im", 0x6u, "image_shape/block_shape"},
    {"MelWeightMatrix", 0x1Fu, "num_mel_bins/dft_length/sample_rate/lower_edge_hertz/upper_edge_hertz"},
};

const Spec* specOf(const std::string& op) {
  for (const Spec& s : kSpecs)
    if (op == s.op) return &s;
  return nullptr;
}

bool masked(uint32_t mask, size_t k) { return k < 32 && (mask >> k & 1u); }

//! A copy of `node` whose host-read inputs are constants made by `constantFor(k, value)`; the values it
//! creates are kept in `owned`.
template <class F>
ir::Node constantified(const ir::Node& node, uint32_t mask, std::vector<std::unique_ptr<ir::Value>>& owned, F&& constantFor) {
  ir::Node copy;
  copy.id = node.id;
  copy.name = node.name;
  copy.op = node.op;
  copy.attrs = node.attrs;
  copy.origins = node.origins;
  copy.outputs = node.outputs;
  copy.inputs = node.inputs;
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    const ir::Value* v = node.inputs[k];
    if (!masked(mask, k) || !v || v->isConstant()) continue;
    auto c = std::make_unique<ir::Value>();
    c->id = v->id;
    c->name = v->name;
    c->dtype = v->dtype;
    c->constant = constantFor(k, *v);
    c->shape = c->constant->shape;
    copy.inputs[k] = c.get();
    owned.push_back(std::move(c));
  }
  return copy;
}

//! The op's ordinary tactics that apply to `n` (all but this one), last first; reasons of the others.
const backend::Tactic* baseTactic(const ir::Node& n, std::string* reasons) {
  const backend::Tactic* chosen = nullptr;
  for (const backend::Tactic& t : kernelRegistry().find(n.op)) {
    if (t.name == kTacticName) continue;
    std::string why;
    if (t.supports && !t.supports(n, &why)) {
      if (reasons) *reasons += (reasons->empty() ? "" : "; ") + why;
      continue;
    }
    chosen = &t;
  }
  return chosen;
}

bool hostParamSupports(const ir::Node& n, std::string* why) {
  const Spec* spec = specOf(n.op);
  if (!spec) return false;
  bool any = false;
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    const ir::Value* v = n.inputs[k];
    if (!masked(spec->mask, k) || !v || v->isConstant()) continue;
    if (v->producer) {
      if (why)
        *why = std::string("'") + spec->what + "' input '" + v->name + "' is computed by layer '" + v->producer->name +
               "'; on the GPU it must be a constant or a graph input bound to page-locked host memory";
      return false;
    }
    if (!isFloatingType(v->dtype) && !isIntegerType(v->dtype)) {
      if (why) *why = std::string("'") + spec->what + "' input has an unsupported type";
      return false;
    }
    any = true;
  }
  if (!any) {
    if (why) *why = std::string("'") + spec->what + "' are constants (the op's \"cuda\" tactic runs it)";
    return false;
  }
  // the ordinary kernel must accept the node's other attributes and types: probe it with empty constants
  std::vector<std::unique_ptr<ir::Value>> owned;
  ir::Node probe = constantified(n, spec->mask, owned, [](size_t, const ir::Value& v) {
    void* p = nullptr;
    return std::shared_ptr<const ir::TensorData>(ir::makeTensor(v.dtype, ir::Shape{0}, &p));
  });
  std::string reasons;
  if (!baseTactic(probe, &reasons)) {
    if (why) *why = reasons.empty() ? "no GPU kernel for the op" : reasons;
    return false;
  }
  return true;
}

class HostParamKernel final : public backend::HostInputKernel {
 public:
  explicit HostParamKernel(const ir::Node& node) : node_(node) {
    const Spec* spec = specOf(node.op);
    if (!spec) throw Error(ErrorCode::kUNSUPPORTED_NODE, node.op + ": no host-parameter kernel");
    for (size_t k = 0; k < node.inputs.size() && k < 32; ++k)
      if (masked(spec->mask, k) && node.inputs[k] && !node.inputs[k]->isConstant()) mask_ |= 1u << k;
    std::string why;
    if (!hostParamSupports(node, &why)) throw Error(ErrorCode::kUNSUPPORTED_NODE, node.op + ": " + why);
  }

  uint32_t hostInputMask() const override { return mask_; }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    for (size_t k = 0; k < in.size(); ++k)
      if (masked(mask_, k) && in[k].present && in[k].numel > 0 && !in[k].data) return 0;  // values unknown yet
    return instance(in)->kernel->workspaceSize(in, out);
  }

  void run(const KernelContext& ctx) const override {
    for (size_t k = 0; k < ctx.inputs.size(); ++k)
      if (masked(mask_, k) && ctx.inputs[k].present && ctx.inputs[k].numel > 0 && !ctx.inputs[k].data)
        throw Error(ErrorCode::kINVALID_STATE, node_.op + ": parameter input " + std::to_string(k) + " has no address");
    std::shared_ptr<const Entry> e = instance(ctx.inputs);
    e->kernel->run(ctx);
  }

 private:
  struct Entry {
    std::vector<std::vector<uint8_t>> key;  //!< per input (masked ones): the bytes
    std::vector<DataType> types;
    std::vector<std::unique_ptr<ir::Value>> owned;
    ir::Node node;
    std::unique_ptr<Kernel> kernel;
  };

  bool matches(const Entry& e, std::span<const TensorView> in) const {
    for (size_t k = 0; k < in.size() && k < e.key.size(); ++k) {
      if (!masked(mask_, k)) continue;
      const TensorView& v = in[k];
      const std::size_t bytes = v.present && v.numel > 0 ? v.bytes() : 0;
      if (e.types[k] != v.dtype || e.key[k].size() != bytes) return false;
      if (bytes && std::memcmp(e.key[k].data(), v.data, bytes) != 0) return false;
    }
    return true;
  }

  std::shared_ptr<const Entry> instance(std::span<const TensorView> in) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : cache_)
      if (matches(*e, in)) return e;
    // new values (the runtime prepared again): instantiate the ordinary kernel for them
    auto e = std::make_shared<Entry>();
    e->key.resize(in.size());
    e->types.resize(in.size(), DataType::kFLOAT);
    for (size_t k = 0; k < in.size(); ++k) {
      if (!masked(mask_, k)) continue;
      const TensorView& v = in[k];
      e->types[k] = v.dtype;
      if (v.present && v.numel > 0)
        e->key[k].assign(static_cast<const uint8_t*>(v.data), static_cast<const uint8_t*>(v.data) + v.bytes());
    }
    e->node = constantified(node_, mask_, e->owned, [&](size_t k, const ir::Value&) {
      const TensorView& v = in[k];
      ir::Shape shape = v.shapeVec();
      return std::shared_ptr<const ir::TensorData>(ir::makeTensor(v.dtype, shape, e->key[k].data(), e->key[k].size()));
    });
    std::string reasons;
    const backend::Tactic* t = baseTactic(e->node, &reasons);
    if (!t) throw Error(ErrorCode::kUNSUPPORTED_NODE, node_.op + ": no GPU kernel for these parameter values (" + reasons + ")");
    e->kernel = t->create(e->node);
    if (cache_.size() >= kMaxCached) cache_.erase(cache_.begin());  // users hold their own reference
    cache_.push_back(e);
    return e;
  }

  ir::Node node_;
  uint32_t mask_{0};
  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<const Entry>> cache_;
};

}  // namespace

void registerHostParamKernels(KernelRegistry& reg) {
  for (const Spec& s : kSpecs) {
    if (reg.find(s.op).empty()) continue;  // no ordinary kernel to instantiate
    Tactic t;
    t.name = kTacticName;
    t.create = [](const ir::Node& node) -> std::unique_ptr<Kernel> { return std::make_unique<HostParamKernel>(node); };
    t.supports = &hostParamSupports;
    reg.add(s.op, t);
  }
}

}  // namespace kiln::gpu
