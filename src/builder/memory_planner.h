// Activation memory planning: assigns arena offsets to tensors whose lifetimes do not overlap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln {

struct MemoryBlock {
  std::size_t bytes{0};
  int32_t firstStep{0};  //!< step that writes it
  int32_t lastStep{0};   //!< last step that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<std::size_t> offsets;  //!< per block
  std::size_t totalBytes{0};
};

//! Greedy best-fit by decreasing size: each block goes to the lowest offset where it does not overlap any
//! placed block that is alive at the same time. Offsets are multiples of `alignment`.
MemoryPlan planMemory(const std::vector<MemoryBlock>& blocks, std::size_t alignment = 64);

}  // namespace kiln
