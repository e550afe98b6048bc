// Shared helpers for kiln's tests: seeded random tensors, comparisons, single-op runs.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/evaluate.h"
#include "core/dtype.h"
#include "ir/graph.h"

namespace kiln::test {

using TensorPtr = std::shared_ptr<const ir::TensorData>;

//! Uniform floats in [lo, hi) with a fixed seed.
inline std::vector<float> randomFloats(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<int64_t> randomInts(int64_t n, uint32_t seed, int64_t lo, int64_t hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

inline TensorPtr floatTensor(const ir::Shape& shape, const std::vector<float>& values) {
  return ir::makeFloatTensor(values, shape);
}
inline TensorPtr randomTensor(const ir::Shape& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return ir::makeFloatTensor(randomFloats(ir::numElements(shape), seed, lo, hi), shape);
}
inline TensorPtr int64Tensor(const ir::Shape& shape, const std::vector<int64_t>& values) {
  return ir::makeInt64Tensor(values, shape);
}
template <class T>
TensorPtr typedTensor(const ir::Shape& shape, const std::vector<T>& values) {
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> b(values.begin(), values.end());
    return ir::makeTensor(DataType::kBOOL, shape, b.data(), b.size());
  } else {
    return ir::makeTensor(dataTypeOf<T>(), shape, values.data(), values.size() * sizeof(T));
  }
}

template <class T>
std::vector<T> values(const ir::TensorData& t) {
  std::vector<T> v(static_cast<size_t>(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), t.raw(), v.size() * sizeof(T));
  return v;
}

//! Runs one op with the reference kernel (see cpu::runSingleOp).
inline std::vector<TensorPtr> runOp(const std::string& op, const ir::Attributes& attrs,
                                    const std::vector<TensorPtr>& inputs, int numOutputs = 1) {
  return cpu::runSingleOp(op, attrs, inputs, numOutputs);
}

//! Expects same shape and |a - b| <= atol + rtol * |b| everywhere (NaNs must match).
inline void expectClose(const ir::TensorData& actual, const ir::TensorData& expected, double rtol = 1e-5,
                        double atol = 1e-6) {
  ASSERT_EQ(ir::shapeToString(actual.shape), ir::shapeToString(expected.shape));
  ASSERT_EQ(actual.numel(), expected.numel());
  int64_t bad = 0;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.floatAt(i), b = expected.floatAt(i);
    bool ok = (std::isnan(a) && std::isnan(b)) || a == b || std::fabs(a - b) <= atol + rtol * std::fabs(b);
    if (!ok && bad++ < 5) ADD_FAILURE() << "element " << i << ": got " << a << ", expected " << b;
  }
  EXPECT_EQ(bad, 0) << "elements out of tolerance";
}

inline void expectCloseValues(const ir::TensorData& actual, const std::vector<float>& expected, double rtol = 1e-5,
                              double atol = 1e-6) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.floatAt(i), b = expected[static_cast<size_t>(i)];
    EXPECT_TRUE((std::isnan(a) && std::isnan(b)) || std::fabs(a - b) <= atol + rtol * std::fabs(b))
        << "element " << i << ": got " << a << ", expected " << b;
  }
}

//! Every element as double (any type).
inline std::vector<double> asDoubles(const ir::TensorData& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.floatAt(static_cast<int64_t>(i));
  return v;
}

inline std::vector<bool> boolValues(const ir::TensorData& t) {
  std::vector<bool> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.as<uint8_t>()[i] != 0);
  return v;
}

//! A tensor of any type from doubles (float16/bfloat16 round to nearest even; ints truncate).
inline TensorPtr makeTyped(DataType dt, const ir::Shape& shape, const std::vector<double>& v) {
  void* out = nullptr;
  auto t = ir::makeTensor(dt, shape, &out);
  dispatchType(dt, [&](auto tag) {
    using T = decltype(tag);
    for (size_t i = 0; i < v.size(); ++i) {
      if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
        static_cast<T*>(out)[i] = T(static_cast<float>(v[i]));
      else if constexpr (std::is_same_v<T, bool>)
        static_cast<uint8_t*>(out)[i] = v[i] != 0;
      else
        static_cast<T*>(out)[i] = static_cast<T>(v[i]);
    }
  });
  return t;
}

//! Expects the shape and |got - exp| <= tol * (1 + |exp|) everywhere (NaN matches NaN).
inline void expectValues(const ir::TensorData& got, const ir::Shape& shape, const std::vector<double>& exp, double tol) {
  ASSERT_EQ(ir::shapeToString(got.shape), ir::shapeToString(shape));
  ASSERT_EQ(got.numel(), static_cast<int64_t>(exp.size()));
  int bad = 0;
  for (size_t i = 0; i < exp.size(); ++i) {
    double a = got.floatAt(static_cast<int64_t>(i));
    bool ok = (std::isnan(a) && std::isnan(exp[i])) || a == exp[i] || std::fabs(a - exp[i]) <= tol * (1 + std::fabs(exp[i]));
    if (!ok && bad++ < 5) ADD_FAILURE() << "element " << i << ": got " << a << ", expected " << exp[i];
  }
  EXPECT_EQ(bad, 0);
}

//! Coordinates of row-major linear index `lin` in `shape`, and back.
inline std::vector<int64_t> coords(int64_t lin, const ir::Shape& shape) {
  std::vector<int64_t> c(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    c[d] = shape[d] ? lin % shape[d] : 0;
    lin = shape[d] ? lin / shape[d] : 0;
  }
  return c;
}
inline int64_t linear(const std::vector<int64_t>& c, const ir::Shape& shape) {
  int64_t l = 0;
  for (size_t d = 0; d < shape.size(); ++d) l = l * shape[d] + c[d];
  return l;
}

inline Dims dims(std::initializer_list<int64_t> v) {
  Dims d;
  d.nbDims = static_cast<int32_t>(v.size());
  int i = 0;
  for (int64_t x : v) d.d[i++] = x;
  return d;
}

}  // namespace kiln::test
