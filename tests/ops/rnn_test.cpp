// Tests of the recurrent family (RNN, GRU, LSTM): hand-computed one-unit cells, directions, sequence_lens,
// layout 1, activations with alpha/beta, clip, and error cases.
#include <cmath>

#include "ir/op_registry.h"
#include "test_util.h"

namespace kiln::test {
namespace {

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TensorPtr i32(const ir::Shape& s, const std::vector<int32_t>& v) { return typedTensor<int32_t>(s, v); }

// One unit, one input, one batch row: X = [1, 2] (seq 2).
TEST(RnnOp, HandValuesForward) {
  auto x = floatTensor({2, 1, 1}, {1.f, 2.f});
  auto w = floatTensor({1, 1, 1}, {0.5f});
  auto r = floatTensor({1, 1, 1}, {0.25f});
  auto b = floatTensor({1, 2}, {0.1f, 0.2f});
  ir::Attributes a;
  a.setInt("hidden_size", 1);
  auto out = runOp("RNN", a, {x, w, r, b}, 2);
  double h1 = std::tanh(0.5 * 1 + 0.3);
  double h2 = std::tanh(0.5 * 2 + 0.25 * h1 + 0.3);
  EXPECT_EQ(ir::shapeToString(out[0]->shape), ir::shapeToString(ir::Shape{2, 1, 1, 1}));
  expectCloseValues(*out[0], {static_cast<float>(h1), static_cast<float>(h2)});
  expectCloseValues(*out[1], {static_cast<float>(h2)});
}

TEST(RnnOp, ReverseWithSequenceLensAndInitialH) {
  // batch 2, lens [2, 1]; Relu activation; initial_h [1, 2, 1] = [1, -1]
  auto x = floatTensor({2, 2, 1}, {1.f, 3.f, 2.f, 4.f});  // [t][b]
  auto w = floatTensor({1, 1, 1}, {1.f});
  auto r = floatTensor({1, 1, 1}, {0.5f});
  auto h0 = floatTensor({1, 2, 1}, {1.f, -1.f});
  ir::Attributes a;
  a.setString("direction", "reverse");
  a.setStrings("activations", {"Relu"});
  auto out = runOp("RNN", a, {x, w, r, nullptr, i32({2}, {2, 1}), h0}, 2);
  // row 0: t=1 first: relu(2 + 0.5) = 2.5; t=0: relu(1 + 1.25) = 2.25
  // row 1 (len 1): t=0 only: relu(3 - 0.5) = 2.5; Y at t=1 stays 0
  expectCloseValues(*out[0], {2.25f, 2.5f, 2.5f, 0.f});
  expectCloseValues(*out[1], {2.25f, 2.5f});
}

TEST(RnnOp, AffineActivationAlphaBetaAndClip) {
  auto x = floatTensor({1, 1, 1}, {3.f});
  auto w = floatTensor({1, 1, 1}, {1.f});
  auto r = floatTensor({1, 1, 1}, {0.f});
  ir::Attributes a;
  a.setStrings("activations", {"Affine"});
  a.setFloats("activation_alpha", {2.0});
  a.setFloats("activation_beta", {0.5});
  auto out = runOp("RNN", a, {x, w, r}, 2);
  expectCloseValues(*out[1], {6.5f});
  a.setFloat("clip", 1.0);  // the activation's input is clipped to [-1, 1]
  out = runOp("RNN", a, {x, w, r}, 2);
  expectCloseValues(*out[1], {2.5f});
}

double gruStep(double x, double h, const double* w, const double* rr, const double* wb, const double* rb, bool lbr) {
  double z = sig(w[0] * x + rr[0] * h + wb[0] + rb[0]);
  double r = sig(w[1] * x + rr[1] * h + wb[1] + rb[1]);
  double hh = lbr ? std::tanh(w[2] * x + wb[2] + r * (rr[2] * h + rb[2])) : std::tanh(w[2] * x + rr[2] * (r * h) + rb[2] + wb[2]);
  return (1 - z) * hh + z * h;
}

TEST(GruOp, HandValuesBothResetModes) {
  const double w[3] = {0.3, -0.4, 0.8}, rr[3] = {0.5, 0.6, -0.7}, wb[3] = {0.1, 0.2, 0.3}, rb[3] = {-0.1, 0.05, 0.4};
  auto x = floatTensor({2, 1, 1}, {1.f, -2.f});
  auto wt = floatTensor({1, 3, 1}, {0.3f, -0.4f, 0.8f});
  auto rt = floatTensor({1, 3, 1}, {0.5f, 0.6f, -0.7f});
  auto bt = floatTensor({1, 6}, {0.1f, 0.2f, 0.3f, -0.1f, 0.05f, 0.4f});
  auto h0 = floatTensor({1, 1, 1}, {0.5f});
  for (bool lbr : {false, true}) {
    ir::Attributes a;
    a.setInt("linear_before_reset", lbr ? 1 : 0);
    auto out = runOp("GRU", a, {x, wt, rt, bt, nullptr, h0}, 2);
    double h1 = gruStep(1, 0.5, w, rr, wb, rb, lbr), h2 = gruStep(-2, h1, w, rr, wb, rb, lbr);
    expectCloseValues(*out[0], {static_cast<float>(h1), static_cast<float>(h2)}, 1e-5, 1e-6);
    expectCloseValues(*out[1], {static_cast<float>(h2)}, 1e-5, 1e-6);
  }
}

TEST(LstmOp, HandValuesWithPeepholes) {
  // gates i, o, f, c; peepholes i, o, f
  const double w[4] = {0.2, 0.4, -0.3, 0.9}, rr[4] = {0.1, -0.2, 0.3, 0.5}, p[3] = {0.3, -0.5, 0.7};
  auto x = floatTensor({2, 1, 1}, {0.5f, -1.f});
  auto wt = floatTensor({1, 4, 1}, {0.2f, 0.4f, -0.3f, 0.9f});
  auto rt = floatTensor({1, 4, 1}, {0.1f, -0.2f, 0.3f, 0.5f});
  auto pt = floatTensor({1, 3}, {0.3f, -0.5f, 0.7f});
  auto h0 = floatTensor({1, 1, 1}, {0.2f});
  auto c0 = floatTensor({1, 1, 1}, {-0.4f});
  auto out = runOp("LSTM", {}, {x, wt, rt, nullptr, nullptr, h0, c0, pt}, 3);
  double h = 0.2, c = -0.4;
  std::vector<float> ys;
  for (double xv : {0.5, -1.0}) {
    double i = sig(w[0] * xv + rr[0] * h + p[0] * c);
    double f = sig(w[2] * xv + rr[2] * h + p[2] * c);
    double g = std::tanh(w[3] * xv + rr[3] * h);
    c = f * c + i * g;
    double o = sig(w[1] * xv + rr[1] * h + p[1] * c);
    h = o * std::tanh(c);
    ys.push_back(static_cast<float>(h));
  }
  expectCloseValues(*out[0], ys);
  expectCloseValues(*out[1], {ys[1]});
  expectCloseValues(*out[2], {static_cast<float>(c)});
}

TEST(LstmOp, BidirectionalMatchesSeparateRunsAndLayout1) {
  const int64_t S = 3, B = 2, I = 2, H = 3;
  auto x = randomTensor({S, B, I}, 1);
  auto w = randomTensor({2, 4 * H, I}, 2);
  auto r = randomTensor({2, 4 * H, H}, 3);
  auto b = randomTensor({2, 8 * H}, 4);
  ir::Attributes bi;
  bi.setString("direction", "bidirectional");
  auto both = runOp("LSTM", bi, {x, w, r, b}, 3);
  auto half = [](const TensorPtr& t, int64_t d) {
    int64_t n = t->numel() / 2;
    auto v = values<float>(*t);
    ir::Shape s = t->shape;
    s[0] = 1;
    return floatTensor(s, std::vector<float>(v.begin() + d * n, v.begin() + (d + 1) * n));
  };
  for (int64_t d = 0; d < 2; ++d) {
    ir::Attributes one;
    one.setString("direction", d == 0 ? "forward" : "reverse");
    auto single = runOp("LSTM", one, {x, half(w, d), half(r, d), half(b, d)}, 3);
    auto yh = values<float>(*both[1]);
    auto ys = values<float>(*single[1]);
    for (int64_t k = 0; k < B * H; ++k) EXPECT_FLOAT_EQ(yh[static_cast<size_t>(d * B * H + k)], ys[static_cast<size_t>(k)]);
    auto y = values<float>(*both[0]);
    auto y1 = values<float>(*single[0]);
    for (int64_t t = 0; t < S; ++t)
      for (int64_t k = 0; k < B * H; ++k)
        EXPECT_FLOAT_EQ(y[static_cast<size_t>((t * 2 + d) * B * H + k)], y1[static_cast<size_t>(t * B * H + k)]);
  }
  // layout 1: X [B, S, I], Y [B, S, D, H], Y_h [B, D, H]
  auto xv = values<float>(*x);
  std::vector<float> xt(xv.size());
  for (int64_t t = 0; t < S; ++t)
    for (int64_t bb = 0; bb < B; ++bb)
      for (int64_t k = 0; k < I; ++k) xt[static_cast<size_t>((bb * S + t) * I + k)] = xv[static_cast<size_t>((t * B + bb) * I + k)];
  bi.setInt("layout", 1);
  auto bm = runOp("LSTM", bi, {floatTensor({B, S, I}, xt), w, r, b}, 3);
  EXPECT_EQ(ir::shapeToString(bm[0]->shape), ir::shapeToString(ir::Shape{B, S, 2, H}));
  auto y0 = values<float>(*both[0]), y1 = values<float>(*bm[0]);
  for (int64_t t = 0; t < S; ++t)
    for (int64_t d = 0; d < 2; ++d)
      for (int64_t bb = 0; bb < B; ++bb)
        for (int64_t k = 0; k < H; ++k)
          EXPECT_FLOAT_EQ(y1[static_cast<size_t>(((bb * S + t) * 2 + d) * H + k)],
                          y0[static_cast<size_t>(((t * 2 + d) * B + bb) * H + k)]);
  auto c0 = values<float>(*both[2]), c1 = values<float>(*bm[2]);
  for (int64_t d = 0; d < 2; ++d)
    for (int64_t bb = 0; bb < B; ++bb)
      for (int64_t k = 0; k < H; ++k)
        EXPECT_FLOAT_EQ(c1[static_cast<size_t>((bb * 2 + d) * H + k)], c0[static_cast<size_t>((d * B + bb) * H + k)]);
}

TEST(RnnOp, Errors) {
  auto x = floatTensor({1, 1, 1}, {1.f});
  auto w = floatTensor({1, 1, 1}, {1.f});
  auto r = floatTensor({1, 1, 1}, {1.f});
  ir::Attributes a;
  a.setString("direction", "sideways");
  EXPECT_THROW(runOp("RNN", a, {x, w, r}, 2), Error);
  ir::Attributes acts;
  acts.setStrings("activations", {"Tanh", "Tanh", "Tanh"});
  EXPECT_THROW(runOp("RNN", acts, {x, w, r}, 2), Error);
  ir::Attributes unknown;
  unknown.setStrings("activations", {"Gelu"});
  EXPECT_THROW(runOp("RNN", unknown, {x, w, r}, 2), Error);
  // W has 3 gates' rows: not an RNN
  EXPECT_THROW(runOp("RNN", {}, {x, floatTensor({1, 3, 1}, {1, 1, 1}), r}, 2), Error);
  // the weights say bidirectional, the attribute says forward
  EXPECT_THROW(runOp("GRU", {}, {x, floatTensor({2, 3, 1}, {1, 1, 1, 1, 1, 1}), floatTensor({2, 3, 1}, {1, 1, 1, 1, 1, 1})}, 2), Error);
  // sequence_lens beyond seq_length
  EXPECT_THROW(runOp("RNN", {}, {x, w, r, nullptr, i32({1}, {2})}, 2), Error);
  // integer X
  EXPECT_THROW(runOp("RNN", {}, {int64Tensor({1, 1, 1}, {1}), w, r}, 2), Error);
  ir::Attributes hs;
  hs.setInt("hidden_size", 2);
  EXPECT_THROW(runOp("RNN", hs, {x, w, r}, 2), Error);
  ir::Attributes lbr;
  lbr.setInt("linear_before_reset", 1);
  EXPECT_THROW(runOp("RNN", lbr, {x, w, r}, 2), Error);
}

}  // namespace
}  // namespace kiln::test
