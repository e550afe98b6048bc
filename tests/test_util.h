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

}  // namespace kiln::test
