// C++ side of bench/python_overhead.py: per-inference cost of the C++ API on a tiny network
// (input "x" [1, N] float -> ReLU -> output "y"), so that the Python binding overhead can be measured
// against it. Prints one JSON object: microseconds per call for each way of running.
//
//   kiln_bench_cpp_overhead [iterations] [N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kiln/kiln.h"

int main(int argc, char** argv) {
  int iters = argc > 1 ? std::atoi(argv[1]) : 20000;
  int64_t n = argc > 2 ? std::atoll(argv[2]) : 64;
  kiln::Logger logger(kiln::Severity::kWARNING);
  auto builder = kiln::createBuilder(logger);
  auto network = builder->createNetwork();
  kiln::Tensor* x = network->addInput("x", kiln::DataType::kFLOAT, kiln::Dims{2, {1, n}});
  kiln::Tensor* y = network->addActivation(*x, kiln::ActivationType::kRELU)->getOutput(0);
  y->setName("y");
  network->markOutput(*y);
  auto config = builder->createBuilderConfig();
  auto plan = builder->buildSerializedNetwork(*network, *config);
  if (!plan) return 1;
  auto runtime = kiln::createRuntime(logger);
  auto engine = runtime->deserializeEngine(plan->data(), plan->size());
  auto context = engine->createExecutionContext();
  std::vector<float> in(static_cast<size_t>(n), 1.0f), out(static_cast<size_t>(n));
  kiln::Stream stream;

  using clock = std::chrono::steady_clock;
  auto measure = [&](auto&& body) {
    for (int i = 0; i < iters / 10 + 1; ++i) body();  // warm-up
    auto t0 = clock::now();
    for (int i = 0; i < iters; ++i) body();
    return std::chrono::duration<double, std::micro>(clock::now() - t0).count() / iters;
  };
  bool ok = true;
  context->setTensorAddress("x", in.data());
  context->setTensorAddress("y", out.data());
  double execUs = measure([&] { ok &= context->execute(); });
  double addrExecUs = measure([&] {
    ok &= context->setTensorAddress("x", in.data());
    ok &= context->setTensorAddress("y", out.data());
    ok &= context->execute();
  });
  double enqueueUs = measure([&] {
    ok &= context->enqueue(stream);
    ok &= stream.synchronize();
  });
  double copyEnqueueUs = measure([&] {
    ok &= kiln::memcpyAsync(in.data(), in.data(), in.size() * sizeof(float), stream);
    ok &= context->enqueue(stream);
    ok &= kiln::memcpyAsync(out.data(), out.data(), out.size() * sizeof(float), stream);
    ok &= stream.synchronize();
  });
  std::printf(
      "{\"iterations\": %d, \"n\": %lld, \"execute_us\": %.3f, \"set_address_execute_us\": %.3f, "
      "\"enqueue_sync_us\": %.3f, \"copy_enqueue_copy_sync_us\": %.3f, \"ok\": %s}\n",
      iters, static_cast<long long>(n), execUs, addrExecUs, enqueueUs, copyEnqueueUs, ok ? "true" : "false");
  return ok ? 0 : 1;
}
