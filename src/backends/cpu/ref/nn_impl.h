// Private helpers of the nn reference kernels (src/backends/cpu/ref/nn_*.cpp): element conversions and
// the "outer x inner offsets" layout used by every reduction-like kernel. Not a public interface.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/cpu/kernel.h"
#include "ir/ops/nn_common.h"

namespace kiln::cpu::nn {

// Per-file registration functions, called by registerNnKernels (ref/nn.cpp).
void registerConvKernels(KernelRegistry& reg);     // nn_conv.cpp
void registerPoolKernels(KernelRegistry& reg);     // nn_pool.cpp
void registerMatMulKernels(KernelRegistry& reg);   // nn_matmul.cpp
void registerSoftmaxKernels(KernelRegistry& reg);  // nn_softmax.cpp
void registerNormKernels(KernelRegistry& reg);     // nn_norm.cpp
void registerReduceKernels(KernelRegistry& reg);   // nn_reduce.cpp

template <class T>
inline constexpr bool kIsFloat = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, Half> ||
                                 std::is_same_v<T, BFloat16>;

template <class T>
inline double toD(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
    return static_cast<double>(static_cast<float>(v));
  else
    return static_cast<double>(v);
}

//! Double to a float element type (round to nearest even). Integer types truncate and saturate.
template <class T>
inline T fromD(double v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (std::isnan(v)) return T{0};
    v = std::trunc(v);
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

[[noreturn]] inline void unsupported(const ir::Node& node, const std::string& what) {
  throw Error(ErrorCode::kUNSUPPORTED_NODE, node.op + ": " + what);
}
[[noreturn]] inline void badData(const std::string& what) { throw Error(ErrorCode::kINVALID_ARGUMENT, what); }

inline void requireFloatType(const ir::Node& node, DataType t) {
  if (!isFloatingType(t)) unsupported(node, std::string("data type ") + dataTypeName(t) + " is not supported");
}

//! Calls f(T{}) for the float types only.
template <class F>
void dispatchFloat(DataType t, F&& f) {
  switch (t) {
    case DataType::kFLOAT: f(float{}); return;
    case DataType::kDOUBLE: f(double{}); return;
    case DataType::kHALF: f(Half{}); return;
    case DataType::kBF16: f(BFloat16{}); return;
    default: break;
  }
  throw Error(ErrorCode::kUNSUPPORTED_NODE, std::string("data type ") + dataTypeName(t) + " is not supported");
}

//! Calls f(T{}) for the float types and int32/int64.
template <class F>
void dispatchFloatInt(DataType t, F&& f) {
  switch (t) {
    case DataType::kINT32: f(int32_t{}); return;
    case DataType::kINT64: f(int64_t{}); return;
    default: dispatchFloat(t, f);
  }
}

//! Offsets over the selected dims of `shape` using the given strides (row-major order of those dims).
inline std::vector<int64_t> stridedOffsets(const ir::Shape& shape, const std::vector<bool>& select,
                                    const std::vector<int64_t>& strides) {
  std::vector<int64_t> dims, st;
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i)
    if (select[i]) {
      dims.push_back(shape[i]);
      st.push_back(strides[i]);
      count *= shape[i];
    }
  std::vector<int64_t> out;
  if (count == 0) return out;
  out.reserve(static_cast<size_t>(count));
  std::vector<int64_t> idx(dims.size(), 0);
  int64_t off = 0;
  for (int64_t k = 0; k < count; ++k) {
    out.push_back(off);
    for (size_t i = dims.size(); i-- > 0;) {
      ++idx[i];
      off += st[i];
      if (idx[i] < dims[i]) break;
      off -= st[i] * dims[i];
      idx[i] = 0;
    }
  }
  return out;
}

//! Offsets (in elements, row-major) of every position over the dims where `select[i]` is true, the other
//! dims held at 0, in row-major order of the selected dims.
inline std::vector<int64_t> offsetsOver(std::span<const int64_t> shape, const std::vector<bool>& select) {
  ir::Shape s(shape.begin(), shape.end());
  return stridedOffsets(s, select, ir::stridesOf(s));
}

//! Splits a tensor of `shape` into the kept dims (outer) and the reduced dims (inner): element
//! (o, r) is at outer[o] + inner[r]; o runs in row-major order of the kept dims (= the output order).
struct ReduceLayout {
  std::vector<int64_t> outer;
  std::vector<int64_t> inner;
};

inline ReduceLayout reduceLayout(std::span<const int64_t> shape, const std::vector<bool>& reduced) {
  std::vector<bool> kept(reduced.size());
  for (size_t i = 0; i < reduced.size(); ++i) kept[i] = !reduced[i];
  return {offsetsOver(shape, kept), offsetsOver(shape, reduced)};
}


//! Kernel extents from W [M, C/g, k...], checked against a kernel_shape attribute when there is one.
inline std::vector<int64_t> kernelFromW(const TensorView& w, const std::vector<int64_t>& attrKernel) {
  std::vector<int64_t> k(w.shape.begin() + 2, w.shape.end());
  if (!attrKernel.empty() && attrKernel != k) badData("kernel_shape does not match the weights' shape");
  return k;
}

//! Geometry of a window op (Conv, ConvTranspose, pooling) with the spatial dims padded in front to 3
//! (1-D and 2-D ops run as 3-D ones with extent-1 leading dims).
//! a * b for non-negative sizes from untrusted shapes/attributes; throws (badData) instead of overflowing.
inline int64_t checkedMul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) badData("size product " + std::to_string(a) + " x " + std::to_string(b) + " overflows");
  return r;
}

struct Geom3 {
  int64_t in[3]{1, 1, 1}, out[3]{1, 1, 1}, k[3]{1, 1, 1}, s[3]{1, 1, 1}, d[3]{1, 1, 1}, pb[3]{0, 0, 0}, pe[3]{0, 0, 0};
  // overflow-checked: the extents come from a plan's attributes and shapes (a zero batch can hide huge
  // spatial extents behind a 0-element tensor)
  int64_t inSize() const { return checkedMul(checkedMul(in[0], in[1]), in[2]); }
  int64_t outSize() const { return checkedMul(checkedMul(out[0], out[1]), out[2]); }
  int64_t kSize() const { return checkedMul(checkedMul(k[0], k[1]), k[2]); }
};

//! Forward window geometry from run-time shapes; checks that the output's spatial extents agree.
inline Geom3 forwardGeom(std::span<const int64_t> inSpatial, const std::vector<int64_t>& kernel,
                         const ir::nn::Window& w, std::span<const int64_t> outSpatial) {
  const size_t n = inSpatial.size();
  if (n < 1 || n > 3 || kernel.size() != n || w.strides.size() != n || outSpatial.size() != n)
    badData("window op: expected 1 to 3 spatial dims matching the attributes");
  Geom3 g;
  const size_t off = 3 - n;
  for (size_t i = 0; i < n; ++i) {
    ir::nn::WindowDim wd = ir::nn::windowDim(inSpatial[i], kernel[i], w.strides[i], w.dilations[i], w.pads[i],
                                             w.pads[n + i], w.autoPad, w.ceilMode);
    if (wd.out != outSpatial[i])
      badData("window op: output extent " + std::to_string(outSpatial[i]) + " does not match the computed " +
              std::to_string(wd.out));
    g.in[off + i] = inSpatial[i];
    g.out[off + i] = wd.out;
    g.k[off + i] = kernel[i];
    g.s[off + i] = w.strides[i];
    g.d[off + i] = w.dilations[i];
    g.pb[off + i] = wd.padBegin;
    g.pe[off + i] = wd.padEnd;
  }
  return g;
}

}  // namespace kiln::cpu::nn
