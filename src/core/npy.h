// Reader and writer of NumPy .npy files (format versions 1.0, 2.0 and 3.0).
//
// Supported element types (little-endian, C order): <f4 <f8 <f2 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1.
// Everything else (big-endian data, Fortran order, structured or object dtypes, bfloat16) is refused.
// The reader is bounds-checked and never trusts the header: a malformed file throws
// kiln::Error(ErrorCode::kINVALID_ARGUMENT) with a message that says what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/types.h"

namespace kiln::npy {

//! A dense, C-ordered array. `data` holds exactly volume(shape) * dataTypeSize(dtype) bytes, little-endian.
//! An empty `shape` is a 0-d array (one element).
struct Array {
  DataType dtype{DataType::kFLOAT};
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  //! Number of elements (product of the shape; 1 for a 0-d array).
  int64_t numel() const noexcept;
};

//! Largest rank the reader accepts (NumPy's own limit).
constexpr std::size_t kMaxRank = 64;

//! Parses a complete .npy file held in memory.
Array read(const void* bytes, std::size_t size);
//! Reads and parses a .npy file; errors name the path.
Array readFile(const std::string& path);
//! Serializes an array (version 1.0, or 2.0 if the header does not fit in 1.0). Throws if `data` does not
//! hold exactly numel() * element-size bytes or the type has no NumPy equivalent (bfloat16).
std::vector<uint8_t> write(const Array& array);
void writeFile(const std::string& path, const Array& array);

//! The NumPy descr ("<f4", "|u1", ...) of a type; throws kiln::Error for a type without one.
std::string descrOf(DataType dtype);

}  // namespace kiln::npy
