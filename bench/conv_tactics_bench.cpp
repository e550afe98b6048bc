// Times the Conv tactics of the CPU backend ("gemm", "winograd", "igemm", ...) on given layer shapes,
// interleaved (round robin, best of N) so that a loaded machine moves all of them alike. Not a test.
// Not in CMake; build against a build dir's library, e.g.
//   g++ -O2 -std=c++20 -Isrc -Iinclude bench/conv_tactics_bench.cpp build/libkiln.a -lpthread -o conv_bench
// KILN_NO_IGEMM=1 / KILN_NO_WINOGRAD4=1 hide those tactics (also from the builder: A/B runs of bench/zoo_bench.py).
// usage: conv_tactics_bench [threads] [reps] [shape index] [tactic]; shapes: resnet50 / resnet18 / squeezenet / mobile-net 1x1s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <ctime>

#include "backends/cpu/kernel.h"
#include "core/thread_pool.h"
#include "ir/graph.h"
#include "ir/op_registry.h"

using namespace kiln;

static double now(bool cpu) {
  timespec ts;
  clock_gettime(cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

struct Shape {
  int64_t C, H, M, k, s;
};

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  ThreadPool pool(threads);
  const std::vector<Shape> shapes{
      {3, 224, 64, 7, 2},    {64, 56, 64, 1, 1},   {64, 56, 64, 3, 1},   {64, 56, 256, 1, 1},  {256, 56, 64, 1, 1},
      {256, 56, 128, 1, 1},  {128, 56, 128, 3, 2}, {256, 56, 512, 1, 2}, {128, 28, 512, 1, 1}, {512, 28, 128, 1, 1},
      {128, 28, 128, 3, 1},  {512, 28, 256, 1, 1}, {256, 28, 256, 3, 2}, {256, 14, 256, 3, 1}, {256, 14, 1024, 1, 1},
      {1024, 14, 256, 1, 1}, {512, 14, 512, 3, 2}, {512, 7, 512, 3, 1},  {512, 7, 2048, 1, 1}, {2048, 7, 512, 1, 1},
      {1024, 14, 2048, 1, 2}, {128, 28, 128, 3, 1}, {96, 56, 16, 1, 1}, {16, 56, 64, 1, 1}, {24, 56, 144, 1, 1},
  };
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> U(-1, 1);
  const int only = argc > 3 ? std::atoi(argv[3]) : -1;         // one shape (index), or all
  const std::string tactic = argc > 4 ? argv[4] : std::string();  // one tactic, or all
  for (size_t si = 0; si < shapes.size(); ++si) {
    if (only >= 0 && static_cast<int>(si) != only) continue;
    const Shape& s = shapes[si];
    ir::Graph g;
    const int64_t pad = s.k / 2;
    ir::Shape xs{1, s.C, s.H, s.H}, wsh{s.M, s.C, s.k, s.k};
    void* p = nullptr;
    auto wt = ir::makeTensor(DataType::kFLOAT, wsh, &p);
    for (int64_t i = 0; i < wt->numel(); ++i) static_cast<float*>(p)[i] = U(rng) * 0.1f;
    auto bt = ir::makeTensor(DataType::kFLOAT, {s.M}, &p);
    for (int64_t i = 0; i < s.M; ++i) static_cast<float*>(p)[i] = U(rng);
    ir::Value* x = g.addValue("x", DataType::kFLOAT, xs);
    g.inputs.push_back(x);
    ir::Node* n = g.addNode("Conv", "conv", {x, g.addConstant("w", wt), g.addConstant("b", bt)}, 1);
    n->attrs.setInts("strides", {s.s, s.s});
    n->attrs.setInts("pads", {pad, pad, pad, pad});
    n->attrs.setString("kiln_act", "Relu");
    ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
    const int64_t OH = n->outputs[0]->shape[2];
    const double flops = 2.0 * s.M * s.C * s.k * s.k * OH * OH;
    auto xt = ir::makeTensor(DataType::kFLOAT, xs, &p);
    for (int64_t i = 0; i < xt->numel(); ++i) static_cast<float*>(p)[i] = U(rng);
    void* yp = nullptr;
    auto yt = ir::makeTensor(DataType::kFLOAT, n->outputs[0]->shape, &yp);
    struct Entry {
      std::string name;
      std::unique_ptr<backend::Kernel> k;
      std::vector<uint8_t> ws;
      double best{1e30};
    };
    std::vector<Entry> es;
    backend::TensorView iv[3], ov;
    auto view = [](const ir::TensorData& t, void* d) {
      backend::TensorView v;
      v.data = d;
      v.dtype = t.dtype;
      v.shape = t.shape;
      v.numel = t.numel();
      v.present = true;
      return v;
    };
    iv[0] = view(*xt, const_cast<void*>(xt->raw()));
    iv[1] = view(*wt, const_cast<void*>(wt->raw()));
    iv[2] = view(*bt, const_cast<void*>(bt->raw()));
    ov = view(*yt, yp);
    for (const auto& tt : cpu::defaultKernelRegistry().find("Conv")) {
      const auto* t = &tt;
      if (t->name == "ref" || (!tactic.empty() && t->name != tactic) || (t->supports && !t->supports(*n, nullptr))) continue;
      Entry e;
      e.name = t->name;
      e.k = t->create(*n);
      e.ws.resize(e.k->workspaceSize(std::span<const backend::TensorView>(iv, 3), std::span<const backend::TensorView>(&ov, 1)) + 64);
      es.push_back(std::move(e));
    }
    for (int r = 0; r < reps; ++r)
      for (Entry& e : es) {
        backend::KernelContext ctx;
        ctx.inputs = std::span<const backend::TensorView>(iv, 3);
        ctx.outputs = std::span<const backend::TensorView>(&ov, 1);
        ctx.workspace = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(e.ws.data()) + 63) / 64 * 64);
        ctx.workspaceBytes = e.ws.size() - 64;
        ctx.pool = threads > 1 ? &pool : nullptr;
        // one thread: this thread's CPU time (a loaded machine preempts it); more: wall time
        const double t0 = now(threads == 1);
        e.k->run(ctx);
        e.best = std::min(e.best, now(threads == 1) - t0);
      }
    std::printf("C%-5lld H%-4lld M%-5lld k%lld s%lld ", (long long)s.C, (long long)s.H, (long long)s.M, (long long)s.k, (long long)s.s);
    for (Entry& e : es) std::printf(" %s %.3fms (%.0f GF)", e.name.c_str(), e.best, flops / e.best / 1e6);
    std::printf("\n");
  }
}
