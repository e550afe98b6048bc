// ONNX import of the attention family (Attention, RotaryEmbedding, SwiGLU, TensorScatter,
// CausalConvWithState, LinearAttention) and Einsum: imported, built, run on the CPU and compared with values
// computed here by naive loops; malformed nodes are refused at parse time.
#include <cmath>
#include <limits>

#include "onnx_import_util.h"

namespace kiln::test {
namespace {
using namespace onnxw;

using Built = ImportedEngine;

std::vector<float> seq(size_t n, float a, float b) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(a * static_cast<float>(i) + b);
  return v;
}
std::vector<std::string> dimStr(const std::vector<int64_t>& d) {
  std::vector<std::string> s;
  for (int64_t x : d) s.push_back(std::to_string(x));
  return s;
}
Dims dimsOf(const std::vector<int64_t>& d) {
  Dims r{static_cast<int32_t>(d.size()), {}};
  for (size_t i = 0; i < d.size(); ++i) r.d[i] = d[i];
  return r;
}
void expectNear(const std::vector<float>& got, const std::vector<float>& exp, double tol = 1e-5) {
  ASSERT_EQ(got.size(), exp.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], exp[i], tol + tol * std::fabs(exp[i])) << i;
}
Msg boolTensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<uint8_t>& v) {
  return tensorRaw(name, 9, dims, v.data(), v.size());
}

// ---------------------------------------------------------------------------------------------------------
// Attention: 4-D, GQA (4 q heads, 2 kv heads), causal, past kv; naive loop over (b, h, i, j).
struct AttnCase {
  int64_t b = 2, hq = 4, hkv = 2, sq = 3, skv = 3, past = 2, d = 4, dv = 3;
};

std::vector<float> naiveAttention(const AttnCase& c, const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, const std::vector<float>& pk, const std::vector<float>& pv,
                                  bool causal, float softcap, const std::vector<float>* bias /* (sq, L) additive */) {
  const int64_t L = c.past + c.skv;
  std::vector<float> y(static_cast<size_t>(c.b * c.hq * c.sq * c.dv));
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.d));
  auto K = [&](int64_t b, int64_t h, int64_t j, int64_t x) {
    return j < c.past ? pk[static_cast<size_t>(((b * c.hkv + h) * c.past + j) * c.d + x)]
                      : k[static_cast<size_t>(((b * c.hkv + h) * c.skv + (j - c.past)) * c.d + x)];
  };
  auto V = [&](int64_t b, int64_t h, int64_t j, int64_t x) {
    return j < c.past ? pv[static_cast<size_t>(((b * c.hkv + h) * c.past + j) * c.dv + x)]
                      : v[static_cast<size_t>(((b * c.hkv + h) * c.skv + (j - c.past)) * c.dv + x)];
  };
  for (int64_t b = 0; b < c.b; ++b)
    for (int64_t h = 0; h < c.hq; ++h) {
      const int64_t hk = h / (c.hq / c.hkv);
      for (int64_t i = 0; i < c.sq; ++i) {
        std::vector<double> s(static_cast<size_t>(L));
        double mx = -1e300;
        for (int64_t j = 0; j < L; ++j) {
          double acc = 0;
          for (int64_t x = 0; x < c.d; ++x) acc += q[static_cast<size_t>(((b * c.hq + h) * c.sq + i) * c.d + x)] * K(b, hk, j, x);
          acc *= scale;
          if (softcap > 0) acc = softcap * std::tanh(acc / softcap);
          if (bias) acc += (*bias)[static_cast<size_t>(i * L + j)];
          if (causal && j > i + c.past) acc = -INFINITY;
          s[static_cast<size_t>(j)] = acc;
          mx = std::max(mx, acc);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int64_t x = 0; x < c.dv; ++x) {
          double o = 0;
          for (int64_t j = 0; j < L; ++j) o += s[static_cast<size_t>(j)] / sum * V(b, hk, j, x);
          y[static_cast<size_t>(((b * c.hq + h) * c.sq + i) * c.dv + x)] = static_cast<float>(o);
        }
      }
    }
  return y;
}

TEST(OnnxAttentionImport, Attention4dGqaCausalWithPastMatchesNaiveLoop) {
  AttnCase c;
  const std::vector<int64_t> qd{c.b, c.hq, c.sq, c.d}, kd{c.b, c.hkv, c.skv, c.d}, vd{c.b, c.hkv, c.skv, c.dv},
      pkd{c.b, c.hkv, c.past, c.d}, pvd{c.b, c.hkv, c.past, c.dv};
  auto q = seq(static_cast<size_t>(volume(dimsOf(qd))), 0.37f, 0.1f), k = seq(static_cast<size_t>(volume(dimsOf(kd))), 0.53f, 0.4f),
       v = seq(static_cast<size_t>(volume(dimsOf(vd))), 0.29f, 0.7f), pk = seq(static_cast<size_t>(volume(dimsOf(pkd))), 0.61f, 1.1f),
       pv = seq(static_cast<size_t>(volume(dimsOf(pvd))), 0.43f, 1.7f);
  for (float softcap : {0.f, 0.5f}) {
    GraphSpec g;
    g.inputs = {valueInfo("q", 1, dimStr(qd)), valueInfo("k", 1, dimStr(kd)), valueInfo("v", 1, dimStr(vd)),
                valueInfo("pk", 1, dimStr(pkd)), valueInfo("pv", 1, dimStr(pvd))};
    g.outputs = {valueInfo("y", 1, {}), valueInfo("presk", 1, {})};
    std::vector<Msg> attrs{attrInt("is_causal", 1)};
    if (softcap > 0) attrs.push_back(attrFloat("softcap", softcap));
    g.nodes = {node("Attention", {"q", "k", "v", "", "pk", "pv"}, {"y", "presk", ""}, "attn", attrs)};
    Built bt(model(graph(g), {opset("", 23)}));
    ASSERT_TRUE(bt.parsed) << bt.logger.all();
    ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
    auto out = runEngine(*bt.engine, {{"q", {dimsOf(qd), q}}, {"k", {dimsOf(kd), k}}, {"v", {dimsOf(vd), v}},
                                      {"pk", {dimsOf(pkd), pk}}, {"pv", {dimsOf(pvd), pv}}});
    expectNear(out["y"].data, naiveAttention(c, q, k, v, pk, pv, true, softcap, nullptr));
    // present_key = concat(past_key, K) on the sequence axis
    std::vector<float> presk;
    for (int64_t b = 0; b < c.b; ++b)
      for (int64_t h = 0; h < c.hkv; ++h) {
        for (int64_t j = 0; j < c.past * c.d; ++j) presk.push_back(pk[static_cast<size_t>((b * c.hkv + h) * c.past * c.d + j)]);
        for (int64_t j = 0; j < c.skv * c.d; ++j) presk.push_back(k[static_cast<size_t>((b * c.hkv + h) * c.skv * c.d + j)]);
      }
    expectNear(out["presk"].data, presk, 0);
  }
}

//! 3-D inputs (heads packed in the hidden dim), a boolean mask shorter than the kv length (padded with
//! "masked"), one fully masked query row (its output must be 0, not NaN).
TEST(OnnxAttentionImport, Attention3dShortBoolMaskAndFullyMaskedRow) {
  AttnCase c;
  c.b = 1;
  c.hq = c.hkv = 2;
  c.past = 0;
  c.sq = 2;
  c.skv = 4;
  const std::vector<int64_t> qd{c.b, c.sq, c.hq * c.d}, kd{c.b, c.skv, c.hkv * c.d}, vd{c.b, c.skv, c.hkv * c.dv};
  auto q = seq(16, 0.37f, 0.1f), k = seq(32, 0.53f, 0.4f), v = seq(24, 0.29f, 0.7f);
  // mask (sq, 3): row 0 attends keys 0 and 2; row 1 attends nothing; key 3 is padding (masked)
  GraphSpec g;
  g.inputs = {valueInfo("q", 1, dimStr(qd)), valueInfo("k", 1, dimStr(kd)), valueInfo("v", 1, dimStr(vd))};
  g.outputs = {valueInfo("y", 1, {})};
  g.initializers = {boolTensor("m", {2, 3}, {1, 0, 1, 0, 0, 0})};
  g.nodes = {node("Attention", {"q", "k", "v", "m"}, {"y"}, "attn", {attrInt("q_num_heads", 2), attrInt("kv_num_heads", 2)})};
  Built bt(model(graph(g), {opset("", 23)}));
  ASSERT_TRUE(bt.parsed) << bt.logger.all();
  ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
  auto out = runEngine(*bt.engine, {{"q", {dimsOf(qd), q}}, {"k", {dimsOf(kd), k}}, {"v", {dimsOf(vd), v}}});
  // naive: unpack to 4-D, bias row 0 = {0, -inf, 0, -inf}; row 1 is all masked -> zeros
  auto to4 = [](const std::vector<float>& x, int64_t s, int64_t h, int64_t d) {
    std::vector<float> r(x.size());
    for (int64_t i = 0; i < s; ++i)
      for (int64_t hh = 0; hh < h; ++hh)
        for (int64_t e = 0; e < d; ++e) r[static_cast<size_t>((hh * s + i) * d + e)] = x[static_cast<size_t>((i * h + hh) * d + e)];
    return r;
  };
  const float ni = -INFINITY;
  std::vector<float> bias{0, ni, 0, ni, 0, 0, 0, 0};
  auto y4 = naiveAttention(c, to4(q, c.sq, 2, c.d), to4(k, c.skv, 2, c.d), to4(v, c.skv, 2, c.dv), {}, {}, false, 0, &bias);
  std::vector<float> y(static_cast<size_t>(c.sq * 2 * c.dv));
  for (int64_t i = 0; i < c.sq; ++i)
    for (int64_t hh = 0; hh < 2; ++hh)
      for (int64_t e = 0; e < c.dv; ++e)
        y[static_cast<size_t>((i * 2 + hh) * c.dv + e)] = i == 1 ? 0.f : y4[static_cast<size_t>((hh * c.sq + i) * c.dv + e)];
  expectNear(out["y"].data, y);
}

TEST(OnnxAttentionImport, AttentionRefusesMalformedNodes) {
  GraphSpec g;
  g.inputs = {valueInfo("q", 1, {"1", "2", "8"}), valueInfo("k", 1, {"1", "2", "8"}), valueInfo("v", 1, {"1", "2", "8"})};
  g.outputs = {valueInfo("y", 1, {})};
  g.nodes = {node("Attention", {"q", "k", "v"}, {"y"}, "attn", {})};  // 3-D without head counts
  Built a(model(graph(g), {opset("", 23)}));
  EXPECT_FALSE(a.parsed);
  g.nodes = {node("Attention", {"q", "k", "v"}, {"y"}, "attn", {attrInt("q_num_heads", 3), attrInt("kv_num_heads", 2)})};
  Built b(model(graph(g), {opset("", 23)}));  // 8 not divisible by 3
  EXPECT_FALSE(b.parsed);
}

// ---------------------------------------------------------------------------------------------------------
Msg oneNodeModel(const std::string& op, const std::vector<std::pair<std::string, std::vector<int64_t>>>& ins,
                 const std::vector<std::string>& outs, const std::vector<Msg>& attrs, std::vector<Msg> inits = {},
                 const std::vector<std::string>& extraIns = {}, int64_t ver = 23) {
  GraphSpec g;
  std::vector<std::string> names;
  for (const auto& [n, d] : ins) {
    g.inputs.push_back(valueInfo(n, 1, dimStr(d)));
    names.push_back(n);
  }
  for (const auto& n : extraIns) names.push_back(n);
  for (const auto& o : outs) g.outputs.push_back(valueInfo(o, 1, {}));
  g.initializers = std::move(inits);
  g.nodes = {node(op, names, outs, "n", attrs)};
  return model(graph(g), {opset("", ver)});
}

TEST(OnnxEinsumImport, MatchesNaiveLoops) {
  // batch matmul
  {
    auto a = seq(2 * 3 * 4, 0.3f, 0.1f), b = seq(2 * 4 * 5, 0.7f, 0.2f);
    Built bt(oneNodeModel("Einsum", {{"a", {2, 3, 4}}, {"b", {2, 4, 5}}}, {"y"}, {attrString("equation", "bij, bjk -> bik")}, {}, {}, 12));
    ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
    auto out = runEngine(*bt.engine, {{"a", {Dims{3, {2, 3, 4}}, a}}, {"b", {Dims{3, {2, 4, 5}}, b}}});
    std::vector<float> y(2 * 3 * 5, 0.f);
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 3; ++i)
        for (int k = 0; k < 5; ++k)
          for (int j = 0; j < 4; ++j) y[static_cast<size_t>((n * 3 + i) * 5 + k)] += a[static_cast<size_t>((n * 3 + i) * 4 + j)] * b[static_cast<size_t>((n * 4 + j) * 5 + k)];
    expectNear(out["y"].data, y);
  }
  // batch diagonal with ellipsis
  {
    auto a = seq(2 * 3 * 3, 0.3f, 0.1f);
    Built bt(oneNodeModel("Einsum", {{"a", {2, 3, 3}}}, {"y"}, {attrString("equation", "...ii->...i")}, {}, {}, 12));
    ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
    auto out = runEngine(*bt.engine, {{"a", {Dims{3, {2, 3, 3}}, a}}});
    std::vector<float> y;
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 3; ++i) y.push_back(a[static_cast<size_t>((n * 3 + i) * 3 + i)]);
    expectNear(out["y"].data, y);
  }
  // implicit output (labels in alphabetical order): "ji,kj" -> "ik", a transpose-contract-transpose
  {
    auto a = seq(4 * 3, 0.3f, 0.1f), b = seq(2 * 4, 0.7f, 0.2f);
    Built bt(oneNodeModel("Einsum", {{"a", {4, 3}}, {"b", {2, 4}}}, {"y"}, {attrString("equation", "ji,kj")}, {}, {}, 12));
    ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
    auto out = runEngine(*bt.engine, {{"a", {Dims{2, {4, 3}}, a}}, {"b", {Dims{2, {2, 4}}, b}}});
    std::vector<float> y(3 * 2, 0.f);
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 2; ++k)
        for (int j = 0; j < 4; ++j) y[static_cast<size_t>(i * 2 + k)] += a[static_cast<size_t>(j * 3 + i)] * b[static_cast<size_t>(k * 4 + j)];
    expectNear(out["y"].data, y);
  }
  // full sum to a scalar and a 3-operand product
  {
    auto a = seq(3, 0.3f, 0.1f), b = seq(3 * 2, 0.7f, 0.2f), c = seq(2, 0.9f, 0.3f);
    Built bt(oneNodeModel("Einsum", {{"a", {3}}, {"b", {3, 2}}, {"c", {2}}}, {"y"}, {attrString("equation", "i,ij,j->")}, {}, {}, 12));
    ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
    auto out = runEngine(*bt.engine, {{"a", {Dims{1, {3}}, a}}, {"b", {Dims{2, {3, 2}}, b}}, {"c", {Dims{1, {2}}, c}}});
    double s = 0;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j) s += a[static_cast<size_t>(i)] * b[static_cast<size_t>(i * 2 + j)] * c[static_cast<size_t>(j)];
    expectNear(out["y"].data, {static_cast<float>(s)});
  }
  // malformed equations are refused
  Built bad1(oneNodeModel("Einsum", {{"a", {2, 3}}}, {"y"}, {attrString("equation", "ijk->i")}, {}, {}, 12));
  EXPECT_FALSE(bad1.parsed);
  Built bad2(oneNodeModel("Einsum", {{"a", {2, 3}}}, {"y"}, {attrString("equation", "i$->i")}, {}, {}, 12));
  EXPECT_FALSE(bad2.parsed);
  Built bad3(oneNodeModel("Einsum", {{"a", {2, 3}}}, {"y"}, {attrString("equation", "ij->q")}, {}, {}, 12));
  EXPECT_FALSE(bad3.parsed);
}

TEST(OnnxAttentionImport, RotaryEmbeddingHalvesAndInterleaved) {
  const int64_t B = 1, H = 2, S = 3, D = 6, R = 4, P = 5;  // rotate the first 4 of 6 channels
  auto x = seq(static_cast<size_t>(B * H * S * D), 0.3f, 0.1f), cosC = seq(P * R / 2, 0.5f, 0.3f), sinC = seq(P * R / 2, 0.8f, 0.6f);
  const std::vector<int64_t> pos{4, 0, 2};
  for (int inter : {0, 1}) {
    SCOPED_TRACE(inter);
    Built bt(oneNodeModel("RotaryEmbedding", {{"x", {B, H, S, D}}, {"c", {P, R / 2}}, {"s", {P, R / 2}}}, {"y"},
                          {attrInt("interleaved", inter), attrInt("rotary_embedding_dim", R)},
                          {tensorInt64s("p", {B, S}, pos)}, {"p"}));
    ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
    auto out = runEngine(*bt.engine, {{"x", {Dims{4, {B, H, S, D}}, x}}, {"c", {Dims{2, {P, R / 2}}, cosC}}, {"s", {Dims{2, {P, R / 2}}, sinC}}});
    std::vector<float> y = x;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t s = 0; s < S; ++s) {
        const float* in = &x[static_cast<size_t>((h * S + s) * D)];
        float* o = &y[static_cast<size_t>((h * S + s) * D)];
        for (int64_t i = 0; i < R / 2; ++i) {
          float cv = cosC[static_cast<size_t>(pos[static_cast<size_t>(s)] * R / 2 + i)], sv = sinC[static_cast<size_t>(pos[static_cast<size_t>(s)] * R / 2 + i)];
          int64_t i1 = inter ? 2 * i : i, i2 = inter ? 2 * i + 1 : i + R / 2;
          o[i1] = cv * in[i1] - sv * in[i2];
          o[i2] = sv * in[i1] + cv * in[i2];
        }
      }
    expectNear(out["y"].data, y);
  }
}

TEST(OnnxAttentionImport, SwiGLUAndTensorScatterCircular) {
  {
    auto a = seq(6, 0.9f, 0.1f), b = seq(6, 0.4f, 0.5f);
    Built bt(oneNodeModel("SwiGLU", {{"a", {2, 3}}, {"b", {2, 3}}}, {"y"}, {attrFloat("alpha", 1.5f)}));
    ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
    auto out = runEngine(*bt.engine, {{"a", {Dims{2, {2, 3}}, a}}, {"b", {Dims{2, {2, 3}}, b}}});
    std::vector<float> y;
    for (size_t i = 0; i < 6; ++i) y.push_back(a[i] / (1.f + std::exp(-1.5f * a[i])) * b[i]);
    expectNear(out["y"].data, y);
  }
  {
    // cache (2, 4, 2), update (2, 3, 2) along axis 1, write at 3 (wraps) and 0
    auto cache = seq(16, 0.3f, 0.1f), upd = seq(12, 0.7f, 0.9f);
    Built bt(oneNodeModel("TensorScatter", {{"c", {2, 4, 2}}, {"u", {2, 3, 2}}}, {"y"},
                          {attrString("mode", "circular"), attrInt("axis", 1)}, {tensorInt64s("w", {2}, {3, 0})}, {"w"}, 24));
    ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
    auto out = runEngine(*bt.engine, {{"c", {Dims{3, {2, 4, 2}}, cache}}, {"u", {Dims{3, {2, 3, 2}}, upd}}});
    std::vector<float> y = cache;
    const int64_t w[2] = {3, 0};
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t s = 0; s < 3; ++s)
        for (int64_t e = 0; e < 2; ++e)
          y[static_cast<size_t>((b * 4 + (w[b] + s) % 4) * 2 + e)] = upd[static_cast<size_t>((b * 3 + s) * 2 + e)];
    expectNear(out["y"].data, y, 0);
  }
}

TEST(OnnxAttentionImport, CausalConvWithStateSiluAndPastState) {
  const int64_t B = 2, C = 3, L = 4, K = 3;
  auto x = seq(B * C * L, 0.3f, 0.1f), w = seq(C * K, 0.7f, 0.2f), bias = seq(C, 0.9f, 0.3f), past = seq(B * C * (K - 1), 0.5f, 1.f);
  Built bt(oneNodeModel("CausalConvWithState", {{"x", {B, C, L}}, {"w", {C, 1, K}}, {"b", {C}}, {"p", {B, C, K - 1}}}, {"y", "st"},
                        {attrString("activation", "silu")}));
  ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
  auto out = runEngine(*bt.engine, {{"x", {Dims{3, {B, C, L}}, x}}, {"w", {Dims{3, {C, 1, K}}, w}}, {"b", {Dims{1, {C}}, bias}},
                                    {"p", {Dims{3, {B, C, K - 1}}, past}}});
  std::vector<float> y, st;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      std::vector<float> padded;
      for (int64_t i = 0; i < K - 1; ++i) padded.push_back(past[static_cast<size_t>((b * C + c) * (K - 1) + i)]);
      for (int64_t i = 0; i < L; ++i) padded.push_back(x[static_cast<size_t>((b * C + c) * L + i)]);
      for (int64_t t = 0; t < L; ++t) {
        double acc = bias[static_cast<size_t>(c)];
        for (int64_t j = 0; j < K; ++j) acc += w[static_cast<size_t>(c * K + j)] * padded[static_cast<size_t>(t + j)];
        y.push_back(static_cast<float>(acc / (1 + std::exp(-acc))));
      }
      for (int64_t i = L; i < L + K - 1; ++i) st.push_back(padded[static_cast<size_t>(i)]);
    }
  expectNear(out["y"].data, y);
  expectNear(out["st"].data, st, 0);
}

TEST(OnnxAttentionImport, LinearAttentionGatedDeltaGqaMatchesNaiveRecurrence) {
  const int64_t B = 1, T = 3, Hq = 2, Hkv = 1, Dk = 2, Dv = 3;
  auto q = seq(B * T * Hq * Dk, 0.3f, 0.1f), k = seq(B * T * Hkv * Dk, 0.7f, 0.2f), v = seq(B * T * Hkv * Dv, 0.9f, 0.3f),
       decay = seq(B * T * Hkv, 0.5f, 1.f), beta = seq(B * T * Hkv, 0.6f, 0.4f), past = seq(B * Hkv * Dk * Dv, 0.2f, 0.8f);
  for (float& d : decay) d = -std::fabs(d);
  Built bt(oneNodeModel("LinearAttention",
                        {{"q", {B, T, Hq * Dk}}, {"k", {B, T, Hkv * Dk}}, {"v", {B, T, Hkv * Dv}}, {"p", {B, Hkv, Dk, Dv}},
                         {"g", {B, T, Hkv}}, {"be", {B, T, Hkv}}},
                        {"y", "st"}, {attrInt("q_num_heads", Hq), attrInt("kv_num_heads", Hkv), attrString("update_rule", "gated_delta")}));
  ASSERT_NE(bt.engine, nullptr) << bt.logger.all();
  auto out = runEngine(*bt.engine, {{"q", {Dims{3, {B, T, Hq * Dk}}, q}}, {"k", {Dims{3, {B, T, Hkv * Dk}}, k}},
                                    {"v", {Dims{3, {B, T, Hkv * Dv}}, v}}, {"p", {Dims{4, {B, Hkv, Dk, Dv}}, past}},
                                    {"g", {Dims{3, {B, T, Hkv}}, decay}}, {"be", {Dims{3, {B, T, Hkv}}, beta}}});
  std::vector<double> S(past.begin(), past.end());  // (Dk, Dv), one kv head
  std::vector<float> y(static_cast<size_t>(T * Hq * Dv));
  const double scale = 1 / std::sqrt(2.0);
  for (int64_t t = 0; t < T; ++t) {
    for (double& s : S) s *= std::exp(decay[static_cast<size_t>(t)]);
    std::vector<double> vt(static_cast<size_t>(Dv));
    for (int64_t m = 0; m < Dv; ++m) {
      double r = 0;
      for (int64_t d = 0; d < Dk; ++d) r += S[static_cast<size_t>(d * Dv + m)] * k[static_cast<size_t>(t * Dk + d)];
      vt[static_cast<size_t>(m)] = beta[static_cast<size_t>(t)] * (v[static_cast<size_t>(t * Dv + m)] - r);
    }
    for (int64_t d = 0; d < Dk; ++d)
      for (int64_t m = 0; m < Dv; ++m) S[static_cast<size_t>(d * Dv + m)] += k[static_cast<size_t>(t * Dk + d)] * vt[static_cast<size_t>(m)];
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t m = 0; m < Dv; ++m) {
        double o = 0;
        for (int64_t d = 0; d < Dk; ++d) o += q[static_cast<size_t>((t * Hq + h) * Dk + d)] * S[static_cast<size_t>(d * Dv + m)];
        y[static_cast<size_t>((t * Hq + h) * Dv + m)] = static_cast<float>(scale * o);
      }
  }
  expectNear(out["y"].data, y, 1e-5);
  expectNear(out["st"].data, std::vector<float>(S.begin(), S.end()), 1e-5);
  // decay without a gated rule is refused
  Built bad(oneNodeModel("LinearAttention", {{"q", {B, T, 4}}, {"k", {B, T, 2}}, {"v", {B, T, 3}}}, {"y"},
                         {attrInt("q_num_heads", 2), attrInt("kv_num_heads", 1), attrString("update_rule", "linear")},
                         {tensorFloats("g", {B, T, 1}, {0.f, 0.f, 0.f})}, {"", "g"}, 23));
  EXPECT_TRUE(!bad.parsed || !bad.engine);
}

}  // namespace
}  // namespace kiln::test
