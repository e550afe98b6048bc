#include "builder/memory_planner.h"

#include <algorithm>
#include <numeric>

#include "kiln/types.h"

namespace kiln {

MemoryPlan planMemory(const std::vector<MemoryBlock>& blocks, std::size_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(blocks.size(), 0);
  std::vector<size_t> order(blocks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return blocks[a].bytes > blocks[b].bytes; });
  struct Placed {
    std::size_t begin, end;
    int32_t first, last;
  };
  std::vector<Placed> placed;
  for (size_t idx : order) {
    const MemoryBlock& b = blocks[idx];
    if (b.bytes > SIZE_MAX - alignment) throw Error(ErrorCode::kFAILED_ALLOCATION, "tensor too large to plan");
    std::size_t size = (b.bytes + alignment - 1) / alignment * alignment;
    if (size == 0) {
      plan.offsets[idx] = 0;
      continue;
    }
    // intervals of placed blocks alive at the same time, sorted by offset
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (const Placed& p : placed)
      if (!(p.last < b.firstStep || b.lastStep < p.first)) busy.emplace_back(p.begin, p.end);
    std::sort(busy.begin(), busy.end());
    std::size_t best = SIZE_MAX, bestGap = SIZE_MAX, cursor = 0;
    for (const auto& [s, e] : busy) {
      if (s > cursor && s - cursor >= size && s - cursor < bestGap) {
        best = cursor;
        bestGap = s - cursor;
      }
      cursor = std::max(cursor, e);
    }
    if (best == SIZE_MAX) best = cursor;
    // sizes come from untrusted plans too: an arena past the address space must not wrap around
    if (best > SIZE_MAX - size) throw Error(ErrorCode::kFAILED_ALLOCATION, "activation arena too large to plan");
    plan.offsets[idx] = best;
    placed.push_back({best, best + size, b.firstStep, b.lastStep});
    plan.totalBytes = std::max(plan.totalBytes, best + size);
  }
  return plan;
}

}  // namespace kiln
