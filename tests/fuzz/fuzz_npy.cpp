// Fuzz target: the .npy reader (kiln::npy::read) on arbitrary bytes. A malformed file must throw
// kiln::Error; anything else (another exception, a sanitizer report) is a bug. A file that reads is
// written back and read again: the round trip must give the same array.
#include <cstdlib>

#include "core/npy.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  kiln::npy::Array a;
  try {
    a = kiln::npy::read(data, size);
  } catch (const kiln::Error&) {
    return 0;
  }
  if (a.data.size() != static_cast<std::size_t>(a.numel()) * kiln::dataTypeSize(a.dtype)) std::abort();
  std::vector<uint8_t> bytes;
  try {
    bytes = kiln::npy::write(a);
  } catch (const kiln::Error&) {
    return 0;  // a type without a NumPy descr cannot come out of read(); tolerate anyway
  }
  kiln::npy::Array b = kiln::npy::read(bytes.data(), bytes.size());
  if (b.dtype != a.dtype || b.shape != a.shape || b.data != a.data) std::abort();
  return 0;
}
