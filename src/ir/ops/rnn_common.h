// Private helpers of the recurrent op family (RNN, GRU, LSTM), shared by the schemas (src/ir/ops/rnn.cpp)
// and the reference kernels (src/backends/cpu/ref/rnn.cpp) so that attribute validation agrees exactly:
// the cell kind, direction, and the per-direction activation functions with their alpha/beta.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir::rnn {

[[noreturn]] inline void invalid(const std::string& msg) { throw Error(ErrorCode::kINVALID_ARGUMENT, msg); }

enum class Cell { kRNN, kGRU, kLSTM };

inline Cell cellOf(const std::string& op) {
  if (op == "RNN") return Cell::kRNN;
  if (op == "GRU") return Cell::kGRU;
  if (op == "LSTM") return Cell::kLSTM;
  invalid("'" + op + "' is not a recurrent op");
}
//! Gates per cell: RNN 1, GRU 3 (z, r, h), LSTM 4 (i, o, f, c).
inline int64_t gatesOf(Cell c) { return c == Cell::kRNN ? 1 : c == Cell::kGRU ? 3 : 4; }
//! Activation functions per direction: RNN f; GRU f, g; LSTM f, g, h.
inline size_t funcsOf(Cell c) { return c == Cell::kRNN ? 1 : c == Cell::kGRU ? 2 : 3; }

enum class Direction { kFORWARD, kREVERSE, kBIDIRECTIONAL };
inline Direction directionOf(const Attributes& a) {
  std::string d = a.getString("direction", "forward");
  if (d == "forward") return Direction::kFORWARD;
  if (d == "reverse") return Direction::kREVERSE;
  if (d == "bidirectional") return Direction::kBIDIRECTIONAL;
  invalid("direction '" + d + "' is not one of forward, reverse, bidirectional");
}
inline int64_t numDirections(Direction d) { return d == Direction::kBIDIRECTIONAL ? 2 : 1; }

struct Activation {
  enum class Kind { kRELU, kTANH, kSIGMOID, kAFFINE, kLEAKYRELU, kTHRESHOLDEDRELU, kSCALEDTANH, kHARDSIGMOID, kELU,
                    kSOFTSIGN, kSOFTPLUS };
  Kind kind{Kind::kTANH};
  double alpha{0};
  double beta{0};

  double operator()(double x) const {
    switch (kind) {
      case Kind::kRELU: return x > 0 ? x : 0;
      case Kind::kTANH: return std::tanh(x);
      case Kind::kSIGMOID: return 1.0 / (1.0 + std::exp(-x));
      case Kind::kAFFINE: return alpha * x + beta;
      case Kind::kLEAKYRELU: return x >= 0 ? x : alpha * x;
      case Kind::kTHRESHOLDEDRELU: return x > alpha ? x : 0;
      case Kind::kSCALEDTANH: return alpha * std::tanh(beta * x);
      case Kind::kHARDSIGMOID: return std::clamp(alpha * x + beta, 0.0, 1.0);
      case Kind::kELU: return x >= 0 ? x : alpha * (std::exp(x) - 1);
      case Kind::kSOFTSIGN: return x / (1 + std::fabs(x));
      case Kind::kSOFTPLUS: return std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0);
    }
    return x;
  }
};

//! The activation functions of every direction (numDirections * funcsOf(cell), forward's first), with
//! their alpha/beta: `activation_alpha` / `activation_beta` are consumed in order by the functions that
//! take them (a function whose entry is missing gets its ONNX default). A list of funcsOf(cell) names for
//! a bidirectional op applies to both directions. Throws kiln::Error(kINVALID_ARGUMENT) on bad attributes.
inline std::vector<Activation> parseActivations(const Attributes& a, Cell cell, int64_t dirs) {
  const size_t per = funcsOf(cell);
  std::vector<std::string> names;
  if (const Attr* at = a.find("activations")) {
    if (at->kind != Attr::Kind::kSTRINGS) invalid("activations must be a list of strings");
    names = at->strings;
  }
  if (names.empty()) {
    if (cell == Cell::kRNN) names = {"Tanh"};
    else if (cell == Cell::kGRU) names = {"Sigmoid", "Tanh"};
    else names = {"Sigmoid", "Tanh", "Tanh"};
  }
  if (names.size() == per && dirs == 2) {
    std::vector<std::string> twice = names;
    twice.insert(twice.end(), names.begin(), names.end());
    names = twice;
  }
  if (names.size() != per * static_cast<size_t>(dirs))
    invalid("activations has " + std::to_string(names.size()) + " entries, expected " +
            std::to_string(per * static_cast<size_t>(dirs)));
  std::vector<double> alphas = a.getFloats("activation_alpha"), betas = a.getFloats("activation_beta");
  size_t ia = 0, ib = 0;
  std::vector<Activation> out;
  for (const std::string& n : names) {
    std::string l = n;
    for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    Activation f;
    bool usesAlpha = false, usesBeta = false;
    double da = 0, db = 0;
    using K = Activation::Kind;
    if (l == "relu") f.kind = K::kRELU;
    else if (l == "tanh") f.kind = K::kTANH;
    else if (l == "sigmoid") f.kind = K::kSIGMOID;
    else if (l == "affine") f.kind = K::kAFFINE, usesAlpha = usesBeta = true, da = 1, db = 0;
    else if (l == "leakyrelu") f.kind = K::kLEAKYRELU, usesAlpha = true, da = 0.01;
    else if (l == "thresholdedrelu") f.kind = K::kTHRESHOLDEDRELU, usesAlpha = true, da = 1;
    else if (l == "scaledtanh") f.kind = K::kSCALEDTANH, usesAlpha = usesBeta = true, da = 1, db = 1;
    else if (l == "hardsigmoid") f.kind = K::kHARDSIGMOID, usesAlpha = usesBeta = true, da = 0.2, db = 0.5;
    else if (l == "elu") f.kind = K::kELU, usesAlpha = true, da = 1;
    else if (l == "softsign") f.kind = K::kSOFTSIGN;
    else if (l == "softplus") f.kind = K::kSOFTPLUS;
    else invalid("activation '" + n + "' is not supported");
    f.alpha = da;
    f.beta = db;
    if (usesAlpha && ia < alphas.size()) f.alpha = alphas[ia++];
    if (usesBeta && ib < betas.size()) f.beta = betas[ib++];
    out.push_back(f);
  }
  return out;
}

//! Validated scalar attributes of a recurrent op.
struct Params {
  Cell cell{Cell::kRNN};
  Direction direction{Direction::kFORWARD};
  int64_t dirs{1};
  int64_t hiddenSize{-1};  //!< -1: not given (taken from R)
  int64_t layout{0};
  bool hasClip{false};
  double clip{0};
  bool linearBeforeReset{false};  //!< GRU
  bool inputForget{false};        //!< LSTM
  std::vector<Activation> acts;
};

inline Params parseParams(const std::string& op, const Attributes& a) {
  Params p;
  p.cell = cellOf(op);
  p.direction = directionOf(a);
  p.dirs = numDirections(p.direction);
  if (a.has("hidden_size")) {
    p.hiddenSize = a.getInt("hidden_size", 0);
    if (p.hiddenSize <= 0 || p.hiddenSize > (int64_t{1} << 40)) invalid("hidden_size must be positive (and sane)");
  }
  p.layout = a.getInt("layout", 0);
  if (p.layout != 0 && p.layout != 1) invalid("layout must be 0 or 1");
  if (a.has("clip")) {
    p.hasClip = true;
    p.clip = a.getFloat("clip", 0);
    if (!(p.clip > 0)) invalid("clip must be positive");
  }
  int64_t lbr = a.getInt("linear_before_reset", 0);
  if (lbr != 0 && lbr != 1) invalid("linear_before_reset must be 0 or 1");
  if (lbr && p.cell != Cell::kGRU) invalid("linear_before_reset is a GRU attribute");
  p.linearBeforeReset = lbr != 0;
  int64_t inf = a.getInt("input_forget", 0);
  if (inf != 0 && inf != 1) invalid("input_forget must be 0 or 1");
  if (inf && p.cell != Cell::kLSTM) invalid("input_forget is an LSTM attribute");
  p.inputForget = inf != 0;
  p.acts = parseActivations(a, p.cell, p.dirs);
  return p;
}

// Input indices (ONNX order).
constexpr int kX = 0, kW = 1, kR = 2, kB = 3, kSeqLens = 4, kInitH = 5, kInitC = 6, kP = 7;

}  // namespace kiln::ir::rnn
