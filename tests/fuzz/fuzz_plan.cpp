// Fuzz target: Runtime::deserializeEngine (the plan verifier, src/plan/plan_reader.cpp) on arbitrary bytes.
// The checksum in the header is recomputed first, so that mutations reach the structured sections instead
// of stopping at "damaged plan" (the checksum test itself is a unit test). A plan that loads is inspected,
// serialized and loaded again, and run once with zero inputs when its I/O is small.
#include "fuzz_common.h"
#include "plan/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace kiln;
  std::vector<uint8_t> bytes(data, data + size);
  if (size >= plan::kHeaderSize && std::memcmp(data, plan::kMagic, 8) == 0) {
    uint64_t sum = plan::planChecksum(bytes.data(), size);
    std::memcpy(bytes.data() + 24, &sum, 8);
  }
  auto runtime = createRuntime(fuzz::logger());
  runtime->setMemoryBudget(fuzz::kMemoryBudget);
  auto engine = runtime->deserializeEngine(bytes.data(), bytes.size());
  if (!engine) return 0;
  for (int32_t i = 0; i < engine->getNbIOTensors(); ++i) {
    const char* name = engine->getIOTensorName(i);
    (void)engine->getTensorShape(name);
    (void)engine->getTensorDataType(name);
    for (int32_t p = 0; p < engine->getNbOptimizationProfiles(); ++p)
      (void)engine->getProfileShape(name, p, OptProfileSelector::kMAX);
  }
  auto inspector = engine->createEngineInspector();
  (void)inspector->getEngineInformation(LayerInformationFormat::kJSON);
  auto again = engine->serialize();
  if (!again || !runtime->deserializeEngine(again->data(), again->size())) __builtin_trap();
  fuzz::runOnceIfSmall(*engine);
  return 0;
}
