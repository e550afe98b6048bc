// kiln public API: Builder, BuilderConfig, optimization profiles.
#pragma once

#include <cstdint>
#include <memory>

#include "kiln/network.h"
#include "kiln/types.h"

namespace kiln {

class Logger;
namespace detail {
struct BuilderConfigImpl;
struct ProfileImpl;
}  // namespace detail

//! A block of bytes owned by kiln (a serialized plan).
class HostMemory {
 public:
  virtual ~HostMemory() = default;
  virtual const void* data() const noexcept = 0;
  virtual std::size_t size() const noexcept = 0;
  DataType type() const noexcept { return DataType::kUINT8; }
};

enum class OptProfileSelector : int32_t { kMIN = 0, kOPT = 1, kMAX = 2 };

//! Min/opt/max dims for each dynamic network input. Every dynamic input must be covered.
class OptimizationProfile {
 public:
  OptimizationProfile();
  ~OptimizationProfile();
  OptimizationProfile(const OptimizationProfile&) = delete;
  OptimizationProfile& operator=(const OptimizationProfile&) = delete;
  //! Returns false (dims rank differs from what was set for another selector, or negative extents).
  bool setDimensions(const char* inputName, OptProfileSelector select, Dims dims) noexcept;
  //! {nbDims=-1} if not set.
  Dims getDimensions(const char* inputName, OptProfileSelector select) const noexcept;
  //! true if every input that has some dims set has all three with min <= opt <= max.
  bool isValid() const noexcept;

  const detail::ProfileImpl& impl() const noexcept { return *impl_; }

 private:
  std::unique_ptr<detail::ProfileImpl> impl_;
};

enum class BuilderFlag : int32_t {
  kFP16 = 0,
  kINT8 = 1,
  kDEBUG = 2,
  kGPU_FALLBACK = 3,
  kREFIT = 5,
  kTF32 = 7,
  kBF16 = 17,
  //! kiln: skip tactic timing and take the first applicable tactic (faster builds).
  kNO_TACTIC_TIMING = 100,
};

enum class MemoryPoolType : int32_t { kWORKSPACE = 0 };

class BuilderConfig {
 public:
  BuilderConfig();
  ~BuilderConfig();
  BuilderConfig(const BuilderConfig&) = delete;
  BuilderConfig& operator=(const BuilderConfig&) = delete;

  void setMemoryPoolLimit(MemoryPoolType pool, std::size_t bytes) noexcept;
  std::size_t getMemoryPoolLimit(MemoryPoolType pool) const noexcept;
  void setFlag(BuilderFlag flag) noexcept;
  void clearFlag(BuilderFlag flag) noexcept;
  bool getFlag(BuilderFlag flag) const noexcept;
  //! Adds a copy of the profile. Returns its index, or -1 if the profile is invalid.
  int32_t addOptimizationProfile(const OptimizationProfile* profile) noexcept;
  int32_t getNbOptimizationProfiles() const noexcept;
  //! Which backend runs the engine. Default: kGPU when this build has the CUDA backend and a GPU is
  //! usable, else kCPU; the environment variable KILN_DEVICE=cpu|gpu changes the default.
  void setDefaultDeviceType(DeviceType type) noexcept;
  DeviceType getDefaultDeviceType() const noexcept;
  //! Timing cache file (kiln): tactic choices are read from it before timing and written back after the
  //! build, keyed by layer signature, target and kiln version. Empty: no cache.
  void setTimingCacheFile(const char* path) noexcept;
  const char* getTimingCacheFile() const noexcept;
  //! Worker threads of the CPU backend (0: one per core).
  void setNbThreads(int32_t n) noexcept;
  int32_t getNbThreads() const noexcept;

  detail::BuilderConfigImpl& impl() noexcept { return *impl_; }
  const detail::BuilderConfigImpl& impl() const noexcept { return *impl_; }

 private:
  std::unique_ptr<detail::BuilderConfigImpl> impl_;
};

class Builder {
 public:
  explicit Builder(Logger& logger);
  ~Builder();
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  //! Networks are always explicit-batch; `flags` is accepted for TensorRT compatibility and ignored.
  std::unique_ptr<NetworkDefinition> createNetwork(uint32_t flags = 0);
  std::unique_ptr<NetworkDefinition> createNetworkV2(uint32_t flags = 0) { return createNetwork(flags); }
  std::unique_ptr<BuilderConfig> createBuilderConfig();
  std::unique_ptr<OptimizationProfile> createOptimizationProfile();

  //! Optimizes the network and serializes the engine to a plan. Returns nullptr on failure (reasons go
  //! to the logger, each naming the layer). The network is not modified and may be destroyed afterwards.
  std::unique_ptr<HostMemory> buildSerializedNetwork(NetworkDefinition& network, BuilderConfig& config);
  Logger& getLogger() const noexcept { return logger_; }

 private:
  Logger& logger_;
};

std::unique_ptr<Builder> createBuilder(Logger& logger);
inline std::unique_ptr<Builder> createInferBuilder(Logger& logger) { return createBuilder(logger); }

}  // namespace kiln
