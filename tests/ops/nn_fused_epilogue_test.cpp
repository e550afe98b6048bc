// The kiln epilogue of Conv (residual Z, kiln_act), MatMul (bias, kiln_act) and Gemm (kiln_act): the
// reference kernels against the unfused ops (float32 and float64), the "gemm" tactics against the
// reference, and the schema checks.
#include "backends/cpu/kernel.h"
#include "ir/op_registry.h"
#include "ir/ops/fused_activation.h"
#include "test_util.h"

namespace kiln::test {
namespace {

struct Act {
  std::string kiln;   // kiln_act
  std::string op;     // the standalone op
  ir::Attributes opAttrs;
  double alpha{0}, beta{0};
  bool setAlpha{false}, setBeta{false};
  std::vector<TensorPtr> extra;  // Clip's min/max inputs
};

std::vector<Act> acts() {
  std::vector<Act> v;
  for (const char* n : {"Relu", "Sigmoid", "Tanh", "HardSwish", "Silu", "Gelu"}) v.push_back({n, n, {}});
  Act leaky{"LeakyRelu", "LeakyRelu", {}, 0.15, 0, true, false};
  leaky.opAttrs.setFloat("alpha", 0.15);
  v.push_back(leaky);
  Act hs{"HardSigmoid", "HardSigmoid", {}, 0.3, 0.45, true, true};
  hs.opAttrs.setFloat("alpha", 0.3);
  hs.opAttrs.setFloat("beta", 0.45);
  v.push_back(hs);
  Act clip{"Clip", "Clip", {}, -0.25, 0.5, true, true};
  clip.extra = {floatTensor({}, {-0.25f}), floatTensor({}, {0.5f})};
  v.push_back(clip);
  return v;
}

void setAct(ir::Attributes& a, const Act& act) {
  a.setString("kiln_act", act.kiln);
  if (act.setAlpha) a.setFloat("kiln_act_alpha", act.alpha);
  if (act.setBeta) a.setFloat("kiln_act_beta", act.beta);
}

TensorPtr cast(const TensorPtr& t, DataType dt) { return makeTyped(dt, t->shape, asDoubles(*t)); }

//! The standalone activation op on x (computed in x's type).
TensorPtr applyUnfused(const Act& act, const TensorPtr& x) {
  std::vector<TensorPtr> ins{x};
  for (const auto& e : act.extra) ins.push_back(cast(e, x->dtype));
  return runOp(act.op, act.opAttrs, ins)[0];
}

TensorPtr toDouble(const TensorPtr& t) { return cast(t, DataType::kDOUBLE); }

}  // namespace

TEST(FusedEpilogue, ConvResidualAndActivationMatchTheUnfusedOps) {
  ir::Attributes conv;
  conv.setInts("pads", {1, 0, 1, 0});
  conv.setInts("strides", {1, 2});
  conv.setInt("group", 2);
  auto x = randomTensor({2, 4, 5, 6}, 1), w = randomTensor({6, 2, 3, 3}, 2), b = randomTensor({6}, 3, -2.f, 2.f);
  auto plain = runOp("Conv", conv, {toDouble(x), toDouble(w), toDouble(b)})[0];  // float64: exact sums
  auto z = randomTensor(plain->shape, 4, -2.f, 2.f);
  for (const Act& act : acts())
    for (DataType dt : {DataType::kFLOAT, DataType::kDOUBLE}) {
      SCOPED_TRACE(act.kiln + (dt == DataType::kFLOAT ? " float32" : " float64"));
      ir::Attributes fused = conv;
      setAct(fused, act);
      auto expected = applyUnfused(act, runOp("Add", {}, {plain, toDouble(z)})[0]);
      auto got = runOp("Conv", fused, {cast(x, dt), cast(w, dt), cast(b, dt), cast(z, dt)})[0];
      expectValues(*got, expected->shape, asDoubles(*expected), dt == DataType::kFLOAT ? 1e-6 : 1e-12);
      if (dt == DataType::kFLOAT) {
        auto fast = cpu::runSingleOp("Conv", fused, {x, w, b, z}, 1, "gemm");
        expectValues(*fast[0], got->shape, asDoubles(*got), 1e-5);
        auto noBias = cpu::runSingleOp("Conv", fused, {x, w, nullptr, z}, 1, "gemm");
        auto noBiasRef = runOp("Conv", fused, {x, w, nullptr, z})[0];
        expectValues(*noBias[0], noBiasRef->shape, asDoubles(*noBiasRef), 1e-5);
      }
    }
}

TEST(FusedEpilogue, ConvOneByOneDirectPathTakesTheEpilogue) {
  ir::Attributes a;
  a.setString("kiln_act", "Relu");
  auto x = randomTensor({1, 8, 4, 4}, 5), w = randomTensor({16, 8, 1, 1}, 6), z = randomTensor({1, 16, 4, 4}, 7);
  auto ref = runOp("Conv", a, {x, w, nullptr, z})[0];
  auto fast = cpu::runSingleOp("Conv", a, {x, w, nullptr, z}, 1, "gemm");
  expectValues(*fast[0], ref->shape, asDoubles(*ref), 1e-5);
}

TEST(FusedEpilogue, MatMulBiasAndActivation) {
  ir::Attributes mm;
  mm.setInt("transB", 1);
  auto a = randomTensor({3, 4, 7}, 10), bt = randomTensor({5, 7}, 11), bias = randomTensor({5}, 12);
  auto plain = runOp("MatMul", mm, {toDouble(a), toDouble(bt)})[0];
  auto biasB = runOp("Add", {}, {plain, toDouble(bias)})[0];
  for (const Act& act : acts()) {
    SCOPED_TRACE(act.kiln);
    ir::Attributes fused = mm;
    setAct(fused, act);
    auto expected = applyUnfused(act, biasB);
    auto got = runOp("MatMul", fused, {a, bt, bias})[0];
    expectValues(*got, expected->shape, asDoubles(*expected), 1e-6);
    auto got64 = runOp("MatMul", fused, {cast(a, DataType::kDOUBLE), cast(bt, DataType::kDOUBLE), cast(bias, DataType::kDOUBLE)})[0];
    expectValues(*got64, expected->shape, asDoubles(*expected), 1e-12);
    auto fast = cpu::runSingleOp("MatMul", fused, {a, bt, bias}, 1, "gemm");
    expectValues(*fast[0], got->shape, asDoubles(*got), 1e-5);
    auto actOnly = runOp("MatMul", fused, {a, bt})[0];
    auto fastActOnly = cpu::runSingleOp("MatMul", fused, {a, bt}, 1, "gemm");
    expectValues(*fastActOnly[0], actOnly->shape, asDoubles(*actOnly), 1e-5);
  }
}

TEST(FusedEpilogue, GemmActivation) {
  ir::Attributes gm;
  gm.setFloat("alpha", 0.5);
  gm.setFloat("beta", 2.0);
  gm.setInt("transA", 1);
  auto a = randomTensor({6, 4}, 20), b = randomTensor({6, 3}, 21), c = randomTensor({1, 3}, 22);
  auto plain = runOp("Gemm", gm, {toDouble(a), toDouble(b), toDouble(c)})[0];
  for (const Act& act : acts()) {
    SCOPED_TRACE(act.kiln);
    ir::Attributes fused = gm;
    setAct(fused, act);
    auto expected = applyUnfused(act, plain);
    auto got = runOp("Gemm", fused, {a, b, c})[0];
    expectValues(*got, expected->shape, asDoubles(*expected), 1e-6);
    auto fast = cpu::runSingleOp("Gemm", fused, {a, b, c}, 1, "gemm");
    expectValues(*fast[0], got->shape, asDoubles(*got), 1e-5);
  }
}

TEST(FusedEpilogue, SchemasCheckTheExtension) {
  ir::Attributes bad;
  bad.setString("kiln_act", "Softplus");
  auto x = randomTensor({1, 2, 3, 3}, 30), w = randomTensor({2, 2, 1, 1}, 31);
  EXPECT_THROW(runOp("Conv", bad, {x, w}), Error);
  EXPECT_THROW(runOp("Conv", {}, {x, w, nullptr, randomTensor({1, 2, 3, 2}, 32)}), Error);  // Z shape
  EXPECT_THROW(runOp("MatMul", {}, {randomTensor({2, 3}, 33), randomTensor({3, 4}, 34), randomTensor({3}, 35)}), Error);
  EXPECT_THROW(runOp("MatMul", bad, {randomTensor({2, 3}, 33), randomTensor({3, 4}, 34)}), Error);
  // defaults: Clip without bounds is the identity, LeakyRelu 0.01, HardSigmoid 0.2 / 0.5
  ir::Attributes clip;
  clip.setString("kiln_act", "Clip");
  EXPECT_EQ(ir::fusedActivationOf(clip).apply(-1e30), -1e30);
  ir::Attributes leaky;
  leaky.setString("kiln_act", "LeakyRelu");
  EXPECT_DOUBLE_EQ(ir::fusedActivationOf(leaky).apply(-2.0), -0.02);
  ir::Attributes hs;
  hs.setString("kiln_act", "HardSigmoid");
  EXPECT_DOUBLE_EQ(ir::fusedActivationOf(hs).apply(1.0), 0.7);
}

}  // namespace kiln::test
