// "fast" tactic of PreactConv (ir/ops/preact_conv.cpp), float32: per batch item, the activated
// concatenation relu?(Concat(X...) * Scale + Shift) is written straight into sgemm's packed B panels
// (preact_conv_pack.h; split over the threads by panels), then one sgemm Y = W A with the weights packed
// once at construction and the bias + kiln_act epilogue applied per finished block. Neither the
// concatenation nor the normalized copy is stored. Tested against the reference kernel in
// tests/ops/preact_conv_test.cpp.
#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/fast.h"
#include "backends/cpu/fast/preact_conv_pack.h"
#include "backends/cpu/gemm/sgemm.h"
#include "backends/cpu/ref/nn_impl.h"
#include "backends/cpu/ref/preact_conv.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace kiln::cpu::fast {

namespace preact {

void packPortable(const Piece* pieces, int64_t nPieces, const float* scale, const float* shift, bool relu, int64_t P,
                  int64_t K, int64_t q0, int64_t q1, float* out) {
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t j0 = q * 16, cols = std::min<int64_t>(16, P - j0);
    float* o = out + (q - q0) * K * 16;
    int64_t c = 0;
    for (int64_t i = 0; i < nPieces; ++i) {
      const float* row = pieces[i].src + j0;
      for (int64_t k = 0; k < pieces[i].channels; ++k, ++c, row += P, o += 16) {
        const float s = scale[c], t = shift[c];
        int64_t j = 0;
        for (; j < cols; ++j) {
          const float v = row[j] * s + t;
          o[j] = relu && v < 0.f ? 0.f : v;  // NaN passes, as in Relu
        }
        for (; j < 16; ++j) o[j] = 0.f;
      }
    }
  }
}

namespace {
PackFn gForced = nullptr;
PackFn choosePack() {
  if (gForced) return gForced;
  static const PackFn best = (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA) ? packAvx2 : packPortable;
  return best;
}
}  // namespace

void setPackForTesting(PackFn f) { gForced = f; }

}  // namespace preact

namespace {

constexpr int64_t kNR = 16;  // sgemm's packed panel width (sgemmPackedBOffset)

//! 64-byte aligned float storage (sgemm's packed operands are read with aligned loads).
struct AlignedFloats {
  std::vector<float> buf;
  int64_t off{0};
  void resize(int64_t n) {
    buf.assign(static_cast<size_t>(n + 16), 0.f);
    off = static_cast<int64_t>((64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64 / sizeof(float));
  }
  float* data() { return buf.empty() ? nullptr : buf.data() + off; }
  const float* data() const { return buf.empty() ? nullptr : buf.data() + off; }
};

// Floats of one packed block of columns (256 KiB: the block stays in a core's L2 between packing and use).
constexpr int64_t kBlockFloats = int64_t{1} << 16;

//! This thread's buffer of at least `floats` floats, 64-byte aligned (grown on demand).
float* threadBuffer(int64_t floats) {
  struct Buf {
    float* p{nullptr};
    int64_t n{0};
    ~Buf() { ::operator delete[](p, std::align_val_t(64)); }
  };
  thread_local Buf buf;
  if (buf.n < floats) {
    ::operator delete[](buf.p, std::align_val_t(64));
    buf.p = static_cast<float*>(::operator new[](static_cast<std::size_t>(floats) * sizeof(float), std::align_val_t(64)));
    buf.n = floats;
  }
  return buf.p;
}

struct BiasAct {
  const float* bias;
  ir::FusedActivation act;
  static void apply(const void* user, float* C, int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const BiasAct& e = *static_cast<const BiasAct*>(user);
    RowEpilogue re;
    re.act = e.act;
    for (int64_t i = i0; i < i1; ++i) {
      re.bias = e.bias[i];
      float* row = C + i * ldc + j0;
      epilogueRow(row, row, j1 - j0, re);
    }
  }
};

class PreactConvFast : public Kernel {
 public:
  explicit PreactConvFast(const ir::Node& node)
      : relu_(node.attrs.getInt("relu", 1) != 0), act_(ir::fusedActivationOf(node.attrs)) {
    const ir::Value* w = node.inputs[0];
    if (w && w->isConstant() && w->constant->dtype == DataType::kFLOAT && w->constant->shape.size() >= 2) {
      const int64_t M = w->constant->shape[0], K = w->constant->numel() / std::max<int64_t>(M, 1);
      if (M >= 2 && K > 0 && sgemmPackedASize(M, K) <= (int64_t{1} << 26)) {
        packedW_.resize(sgemmPackedASize(M, K));
        sgemmPackA(M, K, MatrixView{w->constant->as<float>(), K, 1}, packedW_.data());
        packedM_ = M, packedK_ = K;
      }
    }
  }

  //! The matrix-vector cases (one output channel or one position) keep the activated input here (K x P).
  std::size_t workspaceSize(std::span<const TensorView> inputs, std::span<const TensorView> outputs) const override {
    int64_t C = 0, P = 1;
    for (size_t i = 4; i < inputs.size(); ++i) C += inputs[i].dim(1);
    for (int64_t d = 2; d < inputs[4].rank(); ++d) P *= inputs[4].dim(d);
    const bool gemv = P < 2 || (!outputs.empty() && outputs[0].rank() > 1 && outputs[0].dim(1) < 2);
    return gemv ? static_cast<std::size_t>(C * P) * sizeof(float) + 64 : 0;
  }

  void run(const KernelContext& ctx) const override {
    const cpu::preact::Geom g = cpu::preact::geometry(ctx);
    if (g.N == 0 || g.M == 0 || g.P == 0) return;
    if (g.C > sgemmMaxPackedK()) nn::badData("PreactConv: too many input channels for the fast tactic");
    const float* W = ctx.inputs[0].as<const float>();
    const float* scale = ctx.inputs[2].as<const float>();
    const float* shift = ctx.inputs[3].as<const float>();
    const float* prepackedA = packedM_ == g.M && packedK_ == g.C ? packedW_.data() : nullptr;
    float* packed = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(ctx.workspace) + 63) / 64 * 64);
    BiasAct epi{ctx.inputs[1].as<const float>(), act_};
    const SgemmEpilogue sepi{&BiasAct::apply, &epi};
    std::vector<preact::Piece> pieces(ctx.inputs.size() - 4);
    const preact::PackFn pack = preact::choosePack();
    for (int64_t n = 0; n < g.N; ++n) {
      for (size_t i = 4; i < ctx.inputs.size(); ++i) {
        const int64_t ci = ctx.inputs[i].dim(1);
        pieces[i - 4] = {ctx.inputs[i].as<const float>() + n * ci * g.P, ci};
      }
      float* y = ctx.outputs[0].as<float>() + n * g.M * g.P;
      if (g.M >= 2 && g.P >= 2) {
        // Each task packs blocks of columns (all of K, about kBlockFloats floats: the block stays in L2) into a
        // buffer of its thread and multiplies them at once: one parallel region, no shared packed operand.
        const int64_t panels = (g.P + kNR - 1) / kNR;
        const int threads = ctx.pool && !ThreadPool::insideParallelRegion() ? ctx.pool->size() : 1;
        const int64_t perTask = (panels + threads - 1) / threads;
        const int64_t perBlock = std::clamp<int64_t>(kBlockFloats / (g.C * kNR), 1, perTask);
        parallelFor(threads > 1 ? ctx.pool : nullptr, threads, [&](int64_t t0, int64_t t1) {
          float* buf = threadBuffer(sgemmPackedBSize(g.C, perBlock * kNR));
          for (int64_t t = t0; t < t1; ++t)
            for (int64_t q0 = t * perTask; q0 < std::min(panels, (t + 1) * perTask); q0 += perBlock) {
              const int64_t q1 = std::min({panels, (t + 1) * perTask, q0 + perBlock});
              const int64_t j0 = q0 * kNR, cols = std::min(g.P, q1 * kNR) - j0;
              pack(pieces.data(), static_cast<int64_t>(pieces.size()), scale, shift, relu_, g.P, g.C, q0, q1,
                   buf);
              if (cols >= 2)
                sgemm(g.M, cols, g.C, MatrixView{W, g.C, 1}, MatrixView{nullptr, 0, 0}, y + j0, g.P, false, nullptr,
                      nullptr, &sepi, prepackedA, buf);
              else  // one column: the first column of the packed panel is B (stride 16)
                sgemm(g.M, 1, g.C, MatrixView{W, g.C, 1}, MatrixView{buf, kNR, 1}, y + j0, g.P, false, nullptr, nullptr,
                      &sepi, prepackedA);
            }
        });
      } else {  // a matrix-vector product: A row-major (K x P), read directly by sgemm
        int64_t c = 0;
        for (const preact::Piece& pc : pieces)
          for (int64_t k = 0; k < pc.channels; ++k, ++c)
            for (int64_t j = 0; j < g.P; ++j) {
              const float v = pc.src[k * g.P + j] * scale[c] + shift[c];
              packed[c * g.P + j] = relu_ && v < 0.f ? 0.f : v;
            }
        sgemm(g.M, g.P, g.C, MatrixView{W, g.C, 1}, MatrixView{packed, g.P, 1}, y, g.P, false, nullptr, ctx.pool, &sepi,
              prepackedA);
      }
    }
  }

 private:
  bool relu_;
  ir::FusedActivation act_;
  AlignedFloats packedW_;
  int64_t packedM_{0}, packedK_{0};
};

bool supportsFast(const ir::Node& node, std::string* why) {
  if (!allFloat32(node, why)) return false;
  int64_t C = 0;
  for (size_t i = 4; i < node.inputs.size(); ++i) {
    const ir::Shape& s = node.inputs[i]->shape;
    if (s.size() < 2 || s[1] < 0) {
      C = -1;
      break;
    }
    C += s[1];
  }
  if (C < 0 || C > sgemmMaxPackedK()) {
    if (why) *why = "needs a known number of input channels of at most " + std::to_string(sgemmMaxPackedK());
    return false;
  }
  return true;
}

}  // namespace

void registerPreactConvTactics(KernelRegistry& reg) { reg.add("PreactConv", makeTactic<PreactConvFast>("fast", supportsFast)); }

}  // namespace kiln::cpu::fast
