// `kiln run model.plan ...`: runs a plan on .npy/.pb or random inputs, prints output statistics and latency.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "cli_common.h"
#include "core/npy.h"
#include "run_common.h"

namespace kiln::cli {

namespace {

const std::string kRunHelp = std::string(
    "usage: kiln run <model.plan> [options]\n"
    "\n"
    "Runs a plan and prints, per output, its shape, type, min/max/mean and first values, then the latency\n"
    "of execute() (min/mean/median/p90/p95/p99/max in ms). Inputs not given with --input are random:\n"
    "uniform in [-1, 1) for floating types, integers in [0, 4), booleans 0/1, from a fixed seed.\n"
    "A dynamic input takes its shape from --shapes, else from its file, else from the opt shape of\n"
    "the first optimization profile. For throughput and the copy/compute split use 'kiln bench'.\n"
    "\n"
    "options:\n") + kInputOptionsHelp +
    "  --iterations N            timed runs (default 10)\n"
    "  --warmup N                untimed runs before them (default 2)\n"
    "  --output-dir DIR          write every output to DIR/<name>.npy\n"
    "  --threads N               run N execution contexts on N threads at once (default 1)\n"
    "  --cuda-graph              GPU: capture each run into a CUDA graph and replay it\n"
    "  --profile                 then run --iterations more times with per-layer timing and print it\n"
    "  --json FILE               write the results (and the environment) as JSON to FILE ('-': stdout)\n"
    "  --values N                how many leading values to print per output (default 8)\n"
    "  --verbose                 print every message of the runtime\n"
    "  -h, --help                show this help\n"
    "\n"
    "examples:\n"
    "  kiln run resnet50.plan\n"
    "  kiln run resnet50.plan --input images=cat.npy --output-dir out/\n"
    "  kiln run model.plan --input x=test_data_set_0/input_0.pb\n"
    "  kiln run detector.plan --shapes images:4x3x640x640 --iterations 100 --warmup 10 --json run.json\n"
    "  kiln run bert.plan --shapes input_ids:1x128,attention_mask:1x128 --threads 4\n";

int runRun(const Args& args) {
  ArgParser p(args.command);
  declareInputOptions(p);
  p.option("iterations").option("warmup").option("output-dir").option("threads").option("values").option("json");
  p.flag("verbose").flag("cuda-graph").flag("profile");
  if (parseArgsOrHelp(p, args, kRunHelp)) return kExitOk;
  const std::string path = planPathArgument(p, args.command);
  LoopOptions loop;
  loop.iterations = p.getInt("iterations", 10, 1, 1000000000);
  loop.warmup = p.getInt("warmup", 2, 0, 1000000000);
  const int64_t threads = p.getInt("threads", 1, 1, 1024);
  const int64_t nbValues = p.getInt("values", 8, 0, 1000000);
  const std::string outputDir = p.get("output-dir");
  if (p.has("output-dir") && outputDir.empty()) throw UsageError("--output-dir needs a directory");
  checkJsonOption(p);
  const InputOptions inputOptions = parseInputOptions(p, args.command);

  // One context (and buffer set) per thread.
  TimedRun timed(args, p, path, inputOptions, loop, threads, false);
  auto& [logger, plan, inputs, outputs, workers] = timed;
  const std::unique_ptr<Engine>& engine = plan.engine;
  std::vector<std::vector<uint8_t>> hostOutputs = fetchOutputs(workers[0], outputs);

  // Report.
  const bool toStdout = p.get("json") == "-";
  std::FILE* out = toStdout ? stderr : stdout;  // with --json -, the text goes to stderr
  std::fprintf(out, "plan: %s (device %s, %lld thread%s)\n", path.c_str(),
               engine->getDeviceType() == DeviceType::kGPU ? "gpu" : "cpu", static_cast<long long>(threads),
               threads == 1 ? "" : "s");
  std::size_t width = 4;
  for (const auto& in : inputs) width = std::max(width, in.name.size());
  for (const auto& o : outputs) width = std::max(width, o.name.size());
  std::fprintf(out, "inputs:\n");
  if (inputs.empty()) std::fprintf(out, "  (none)\n");
  for (const auto& in : inputs) {
    std::fprintf(out, "  %-*s  %-8s  %-16s  %s\n", static_cast<int>(width), in.name.c_str(), dataTypeName(in.dtype),
                 dimsToString(in.shape).c_str(), in.source.c_str());
  }
  std::fprintf(out, "outputs:\n");
  if (outputs.empty()) std::fprintf(out, "  (none)\n");
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const auto& o = outputs[k];
    const std::vector<uint8_t>& host = hostOutputs[k];
    std::size_t count = o.bytes / dataTypeSize(o.dtype);
    std::fprintf(out, "  %-*s  %-8s  %-16s", static_cast<int>(width), o.name.c_str(), dataTypeName(o.dtype),
                 dimsToString(o.shape).c_str());
    if (count == 0) {
      std::fprintf(out, "  (empty)\n");
      continue;
    }
    TensorStats s = computeStats(host.data(), o.dtype, count);
    std::fprintf(out, "  min %.6g  max %.6g  mean %.6g", s.min, s.max, s.mean);
    if (s.nans) std::fprintf(out, "  nan %lld", static_cast<long long>(s.nans));
    std::fprintf(out, "\n");
    if (nbValues > 0) {
      std::size_t shown = std::min<std::size_t>(count, static_cast<std::size_t>(nbValues));
      std::string vals;
      for (std::size_t i = 0; i < shown; ++i) vals += (i ? ", " : "") + formatValue(host.data(), o.dtype, i);
      if (shown < count) vals += ", ...";
      std::fprintf(out, "  %-*s  values: [%s]\n", static_cast<int>(width), "", vals.c_str());
    }
  }

  // what it takes to get going: the plan load (runtime + deserialization), the contexts, the first run
  std::fprintf(out, "load: plan %.1f ms, context %.1f ms, first run %.1f ms\n", plan.loadMs, workers[0].setupMs,
               workers[0].firstRunMs);
  RunReport report = makeRunReport(args.command, path, *engine, inputs, outputs, loop, threads, p.has("cuda-graph"));
  report.outputData = &hostOutputs;
  finishReport(report, workers, p, logger, out);

  if (!outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(outputDir, ec);
    if (ec) throw CliError("cannot create directory '" + outputDir + "': " + ec.message(), "check the path");
    std::map<std::string, int> used;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const auto& o = outputs[i];
      npy::Array a;
      a.shape.assign(o.shape.d, o.shape.d + o.shape.nbDims);
      if (o.dtype == DataType::kBF16) {  // no NumPy type: write float32
        std::size_t count = o.bytes / 2;
        a.dtype = DataType::kFLOAT;
        a.data.resize(count * 4);
        for (std::size_t k = 0; k < count; ++k) {
          float f = static_cast<float>(elementAt(hostOutputs[i].data(), DataType::kBF16, k));
          std::memcpy(a.data.data() + k * 4, &f, 4);
        }
        printNote(args.command, "output '" + o.name + "' is bfloat16, which NumPy lacks; writing it as float32");
      } else {
        a.dtype = o.dtype;
        a.data = std::move(hostOutputs[i]);
      }
      std::string base = safeFileName(o.name);
      if (used[base]++) base += "_" + std::to_string(i);
      std::string file = (std::filesystem::path(outputDir) / (base + ".npy")).string();
      try {
        npy::writeFile(file, a);
      } catch (const Error& e) {
        throw CliError(e.message(), "check that the directory is writable");
      }
      std::fprintf(out, "wrote %s\n", file.c_str());
    }
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

int cmdRun(const Args& args) { return runRun(args); }

}  // namespace kiln::cli
