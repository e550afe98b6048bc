// Op schemas: numeric and signal ops without an existing IR decomposition: CumProd, Det, DFT, STFT.
#include <cmath>

#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

bool isIdx(DataType t) { return t == DataType::kINT64 || t == DataType::kINT32; }

void inferCumProd(InferContext& c) {
  if (c.inputType(0) == DataType::kBOOL) c.fail("CumProd: bool is not supported");
  if (!isIdx(c.inputType(1))) c.fail("CumProd: axis must be int32 or int64");
  if (numElements(c.inputShape(1)) > 1 || c.inputRank(1) > 1) c.fail("CumProd: axis must be a scalar");
  if (c.inputData(1)) c.normalizeAxis(c.inputData(1)->intAt(0), c.inputRank(0));
  c.setOutput(0, c.inputType(0), c.inputShape(0));
}

//! Det: X [*, M, M] -> [*].
void inferDet(InferContext& c) {
  const Shape& s = c.inputShape(0);
  if (!isFloatingType(c.inputType(0))) c.fail("Det: the input must be floating-point");
  if (s.size() < 2) c.fail("Det: the input must have rank >= 2, got " + shapeToString(s));
  int64_t m = s[s.size() - 2], n = s[s.size() - 1];
  if (m >= 0 && n >= 0 && m != n) c.fail("Det: the last two dims must be equal, got " + shapeToString(s));
  c.setOutput(0, c.inputType(0), Shape(s.begin(), s.end() - 2));
}

//! DFT(input [..., N, 1|2], dft_length?); attributes axis (>= 0, not the last), inverse, onesided.
//! Output [..., L or L/2+1, 2] with L = dft_length or N.
void inferDft(InferContext& c) {
  const Shape& s = c.inputShape(0);
  if (!isFloatingType(c.inputType(0))) c.fail("DFT: the input must be floating-point");
  int64_t r = static_cast<int64_t>(s.size());
  if (r < 2) c.fail("DFT: the input must have rank >= 2 (the last dim holds real/imaginary parts)");
  if (s.back() >= 0 && s.back() != 1 && s.back() != 2) c.fail("DFT: the last dim must be 1 (real) or 2 (complex)");
  int64_t axis = c.attrs().getInt("axis", 1);
  if (c.hasInput(2)) {  // ONNX opset 20: the axis as a (runtime) scalar input
    if (!isIdx(c.inputType(2)) || numElements(c.inputShape(2)) > 1 || c.inputRank(2) > 1) c.fail("DFT: axis must be an int scalar");
    const TensorData* a = c.inputData(2);
    if (!a) {
      Shape out(s.size(), -1);
      out.back() = 2;
      c.setOutput(0, c.inputType(0), out);
      return;
    }
    if (a->numel() != 1) c.fail("DFT: axis must have one element");
    axis = a->intAt(0);
  }
  if (axis < -r || axis >= r) c.fail("DFT: axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += r;
  if (axis == r - 1) c.fail("DFT: axis must not be the last dim");
  bool onesided = c.attrs().getInt("onesided", 0) != 0;
  bool inverse = c.attrs().getInt("inverse", 0) != 0;
  if (onesided && inverse) c.fail("DFT: onesided with inverse is not supported");
  int64_t len = s[static_cast<size_t>(axis)];
  if (c.hasInput(1)) {
    if (!isIdx(c.inputType(1)) || numElements(c.inputShape(1)) > 1 || c.inputRank(1) > 1)
      c.fail("DFT: dft_length must be an int32/int64 scalar");
    const TensorData* d = c.inputData(1);
    if (d) {
      if (d->numel() != 1) c.fail("DFT: dft_length must have one element");
      len = d->intAt(0);
      if (len < 1 || len > (int64_t{1} << 31)) c.fail("DFT: dft_length " + std::to_string(len) + " out of range");
    } else {
      len = -1;
    }
  }
  Shape out = s;
  out[static_cast<size_t>(axis)] = len < 0 ? -1 : (onesided ? len / 2 + 1 : len);
  out.back() = 2;
  c.setOutput(0, c.inputType(0), out);
}

//! STFT(signal [B, T, 1|2], frame_step, window? [L], frame_length?) -> [B, frames, bins, 2]; onesided=1.
void inferStft(InferContext& c) {
  const Shape& s = c.inputShape(0);
  if (!isFloatingType(c.inputType(0))) c.fail("STFT: the signal must be floating-point");
  if (s.size() != 3 || (s[2] >= 0 && s[2] != 1 && s[2] != 2)) c.fail("STFT: the signal must be [batch, length, 1 or 2]");
  auto scalarInt = [&](int i, const char* what) -> int64_t {
    if (!isIdx(c.inputType(i)) || numElements(c.inputShape(i)) > 1 || c.inputRank(i) > 1) c.fail(std::string("STFT: ") + what + " must be an int scalar");
    const TensorData* d = c.inputData(i);
    if (!d) return -1;
    if (d->numel() != 1 || d->intAt(0) < 1) c.fail(std::string("STFT: ") + what + " must be positive");
    return d->intAt(0);
  };
  int64_t step = scalarInt(1, "frame_step");
  int64_t len = -1;
  if (c.hasInput(2)) {
    if (c.inputRank(2) != 1) c.fail("STFT: the window must be 1-D");
    len = c.inputShape(2)[0];
  }
  if (c.hasInput(3)) {
    int64_t l = scalarInt(3, "frame_length");
    if (l >= 0 && len >= 0 && l != len) c.fail("STFT: frame_length differs from the window length");
    if (l >= 0) len = l;
  } else if (!c.hasInput(2)) {
    c.fail("STFT: needs a window or a frame_length");
  }
  int64_t frames = -1, bins = -1;
  if (len >= 0) {
    if (len < 1) c.fail("STFT: empty frames");
    bins = c.attrs().getInt("onesided", 1) != 0 ? len / 2 + 1 : len;
    if (step > 0 && s[1] >= 0) {
      if (len > s[1]) c.fail("STFT: the frame length exceeds the signal length");
      frames = (s[1] - len) / step + 1;
    }
  }
  c.setOutput(0, c.inputType(0), {s[0], frames, bins, 2});
}

}  // namespace

void registerSignalOps(OpRegistry& reg) {
  reg.add({"STFT", 2, 4, 1, 1, inferStft, "STFT(signal [B, T, 1|2], frame_step, window?, frame_length?) -> [B, frames, bins, 2]; onesided=1"});
  reg.add({"CumProd", 2, 2, 1, 1, inferCumProd, "CumProd(x, axis); exclusive=0, reverse=0"});
  reg.add({"Det", 1, 1, 1, 1, inferDet, "Det(X [*, M, M]) -> [*] determinants"});
  reg.add({"DFT", 1, 3, 1, 1, inferDft, "DFT(x [..., N, 1|2], dft_length?, axis?) -> [..., L, 2]; axis (the input wins), inverse=0, onesided=0"});
}

}  // namespace kiln::ir
