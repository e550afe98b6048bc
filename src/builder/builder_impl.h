// Internal state of BuilderConfig and OptimizationProfile.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "ir/graph.h"
#include "kiln/builder.h"

namespace kiln::detail {

struct ProfileImpl {
  std::map<std::string, std::array<std::optional<ir::Shape>, 3>> dims;
};

//! The backend a new BuilderConfig selects: the GPU when one is usable, else the CPU; the environment
//! variable KILN_DEVICE (cpu or gpu) overrides it.
DeviceType defaultDevice() noexcept;

struct BuilderConfigImpl {
  std::size_t workspaceLimit{SIZE_MAX};
  std::set<BuilderFlag> flags;
  std::vector<ProfileImpl> profiles;
  DeviceType device{DeviceType::kCPU};
  int32_t nbThreads{0};
  std::string timingCacheFile;
  //! Names of graph passes (passes::defaultPasses) not to run; internal (tests compare plans with and
  //! without a pass). The environment variable KILN_DISABLE_PASSES (comma-separated names) adds to it.
  std::set<std::string> disabledPasses;
};

}  // namespace kiln::detail
