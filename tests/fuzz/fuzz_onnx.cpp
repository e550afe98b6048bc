// Fuzz target: ONNX bytes -> model reader -> kiln::onnx::Parser -> NetworkDefinition ->
// Builder::buildSerializedNetwork (small workspace, one thread) -> Runtime -> one run with zero inputs when
// the I/O is small. Every stage may refuse the input (kiln::Error, false, nullptr); none may crash.
#include "fuzz_common.h"
#include "kiln/onnx_parser.h"
#include "onnx/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace kiln;
  // The model reader alone (no external data: empty base dir), then again through the public parser.
  try {
    onnx::Model m = onnx::parseModel(data, size, "");
    (void)m;
  } catch (const Error&) {
    return 0;
  }
  auto& log = fuzz::logger();
  auto builder = createBuilder(log);
  auto network = builder->createNetwork();
  auto parser = onnx::createParser(*network, log);
  bool ok = parser->parse(data, size, nullptr);
  for (int32_t i = 0; i < parser->getNbErrors(); ++i) (void)parser->getError(i)->desc();
  if (!ok) return 0;

  auto config = builder->createBuilderConfig();
  config->setMemoryPoolLimit(MemoryPoolType::kWORKSPACE, 16u << 20);
  config->setNbThreads(1);
  config->setFlag(BuilderFlag::kNO_TACTIC_TIMING);
  // Dynamic inputs: one profile with every unknown extent 1.
  bool dynamic = false;
  auto profile = builder->createOptimizationProfile();
  for (int32_t i = 0; i < network->getNbInputs(); ++i) {
    Tensor* t = network->getInput(i);
    Dims d = t->getDimensions();
    if (d.nbDims < 0) return 0;
    bool dyn = false;
    for (int32_t k = 0; k < d.nbDims; ++k)
      if (d.d[k] < 0) d.d[k] = 1, dyn = true;
    if (!dyn) continue;
    dynamic = true;
    for (auto sel : {OptProfileSelector::kMIN, OptProfileSelector::kOPT, OptProfileSelector::kMAX})
      profile->setDimensions(t->getName(), sel, d);
  }
  if (dynamic && config->addOptimizationProfile(profile.get()) < 0) return 0;
  auto plan = builder->buildSerializedNetwork(*network, *config);
  if (!plan) return 0;

  auto runtime = createRuntime(log);
  auto engine = runtime->deserializeEngine(plan->data(), plan->size());
  if (!engine) __builtin_trap();  // a plan the builder wrote must load
  fuzz::runOnceIfSmall(*engine);
  return 0;
}
