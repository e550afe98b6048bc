#include <cstdlib>
#include <string>

#include "backends/gpu.h"
#include "builder/builder_impl.h"

namespace kiln {

OptimizationProfile::OptimizationProfile() : impl_(std::make_unique<detail::ProfileImpl>()) {}
OptimizationProfile::~OptimizationProfile() = default;

bool OptimizationProfile::setDimensions(const char* inputName, OptProfileSelector select, Dims dims) noexcept {
  if (!inputName || dims.nbDims < 0 || dims.nbDims > Dims::MAX_DIMS) return false;
  int idx = static_cast<int>(select);
  if (idx < 0 || idx > 2) return false;
  for (int i = 0; i < dims.nbDims; ++i)
    if (dims.d[i] < 0) return false;
  auto& entry = impl_->dims[inputName];
  for (const auto& other : entry)
    if (other && other->size() != static_cast<size_t>(dims.nbDims)) return false;
  entry[static_cast<size_t>(idx)] = ir::Shape(dims.d, dims.d + dims.nbDims);
  return true;
}

Dims OptimizationProfile::getDimensions(const char* inputName, OptProfileSelector select) const noexcept {
  Dims bad{-1, {}};
  if (!inputName) return bad;
  auto it = impl_->dims.find(inputName);
  int idx = static_cast<int>(select);
  if (it == impl_->dims.end() || idx < 0 || idx > 2 || !it->second[static_cast<size_t>(idx)]) return bad;
  const ir::Shape& s = *it->second[static_cast<size_t>(idx)];
  Dims d;
  d.nbDims = static_cast<int32_t>(s.size());
  for (size_t i = 0; i < s.size(); ++i) d.d[i] = s[i];
  return d;
}

bool OptimizationProfile::isValid() const noexcept {
  for (const auto& [name, mmo] : impl_->dims) {
    if (!mmo[0] || !mmo[1] || !mmo[2]) return false;
    for (size_t i = 0; i < mmo[0]->size(); ++i)
      if ((*mmo[0])[i] > (*mmo[1])[i] || (*mmo[1])[i] > (*mmo[2])[i]) return false;
  }
  return true;
}

namespace detail {
DeviceType defaultDevice() noexcept {
  // KILN_DEVICE=cpu|gpu overrides the default (tests pin their backend with it).
  if (const char* env = std::getenv("KILN_DEVICE")) {
    std::string v = env;
    if (v == "cpu" || v == "CPU") return DeviceType::kCPU;
    if (v == "gpu" || v == "GPU" || v == "cuda") return DeviceType::kGPU;
  }
  return gpu::available() ? DeviceType::kGPU : DeviceType::kCPU;
}
}  // namespace detail

BuilderConfig::BuilderConfig() : impl_(std::make_unique<detail::BuilderConfigImpl>()) {
  impl_->device = detail::defaultDevice();
}
BuilderConfig::~BuilderConfig() = default;

void BuilderConfig::setMemoryPoolLimit(MemoryPoolType pool, std::size_t bytes) noexcept {
  if (pool == MemoryPoolType::kWORKSPACE) impl_->workspaceLimit = bytes;
}
std::size_t BuilderConfig::getMemoryPoolLimit(MemoryPoolType pool) const noexcept {
  return pool == MemoryPoolType::kWORKSPACE ? impl_->workspaceLimit : 0;
}
void BuilderConfig::setFlag(BuilderFlag flag) noexcept { impl_->flags.insert(flag); }
void BuilderConfig::clearFlag(BuilderFlag flag) noexcept { impl_->flags.erase(flag); }
bool BuilderConfig::getFlag(BuilderFlag flag) const noexcept { return impl_->flags.count(flag) != 0; }

int32_t BuilderConfig::addOptimizationProfile(const OptimizationProfile* profile) noexcept {
  if (!profile || !profile->isValid()) return -1;
  impl_->profiles.push_back(profile->impl());
  return static_cast<int32_t>(impl_->profiles.size()) - 1;
}
int32_t BuilderConfig::getNbOptimizationProfiles() const noexcept { return static_cast<int32_t>(impl_->profiles.size()); }
void BuilderConfig::setDefaultDeviceType(DeviceType type) noexcept { impl_->device = type; }
DeviceType BuilderConfig::getDefaultDeviceType() const noexcept { return impl_->device; }
void BuilderConfig::setTimingCacheFile(const char* path) noexcept {
  try {
    impl_->timingCacheFile = path ? path : "";
  } catch (...) {
  }
}
const char* BuilderConfig::getTimingCacheFile() const noexcept { return impl_->timingCacheFile.c_str(); }
void BuilderConfig::setNbThreads(int32_t n) noexcept { impl_->nbThreads = n < 0 ? 0 : n; }
int32_t BuilderConfig::getNbThreads() const noexcept { return impl_->nbThreads; }

}  // namespace kiln
