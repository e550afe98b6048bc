// Op schemas of the recurrent family: RNN, GRU and LSTM with ONNX's newest semantics (opset 14+: layout)
// and inputs in ONNX order (X, W, R, B, sequence_lens, initial_h[, initial_c, P]). See docs/ir/rnn.md.
#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/ops/rnn_common.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

using namespace rnn;

//! Unifies a known extent: `d` (-1 unknown) with `v`; fails on a mismatch.
void unify(InferContext& c, int64_t& d, int64_t v, const std::string& what) {
  if (v < 0) return;
  if (d >= 0 && d != v) c.fail(what + " is " + std::to_string(v) + ", expected " + std::to_string(d));
  d = v;
}

void inferRecurrent(InferContext& c) {
  Params p;
  try {
    p = parseParams(c.node().op, c.attrs());
  } catch (const Error& e) {
    c.fail(e.message());
  }
  const std::string op = c.node().op;
  const int64_t G = gatesOf(p.cell);
  const DataType t = c.inputType(kX);
  if (!isFloatingType(t)) c.fail(op + ": X must be a floating-point tensor");
  for (int i : {kW, kR, kB, kInitH, kInitC, kP})
    if (c.hasInput(i) && c.inputType(i) != t) c.fail(op + ": input " + std::to_string(i) + " must have X's type");
  if (p.cell != Cell::kLSTM && (c.hasInput(kInitC) || c.hasInput(kP)))
    c.fail(op + " has at most 6 inputs");
  if (p.cell != Cell::kLSTM && c.numOutputs() > 2) c.fail(op + " has at most 2 outputs");
  for (int i : {kX, kW, kR})
    if (c.inputRank(i) != 3) c.fail(op + ": X, W and R must have rank 3");
  const Shape& xs = c.inputShape(kX);
  int64_t S = xs[p.layout ? 1 : 0], B = xs[p.layout ? 0 : 1], I = xs[2];
  int64_t H = p.hiddenSize, D = p.dirs, GH = -1;
  if (H > 0) GH = G * H;  // hidden_size <= 2^40 (parseParams)
  const Shape& ws = c.inputShape(kW);
  const Shape& rs = c.inputShape(kR);
  unify(c, D, ws[0], "W's first extent");
  unify(c, GH, ws[1], "W's second extent");
  unify(c, I, ws[2], "W's third extent (input size)");
  unify(c, D, rs[0], "R's first extent");
  unify(c, GH, rs[1], "R's second extent");
  unify(c, H, rs[2], "R's third extent (hidden size)");
  if (H > (int64_t{1} << 40)) c.fail(op + ": hidden size too large");
  if (GH >= 0 && H >= 0 && GH != G * H) c.fail(op + ": W/R have " + std::to_string(GH) + " rows, expected " +
                                                std::to_string(G) + " x hidden_size");
  if (H < 0 && GH >= 0) {
    if (GH % G != 0) c.fail(op + ": W's rows are not a multiple of the gate count");
    H = GH / G;
  }
  if (c.hasInput(kB)) {
    const Shape& bs = c.inputShape(kB);
    if (bs.size() != 2) c.fail(op + ": B must have rank 2");
    unify(c, D, bs[0], "B's first extent");
    if (H >= 0) unify(c, GH, bs[1] >= 0 ? bs[1] / 2 : -1, "half of B's second extent");
    if (bs[1] >= 0 && bs[1] % 2 != 0) c.fail(op + ": B's second extent must be even");
  }
  if (c.hasInput(kSeqLens)) {
    DataType st = c.inputType(kSeqLens);
    if (st != DataType::kINT32 && st != DataType::kINT64) c.fail(op + ": sequence_lens must be int32");
    if (c.inputRank(kSeqLens) != 1) c.fail(op + ": sequence_lens must be 1-D");
    unify(c, B, c.inputShape(kSeqLens)[0], "sequence_lens' length (batch size)");
  }
  for (int i : {kInitH, kInitC}) {
    if (!c.hasInput(i)) continue;
    const Shape& hs = c.inputShape(i);
    const char* name = i == kInitH ? "initial_h" : "initial_c";
    if (hs.size() != 3) c.fail(op + ": " + name + " must have rank 3");
    unify(c, D, hs[p.layout ? 1 : 0], std::string(name) + "'s directions extent");
    unify(c, B, hs[p.layout ? 0 : 1], std::string(name) + "'s batch extent");
    unify(c, H, hs[2], std::string(name) + "'s hidden extent");
  }
  if (c.hasInput(kP)) {
    const Shape& ps = c.inputShape(kP);
    if (ps.size() != 2) c.fail(op + ": P must have rank 2");
    unify(c, D, ps[0], "P's first extent");
    if (ps[1] >= 0 && H >= 0 && ps[1] != 3 * H) c.fail(op + ": P's second extent must be 3 x hidden_size");
  }
  if (D != p.dirs) c.fail(op + ": the weights have " + std::to_string(D) + " directions, direction says " +
                          std::to_string(p.dirs));
  Shape y = p.layout ? Shape{B, S, D, H} : Shape{S, D, B, H};
  Shape yh = p.layout ? Shape{B, D, H} : Shape{D, B, H};
  for (int o = 0; o < c.numOutputs(); ++o) c.setOutput(o, t, o == 0 ? y : yh);
}

}  // namespace

void registerScanOps(OpRegistry& reg);  // scan.cpp (registered with this family to keep op_registry.h unchanged)

void registerRnnOps(OpRegistry& reg) {
  registerScanOps(reg);
  reg.add({"RNN", 3, 6, 0, 2, inferRecurrent,
           "ONNX RNN (X, W, R, B?, sequence_lens?, initial_h?) -> Y?, Y_h?; activations, clip, direction, layout"});
  reg.add({"GRU", 3, 6, 0, 2, inferRecurrent,
           "ONNX GRU (gates z, r, h); linear_before_reset, activations, clip, direction, layout"});
  reg.add({"LSTM", 3, 8, 0, 3, inferRecurrent,
           "ONNX LSTM (gates i, o, f, c; P = peepholes i, o, f) -> Y?, Y_h?, Y_c?; input_forget, layout"});
}

}  // namespace kiln::ir
