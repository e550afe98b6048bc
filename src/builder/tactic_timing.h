// Tactic selection by timing: where several kernels can run a layer, the builder runs each on the target
// at the layer's opt shapes and keeps the fastest. A timing cache (a text file) remembers the choices
// by layer signature, so that a second build of the same model skips the timing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backends/kernel.h"
#include "ir/op_registry.h"
#include "kiln/logger.h"

namespace kiln::builder {

class TimingCache {
 public:
  //! Loads `path` if it exists (a missing file is an empty cache; a malformed line is skipped).
  void load(const std::string& path);
  //! Writes every entry (sorted) to `path`. Throws kiln::Error(kINVALID_ARGUMENT) if it can't be written.
  void save(const std::string& path) const;
  const std::string* find(const std::string& key) const;
  void put(const std::string& key, const std::string& tactic) { entries_[key] = tactic; }
  std::size_t size() const { return entries_.size(); }
  std::size_t hits{0}, misses{0};

 private:
  std::map<std::string, std::string> entries_;
};

//! The signature of a layer for the timing cache: backend and target (GPU name or CPU model), kiln
//! version, op, attributes, input types/shapes (integer and tiny constants by content hash; weights by
//! shape only, so that layers of one shape share an entry), output types/shapes and the candidate tactics.
std::string layerSignature(const ir::Node& n, const std::vector<ir::ValueInfo>& infos, DeviceType device,
                           const std::vector<const backend::Tactic*>& candidates);

struct TimedTactic {
  const backend::Tactic* tactic{nullptr};
  double medianMs{-1};  //!< -1: failed
  std::string error;
  double wallMs{0};     //!< host time spent timing it (creation, warm-up, capture, samples)
};

//! Runs each candidate on random inputs of the node's shapes (constants keep their contents) and returns
//! the timings in candidate order. A candidate that throws gets medianMs -1 and its error.
std::vector<TimedTactic> timeTactics(const ir::Node& n, const std::vector<ir::ValueInfo>& infos, DeviceType device,
                                     const std::vector<const backend::Tactic*>& candidates);

}  // namespace kiln::builder
