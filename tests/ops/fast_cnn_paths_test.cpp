// Fast CPU paths for CNN zoo models against the reference kernels: MaxPool's separable pass (NaN and -inf
// included), the Conv "gemm" tactic's per-tap products for dilations as large as the image (DeepLab ASPP),
// the matrix-vector product of fully connected layers with a transposed B, and the bilinear Resize
// "fast" tactic (with its fallbacks to the reference).
#include <cmath>
#include <cstring>
#include <limits>

#include "core/cpu_features.h"
#include "fast_tactics_util.h"

namespace kiln::test {
namespace {

void compareTactic(const std::string& op, const ir::Attributes& at, const std::vector<TensorPtr>& ins,
                   const std::string& tactic, ThreadPool* pool, double tol) {
  auto ref = runOp(op, at, ins)[0];
  auto got = runTactic(op, at, ins, tactic, pool)[0];
  expectValues(*got, ref->shape, asDoubles(*ref), tol);
}

TensorPtr withSpecials(const ir::Shape& shape, uint32_t seed) {
  auto t = randomTensor(shape, seed);
  std::vector<float> v(static_cast<size_t>(t->numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(t->floatAt(static_cast<int64_t>(i)));
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < v.size(); i += 11) v[i] = (i / 11) % 3 == 0 ? nan : (i / 11) % 3 == 1 ? -inf : inf;
  return floatTensor(shape, v);
}

}  // namespace

TEST(FastCnnPaths, MaxPoolSeparableMatchesReferenceWithSpecials) {
  ThreadPool pool(2);
  uint32_t seed = 40;
  struct Case {
    ir::Shape x;
    std::vector<int64_t> k, s, pads, dil;
    int ceil;
  };
  const std::vector<Case> cases{
      {{1, 3, 111, 111}, {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},  // squeezenet (ceil mode)
      {{2, 4, 112, 112}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},  // resnet / shufflenet stem
      {{1, 2, 9, 11}, {3, 2}, {1, 2}, {1, 0, 2, 1}, {1, 1}, 0},
      {{1, 2, 10, 10}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1},  // dilated
      {{1, 1, 3, 3}, {2, 2}, {3, 3}, {0, 0, 2, 2}, {1, 1}, 1},    // windows that hold only padding
      {{1, 3, 7, 1}, {5, 1}, {1, 1}, {2, 0, 2, 0}, {1, 1}, 0},    // one column
  };
  for (const Case& c : cases)
    for (bool specials : {false, true}) {
      ir::Attributes at;
      at.setInts("kernel_shape", c.k);
      at.setInts("strides", c.s);
      at.setInts("pads", c.pads);
      at.setInts("dilations", c.dil);
      at.setInt("ceil_mode", c.ceil);
      SCOPED_TRACE(ir::shapeToString(c.x) + (specials ? " specials" : ""));
      auto x = specials ? withSpecials(c.x, seed++) : randomTensor(c.x, seed++);
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) compareTactic("MaxPool", at, {x}, "fast", p, 0);
    }
}

TEST(FastCnnPaths, GemmFullyConnectedTransposedB) {
  ThreadPool pool(2);
  uint32_t seed = 70;
  for (int64_t K : {1, 15, 16, 17, 1280})
    for (int64_t N : {1, 3, 100}) {
      ir::Attributes at;
      at.setInt("transB", 1);
      auto a = randomTensor({1, K}, seed++), b = randomTensor({N, K}, seed++), c = randomTensor({N}, seed++);
      SCOPED_TRACE("K " + std::to_string(K) + " N " + std::to_string(N));
      compareTactic("Gemm", at, {a, b, c}, "gemm", &pool, 1e-5);
      compareTactic("Gemm", at, {a, b}, "gemm", nullptr, 1e-5);
      compareTactic("MatMul", {}, {a, randomTensor({K, N}, seed++)}, "gemm", nullptr, 1e-5);
      // matrix x vector (squeeze-excitation 1x1 convolutions on a 1x1 image)
      compareTactic("MatMul", {}, {randomTensor({N, K}, seed++), randomTensor({K, 1}, seed++)}, "gemm", &pool, 1e-5);
      ir::Attributes se;
      se.setString("kiln_act", "Relu");
      compareTactic("Conv", se, {randomTensor({1, K, 1, 1}, seed++), randomTensor({N, K, 1, 1}, seed++), randomTensor({N}, seed++)},
                    "gemm", nullptr, 1e-5);
    }
}

TEST(FastCnnPaths, ConvTapwiseForLargeDilations) {
  ThreadPool pool(2);
  uint32_t seed = 90;
  struct Case {
    ir::Shape x, w;
    std::vector<int64_t> strides, pads, dilations;
    int64_t group;
  };
  const std::vector<Case> cases{
      {{1, 24, 14, 14}, {16, 24, 3, 3}, {1, 1}, {12, 12, 12, 12}, {12, 12}, 1},  // ASPP rate 12
      {{1, 24, 14, 14}, {16, 24, 3, 3}, {1, 1}, {24, 24, 24, 24}, {24, 24}, 1},  // only the centre tap
      {{2, 8, 9, 7}, {12, 4, 3, 3}, {1, 1}, {6, 5, 6, 5}, {6, 5}, 2},            // groups, batch
      {{1, 6, 13, 12}, {5, 6, 3, 3}, {2, 2}, {9, 8, 9, 7}, {9, 8}, 1},           // stride 2
      {{1, 5, 10, 11}, {7, 5, 5, 3}, {1, 1}, {8, 9, 6, 9}, {4, 9}, 1},           // 5x3, uneven pads
      {{1, 4, 20}, {6, 4, 3}, {1}, {15, 14}, {15}, 1},                           // 1-D
  };
  for (const Case& c : cases)
    for (const std::string act : {"", "Relu"})
      for (bool withZ : {false, true}) {
        ir::Attributes at;
        at.setInts("strides", c.strides);
        at.setInts("pads", c.pads);
        at.setInts("dilations", c.dilations);
        at.setInt("group", c.group);
        auto x = randomTensor(c.x, seed++), w = randomTensor(c.w, seed++), b = randomTensor({c.w[0]}, seed++);
        auto plain = runOp("Conv", at, {x, w})[0];
        if (!act.empty()) at.setString("kiln_act", act);
        std::vector<TensorPtr> ins{x, w, b};
        if (withZ) ins.push_back(randomTensor(plain->shape, seed++));
        SCOPED_TRACE(ir::shapeToString(c.x) + " * " + ir::shapeToString(c.w) + " " + act + (withZ ? " z" : ""));
        for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
          compareTactic("Conv", at, ins, "gemm", p, 1e-5);
          compareTactic("Conv", at, {x, w}, "gemm", p, 1e-5);
        }
      }
}

TEST(FastCnnPaths, DepthwiseC8MatchesReference) {
  if ((cpuFeatures() & (kCpuAVX2 | kCpuFMA)) != (kCpuAVX2 | kCpuFMA)) GTEST_SKIP() << "depthwise_c8 needs AVX2/FMA";
  ThreadPool pool(3);
  uint32_t seed = 300;
  struct Case {
    ir::Shape x, w;
    std::vector<int64_t> strides, pads, dilations;
  };
  const std::vector<Case> cases{
      {{1, 16, 7, 7}, {16, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},        // mobilenet tail
      {{1, 13, 14, 14}, {13, 1, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}},      // channels not a multiple of 8
      {{2, 9, 17, 23}, {9, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}},        // stride 2, batch
      {{1, 5, 21, 30}, {5, 1, 5, 5}, {2, 2}, {2, 1, 2, 3}, {1, 1}},        // uneven pads
      {{1, 6, 12, 40}, {6, 1, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}},        // dilated
      {{1, 3, 11, 13}, {3, 1, 7, 7}, {3, 2}, {3, 0, 1, 3}, {1, 1}},        // general kernel and stride
      {{1, 3, 5, 4}, {3, 1, 3, 2}, {1, 3}, {0, 0, 0, 0}, {1, 1}},          // no padding, narrow output
      {{1, 8, 3, 3}, {8, 1, 3, 3}, {1, 1}, {4, 4, 4, 4}, {1, 1}},          // pads larger than the image
      {{1, 4, 9, 9}, {4, 1, 3, 3}, {2, 2}, {0, 0, 0, 0}, {2, 3}},          // rows and columns left unread
      {{1, 24, 28, 28}, {24, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
  };
  for (const Case& c : cases)
    for (const std::string act : {"", "Relu", "HardSwish"})
      for (bool withBias : {false, true})
        for (bool withZ : {false, true}) {
          ir::Attributes at;
          at.setInts("strides", c.strides);
          at.setInts("pads", c.pads);
          at.setInts("dilations", c.dilations);
          at.setInt("group", c.w[0]);
          auto x = randomTensor(c.x, seed++), w = randomTensor(c.w, seed++);
          auto plain = runOp("Conv", at, {x, w})[0];
          if (!act.empty()) at.setString("kiln_act", act);
          std::vector<TensorPtr> ins{x, w, withBias ? randomTensor({c.w[0]}, seed++) : nullptr};
          if (withZ) ins.push_back(randomTensor(plain->shape, seed++));
          SCOPED_TRACE(ir::shapeToString(c.x) + " * " + ir::shapeToString(c.w) + " " + act + (withBias ? " bias" : "") +
                       (withZ ? " z" : ""));
          for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) compareTactic("Conv", at, ins, "depthwise_c8", p, 1e-5);
        }
  // registered before "gemm", which stays the last (untimed default) Conv tactic; requires AVX2/FMA
  const backend::Tactic* t = cpu::defaultKernelRegistry().find("Conv", "depthwise_c8");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->requiredCpuFeatures, kCpuAVX2 | kCpuFMA);
  EXPECT_EQ(cpu::defaultKernelRegistry().find("Conv").back().name, "gemm");
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {1, 4, 8, 8});
  ir::Node* n = g.addNode("Conv", "conv", {x, g.addConstant("w", randomTensor({4, 2, 3, 3}, 1))}, 1);
  n->attrs.setInt("group", 2);
  std::string why;
  EXPECT_FALSE(t->supports(*n, &why));
}

TEST(FastCnnPaths, ConvGemmWithPrepackedWeights) {
  // constant weights are packed when the kernel is created: several K blocks, M not a multiple of the
  // 6-row tile, groups, small and large N, with and without the pool
  ThreadPool pool(2);
  uint32_t seed = 200;
  struct Case {
    ir::Shape x, w;
    int64_t group;
    int64_t pad;
  };
  const std::vector<Case> cases{
      {{1, 300, 7, 7}, {13, 300, 1, 1}, 1, 0},
      {{1, 40, 9, 9}, {50, 40, 3, 3}, 1, 1},
      {{2, 64, 5, 5}, {22, 32, 3, 3}, 2, 1},
      {{1, 600, 14, 14}, {70, 600, 1, 1}, 1, 0},
      {{1, 16, 3, 3}, {1280, 16, 1, 1}, 1, 0},
  };
  for (const Case& c : cases) {
    ir::Attributes at;
    at.setInt("group", c.group);
    at.setInts("pads", {c.pad, c.pad, c.pad, c.pad});
    at.setString("kiln_act", "Relu");
    auto x = randomTensor(c.x, seed++), w = randomTensor(c.w, seed++), b = randomTensor({c.w[0]}, seed++);
    SCOPED_TRACE(ir::shapeToString(c.x) + " * " + ir::shapeToString(c.w));
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) compareTactic("Conv", at, {x, w, b}, "gemm", p, 1e-5);
  }
}

TEST(FastCnnPaths, ResizeLinearMatchesReference) {
  ThreadPool pool(2);
  uint32_t seed = 120;
  auto attrs = [](const std::string& coord, int exclude) {
    ir::Attributes at;
    at.setString("mode", "linear");
    at.setString("coordinate_transformation_mode", coord);
    at.setInt("exclude_outside", exclude);
    return at;
  };
  for (const std::string coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"})
    for (int exclude : {0, 1}) {
      SCOPED_TRACE(coord + " exclude_outside " + std::to_string(exclude));
      auto x = randomTensor({1, 3, 14, 14}, seed++);
      // sizes (DeepLab: 14x14 -> 224x224), up and down, 1x1 -> 14x14 (ASPP pooling branch), to one element
      compareTactic("Resize", attrs(coord, exclude), {x, nullptr, nullptr, int64Tensor({4}, {1, 3, 224, 224})}, "fast", &pool, 1e-5);
      compareTactic("Resize", attrs(coord, exclude), {x, nullptr, nullptr, int64Tensor({4}, {1, 3, 5, 20})}, "fast", nullptr, 1e-5);
      compareTactic("Resize", attrs(coord, exclude), {randomTensor({2, 4, 1, 1}, seed++), nullptr, nullptr, int64Tensor({4}, {2, 4, 14, 14})},
                    "fast", nullptr, 1e-5);
      compareTactic("Resize", attrs(coord, exclude), {x, nullptr, nullptr, int64Tensor({4}, {1, 3, 1, 1})}, "fast", nullptr, 1e-5);
      // scales, a 3-D input
      compareTactic("Resize", attrs(coord, exclude), {randomTensor({2, 6, 9}, seed++), nullptr, floatTensor({3}, {1.f, 1.7f, 0.6f})},
                    "fast", nullptr, 1e-5);
    }
  // infinities where a weight is zero stay as the reference leaves them
  auto special = withSpecials({1, 2, 6, 6}, seed++);
  compareTactic("Resize", attrs("asymmetric", 0), {special, nullptr, floatTensor({4}, {1.f, 1.f, 2.f, 2.f})}, "fast", nullptr, 1e-5);
  // fallbacks to the reference: a leading axis resized, tf_crop_and_resize refused by supports()
  compareTactic("Resize", attrs("half_pixel", 0), {randomTensor({1, 3, 4, 4}, seed++), nullptr, floatTensor({4}, {1.f, 2.f, 2.f, 2.f})},
                "fast", nullptr, 1e-5);
  const backend::Tactic* t = cpu::defaultKernelRegistry().find("Resize", "fast");
  ASSERT_NE(t, nullptr);
  ir::Graph g;
  ir::Node* n = g.addNode("Resize", "r", {g.addValue("x", DataType::kFLOAT, {1, 1, 4, 4})}, 1);
  n->outputs[0]->dtype = DataType::kFLOAT;
  n->attrs = attrs("tf_crop_and_resize", 0);
  std::string why;
  EXPECT_FALSE(t->supports(*n, &why));
  n->attrs = attrs("half_pixel", 0);
  EXPECT_TRUE(t->supports(*n, &why)) << why;
  n->attrs.setString("mode", "cubic");
  EXPECT_FALSE(t->supports(*n, &why));
}

TEST(FastCnnPaths, TransposeAndSliceMatchTheReference) {
  ThreadPool pool(2);
  uint32_t seed = 700;
  auto exact = [&](const std::string& op, const ir::Attributes& at, const std::vector<TensorPtr>& ins) {
    auto ref = runOp(op, at, ins)[0];
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      auto got = runTactic(op, at, ins, "fast", p)[0];
      ASSERT_EQ(ir::shapeToString(got->shape), ir::shapeToString(ref->shape));
      ASSERT_EQ(got->dtype, ref->dtype);
      EXPECT_EQ(std::memcmp(got->raw(), ref->raw(), static_cast<size_t>(ref->numel()) * dataTypeSize(ref->dtype)), 0);
    }
  };
  struct TCase {
    ir::Shape x;
    std::vector<int64_t> perm;
  };
  const std::vector<TCase> tcases{
      {{1, 2, 58, 28, 28}, {0, 2, 1, 3, 4}},  // ShuffleNet channel shuffle
      {{2, 3, 4, 5}, {0, 2, 3, 1}},           // NCHW -> NHWC
      {{2, 3, 4, 5}, {3, 2, 1, 0}},
      {{7, 1, 9}, {1, 2, 0}},
      {{300, 700}, {1, 0}},                   // large: split over the pool
      {{4}, {0}},
  };
  for (const TCase& c : tcases) {
    SCOPED_TRACE("Transpose " + ir::shapeToString(c.x));
    ir::Attributes at;
    at.setInts("perm", c.perm);
    exact("Transpose", at, {randomTensor(c.x, seed++)});
    std::vector<int64_t> iv(static_cast<size_t>(ir::numElements(c.x)));
    for (size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<int64_t>(i * 7 + 1);
    exact("Transpose", at, {int64Tensor(c.x, iv)});
  }
  exact("Transpose", {}, {randomTensor({3, 4, 5}, seed++)});  // no perm: reversed axes
  std::vector<uint8_t> bytes(60);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  ir::Attributes at8;
  at8.setInts("perm", {2, 0, 1});
  exact("Transpose", at8, {typedTensor<uint8_t>({3, 4, 5}, bytes)});
  struct SCase {
    ir::Shape x;
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const std::vector<SCase> scases{
      {{1, 232, 7, 7}, {0}, {116}, {1}, {1}},      // channel split, first half
      {{1, 232, 7, 7}, {116}, {232}, {1}, {1}},    // second half
      {{2, 6, 5, 9}, {1, 2}, {4, 8}, {1, 3}, {1, 2}},
      {{2, 6, 5, 9}, {-1, 4}, {-100, 0}, {3, 1}, {-2, -1}},  // negative steps
      {{3, 4, 5}, {0, 0, 0}, {3, 4, 5}, {0, 1, 2}, {1, 1, 1}},  // everything
      {{3, 4, 5}, {2}, {2}, {1}, {1}},             // empty
      {{10, 20}, {0, 19}, {10, 20}, {0, 1}, {3, 1}},
  };
  for (const SCase& c : scases) {
    SCOPED_TRACE("Slice " + ir::shapeToString(c.x));
    const ir::Shape n{static_cast<int64_t>(c.starts.size())};
    exact("Slice", {}, {randomTensor(c.x, seed++), int64Tensor(n, c.starts), int64Tensor(n, c.ends), int64Tensor(n, c.axes), int64Tensor(n, c.steps)});
  }
  exact("Slice", {}, {randomTensor({4, 6}, seed++), int64Tensor({2}, {1, 1}), int64Tensor({2}, {3, 5})});  // no axes/steps
}

}  // namespace kiln::test
