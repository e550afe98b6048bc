// Downstream smoke test of an installed kiln: build a one-layer plan (input -> Identity -> output),
// deserialize it, run it and check that the output equals the input. Exit code 0 on success.
// With an argument, also writes the plan to that path.
#include <kiln/kiln.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "install test: FAILED: %s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    kiln::Logger logger(kiln::Severity::kWARNING);
    auto builder = kiln::createBuilder(logger);
    if (!builder) return fail("createBuilder");
    auto network = builder->createNetwork();
    if (!network) return fail("createNetwork");

    kiln::Dims dims{};
    dims.nbDims = 2;
    dims.d[0] = 2;
    dims.d[1] = 3;
    kiln::Tensor* input = network->addInput("x", kiln::DataType::kFLOAT, dims);
    if (!input) return fail("addInput");
    kiln::IdentityLayer* identity = network->addIdentity(*input);
    if (!identity) return fail("addIdentity");
    kiln::Tensor* output = identity->getOutput(0);
    output->setName("y");
    network->markOutput(*output);

    auto config = builder->createBuilderConfig();
    auto plan = builder->buildSerializedNetwork(*network, *config);
    if (!plan || plan->size() == 0) return fail("buildSerializedNetwork");
    if (argc > 1) {
      std::ofstream f(argv[1], std::ios::binary);
      f.write(static_cast<const char*>(plan->data()), static_cast<std::streamsize>(plan->size()));
      if (!f) return fail("writing the plan");
    }

    auto runtime = kiln::createRuntime(logger);
    auto engine = runtime->deserializeEngine(plan->data(), plan->size());
    if (!engine) return fail("deserializeEngine");
    if (engine->getNbIOTensors() != 2) return fail("getNbIOTensors != 2");
    auto context = engine->createExecutionContext();
    if (!context) return fail("createExecutionContext");

    std::vector<float> in = {1.5f, -2.f, 0.f, 3.25f, 1e-3f, -7.f};
    std::vector<float> out(in.size(), 42.f);
    if (!context->setTensorAddress("x", in.data())) return fail("setTensorAddress(x)");
    if (!context->setTensorAddress("y", out.data())) return fail("setTensorAddress(y)");
    if (!context->execute()) return fail("execute");
    for (size_t i = 0; i < in.size(); ++i) {
      if (out[i] != in[i]) return fail("output differs from input");
    }
    std::printf("install test: OK (kiln %s, plan of %zu bytes)\n", kiln::versionString(), plan->size());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "install test: FAILED: exception: %s\n", e.what());
    return 1;
  }
}
