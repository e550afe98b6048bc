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

struct BuilderConfigImpl {
  std::size_t workspaceLimit{SIZE_MAX};
  std::set<BuilderFlag> flags;
  std::vector<ProfileImpl> profiles;
  DeviceType device{DeviceType::kCPU};
  int32_t nbThreads{0};
};

}  // namespace kiln::detail
