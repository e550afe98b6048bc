// Plan load time: Runtime::deserializeEngineFromFile (or deserializeEngine from bytes in memory) followed
// by createExecutionContext, repeated in one process; prints every load and the medians as JSON.
// For fresh-process numbers run it with 1 iteration in a shell loop (the OS page cache stays warm).
//
//   kiln_plan_load_bench <model.plan> [iterations=15] [file|memory] [run]
//   ("run": also time the first execute() after the load, with zero inputs)
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s model.plan [iterations] [file|memory] [run]\n", argv[0]);
    return 2;
  }
  const char* path = argv[1];
  int iters = argc > 2 ? std::atoi(argv[2]) : 15;
  bool fromMemory = argc > 3 && std::strcmp(argv[3], "memory") == 0;
  bool runOnce = argc > 4 && std::strcmp(argv[4], "run") == 0;
  std::vector<char> bytes;
  if (fromMemory) {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  kiln::Logger logger(kiln::Severity::kWARNING);
  auto runtime = kiln::createRuntime(logger);
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  // CPU time of the process (all threads): less sensitive than wall time to other processes on a shared machine.
  auto cpuMs = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
  };
  std::vector<double> load, loadCpu, ctx, first;
  for (int i = 0; i < iters; ++i) {
    double c0 = cpuMs();
    auto t0 = clock::now();
    auto engine = fromMemory ? runtime->deserializeEngine(bytes.data(), bytes.size()) : runtime->deserializeEngineFromFile(path);
    auto t1 = clock::now();
    loadCpu.push_back(cpuMs() - c0);
    if (!engine) return 1;
    auto context = engine->createExecutionContext();
    auto t2 = clock::now();
    if (!context) return 1;
    load.push_back(ms(t0, t1));
    ctx.push_back(ms(t1, t2));
    if (runOnce) {
      std::vector<std::vector<float>> buffers;
      for (int32_t k = 0; k < engine->getNbIOTensors(); ++k) {
        const char* name = engine->getIOTensorName(k);
        kiln::Dims d = context->getTensorShape(name);
        int64_t n = 1;
        for (int32_t j = 0; j < d.nbDims; ++j) n *= d.d[j];
        buffers.emplace_back(static_cast<size_t>(std::max<int64_t>(n, 1)) * 2, 0.0f);
        context->setTensorAddress(name, buffers.back().data());
      }
      auto t3 = clock::now();
      if (!context->execute()) return 1;
      first.push_back(ms(t3, clock::now()));
    }
  }
  std::printf("{\"plan\": \"%s\", \"source\": \"%s\", \"iterations\": %d, \"load_ms\": [", path, fromMemory ? "memory" : "file", iters);
  for (size_t i = 0; i < load.size(); ++i) std::printf("%s%.2f", i ? ", " : "", load[i]);
  std::printf("], \"median_load_ms\": %.2f, \"median_load_cpu_ms\": %.2f, \"median_context_ms\": %.2f", median(load),
              median(loadCpu), median(ctx));
  if (runOnce) std::printf(", \"median_first_run_ms\": %.2f", median(first));
  std::printf("}\n");
  return 0;
}
