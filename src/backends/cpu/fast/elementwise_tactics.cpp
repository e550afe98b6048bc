// "fast" tactics of elementwise ops on float32: the activations (Relu, Sigmoid, Tanh, LeakyRelu,
// HardSigmoid, HardSwish, Silu, Gelu, Clip) through the vectorized epilogue (fast/activation.h), and
// Add/Sub/Mul/Div with broadcasting, the shapes collapsed to rows whose operands are each contiguous or a
// repeated scalar. Both split large tensors over the KernelContext's thread pool.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/fast.h"
#include "core/thread_pool.h"

namespace kiln::cpu::fast {

namespace {

// Elements below which a tensor is processed on one thread.
constexpr int64_t kParallelElems = 1 << 15;

[[noreturn]] void bad(const std::string& msg) { throw Error(ErrorCode::kINVALID_ARGUMENT, msg); }

// ---------------------------------------------------------------------------------------------------------
// Activations

ir::FusedActivation unaryActivation(const ir::Node& node) {
  ir::FusedActivation a;
  const std::string& op = node.op;
  if (op == "Relu") a.kind = ir::FusedAct::kRELU;
  else if (op == "Sigmoid") a.kind = ir::FusedAct::kSIGMOID;
  else if (op == "Tanh") a.kind = ir::FusedAct::kTANH;
  else if (op == "Silu") a.kind = ir::FusedAct::kSILU;
  else if (op == "HardSwish") a.kind = ir::FusedAct::kHARD_SWISH;
  else if (op == "Gelu") a.kind = ir::FusedAct::kGELU;
  else if (op == "Clip") a.kind = ir::FusedAct::kCLIP;
  else if (op == "LeakyRelu") {
    a.kind = ir::FusedAct::kLEAKY_RELU;
    a.alpha = node.attrs.getFloat("alpha", 0.01);
  } else if (op == "HardSigmoid") {
    a.kind = ir::FusedAct::kHARD_SIGMOID;
    a.alpha = node.attrs.getFloat("alpha", 0.2);
    a.beta = node.attrs.getFloat("beta", 0.5);
  }
  return a;
}

bool supportsUnary(const ir::Node& node, std::string* why) {
  if (!allFloat32(node, why)) return false;
  if (node.op == "Gelu" && node.attrs.getString("approximate", "none") != "none") {
    if (why) *why = "Gelu with approximate=tanh is left to the reference";
    return false;
  }
  return true;
}

class UnaryAct : public Kernel {
 public:
  explicit UnaryAct(const ir::Node& node) : act_(unaryActivation(node)), clip_(node.op == "Clip") {}

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel) bad("activation: output size mismatch");
    RowEpilogue e;
    e.act = act_;
    if (clip_) {
      e.act.alpha = -std::numeric_limits<double>::infinity();
      e.act.beta = std::numeric_limits<double>::infinity();
      for (size_t k = 1; k < 3 && k < ctx.inputs.size(); ++k) {
        const TensorView& b = ctx.inputs[k];
        if (!b.present) continue;
        if (b.numel != 1) bad("Clip: min and max must be scalars");
        (k == 1 ? e.act.alpha : e.act.beta) = b.as<float>()[0];
      }
    }
    const float* X = x.as<float>();
    float* Y = y.as<float>();
    const int64_t n = x.numel;
    ThreadPool* pool = n >= kParallelElems ? ctx.pool : nullptr;
    const int64_t blocks = (n + 1023) / 1024;  // chunks of whole 1024-element blocks (aligned vectors)
    parallelFor(pool, blocks, [&](int64_t b0, int64_t b1) {
      const int64_t i0 = b0 * 1024, i1 = std::min(n, b1 * 1024);
      epilogueRow(Y + i0, X + i0, i1 - i0, e);
    });
  }

 private:
  ir::FusedActivation act_;
  bool clip_;
};

// ---------------------------------------------------------------------------------------------------------
// Binary arithmetic with broadcasting

enum class BinOp { kADD, kSUB, kMUL, kDIV };

template <BinOp O>
inline float apply(float a, float b) {
  if constexpr (O == BinOp::kADD) return a + b;
  else if constexpr (O == BinOp::kSUB) return a - b;
  else if constexpr (O == BinOp::kMUL) return a * b;
  else return a / b;
}

//! y[j] = a[j * ia] op b[j * ib] for j < n (ia, ib in {0, 1}); loops the compiler vectorizes.
template <BinOp O>
void row(float* y, const float* a, int64_t ia, const float* b, int64_t ib, int64_t n) {
  if (ia && ib) {
    for (int64_t j = 0; j < n; ++j) y[j] = apply<O>(a[j], b[j]);
  } else if (ia) {
    const float s = b[0];
    for (int64_t j = 0; j < n; ++j) y[j] = apply<O>(a[j], s);
  } else if (ib) {
    const float s = a[0];
    for (int64_t j = 0; j < n; ++j) y[j] = apply<O>(s, b[j]);
  } else {
    std::fill(y, y + n, apply<O>(a[0], b[0]));
  }
}

//! The broadcast as rows: dims (outer..., inner) with per-input strides; inner strides are 0 or 1.
struct RowLayout {
  std::vector<int64_t> outer, sa, sb;  // outer extents and strides
  int64_t inner{1}, ia{1}, ib{1};
  int64_t rows{1};
};

RowLayout collapse(const TensorView& a, const TensorView& b, const TensorView& y) {
  const size_t r = static_cast<size_t>(y.rank());
  if (static_cast<size_t>(a.rank()) > r || static_cast<size_t>(b.rank()) > r) bad("binary op: output rank mismatch");
  std::vector<int64_t> ext, sa, sb;
  int64_t strideA = 1, strideB = 1;
  std::vector<int64_t> dimsA(r, 1), dimsB(r, 1), stA(r, 0), stB(r, 0);
  for (size_t i = 0; i < static_cast<size_t>(a.rank()); ++i) dimsA[r - a.rank() + i] = a.dim(static_cast<int64_t>(i));
  for (size_t i = 0; i < static_cast<size_t>(b.rank()); ++i) dimsB[r - b.rank() + i] = b.dim(static_cast<int64_t>(i));
  for (size_t d = r; d-- > 0;) {
    const int64_t o = y.dim(static_cast<int64_t>(d));
    if ((dimsA[d] != o && dimsA[d] != 1) || (dimsB[d] != o && dimsB[d] != 1)) bad("binary op: shapes do not broadcast to the output");
    stA[d] = dimsA[d] == 1 ? 0 : strideA;
    stB[d] = dimsB[d] == 1 ? 0 : strideB;
    strideA *= dimsA[d];
    strideB *= dimsB[d];
  }
  // dims of extent > 1, innermost last, merged where both inputs continue contiguously (or stay broadcast)
  for (size_t d = 0; d < r; ++d) {
    const int64_t o = y.dim(static_cast<int64_t>(d));
    if (o == 1) continue;
    if (!ext.empty() && sa.back() == stA[d] * o && sb.back() == stB[d] * o) {
      ext.back() *= o;
      sa.back() = stA[d];
      sb.back() = stB[d];
      continue;
    }
    ext.push_back(o);
    sa.push_back(stA[d]);
    sb.push_back(stB[d]);
  }
  RowLayout L;
  if (!ext.empty() && (sa.back() <= 1) && (sb.back() <= 1)) {
    L.inner = ext.back();
    L.ia = sa.back();
    L.ib = sb.back();
    ext.pop_back();
    sa.pop_back();
    sb.pop_back();
  } else {
    L.inner = 1;
    L.ia = L.ib = 0;
  }
  L.outer = ext;
  L.sa = sa;
  L.sb = sb;
  for (int64_t e : ext) L.rows *= e;
  return L;
}

template <BinOp O>
class Binary : public Kernel {
 public:
  explicit Binary(const ir::Node&) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (y.numel == 0) return;
    const RowLayout L = collapse(a, b, y);
    if (L.rows * L.inner != y.numel) bad("binary op: output size mismatch");
    const float* A = a.as<float>();
    const float* B = b.as<float>();
    float* Y = y.as<float>();
    // tasks: whole rows, each row cut into parts of at least 8192 elements when rows are few and long
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(L.inner / 8192, 64));
    ThreadPool* pool = y.numel >= kParallelElems ? ctx.pool : nullptr;
    parallelFor(pool, L.rows * parts, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t rowIdx = t / parts, part = t % parts;
        int64_t offA = 0, offB = 0, rem = rowIdx;
        for (size_t d = L.outer.size(); d-- > 0;) {
          const int64_t c = rem % L.outer[d];
          rem /= L.outer[d];
          offA += c * L.sa[d];
          offB += c * L.sb[d];
        }
        const int64_t j0 = L.inner * part / parts, j1 = L.inner * (part + 1) / parts;
        row<O>(Y + rowIdx * L.inner + j0, A + offA + j0 * L.ia, L.ia, B + offB + j0 * L.ib, L.ib, j1 - j0);
      }
    });
  }
};

}  // namespace

void registerElementwiseTactics(KernelRegistry& reg) {
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Silu", "Gelu", "Clip"})
    reg.add(op, makeTactic<UnaryAct>("fast", supportsUnary));
  reg.add("Add", makeTactic<Binary<BinOp::kADD>>("fast", allFloat32));
  reg.add("Sub", makeTactic<Binary<BinOp::kSUB>>("fast", allFloat32));
  reg.add("Mul", makeTactic<Binary<BinOp::kMUL>>("fast", allFloat32));
  reg.add("Div", makeTactic<Binary<BinOp::kDIV>>("fast", allFloat32));
}

}  // namespace kiln::cpu::fast
