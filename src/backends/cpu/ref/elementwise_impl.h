// Private helpers of the elementwise reference kernels: element conversions and the broadcasting loop
// shared by every binary/variadic/ternary op. Not part of any public interface.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "backends/cpu/kernel.h"

namespace kiln::cpu::ew {

// Per-file registration functions, called by registerElementwiseKernels (ref/elementwise.cpp).
void registerActivationKernels(KernelRegistry& reg);
void registerUnaryKernels(KernelRegistry& reg);
void registerBinaryKernels(KernelRegistry& reg);
void registerCastWhereKernels(KernelRegistry& reg);

// ---------------------------------------------------------------------------------------------------------
// Element types

template <class T>
inline constexpr bool kIsFloat = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, Half> ||
                                 std::is_same_v<T, BFloat16>;
template <class T>
inline constexpr bool kIsInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;

//! `op.i<T>(v)` through a call that depends on T, so that clang does not look `i` up in ops without
//! integer support while instantiating the (discarded) branch of a generic lambda.
template <class O, class T>
inline T callIntOp(const O& op, T v) {
  return op.template i<T>(v);
}

//! Any float element widened to double (exact).
template <class T>
inline double toDouble(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
    return static_cast<double>(static_cast<float>(v));
  else
    return static_cast<double>(v);
}

//! Double to an integer type: truncates toward zero, NaN -> 0, saturates out-of-range values (no UB).
template <class I>
inline I saturateToInt(double v) {
  if (std::isnan(v)) return I{0};
  v = std::trunc(v);
  constexpr double lo = static_cast<double>(std::numeric_limits<I>::lowest());
  // max as double may round up to 2^bits (not representable in I): compare with >=
  constexpr double hiExcl = std::is_signed_v<I> ? -lo : 2.0 * (static_cast<double>(std::numeric_limits<I>::max() / 2) + 1.0);
  if (v <= lo) return std::numeric_limits<I>::lowest();
  if (v >= hiExcl) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

//! Double to float rounded to odd (truncate, then set the last bit if inexact). Rounding that float to
//! nearest even at half/bfloat16 precision gives the correctly rounded result of the double (no double
//! rounding), since float keeps more than 2 extra bits.
inline float roundToOddFloat(double v) {
  float f = static_cast<float>(v);
  if (std::isnan(v) || static_cast<double>(f) == v) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(v)) f = std::nextafter(f, 0.0f);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= 1u;
  std::memcpy(&f, &bits, 4);
  return f;
}

//! Double to any element type (float types round to nearest even; ints: saturateToInt; bool: != 0).
template <class T>
inline T fromDouble(double v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
    return T(roundToOddFloat(v));
  else if constexpr (std::is_same_v<T, bool>)
    return v != 0;
  else if constexpr (kIsInt<T>)
    return saturateToInt<T>(v);
  else
    return static_cast<T>(v);
}

//! The type an element is computed in: double for every float type, the type itself otherwise.
template <class T>
using ComputeT = std::conditional_t<kIsFloat<T>, double, T>;

template <class T>
inline ComputeT<T> load(T v) {
  if constexpr (kIsFloat<T>)
    return toDouble(v);
  else
    return v;
}

template <class T>
inline T store(ComputeT<T> v) {
  if constexpr (kIsFloat<T>)
    return fromDouble<T>(v);
  else
    return v;
}

[[noreturn]] inline void unsupportedType(const ir::Node& node, DataType t) {
  throw Error(ErrorCode::kUNSUPPORTED_NODE,
              node.op + ": data type " + std::string(dataTypeName(t)) + " is not supported");
}

// ---------------------------------------------------------------------------------------------------------
// Broadcasting

//! Iterates the output of an N-input broadcast in blocks: calls
//!   body(outOffset, inOffsets, count, innerStrides)
//! for runs of `count` output elements at outOffset.. (contiguous), where input k is read at
//! inOffsets[k] + j * innerStrides[k] (innerStrides are 0 or 1... or any stride) for j < count.
//! Throws kiln::Error(kINVALID_ARGUMENT) if an input shape does not broadcast to the output shape.
template <size_t N, class Body>
void broadcastBlocks(std::span<const int64_t> outShape, const std::array<std::span<const int64_t>, N>& inShapes,
                     Body&& body) {
  const size_t rank = outShape.size();
  int64_t total = 1;
  for (int64_t d : outShape) total *= d;
  std::array<std::vector<int64_t>, N> strides;
  bool allSame = true;
  for (size_t k = 0; k < N; ++k) {
    const auto& in = inShapes[k];
    if (in.size() > rank)
      throw Error(ErrorCode::kINVALID_ARGUMENT, "input of rank " + std::to_string(in.size()) +
                                                    " cannot broadcast to an output of rank " + std::to_string(rank));
    strides[k].assign(rank, 0);
    size_t off = rank - in.size();
    int64_t acc = 1;
    int64_t n = 1;
    for (size_t i = in.size(); i-- > 0;) {
      int64_t d = in[i], o = outShape[off + i];
      if (d != o && d != 1)
        throw Error(ErrorCode::kINVALID_ARGUMENT,
                    "input shape " + ir::shapeToString(ir::Shape(in.begin(), in.end())) +
                        " does not broadcast to the output shape " +
                        ir::shapeToString(ir::Shape(outShape.begin(), outShape.end())));
      strides[k][off + i] = d == 1 ? 0 : acc;
      acc *= d;
      n *= d;
    }
    if (n != total) allSame = false;
  }
  if (total == 0) return;
  std::array<int64_t, N> offs{};
  std::array<int64_t, N> inner{};
  if (allSame) {
    inner.fill(1);
    body(int64_t{0}, offs, total, inner);
    return;
  }
  // Drop extent-1 dims, then merge adjacent dims that are contiguous for the output and every input.
  std::vector<int64_t> dims;
  std::array<std::vector<int64_t>, N> st;
  for (size_t i = 0; i < rank; ++i) {
    if (outShape[i] == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; k < N && merge; ++k) merge = st[k].back() == strides[k][i] * outShape[i];
    if (merge) {
      dims.back() *= outShape[i];
      for (size_t k = 0; k < N; ++k) st[k].back() = strides[k][i];
    } else {
      dims.push_back(outShape[i]);
      for (size_t k = 0; k < N; ++k) st[k].push_back(strides[k][i]);
    }
  }
  if (dims.empty()) {  // every extent is 1
    inner.fill(0);
    body(int64_t{0}, offs, int64_t{1}, inner);
    return;
  }
  const size_t r = dims.size();
  const int64_t innerN = dims[r - 1];
  for (size_t k = 0; k < N; ++k) inner[k] = st[k][r - 1];
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < total; o += innerN) {
    body(o, offs, innerN, inner);
    // advance the odometer over the outer dims
    for (size_t i = r - 1; i-- > 0;) {
      ++idx[i];
      for (size_t k = 0; k < N; ++k) offs[k] += st[k][i];
      if (idx[i] < dims[i]) break;
      for (size_t k = 0; k < N; ++k) offs[k] -= st[k][i] * dims[i];
      idx[i] = 0;
    }
  }
}

//! Elementwise map over a broadcast of N typed inputs into a typed output: out[o] = f(in0[..], in1[..], ...).
template <class O, class... Ts, class F>
void broadcastMap(const TensorView& out, const std::array<const TensorView*, sizeof...(Ts)>& ins, F&& f) {
  constexpr size_t N = sizeof...(Ts);
  std::array<std::span<const int64_t>, N> shapes;
  for (size_t k = 0; k < N; ++k) shapes[k] = ins[k]->shape;
  O* y = out.as<O>();
  auto ptrs = [&]<size_t... I>(std::index_sequence<I...>) {
    return std::tuple<const Ts*...>{static_cast<const Ts*>(ins[I]->data)...};
  }(std::index_sequence_for<Ts...>{});
  broadcastBlocks<N>(out.shape, shapes,
                     [&](int64_t o, const std::array<int64_t, N>& off, int64_t n, const std::array<int64_t, N>& s) {
                       [&]<size_t... I>(std::index_sequence<I...>) {
                         for (int64_t j = 0; j < n; ++j)
                           y[o + j] = f(std::get<I>(ptrs)[off[I] + j * s[I]]...);
                       }(std::index_sequence_for<Ts...>{});
                     });
}

// ---------------------------------------------------------------------------------------------------------
// Unary kernels

//! A one-input, one-output kernel with the output type equal to the input type. `Op` provides:
//!   Op(const ir::Node&)                      parses attributes (throws kUNSUPPORTED_NODE on bad ones)
//!   static bool accepts(DataType)            the element types it supports
//!   static constexpr int kInts               0: float types only; 1: ints via `template<class I> I i(I)`;
//!                                            2: ints computed in double and converted back
//!   double f(double) const                   the float formula (float types are computed in double)
template <class Op>
class UnaryKernel : public Kernel {
 public:
  explicit UnaryKernel(const ir::Node& node) : op_(node) {
    DataType t = node.inputs[0]->dtype;
    if (!Op::accepts(t)) unsupportedType(node, t);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel || x.dtype != y.dtype)
      throw Error(ErrorCode::kINVALID_ARGUMENT, "unary op: output does not match the input");
    const int64_t n = x.numel;
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.as<T>();
      T* out = y.as<T>();
      if constexpr (kIsFloat<T>) {
        for (int64_t i = 0; i < n; ++i) out[i] = fromDouble<T>(op_.f(toDouble(in[i])));
      } else if constexpr (kIsInt<T> && Op::kInts == 1) {
        for (int64_t i = 0; i < n; ++i) out[i] = callIntOp(op_, in[i]);
      } else if constexpr (kIsInt<T> && Op::kInts == 2) {
        for (int64_t i = 0; i < n; ++i) out[i] = fromDouble<T>(op_.f(static_cast<double>(in[i])));
      } else {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, std::string("unary op: unsupported type ") + dataTypeName(x.dtype));
      }
    });
  }

 private:
  Op op_;
};

inline bool isSignedInt(DataType t) { return isIntegerType(t) && isSignedType(t); }
inline bool isFloatOrSignedInt(DataType t) { return isFloatingType(t) || isSignedInt(t); }
inline bool isNumeric(DataType t) { return isFloatingType(t) || isIntegerType(t); }

//! Wrapping negation of an integer (no UB for the minimum value).
template <class I>
inline I wrapNeg(I v) {
  using U = std::make_unsigned_t<I>;
  return static_cast<I>(static_cast<U>(U{0} - static_cast<U>(v)));
}

}  // namespace kiln::cpu::ew
