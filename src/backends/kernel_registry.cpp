#include "backends/kernel.h"

namespace kiln::backend {

void KernelRegistry::add(const std::string& op, Tactic tactic) { map_[op].push_back(std::move(tactic)); }

const std::vector<Tactic>& KernelRegistry::find(const std::string& op) const {
  static const std::vector<Tactic> empty;
  auto it = map_.find(op);
  return it == map_.end() ? empty : it->second;
}

const Tactic* KernelRegistry::find(const std::string& op, const std::string& tacticName) const {
  for (const Tactic& t : find(op))
    if (t.name == tacticName) return &t;
  return nullptr;
}

std::vector<std::string> KernelRegistry::ops() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : map_) out.push_back(k);
  return out;
}

}  // namespace kiln::backend
