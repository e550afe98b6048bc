// kiln public API: basic types shared by every other header.
//
// Error policy of the whole API (TensorRT style):
//  * Calls that can fail in normal use (bad plan bytes, a shape outside the profile, an unknown tensor
//    name, a failed inference) return `false` or a null pointer and report the reason through the Logger.
//  * Misuse that is a programming error (an index out of range on an accessor, a null tensor passed to a
//    layer constructor) throws `kiln::Error`.
//  * kiln never aborts or exits the process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

//! Element types. Values match TensorRT's where TensorRT has the type; the rest are kiln extensions
//! needed by ONNX models.
enum class DataType : int32_t {
  kFLOAT = 0,
  kHALF = 1,
  kINT8 = 2,
  kINT32 = 3,
  kBOOL = 4,
  kUINT8 = 5,
  kFP8 = 6,  //!< float8 e4m3fn (ONNX FLOAT8E4M3FN), stored as its 8-bit code
  kBF16 = 7,
  kINT64 = 8,
  kINT4 = 9,   //!< ONNX INT4; kiln stores one element per byte, sign-extended (-8..7)
  kFP4 = 10,   //!< float4 e2m1 (ONNX FLOAT4E2M1); kiln stores one element per byte, the 4-bit code in the low nibble
  kE8M0 = 11,  //!< float8 e8m0 (ONNX FLOAT8E8M0), stored as its 8-bit code
  // kiln extensions
  kDOUBLE = 100,
  kINT16 = 101,
  kUINT16 = 102,
  kUINT32 = 103,
  kUINT64 = 104,
  kFP8E4M3FNUZ = 105,  //!< ONNX FLOAT8E4M3FNUZ, 8-bit code
  kFP8E5M2 = 106,      //!< ONNX FLOAT8E5M2, 8-bit code
  kFP8E5M2FNUZ = 107,  //!< ONNX FLOAT8E5M2FNUZ, 8-bit code
  kUINT4 = 108,        //!< ONNX UINT4; one element per byte (0..15)
  kINT2 = 109,         //!< ONNX INT2; one element per byte, sign-extended (-2..1)
  kUINT2 = 110,        //!< ONNX UINT2; one element per byte (0..3)
};

//! Size of one element in bytes (0 for an unknown value). The sub-byte types (kINT4, kUINT4, kFP4, kINT2,
//! kUINT2) are stored unpacked, one element per byte, so their size is 1.
std::size_t dataTypeSize(DataType t) noexcept;
//! Lower-case name ("float32", "int64", ...); "unknown" for an unknown value.
const char* dataTypeName(DataType t) noexcept;

//! A shape: `nbDims` extents in `d`. `-1` marks a dynamic (unknown until run time) extent.
//! `kiln::Dims{4, {1, 3, 224, 224}}` works as in TensorRT.
struct Dims {
  static constexpr int32_t MAX_DIMS = 8;
  int32_t nbDims{0};
  int64_t d[MAX_DIMS]{};
};
using Dims2 = Dims;
using Dims3 = Dims;
using Dims4 = Dims;

//! Product of the extents; -1 if any extent is negative (dynamic) or nbDims is invalid.
int64_t volume(const Dims& dims) noexcept;
bool operator==(const Dims& a, const Dims& b) noexcept;
inline bool operator!=(const Dims& a, const Dims& b) noexcept { return !(a == b); }
//! "[1,3,224,224]"
std::string toString(const Dims& dims);

//! A permutation for shuffle transposes: output dimension i takes input dimension order[i].
struct Permutation {
  int32_t order[Dims::MAX_DIMS]{0, 1, 2, 3, 4, 5, 6, 7};
};

//! Weights handed to the layer API. kiln copies them when the layer is added, so the caller's memory
//! may be released right after the call (stricter than TensorRT needs, and safer).
struct Weights {
  DataType type{DataType::kFLOAT};
  const void* values{nullptr};
  int64_t count{0};
};

enum class ErrorCode : int32_t {
  kSUCCESS = 0,
  kUNSPECIFIED_ERROR = 1,
  kINTERNAL_ERROR = 2,
  kINVALID_ARGUMENT = 3,
  kINVALID_CONFIG = 4,
  kFAILED_ALLOCATION = 5,
  kFAILED_INITIALIZATION = 6,
  kFAILED_EXECUTION = 7,
  kFAILED_COMPUTATION = 8,
  kINVALID_STATE = 9,
  kUNSUPPORTED_STATE = 10,
  kINVALID_PLAN = 11,
  kUNSUPPORTED_NODE = 12,
};

//! The one exception type of kiln. Carries a code and a context chain, outermost first
//! (e.g. {"layer 'conv1' (Conv)", "pass 'fold-constants'"}).
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }
  //! The bare message, without context.
  const std::string& message() const noexcept { return message_; }
  const std::vector<std::string>& context() const noexcept { return context_; }
  //! Returns a copy with `ctx` prepended to the context chain.
  Error withContext(const std::string& ctx) const;

 private:
  void rebuild();
  ErrorCode code_;
  std::string message_;
  std::vector<std::string> context_;
  std::string full_;
};

//! Where a tensor's memory lives / which backend runs an engine.
enum class DeviceType : int32_t { kCPU = 0, kGPU = 1 };

enum class TensorIOMode : int32_t { kNONE = 0, kINPUT = 1, kOUTPUT = 2 };

//! kiln's version, also written into every plan.
constexpr int32_t kVERSION_MAJOR = 0;
constexpr int32_t kVERSION_MINOR = 1;
constexpr int32_t kVERSION_PATCH = 0;
const char* versionString() noexcept;

}  // namespace kiln
