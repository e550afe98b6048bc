// The "fast" tactics of activations, broadcasting arithmetic, softmax, layer norm and pooling against the
// reference kernels, serially and with a thread pool, with the AVX2 and portable row kernels.
#include <limits>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/rows.h"
#include "core/cpu_features.h"
#include "fast_tactics_util.h"

namespace kiln::test {
namespace {

bool haveAvx2() { return (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA); }

//! Random values with a few specials (0, +-inf, NaN, large magnitudes) mixed in.
TensorPtr specialTensor(const ir::Shape& shape, uint32_t seed) {
  std::vector<float> v = randomFloats(ir::numElements(shape), seed, -8.f, 8.f);
  const float sp[] = {0.f, -0.f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::quiet_NaN(), 100.f, -100.f, 30.f, -30.f, 1e-4f};
  for (size_t i = 0; i < v.size(); i += 7) v[i] = sp[(i / 7) % 10];
  return floatTensor(shape, v);
}

void compare(const std::string& op, const ir::Attributes& at, const std::vector<TensorPtr>& ins, ThreadPool* pool,
             double tol = 1e-5, const std::string& tactic = "fast") {
  auto ref = runOp(op, at, ins)[0];
  auto got = runTactic(op, at, ins, tactic, pool)[0];
  expectValues(*got, ref->shape, asDoubles(*ref), tol);
}

}  // namespace

TEST(FastElementwise, ActivationsMatchTheReferenceIncludingSpecials) {
  ThreadPool pool(2);
  std::vector<cpu::fast::detail::EpilogueFn> fns{cpu::fast::detail::epilogueRowPortable};
  if (haveAvx2()) fns.push_back(cpu::fast::detail::epilogueRowAvx2);
  uint32_t seed = 40;
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Silu", "Gelu"})
    for (int64_t n : {1, 7, 8, 9, 100, 70001}) {
      ir::Attributes at;
      if (std::string(op) == "LeakyRelu") at.setFloat("alpha", 0.07);
      if (std::string(op) == "HardSigmoid") at.setFloat("beta", 0.4);
      auto x = specialTensor({n}, seed++);
      for (auto f : fns) {
        cpu::fast::detail::setEpilogueForTesting(f);
        SCOPED_TRACE(std::string(op) + " n=" + std::to_string(n));
        compare(op, at, {x}, n > 1000 ? &pool : nullptr);
      }
    }
  cpu::fast::detail::setEpilogueForTesting(nullptr);
}

TEST(FastElementwise, ClipWithAndWithoutBounds) {
  auto x = specialTensor({3, 50}, 3);
  compare("Clip", {}, {x, floatTensor({}, {-0.5f}), floatTensor({}, {2.f})}, nullptr);
  compare("Clip", {}, {x, nullptr, floatTensor({}, {1.f})}, nullptr);
  compare("Clip", {}, {x, floatTensor({}, {3.f}), floatTensor({}, {1.f})}, nullptr);  // min > max -> max
  compare("Clip", {}, {x}, nullptr);
}

TEST(FastElementwise, GeluTanhApproximationIsLeftToTheReference) {
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {4});
  ir::Node* n = g.addNode("Gelu", "gelu", {x}, 1);
  const backend::Tactic* t = cpu::defaultKernelRegistry().find("Gelu", "fast");
  ASSERT_NE(t, nullptr);
  std::string why;
  EXPECT_TRUE(t->supports(*n, &why));
  n->attrs.setString("approximate", "tanh");
  EXPECT_FALSE(t->supports(*n, &why));
}

TEST(FastElementwise, BinaryBroadcastsLikeTheReference) {
  ThreadPool pool(3);
  struct Case {
    ir::Shape a, b;
  };
  std::vector<Case> cases{{{2, 3, 4}, {2, 3, 4}}, {{1, 64, 28, 28}, {1, 64, 1, 1}}, {{1, 64, 1, 1}, {1, 64, 28, 28}},
                          {{8, 128, 256}, {256}},  {{5, 1, 7}, {1, 6, 1}},           {{}, {3, 3}},
                          {{4, 1}, {}},            {{300000}, {300000}},             {{2, 1, 3, 1}, {1, 4, 1, 5}},
                          {{0, 3}, {1, 3}}};
  uint32_t seed = 70;
  for (const char* op : {"Add", "Sub", "Mul", "Div"})
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(op) + " " + ir::shapeToString(c.a) + " , " + ir::shapeToString(c.b));
      auto a = randomTensor(c.a, seed++), b = randomTensor(c.b, seed++, 0.5f, 2.f);
      compare(op, {}, {a, b}, nullptr, 1e-6);
      compare(op, {}, {a, b}, &pool, 1e-6);
    }
}

TEST(FastNn, SoftmaxAndLogSoftmaxRowsAndFallbacks) {
  ThreadPool pool(2);
  uint32_t seed = 90;
  for (bool portable : {true, false}) {
    cpu::fast::rows::forcePortableForTesting(portable);
    for (const char* op : {"Softmax", "LogSoftmax"})
      for (ir::Shape s : std::vector<ir::Shape>{{1, 8, 128, 128}, {3, 5}, {7}, {2, 3, 1000}, {4, 9}})
        for (int64_t axis : {int64_t{-1}, int64_t{0}}) {
          ir::Attributes at;
          at.setInt("axis", axis);
          SCOPED_TRACE(std::string(op) + " " + ir::shapeToString(s) + " axis " + std::to_string(axis));
          compare(op, at, {randomTensor(s, seed++, -10.f, 10.f)}, &pool, 2e-5);
        }
    // rows with -inf (masked attention), +inf and NaN follow the reference
    std::vector<float> v = randomFloats(4 * 12, 5);
    const float inf = std::numeric_limits<float>::infinity();
    for (int i = 0; i < 12; ++i) v[static_cast<size_t>(i)] = -inf;  // row 0: all -inf
    v[12 + 3] = -inf;
    v[24 + 5] = inf;
    v[36 + 7] = std::numeric_limits<float>::quiet_NaN();
    for (const char* op : {"Softmax", "LogSoftmax"}) compare(op, {}, {floatTensor({4, 12}, v)}, nullptr, 2e-5);
  }
  cpu::fast::rows::forcePortableForTesting(false);
}

TEST(FastNn, LayerNormRowsAndFallbacks) {
  ThreadPool pool(2);
  uint32_t seed = 120;
  for (bool portable : {true, false}) {
    cpu::fast::rows::forcePortableForTesting(portable);
    for (int64_t d : {7, 64, 256, 768}) {
      ir::Attributes at;
      at.setFloat("epsilon", 1e-6);
      auto x = randomTensor({2, 50, d}, seed++, -3.f, 5.f), s = randomTensor({d}, seed++), b = randomTensor({d}, seed++);
      compare("LayerNormalization", at, {x, s, b}, &pool, 2e-5);
      compare("LayerNormalization", at, {x, s}, &pool, 2e-5);
    }
    // axis -2 with [rows, 4, 6]; broadcast scale (falls back to the reference)
    ir::Attributes at2;
    at2.setInt("axis", -2);
    auto x = randomTensor({3, 4, 6}, seed++);
    compare("LayerNormalization", at2, {x, randomTensor({4, 6}, seed++), randomTensor({4, 6}, seed++)}, &pool, 2e-5);
    compare("LayerNormalization", at2, {x, randomTensor({1, 6}, seed++), randomTensor({6}, seed++)}, &pool, 2e-5);
  }
  cpu::fast::rows::forcePortableForTesting(false);
}

TEST(FastNn, LayerNormStatisticsOutputsUseTheReference) {
  ir::Attributes at;
  auto x = randomTensor({4, 10}, 1), s = randomTensor({10}, 2);
  auto ref = runOp("LayerNormalization", at, {x, s}, 3);
  ThreadPool pool(2);
  auto got = runTactic("LayerNormalization", at, {x, s}, "fast", &pool, 3);
  for (size_t i = 0; i < 3; ++i) expectValues(*got[i], ref[i]->shape, asDoubles(*ref[i]), 1e-6);
}

TEST(FastNn, PoolingMatchesTheReference) {
  ThreadPool pool(2);
  uint32_t seed = 150;
  struct Case {
    ir::Shape x;
    std::vector<int64_t> k, s, pads, dil;
    int ceil, includePad;
  };
  std::vector<Case> cases{
      {{1, 4, 112, 112}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0, 0},
      {{2, 3, 13, 13}, {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, 0},  // ceil mode (squeezenet)
      {{1, 5, 14, 14}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0, 0},
      {{1, 2, 9, 11}, {3, 2}, {1, 2}, {1, 0, 2, 1}, {1, 1}, 0, 1},
      {{1, 2, 10, 10}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1, 1},
  };
  for (const Case& c : cases)
    for (const char* op : {"MaxPool", "AveragePool"}) {
      ir::Attributes at;
      at.setInts("kernel_shape", c.k);
      at.setInts("strides", c.s);
      at.setInts("pads", c.pads);
      if (std::string(op) == "MaxPool") at.setInts("dilations", c.dil);
      at.setInt("ceil_mode", c.ceil);
      if (std::string(op) == "AveragePool") at.setInt("count_include_pad", c.includePad);
      SCOPED_TRACE(std::string(op) + " " + ir::shapeToString(c.x));
      auto x = randomTensor(c.x, seed++);
      compare(op, at, {x}, nullptr);
      compare(op, at, {x}, &pool);
    }
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"})
    for (ir::Shape s : std::vector<ir::Shape>{{1, 64, 7, 7}, {2, 16, 56, 56}, {1, 3, 5}}) {
      SCOPED_TRACE(std::string(op) + " " + ir::shapeToString(s));
      compare(op, {}, {randomTensor(s, seed++)}, &pool);
    }
}

}  // namespace kiln::test
