// Shared helpers of the C++ samples: PlanRunner loads a plan and runs it on the CPU or the GPU with the same
// code; Args is a tiny --key value parser; JsonWriter writes the samples' machine-readable results.
#pragma once

#include <kiln/kiln.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "image.h"

namespace samples {

//! One output tensor copied back to the host, as float32 (the samples' models have float outputs).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

//! Loads a plan and runs it. Every I/O tensor gets a page-locked host buffer and a device buffer of the
//! engine's device; inputs are copied host->device, the run and the copies back are queued on one
//! kiln::Stream, then the stream is synchronized. On a CPU plan "device" memory is host memory and the
//! stream a work queue, so the same code runs on both backends.
class PlanRunner {
 public:
  explicit PlanRunner(const std::string& planPath);
  //! Input i's shape, with dynamic extents taken from optimization profile 0's opt shape.
  std::vector<int64_t> inputShape(int index = 0) const;
  const std::vector<std::string>& inputNames() const { return inputs_; }
  const std::vector<std::string>& outputNames() const { return outputs_; }
  const char* deviceName() const;
  //! Runs with one float32 array per input (engine order); returns every output by name.
  std::map<std::string, Tensor> run(const std::vector<std::vector<float>>& inputs,
                                    const std::vector<std::vector<int64_t>>& shapes);

 private:
  kiln::Logger logger_{kiln::Severity::kWARNING};
  std::unique_ptr<kiln::Runtime> runtime_;
  std::unique_ptr<kiln::Engine> engine_;
  std::unique_ptr<kiln::ExecutionContext> context_;
  std::vector<std::string> inputs_, outputs_;
};

//! `--key value` and `--flag` arguments.
class Args {
 public:
  Args(int argc, char** argv, const std::string& usage);
  std::string get(const std::string& key, const std::string& fallback = "") const;
  std::string required(const std::string& key) const;
  double number(const std::string& key, double fallback) const;
  bool has(const std::string& key) const { return values_.count(key) != 0; }

 private:
  std::map<std::string, std::string> values_;
  std::string usage_;
};

std::vector<float> parseFloats(const std::string& text, std::size_t n);
//! Lines of a labels file (empty: no file given).
std::vector<std::string> readLabels(const std::string& path);
std::string jsonString(const std::string& s);
void writeText(const std::string& path, const std::string& text);

//! The main() of an image sample: parses the arguments, loads the plan (--plan), then the image (--image), and
//! returns body(args, runner, image); an exception is reported as "error: <what>" on stderr and exit code 1.
int runImageSample(int argc, char** argv, const std::string& usage,
                   const std::function<int(Args&, PlanRunner&, Image&)>& body);

//! Per-channel normalization of the image samples: --mean M,M,M and --std S,S,S (default ImageNet).
struct Normalization {
  std::array<float, 3> mean;
  std::array<float, 3> stdev;
};
Normalization readNormalization(const Args& args);

//! What runImage ran: the model's input width and height, and every output by name.
struct ImageRun {
  int inW{0};
  int inH{0};
  std::map<std::string, Tensor> outputs;
};
//! Checks that input 0 is [N,3,H,W], resizes and normalizes the image to it (toNchw) and runs it at batch 1.
ImageRun runImage(PlanRunner& runner, const Image& image, const Normalization& norm);

}  // namespace samples
