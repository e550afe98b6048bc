#include "runner.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace samples {

PlanRunner::PlanRunner(const std::string& planPath) {
  runtime_ = kiln::createRuntime(logger_);
  engine_ = runtime_->deserializeEngineFromFile(planPath.c_str());
  if (!engine_) throw std::runtime_error("cannot load the plan '" + planPath + "' (the reason is logged above)");
  context_ = engine_->createExecutionContext();
  if (!context_) throw std::runtime_error("cannot create an execution context");
  for (int32_t i = 0; i < engine_->getNbIOTensors(); ++i) {
    const char* name = engine_->getIOTensorName(i);
    (engine_->getTensorIOMode(name) == kiln::TensorIOMode::kINPUT ? inputs_ : outputs_).push_back(name);
  }
  if (inputs_.empty() || outputs_.empty()) throw std::runtime_error("the plan has no inputs or no outputs");
}

const char* PlanRunner::deviceName() const {
  return engine_->getDeviceType() == kiln::DeviceType::kGPU ? "gpu" : "cpu";
}

std::vector<int64_t> PlanRunner::inputShape(int index) const {
  const char* name = inputs_.at(index).c_str();
  kiln::Dims d = engine_->getTensorShape(name);
  for (int i = 0; i < d.nbDims; ++i)
    if (d.d[i] < 0) {
      d = engine_->getProfileShape(name, 0, kiln::OptProfileSelector::kOPT);
      break;
    }
  return std::vector<int64_t>(d.d, d.d + std::max(d.nbDims, 0));
}

std::map<std::string, Tensor> PlanRunner::run(const std::vector<std::vector<float>>& inputs,
                                               const std::vector<std::vector<int64_t>>& shapes) {
  if (inputs.size() != inputs_.size()) throw std::runtime_error("wrong number of inputs");
  const kiln::DeviceType device = engine_->getDeviceType();
  kiln::Stream stream(device);
  std::vector<kiln::Buffer> host, dev;  // kept alive until the stream is synchronized
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const char* name = inputs_[i].c_str();
    kiln::Dims dims{};
    dims.nbDims = static_cast<int32_t>(shapes[i].size());
    for (std::size_t k = 0; k < shapes[i].size(); ++k) dims.d[k] = shapes[i][k];
    if (engine_->getTensorDataType(name) != kiln::DataType::kFLOAT)
      throw std::runtime_error(std::string("input '") + name + "' is not float32");
    if (!context_->setInputShape(name, dims))
      throw std::runtime_error(std::string("the plan does not accept input '") + name + "' of shape " +
                               kiln::toString(dims));
    const std::size_t bytes = inputs[i].size() * sizeof(float);
    host.emplace_back(bytes, kiln::MemoryKind::kPAGELOCKED, device);
    dev.emplace_back(bytes, kiln::MemoryKind::kDEVICE, device);
    std::memcpy(host.back().data(), inputs[i].data(), bytes);
    if (!context_->setTensorAddress(name, dev.back().data()))
      throw std::runtime_error(std::string("cannot bind input '") + name + "'");
    if (!kiln::memcpyAsync(dev.back().data(), host.back().data(), bytes, stream))
      throw std::runtime_error("cannot copy an input to the device");
  }
  std::map<std::string, Tensor> out;
  std::vector<std::pair<std::size_t, std::string>> outBuffers;
  for (const std::string& n : outputs_) {
    const kiln::Dims d = context_->getTensorShape(n.c_str());
    if (engine_->getTensorDataType(n.c_str()) != kiln::DataType::kFLOAT)
      throw std::runtime_error("output '" + n + "' is not float32");
    const int64_t count = kiln::volume(d);
    if (count < 0) throw std::runtime_error("output '" + n + "' has no known shape");
    Tensor& t = out[n];
    t.shape.assign(d.d, d.d + d.nbDims);
    t.data.resize(static_cast<std::size_t>(count));
    const std::size_t bytes = std::max<std::size_t>(t.data.size() * sizeof(float), 4);
    host.emplace_back(bytes, kiln::MemoryKind::kPAGELOCKED, device);
    dev.emplace_back(bytes, kiln::MemoryKind::kDEVICE, device);
    if (!context_->setTensorAddress(n.c_str(), dev.back().data()))
      throw std::runtime_error("cannot bind output '" + n + "'");
    outBuffers.emplace_back(host.size() - 1, n);
  }
  if (!context_->enqueue(stream)) throw std::runtime_error("the plan could not be run (the reason is logged above)");
  for (const auto& [index, name] : outBuffers)
    if (!kiln::memcpyAsync(host[index].data(), dev[index].data(), out[name].data.size() * sizeof(float), stream))
      throw std::runtime_error("cannot copy an output back from the device");
  if (!stream.synchronize()) throw std::runtime_error("the run failed (the reason is logged above)");
  for (const auto& [index, name] : outBuffers)
    std::memcpy(out[name].data.data(), host[index].data(), out[name].data.size() * sizeof(float));
  return out;
}

Args::Args(int argc, char** argv, const std::string& usage) : usage_(usage) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << usage;
      std::exit(0);
    }
    if (a.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument '" + a + "'\n" + usage);
    a = a.substr(2);
    if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0)
      values_[a] = argv[++i];
    else
      values_[a] = "";
  }
}

std::string Args::get(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::required(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.empty()) throw std::runtime_error("--" + key + " is required\n" + usage_);
  return it->second;
}

double Args::number(const std::string& key, double fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  try {
    return std::stod(it->second);
  } catch (const std::exception&) {
    throw std::runtime_error("--" + key + ": not a number: '" + it->second + "'");
  }
}

std::vector<float> parseFloats(const std::string& text, std::size_t n) {
  std::vector<float> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stof(item));
  if (v.size() == 1 && n > 1) v.assign(n, v[0]);
  if (n && v.size() != n) throw std::runtime_error("expected " + std::to_string(n) + " numbers in '" + text + "'");
  return v;
}

std::vector<std::string> readLabels(const std::string& path) {
  std::vector<std::string> labels;
  if (path.empty()) return labels;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read labels file '" + path + "'");
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  return labels;
}

std::string jsonString(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

void writeText(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream f(path);
  if (!(f << text)) throw std::runtime_error("cannot write '" + path + "'");
}

int runImageSample(int argc, char** argv, const std::string& usage,
                   const std::function<int(Args&, PlanRunner&, Image&)>& body) {
  try {
    Args args(argc, argv, usage);
    PlanRunner runner(args.required("plan"));
    Image image = loadImage(args.required("image"));
    return body(args, runner, image);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

Normalization readNormalization(const Args& args) {
  const auto mean = parseFloats(args.get("mean", "0.485,0.456,0.406"), 3);
  const auto stdev = parseFloats(args.get("std", "0.229,0.224,0.225"), 3);
  return {{mean[0], mean[1], mean[2]}, {stdev[0], stdev[1], stdev[2]}};
}

ImageRun runImage(PlanRunner& runner, const Image& image, const Normalization& norm) {
  const std::vector<int64_t> shape = runner.inputShape();
  if (shape.size() != 4 || shape[1] != 3) throw std::runtime_error("the plan's input is not [N,3,H,W]");
  ImageRun r;
  r.inH = static_cast<int>(shape[2]);
  r.inW = static_cast<int>(shape[3]);
  const auto input = toNchw(image, r.inW, r.inH, norm.mean, norm.stdev);
  r.outputs = runner.run({input}, {{1, 3, r.inH, r.inW}});
  return r;
}

}  // namespace samples
