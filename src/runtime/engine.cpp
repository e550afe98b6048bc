#include <sstream>

#include "core/cpu_features.h"
#include "core/logging.h"
#include "runtime/engine_impl.h"

namespace kiln {

namespace {
class VectorMemory : public HostMemory {
 public:
  explicit VectorMemory(std::vector<uint8_t> b) : b_(std::move(b)) {}
  const void* data() const noexcept override { return b_.data(); }
  std::size_t size() const noexcept override { return b_.size(); }

 private:
  std::vector<uint8_t> b_;
};
}  // namespace

std::unique_ptr<HostMemory> makeHostMemory(std::vector<uint8_t> bytes) {
  return std::make_unique<VectorMemory>(std::move(bytes));
}

Engine::Engine(std::shared_ptr<const detail::EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

int32_t Engine::getNbIOTensors() const noexcept { return static_cast<int32_t>(impl_->io.size()); }

const char* Engine::getIOTensorName(int32_t index) const noexcept {
  if (index < 0 || index >= getNbIOTensors()) return nullptr;
  return impl_->io[static_cast<size_t>(index)].name.c_str();
}

TensorIOMode Engine::getTensorIOMode(const char* name) const noexcept {
  int i = impl_->findIO(name);
  return i < 0 ? TensorIOMode::kNONE : impl_->io[static_cast<size_t>(i)].mode;
}

DataType Engine::getTensorDataType(const char* name) const noexcept {
  int i = impl_->findIO(name);
  return i < 0 ? DataType::kFLOAT : impl_->io[static_cast<size_t>(i)].dtype;
}

Dims Engine::getTensorShape(const char* name) const noexcept {
  int i = impl_->findIO(name);
  if (i < 0) return Dims{-1, {}};
  return ir::dimsFromShape(impl_->io[static_cast<size_t>(i)].shape);
}

Dims Engine::getProfileShape(const char* name, int32_t profileIndex, OptProfileSelector select) const noexcept {
  Dims bad{-1, {}};
  if (!name || profileIndex < 0 || profileIndex >= getNbOptimizationProfiles()) return bad;
  const auto& p = impl_->plan.profiles[static_cast<size_t>(profileIndex)];
  auto it = p.dims.find(name);
  int s = static_cast<int>(select);
  if (it == p.dims.end() || s < 0 || s > 2) return bad;
  return ir::dimsFromShape(it->second[static_cast<size_t>(s)]);
}

int32_t Engine::getNbOptimizationProfiles() const noexcept { return static_cast<int32_t>(impl_->plan.profiles.size()); }
int32_t Engine::getNbLayers() const noexcept { return static_cast<int32_t>(impl_->plan.graph->nodes.size()); }
std::size_t Engine::getDeviceMemorySize() const noexcept { return impl_->contextBytes; }
DeviceType Engine::getDeviceType() const noexcept { return impl_->plan.backend; }

bool Engine::bindingIsInput(int32_t index) const noexcept {
  return index >= 0 && index < getNbIOTensors() && impl_->io[static_cast<size_t>(index)].mode == TensorIOMode::kINPUT;
}

std::unique_ptr<HostMemory> Engine::serialize() const { return makeHostMemory(plan::writePlan(impl_->plan)); }

// ---------------------------------------------------------------------------------------------------------
// Inspector

namespace {
std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += c;
        }
    }
  }
  return o;
}

std::string tensorText(const ir::Value* v) {
  if (!v) return "-";
  return v->name + ":" + dataTypeName(v->dtype) + ir::shapeToString(v->shape);
}

std::string tensorJson(const ir::Value* v) {
  if (!v) return "null";
  std::string s = "{\"name\":\"" + jsonEscape(v->name) + "\",\"dtype\":\"" + dataTypeName(v->dtype) + "\",\"shape\":[";
  for (size_t i = 0; i < v->shape.size(); ++i) s += (i ? "," : "") + std::to_string(v->shape[i]);
  s += "],\"constant\":";
  s += v->isConstant() ? "true" : "false";
  return s + "}";
}
}  // namespace

std::string EngineInspector::getLayerInformation(int32_t layerIndex, LayerInformationFormat format) const {
  const auto& e = engine_.impl();
  if (layerIndex < 0 || layerIndex >= engine_.getNbLayers()) return {};
  const ir::Node& n = *e.plan.graph->nodes[static_cast<size_t>(layerIndex)];
  const std::string& tactic = e.plan.tactics[static_cast<size_t>(layerIndex)];
  std::ostringstream os;
  if (format == LayerInformationFormat::kJSON) {
    os << "{\"name\":\"" << jsonEscape(n.name) << "\",\"op\":\"" << jsonEscape(n.op) << "\",\"tactic\":\"" << jsonEscape(tactic)
       << "\",\"inputs\":[";
    for (size_t i = 0; i < n.inputs.size(); ++i) os << (i ? "," : "") << tensorJson(n.inputs[i]);
    os << "],\"outputs\":[";
    for (size_t i = 0; i < n.outputs.size(); ++i) os << (i ? "," : "") << tensorJson(n.outputs[i]);
    os << "],\"origins\":[";
    for (size_t i = 0; i < n.origins.size(); ++i) os << (i ? "," : "") << "\"" << jsonEscape(n.origins[i]) << "\"";
    os << "]}";
  } else {
    os << n.name << " [" << n.op << "] tactic=" << tactic << " (";
    for (size_t i = 0; i < n.inputs.size(); ++i) os << (i ? ", " : "") << tensorText(n.inputs[i]);
    os << ") -> (";
    for (size_t i = 0; i < n.outputs.size(); ++i) os << (i ? ", " : "") << tensorText(n.outputs[i]);
    os << ")";
  }
  return os.str();
}

std::string EngineInspector::getEngineInformation(LayerInformationFormat format) const {
  const auto& e = engine_.impl();
  const auto& t = e.plan.target;
  std::size_t weightBytes = 0;
  for (const auto& v : e.plan.graph->values)
    if (v->isConstant()) weightBytes += v->constant->byteSize();
  std::ostringstream os;
  const bool gpu = e.plan.backend == DeviceType::kGPU;
  // GPU plans: the GPU and the library versions they were built with (CUDA 13000 -> 13.0, cuDNN 91400 -> 9.14.0)
  auto version = [](int32_t v) { return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100); };
  const std::string gpuTarget = !gpu ? std::string()
                                     : t.gpuName + " (sm_" + std::to_string(t.gpuArch) + "), CUDA " + std::to_string(t.cudaRuntime / 1000) +
                                           "." + std::to_string(t.cudaRuntime % 1000 / 10) + ", cuDNN " + version(t.cudnn) +
                                           ", cuBLASLt " + version(t.cublasLt);
  if (format == LayerInformationFormat::kJSON) {
    os << "{\"kiln_version\":\"" << versionString() << "\",\"backend\":\"" << (gpu ? "gpu" : "cpu") << "\",\"target\":{\"os\":\"" << jsonEscape(t.os)
       << "\",\"arch\":\"" << jsonEscape(t.arch) << "\",\"required_cpu_features\":\"" << cpuFeatureNames(t.requiredCpuFeatures)
       << "\",\"built_on\":\"" << jsonEscape(t.cpuName) << "\"" << (gpu ? ",\"gpu\":\"" + jsonEscape(gpuTarget) + "\"" : std::string())
       << "},\"arena_bytes\":" << e.plan.arenaBytes
       << ",\"weight_bytes\":" << weightBytes << ",\"layers\":[";
    for (int32_t i = 0; i < engine_.getNbLayers(); ++i)
      os << (i ? "," : "") << getLayerInformation(i, LayerInformationFormat::kJSON);
    os << "]}";
  } else {
    if (gpu)
      os << "kiln " << versionString() << " plan, backend gpu, target " << gpuTarget << "\n";
    else
      os << "kiln " << versionString() << " plan, backend cpu, target " << t.os << "-" << t.arch
         << " (needs CPU features: " << cpuFeatureNames(t.requiredCpuFeatures) << "; built on " << t.cpuName << ")\n";
    os << "activation arena: " << e.plan.arenaBytes << " bytes at the opt shapes; weights: " << weightBytes << " bytes\n";
    os << "layers: " << engine_.getNbLayers() << "\n";
    for (int32_t i = 0; i < engine_.getNbLayers(); ++i) os << "  [" << i << "] " << getLayerInformation(i, LayerInformationFormat::kONELINE) << "\n";
  }
  return os.str();
}

}  // namespace kiln
