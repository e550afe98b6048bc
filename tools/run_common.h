// What `kiln run`, `kiln bench` and `kiln compare` share: choosing input data (random, .npy, ONNX .pb),
// execution contexts with their buffers, the timed loop (execute() or streams with copies), latency
// statistics, a per-layer profiler, tensor statistics and the JSON report with an environment fingerprint.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.h"

namespace kiln::ir {
struct Node;
}

namespace kiln::cli {

// ------------------------------------------------------------------------------------------------------
// Inputs

//! The data of one input.
struct InputData {
  std::string name;
  DataType dtype{DataType::kFLOAT};
  Dims shape;
  std::vector<uint8_t> host;  //!< the input's bytes
  std::string source;         //!< "from x.npy" or "random ..."
};

//! Input-related options: --input NAME=FILE (.npy or ONNX TensorProto .pb), --shapes, --seed.
struct InputOptions {
  std::map<std::string, std::string> files;
  std::map<std::string, Dims> shapes;
  uint32_t seed{1234};
};

//! Declares --input, --shapes and --seed on `p`.
void declareInputOptions(ArgParser& p);
//! Reads them (before the plan is loaded, so usage errors come first). Throws UsageError.
InputOptions parseInputOptions(const ArgParser& p, const std::string& command);
//! Help text lines for those options.
extern const char* kInputOptionsHelp;

//! A tensor file: .npy, or an ONNX TensorProto (.pb). Throws CliError.
struct TensorFile {
  DataType dtype{DataType::kFLOAT};
  Dims shape;
  std::vector<uint8_t> data;
};
TensorFile readTensorFile(const std::string& path);

//! Decides every input's shape and data, in engine order: a file if given, else random data of the shape
//! from --shapes, the static shape, or the first profile's opt shape (with a note). Throws.
std::vector<InputData> prepareInputs(const Engine& engine, const InputOptions& options, const std::string& command);

//! Random data: uniform [-1, 1) for floats, integers in [0, 4), booleans 0/1.
std::vector<uint8_t> randomData(DataType dtype, int64_t count, uint32_t seed);
//! A number option in [lo, hi] ("--name needs a number in [lo, hi], got 'x'" otherwise). Throws UsageError.
double parseNumber(const std::string& option, const std::string& text, double lo, double hi);
//! --device cpu|gpu (cuda accepted). Throws UsageError.
DeviceType parseDevice(const std::string& text);

//! Bytes of a tensor; throws CliError for an unusable or huge shape.
std::size_t tensorBytes(const std::string& name, const Dims& shape, DataType dtype);

// ------------------------------------------------------------------------------------------------------
// Contexts and the timed loop

struct OutputInfo {
  std::string name;
  DataType dtype{DataType::kFLOAT};
  Dims shape;
  std::size_t bytes{0};
};

//! Split of one run on a stream: host->device copies, compute, device->host copies (ms, from events).
struct Split {
  double h2d{0}, compute{0}, d2h{0};
};

//! One execution context with its device buffers, its page-locked host copies, a stream, and results.
struct Worker {
  std::unique_ptr<ExecutionContext> context;
  std::unique_ptr<Stream> stream;                //!< bench: the stream the context runs on
  std::vector<std::string> ioNames;              //!< inputs first, then outputs
  std::vector<Buffer> device, host;              //!< per ioNames entry
  std::vector<std::size_t> bytes;                //!< per ioNames entry
  std::size_t nbInputs{0};
  std::vector<double> latenciesMs;
  std::vector<Split> splits;
  double timedWallMs{0};
  double setupMs{0};     //!< makeWorker: the context, its buffers, the input copies
  double firstRunMs{0};  //!< the first run (warm-up or timed): lazy setup, CUDA graph capture
  bool failed{false};
};

//! Creates a context with the input shapes set, device buffers bound and the inputs copied in; with
//! `hostCopies`, also page-locked host buffers (inputs filled) for the copies of a transfer run.
Worker makeWorker(Engine& engine, CliLogger& logger, const std::vector<InputData>& inputs,
                  std::vector<OutputInfo>* outputs, bool useCudaGraph, bool hostCopies);

struct LoopOptions {
  int64_t warmup{2};
  int64_t iterations{10};   //!< at least this many timed runs...
  double durationS{0};      //!< ...and at least this long (0: no minimum)
  bool streams{false};      //!< enqueue on the worker's stream (else execute())
  bool transfers{false};    //!< streams: copy inputs in and outputs out on every run, timed with events
};

//! `count` workers (makeWorker); the first one fills `outputs`.
std::vector<Worker> makeWorkers(Engine& engine, CliLogger& logger, const std::vector<InputData>& inputs,
                                int64_t count, std::vector<OutputInfo>* outputs, bool useCudaGraph, bool hostCopies);

//! Runs the workers' timed loops (one thread each when there are several, started together).
//! Throws CliError if a run failed.
void runWorkers(std::vector<Worker>& workers, const LoopOptions& options, CliLogger& logger);

//! The measured part of `kiln run` and `kiln bench`, made in this order: the logger (all messages with
//! --verbose), the plan loaded from `path`, its inputs (prepareInputs), `contexts` workers (makeWorkers, with
//! --cuda-graph; the first fills `outputs`), then their timed loops run (runWorkers). Throws.
struct TimedRun {
  TimedRun(const Args& args, const ArgParser& p, const std::string& path, const InputOptions& inputOptions,
           const LoopOptions& loop, int64_t contexts, bool hostCopies);
  CliLogger logger;
  LoadedPlan plan;
  std::vector<InputData> inputs;
  std::vector<OutputInfo> outputs;
  std::vector<Worker> workers;
};

//! The outputs of a worker, copied to the host.
std::vector<std::vector<uint8_t>> fetchOutputs(Worker& w, const std::vector<OutputInfo>& outputs);

// ------------------------------------------------------------------------------------------------------
// Statistics and reports

struct LatencyStats {
  int64_t count{0};
  double min{0}, mean{0}, median{0}, p90{0}, p95{0}, p99{0}, max{0};
};
LatencyStats latencyStats(std::vector<double> values);
//! "min 1.234  mean ...  p99 ...  max ..."
std::string latencyText(const LatencyStats& s);
std::string latencyJson(const LatencyStats& s);
//! Milliseconds: 3 decimals from 1 ms up, 6 below.
std::string formatMs(double ms);
//! A JSON number (null for NaN or infinity).
std::string jsonNumber(double v);

//! Sums per-layer times reported by the runtime (kiln::Profiler).
class LayerProfiler : public Profiler {
 public:
  void reportLayerTime(const char* layerName, float ms) noexcept override;
  struct Entry {
    std::string name;
    double totalMs{0};
    int64_t calls{0};
  };
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  int64_t runs() const noexcept;

 private:
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> index_;
};
//! Runs the worker `runs` more times (execute()) with a LayerProfiler set and returns it.
LayerProfiler profileLayers(Worker& w, int64_t runs, CliLogger& logger);
void printProfile(const LayerProfiler& p, std::FILE* out = stdout);
std::string profileJson(const LayerProfiler& p);

//! The machine and build: CPU, cores, OS, kiln version, date; the GPU, driver, CUDA and cuDNN versions
//! for a GPU plan; the plan's path, size and hash. One JSON object.
std::string environmentJson(const Engine& engine, const std::string& planPath);

//! What `kiln run` and `kiln bench` measured: printed as text and written by --json.
struct RunReport {
  std::string command;  //!< "run" or "bench"
  std::string planPath;
  const Engine* engine{nullptr};
  const std::vector<InputData>* inputs{nullptr};
  const std::vector<OutputInfo>* outputs{nullptr};
  const std::vector<std::vector<uint8_t>>* outputData{nullptr};  //!< host copies (optional)
  LoopOptions loop;
  int64_t contexts{1};
  bool cudaGraph{false};
  LatencyStats latency;
  double wallMs{0};
  double throughput{0};  //!< inferences per second over all contexts
  bool haveSplit{false};
  LatencyStats h2d, compute, d2h;
  const LayerProfiler* profile{nullptr};
};
//! A report of a run of `engine` from `planPath` (timings still empty: summarize fills them).
RunReport makeRunReport(const std::string& command, const std::string& planPath, const Engine& engine,
                        const std::vector<InputData>& inputs, const std::vector<OutputInfo>& outputs,
                        const LoopOptions& loop, int64_t contexts, bool cudaGraph);
//! Fills latency, wall time, throughput and the split from the workers.
void summarize(RunReport& r, const std::vector<Worker>& workers);
void printTimings(const RunReport& r, std::FILE* out = stdout);
std::string reportJson(const RunReport& r);
//! The end of `kiln run` and `kiln bench`: summarize and printTimings; with --profile, profileLayers on the
//! first worker (loop.iterations runs) and printProfile; with --json FILE, the report written to FILE.
void finishReport(RunReport& r, std::vector<Worker>& workers, const ArgParser& p, CliLogger& logger, std::FILE* out);
//! --json given without a file name: throws UsageError.
void checkJsonOption(const ArgParser& p);

//! Which layer of a plan a row of `kiln inspect` / `kiln compare` is about.
struct LayerIdentity {
  int32_t index{0};
  std::string name, op, tactic;
  std::vector<std::string> origins;  //!< the source nodes it was made from
};
//! Layer `index` of a plan's graph: node `n`, with tactic tactics[index] ("" where there is none).
LayerIdentity layerIdentity(const ir::Node& n, std::size_t index, const std::vector<std::string>& tactics);

//! Element i of a tensor as double.
double elementAt(const uint8_t* base, DataType dtype, std::size_t i);
std::string formatValue(const uint8_t* base, DataType dtype, std::size_t i);
struct TensorStats {
  double min{0}, max{0}, mean{0};
  int64_t nans{0};
};
TensorStats computeStats(const uint8_t* base, DataType dtype, std::size_t count);
//! A name usable as a file name.
std::string safeFileName(const std::string& name);
//! Writes the text to `path` ("-": stdout). Throws CliError.
void writeTextFile(const std::string& path, const std::string& text);
std::string jsonDims(const Dims& d);

}  // namespace kiln::cli
