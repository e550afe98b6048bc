// ONNX import of the decomposed operators NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss and
// CenterCropPad: imported, built, run, compared with values computed here by naive loops.
#include <cmath>

#include "onnx_import_util.h"

namespace kiln::test {
namespace {
using namespace onnxw;

using Built = ImportedEngine;

constexpr int64_t N = 2, C = 3, D = 2;

//! Naive NLL over input [N, C, D] (already log-probabilities), target [N, D].
std::vector<float> naiveNll(const std::vector<float>& x, const std::vector<int64_t>& t, const std::vector<float>* w,
                            const std::string& red, bool hasIi, int64_t ii) {
  std::vector<float> loss;
  double sum = 0, wsum = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      int64_t c = t[static_cast<size_t>(n * D + d)];
      if (hasIi && c == ii) {
        loss.push_back(0.f);
        continue;
      }
      double wt = w ? (*w)[static_cast<size_t>(c)] : 1.0;
      double l = -x[static_cast<size_t>((n * C + c) * D + d)] * wt;
      loss.push_back(static_cast<float>(l));
      sum += l;
      wsum += wt;
    }
  if (red == "none") return loss;
  if (red == "sum") return {static_cast<float>(sum)};
  return {static_cast<float>(sum / wsum)};
}

Msg lossModel(const std::string& op, int64_t opsetV, const std::vector<int64_t>& target, bool weight,
              const std::string& red, bool hasIi, int64_t ii, bool logProb) {
  GraphSpec g;
  g.inputs = {valueInfo("x", 1, {"2", "3", "2"})};
  g.outputs = {valueInfo("y", 1, {})};
  if (logProb) g.outputs.push_back(valueInfo("lp", 1, {"2", "3", "2"}));
  g.initializers = {tensorInt64s("t", {N, D}, target), tensorFloats("w", {C}, {0.5f, 2.f, 1.5f})};
  std::vector<Msg> attrs{attrString("reduction", red)};
  if (hasIi) attrs.push_back(attrInt("ignore_index", ii));
  std::vector<std::string> outs{"y"};
  if (logProb) outs.push_back("lp");
  g.nodes = {node(op, {"x", "t", weight ? "w" : ""}, outs, "loss", attrs)};
  return model(graph(g), {opset("", opsetV)});
}

std::vector<float> inputX() {
  std::vector<float> x;
  for (int i = 0; i < N * C * D; ++i) x.push_back(std::sin(0.7f * static_cast<float>(i)) - 0.2f * static_cast<float>(i % 3));
  return x;
}

void expectNear(const std::vector<float>& got, const std::vector<float>& exp) {
  ASSERT_EQ(got.size(), exp.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], exp[i], 1e-5 + 1e-5 * std::fabs(exp[i])) << i;
}

TEST(OnnxLossImport, NllMatchesNaiveLoopForEveryReduction) {
  const std::vector<int64_t> target{2, 0, 1, -1};  // -1: ignored where ignore_index = -1
  const std::vector<float> w{0.5f, 2.f, 1.5f};
  const std::vector<float> x = inputX();
  for (const char* red : {"none", "sum", "mean"})
    for (bool weight : {false, true})
      for (int64_t opsetV : {12, 13, 22}) {
        SCOPED_TRACE(std::string(red) + (weight ? " weighted" : "") + " opset " + std::to_string(opsetV));
        Built b(lossModel("NegativeLogLikelihoodLoss", opsetV, target, weight, red, true, -1, false));
        ASSERT_TRUE(b.parsed) << b.logger.all();
        ASSERT_NE(b.engine, nullptr) << b.logger.all();
        auto out = runEngine(*b.engine, {{"x", {Dims{3, {N, C, D}}, x}}});
        expectNear(out["y"].data, naiveNll(x, target, weight ? &w : nullptr, red, true, -1));
      }
}

TEST(OnnxLossImport, NllWithoutIgnoreIndexAndOutOfRangeTarget) {
  const std::vector<int64_t> target{2, 0, 1, 1};
  const std::vector<float> x = inputX();
  Built b(lossModel("NegativeLogLikelihoodLoss", 13, target, false, "mean", false, 0, false));
  ASSERT_NE(b.engine, nullptr) << b.logger.all();
  auto out = runEngine(*b.engine, {{"x", {Dims{3, {N, C, D}}, x}}});
  expectNear(out["y"].data, naiveNll(x, target, nullptr, "mean", false, 0));
  // a target outside [0, C) that is not ignore_index is an error, never a read out of bounds
  Built bad(lossModel("NegativeLogLikelihoodLoss", 13, {2, 0, 1, 5}, false, "mean", false, 0, false));
  ASSERT_NE(bad.engine, nullptr) << bad.logger.all();
  auto ctx = bad.engine->createExecutionContext();
  std::vector<float> y(1);
  ASSERT_TRUE(ctx->setInputShape("x", Dims{3, {N, C, D}}));
  ASSERT_TRUE(ctx->setTensorAddress("x", const_cast<float*>(x.data())));
  ASSERT_TRUE(ctx->setTensorAddress("y", y.data()));
  EXPECT_FALSE(ctx->execute());
}

TEST(OnnxLossImport, SoftmaxCrossEntropyWithLogProb) {
  const std::vector<int64_t> target{2, 1, 1, 0};
  const std::vector<float> w{0.5f, 2.f, 1.5f};
  const std::vector<float> x = inputX();
  std::vector<float> lp(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      double m = -1e30, s = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max<double>(m, x[static_cast<size_t>((n * C + c) * D + d)]);
      for (int64_t c = 0; c < C; ++c) s += std::exp(x[static_cast<size_t>((n * C + c) * D + d)] - m);
      for (int64_t c = 0; c < C; ++c) {
        size_t i = static_cast<size_t>((n * C + c) * D + d);
        lp[i] = static_cast<float>(x[i] - m - std::log(s));
      }
    }
  Built b(lossModel("SoftmaxCrossEntropyLoss", 13, target, true, "mean", true, 1, true));
  ASSERT_TRUE(b.parsed) << b.logger.all();
  ASSERT_NE(b.engine, nullptr) << b.logger.all();
  auto out = runEngine(*b.engine, {{"x", {Dims{3, {N, C, D}}, x}}});
  expectNear(out["lp"].data, lp);
  expectNear(out["y"].data, naiveNll(lp, target, &w, "mean", true, 1));
}

TEST(OnnxLossImport, RejectsBadRanksAndReductions) {
  GraphSpec g;
  g.inputs = {valueInfo("x", 1, {"2", "3"})};
  g.outputs = {valueInfo("y", 1, {})};
  g.initializers = {tensorInt64s("t", {2, 1}, {0, 1})};  // rank 2: must be [N]
  g.nodes = {node("NegativeLogLikelihoodLoss", {"x", "t"}, {"y"}, "loss")};
  Built b(model(graph(g), {opset("", 13)}));
  EXPECT_FALSE(b.parsed);
  Built r(lossModel("NegativeLogLikelihoodLoss", 13, {0, 1, 2, 0}, false, "max", false, 0, false));
  EXPECT_FALSE(r.parsed);
}

TEST(OnnxCenterCropPadImport, CropsAndPadsCentred) {
  // x [3, 4] -> shape [5, 1]: rows padded 1 above / 1 below, columns cropped to index 1 ((4-1)/2 = 1)
  GraphSpec g;
  g.inputs = {valueInfo("x", 1, {"3", "4"})};
  g.outputs = {valueInfo("y", 1, {"5", "1"})};
  g.initializers = {tensorInt64s("s", {2}, {5, 1})};
  g.nodes = {node("CenterCropPad", {"x", "s"}, {"y"}, "ccp")};
  Built b(model(graph(g), {opset("", 18)}));
  ASSERT_TRUE(b.parsed) << b.logger.all();
  ASSERT_NE(b.engine, nullptr) << b.logger.all();
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  auto out = runEngine(*b.engine, {{"x", {Dims{2, {3, 4}}, x}}});
  EXPECT_EQ(out["y"].dims, (Dims{2, {5, 1}}));
  EXPECT_EQ(out["y"].data, (std::vector<float>{0, 2, 6, 10, 0}));
  // axes = [1] only, odd crop 4 -> 2 starts at 1
  GraphSpec g2 = g;
  g2.outputs = {valueInfo("y", 1, {"3", "2"})};
  g2.initializers = {tensorInt64s("s", {1}, {2})};
  g2.nodes = {node("CenterCropPad", {"x", "s"}, {"y"}, "ccp", {attrInts("axes", {-1})})};
  Built b2(model(graph(g2), {opset("", 18)}));
  ASSERT_NE(b2.engine, nullptr) << b2.logger.all();
  auto out2 = runEngine(*b2.engine, {{"x", {Dims{2, {3, 4}}, x}}});
  EXPECT_EQ(out2["y"].data, (std::vector<float>{2, 3, 6, 7, 10, 11}));
}

}  // namespace
}  // namespace kiln::test
