// `kiln bench model.plan ...`: measures a plan's latency and throughput (trtexec-style).
#include <cstdio>
#include <string>
#include <vector>

#include "cli_common.h"
#include "run_common.h"

namespace kiln::cli {

namespace {

const std::string kBenchHelp = std::string(
    "usage: kiln bench <model.plan> [options]\n"
    "\n"
    "Measures a plan: every timed run copies the inputs from page-locked host memory to the device,\n"
    "enqueues the plan on a stream and copies the outputs back, then waits (on the CPU backend the\n"
    "'device' is host memory and the stream a work queue, so the same loop runs). It reports the latency\n"
    "of a run (min/mean/median/p90/p95/p99/max in ms, host clock), the throughput over all streams, and\n"
    "the host->device / compute / device->host split measured with events on the stream.\n"
    "Runs go on until both --iterations runs and --duration seconds are done.\n"
    "Inputs are random unless given with --input (same rules as 'kiln run').\n"
    "\n"
    "options:\n") + kInputOptionsHelp +
    "  --warmup N                untimed runs first (default 5)\n"
    "  --iterations N            at least N timed runs per stream (default 10)\n"
    "  --duration SECONDS        and at least this long (default 3; 0 for iterations only)\n"
    "  --streams N               N execution contexts, each on its own stream and host thread (default 1)\n"
    "  --cuda-graph              GPU: capture the plan into a CUDA graph and replay it\n"
    "  --no-data-transfers       time only the plan on the stream (no copies, no split)\n"
    "  --profile                 then run --iterations more times with per-layer timing and print it\n"
    "  --json FILE               write every result and the environment (CPU, GPU, driver, CUDA/cuDNN\n"
    "                            versions, kiln version, plan hash, date) as JSON to FILE ('-': stdout)\n"
    "  --verbose                 print every message of the runtime\n"
    "  -h, --help                show this help\n"
    "\n"
    "examples:\n"
    "  kiln bench resnet50.plan\n"
    "  kiln bench resnet50.plan --duration 10 --json resnet50_bench.json\n"
    "  kiln bench resnet50.plan --streams 2 --cuda-graph --no-data-transfers\n"
    "  kiln bench detector.plan --shapes images:8x3x640x640 --profile\n";

int runBench(const Args& args) {
  ArgParser p(args.command);
  declareInputOptions(p);
  p.option("warmup").option("iterations").option("duration").option("streams").option("json");
  p.flag("cuda-graph").flag("no-data-transfers").flag("profile").flag("verbose");
  if (parseArgsOrHelp(p, args, kBenchHelp)) return kExitOk;
  const std::string path = planPathArgument(p, args.command);
  LoopOptions loop;
  loop.warmup = p.getInt("warmup", 5, 0, 1000000000);
  loop.iterations = p.getInt("iterations", 10, 1, 1000000000);
  loop.durationS = p.has("duration") ? parseNumber("duration", p.get("duration"), 0, 86400) : 3.0;
  loop.streams = true;
  loop.transfers = !p.has("no-data-transfers");
  const int64_t streams = p.getInt("streams", 1, 1, 256);
  checkJsonOption(p);
  const InputOptions inputOptions = parseInputOptions(p, args.command);

  TimedRun timed(args, p, path, inputOptions, loop, streams, loop.transfers);
  auto& [logger, plan, inputs, outputs, workers] = timed;
  const std::unique_ptr<Engine>& engine = plan.engine;

  std::FILE* out = p.get("json") == "-" ? stderr : stdout;
  const bool onGpu = engine->getDeviceType() == DeviceType::kGPU;
  std::fprintf(out, "plan: %s (device %s, %d layers, %lld stream%s%s%s)\n", path.c_str(), onGpu ? "gpu" : "cpu",
               engine->getNbLayers(), static_cast<long long>(streams), streams == 1 ? "" : "s",
               p.has("cuda-graph") ? ", CUDA graph" : "", loop.transfers ? "" : ", no data transfers");
  for (const auto& in : inputs)
    std::fprintf(out, "input %s: %s %s, %s\n", in.name.c_str(), dataTypeName(in.dtype), dimsToString(in.shape).c_str(),
                 in.source.c_str());
  RunReport report = makeRunReport(args.command, path, *engine, inputs, outputs, loop, streams, p.has("cuda-graph"));
  finishReport(report, workers, p, logger, out);
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

int cmdBench(const Args& args) { return runBench(args); }

}  // namespace kiln::cli
