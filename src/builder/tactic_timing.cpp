#include "builder/tactic_timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "backends/gpu.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/hash.h"

namespace kiln::builder {

//! A CPU reference kernel is timed against the specialized ones only where the best of those is faster than this.
constexpr double kReferenceTimingLimitMs = 1.0;
//! Floating-point constants of more elements than this (weights, biases) are part of a layer's timing
//! signature by shape only; smaller ones (scales, bounds) and integer constants by content.
constexpr int64_t kContentKeyElements = 16;
//! A candidate whose warm-up run takes longer than this (and 100 times the best median so far) is not timed further.
constexpr double kSlowWarmupMs = 1000.0;

void TimingCache::load(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    auto tab = line.rfind('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 >= line.size()) continue;
    entries_[line.substr(0, tab)] = line.substr(tab + 1);
  }
}

void TimingCache::save(const std::string& path) const {
  std::ofstream f(path, std::ios::trunc);
  if (!f) throw Error(ErrorCode::kINVALID_ARGUMENT, "cannot write the timing cache '" + path + "'");
  for (const auto& [k, v] : entries_) f << k << '\t' << v << '\n';
  if (!f) throw Error(ErrorCode::kINVALID_ARGUMENT, "cannot write the timing cache '" + path + "'");
}

const std::string* TimingCache::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

namespace {

std::string shapeText(const ir::Shape& s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "x" : "") + std::to_string(s[i]);
  return r.empty() ? "scalar" : r;
}

void attrText(std::ostringstream& o, const ir::Attr& a) {
  switch (a.kind) {
    case ir::Attr::Kind::kINT: o << a.i; break;
    case ir::Attr::Kind::kFLOAT: o << a.f; break;
    case ir::Attr::Kind::kSTRING: o << '"' << a.s << '"'; break;
    case ir::Attr::Kind::kINTS:
      for (int64_t v : a.ints) o << v << ',';
      break;
    case ir::Attr::Kind::kFLOATS:
      for (double v : a.floats) o << v << ',';
      break;
    case ir::Attr::Kind::kSTRINGS:
      for (const auto& v : a.strings) o << v << ',';
      break;
    case ir::Attr::Kind::kTENSOR:
      if (a.tensor) o << "t" << hash64(a.tensor->raw(), a.tensor->byteSize());
      break;
    case ir::Attr::Kind::kGRAPH: o << "graph"; break;
  }
}

}  // namespace

std::string layerSignature(const ir::Node& n, const std::vector<ir::ValueInfo>& infos, DeviceType device,
                           const std::vector<const backend::Tactic*>& candidates) {
  std::ostringstream o;
  if (device == DeviceType::kGPU) {
    const gpu::DeviceInfo& d = gpu::deviceInfo();
    o << "gpu:" << d.name << ":sm" << d.arch << ":cudnn" << d.cudnn << ":lt" << d.cublasLt;
  } else {
    o << "cpu:" << cpuName() << ":" << cpuFeatures();
  }
  o << "|kiln" << versionString() << "|" << n.op << "|";
  for (const auto& [k, a] : n.attrs.all()) {
    o << k << "=";
    attrText(o, a);
    o << ";";
  }
  o << "|";
  for (const ir::Value* v : n.inputs) {
    if (!v) {
      o << "-;";
      continue;
    }
    const ir::ValueInfo& info = infos[static_cast<size_t>(v->id)];
    o << dataTypeName(info.dtype) << ":" << shapeText(info.shape);
    // Integer and tiny constants (shapes, axes, pads, scales) decide what a kernel does: keyed by content.
    // Weights and biases do not change a kernel's speed: keyed by shape alone, so that layers of one shape
    // (resnet50's repeated blocks) are timed once per build and share cache entries.
    if (v->isConstant()) {
      if (isFloatingType(info.dtype) && ir::numElements(info.shape) > kContentKeyElements)
        o << ":w";
      else
        o << ":c" << hash64(v->constant->raw(), v->constant->byteSize());
    }
    o << ";";
  }
  o << "|";
  for (const ir::Value* v : n.outputs)  // (outputs may depend on input values: Resize by scales)
    if (v) o << dataTypeName(infos[static_cast<size_t>(v->id)].dtype) << ":" << shapeText(infos[static_cast<size_t>(v->id)].shape) << ";";
  o << "|";
  for (const auto* t : candidates) o << t->name << ",";
  std::string s = o.str();
  for (char& c : s)
    if (c == '\t' || c == '\n') c = ' ';
  return s;
}

namespace {

//! Memory for one tensor on the host or the device.
struct Mem {
  std::shared_ptr<void> p;
  std::size_t bytes{0};
};

Mem allocate(DeviceType device, std::size_t bytes) {
  Mem m;
  m.bytes = bytes;
  std::size_t b = std::max<std::size_t>(bytes, 64);
  if (device == DeviceType::kGPU) {
    m.p = gpu::deviceBlock(b);
  } else {
    void* p = std::aligned_alloc(64, (b + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    m.p = std::shared_ptr<void>(p, std::free);
  }
  return m;
}

//! Random data for timing: a block of at most kFillBlock random bytes' worth of values, repeated over the
//! tensor (on the GPU by doubling device-to-device copies). Values only need to be ordinary numbers:
//! drawing a fresh random number per element cost seconds per layer at batch 256 (resnet50's layer1
//! activations hold 200M elements).
constexpr std::size_t kFillBlock = std::size_t{1} << 20;

void fill(DeviceType device, Mem& m, DataType dt, int64_t n, const void* constant, uint32_t seed) {
  if (!m.bytes) return;
  if (constant) {
    if (device == DeviceType::kGPU)
      gpu::copy(m.p.get(), constant, m.bytes);
    else
      std::memcpy(m.p.get(), constant, m.bytes);
    return;
  }
  const std::size_t esz = std::max<std::size_t>(1, m.bytes / static_cast<std::size_t>(std::max<int64_t>(n, 1)));
  const std::size_t block = std::min(m.bytes, std::max(esz, kFillBlock / esz * esz));
  std::vector<uint8_t> host(block, 0);
  if (isFloatingType(dt)) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    const int64_t count = static_cast<int64_t>(block / esz);
    dispatchType(dt, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, Half> ||
                    std::is_same_v<T, BFloat16>)
        for (int64_t i = 0; i < count; ++i) reinterpret_cast<T*>(host.data())[i] = T(dist(rng));
    });
  }  // integers and bools stay 0 (valid indices, axes, masks)
  auto* dst = static_cast<uint8_t*>(m.p.get());
  if (device == DeviceType::kGPU) {
    gpu::copy(dst, host.data(), block);
    for (std::size_t done = block; done < m.bytes; done *= 2) gpu::copy(dst + done, dst, std::min(done, m.bytes - done));
  } else {
    for (std::size_t done = 0; done < m.bytes; done += block) std::memcpy(dst + done, host.data(), std::min(block, m.bytes - done));
  }
}

//! Times a GPU kernel as replays of a CUDA graph holding `runs` back-to-back runs of it (enough runs for
//! about 0.1 ms per replay, so that the graph launch is a small part). Without a usable capture (a kernel
//! that synchronizes or fails inside it) ok() is false and the caller times direct runs.
class GraphTimer {
 public:
  GraphTimer() = default;
  GraphTimer(const GraphTimer&) = delete;
  GraphTimer& operator=(const GraphTimer&) = delete;
  ~GraphTimer() { gpu::destroyGraph(exec_); }

  void prepare(const backend::Kernel& k, const backend::KernelContext& kc, void* stream, void* evA, void* evB) {
    if (!capture(k, kc, stream, 1)) return;
    time(stream, evA, evB);  // the first replay uploads the graph
    const double one = time(stream, evA, evB);
    const int want = one > 0 ? static_cast<int>(std::min(20.0, std::ceil(0.1 / one))) : 20;
    if (want > 1 && !capture(k, kc, stream, want)) capture(k, kc, stream, 1);
  }
  bool ok() const { return exec_ != nullptr; }
  int runsPerSample() const { return ok() ? runs_ : 1; }
  //! Milliseconds of one run: a replay of the graph divided by its runs.
  double time(void* stream, void* evA, void* evB) {
    gpu::recordEvent(evA, stream);
    gpu::launchGraph(exec_, stream);
    gpu::recordEvent(evB, stream);
    gpu::synchronizeStream(stream);
    return static_cast<double>(gpu::elapsedMs(evA, evB)) / runs_;
  }

 private:
  bool capture(const backend::Kernel& k, const backend::KernelContext& kc, void* stream, int runs) {
    gpu::destroyGraph(exec_);
    exec_ = nullptr;
    try {
      gpu::beginCapture(stream);
    } catch (const std::exception&) {
      return false;
    }
    try {
      for (int i = 0; i < runs; ++i) k.run(kc);
    } catch (const std::exception&) {
      try {
        gpu::destroyGraph(gpu::endCapture(stream));
      } catch (const std::exception&) {
      }
      clearError();
      return false;
    }
    try {
      exec_ = gpu::endCapture(stream);
    } catch (const std::exception&) {
      clearError();
      return false;
    }
    runs_ = runs;
    return true;
  }
  static void clearError() noexcept {  // a failed capture leaves its error to be read once
    try {
      gpu::checkLastError("capture");
    } catch (const std::exception&) {
    }
  }
  void* exec_{nullptr};
  int runs_{1};
};

}  // namespace

std::vector<TimedTactic> timeTactics(const ir::Node& n, const std::vector<ir::ValueInfo>& infos, DeviceType device,
                                     const std::vector<const backend::Tactic*>& candidates) {
  std::vector<TimedTactic> out;
  for (const auto* t : candidates) out.push_back({t, -1.0, ""});
  // tensors at the timing shapes
  std::vector<Mem> mems;
  std::vector<backend::TensorView> ins, outs;
  uint32_t seed = 1;
  auto view = [&](const ir::Value* v, bool input) {
    backend::TensorView t;
    if (!v) return t;
    const ir::ValueInfo& info = infos[static_cast<size_t>(v->id)];
    t.dtype = info.dtype;
    t.shape = info.shape;
    t.numel = ir::numElements(info.shape);
    t.present = true;
    if (t.numel < 0) throw Error(ErrorCode::kINVALID_STATE, "unknown shape");
    mems.push_back(allocate(device, t.bytes()));
    if (input) fill(device, mems.back(), t.dtype, t.numel, v->isConstant() ? v->constant->raw() : nullptr, seed++);
    t.data = mems.back().p.get();
    return t;
  };
  std::size_t total = 0;
  for (const ir::Value* v : n.inputs)
    if (v) total += static_cast<std::size_t>(std::max<int64_t>(0, ir::numElements(infos[static_cast<size_t>(v->id)].shape))) *
                    dataTypeSize(infos[static_cast<size_t>(v->id)].dtype);
  if (total > (std::size_t{1} << 30)) {  // too large to time cheaply: keep the registration order
    for (auto& r : out) r.error = "not timed (inputs over 1 GiB)";
    return out;
  }
  for (const ir::Value* v : n.inputs) ins.push_back(view(v, true));
  for (const ir::Value* v : n.outputs) outs.push_back(view(v, false));

  void* stream = device == DeviceType::kGPU ? gpu::createStream() : nullptr;
  std::shared_ptr<void> streamOwner(stream, [](void* s) { gpu::destroyStream(s); });
  void* evA = device == DeviceType::kGPU ? gpu::createEvent() : nullptr;
  void* evB = device == DeviceType::kGPU ? gpu::createEvent() : nullptr;
  std::shared_ptr<void> evOwner(evA, [evB](void* a) {
    gpu::destroyEvent(a);
    gpu::destroyEvent(evB);
  });
  // The most specialized (last registered) first: it is usually the fastest, and a slower candidate
  // whose first run already takes twice the best median is not timed further.
  double best = -1;
  for (auto it = out.rbegin(); it != out.rend(); ++it) {
    TimedTactic& r = *it;
    // A CPU reference kernel is a fallback: it only wins on tiny layers (tens of microseconds), where the
    // specialized kernels' setup dominates, and on a large layer a single run of it can take a second
    // (resnet50's build spent 100 of 130 s there). Time it only when the best so far is under 1 ms, and
    // let its first run be both warm-up and screening sample (it has no lazy setup).
    const bool reference = device == DeviceType::kCPU && r.tactic->name == "ref" && best >= 0;
    if (reference && best >= kReferenceTimingLimitMs) {
      r.error = "not timed (reference kernel; the best specialized one takes " + std::to_string(best) + " ms)";
      continue;
    }
    const auto wall0 = std::chrono::steady_clock::now();
    struct WallClock {  // the candidate's host time, however its timing ends
      TimedTactic& r;
      std::chrono::steady_clock::time_point t0;
      ~WallClock() { r.wallMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(); }
    } wallClock{r, wall0};
    // KILN_TIMING_TRACE=1: where each candidate's host time goes (stderr)
    static const bool trace = [] {
      const char* e = std::getenv("KILN_TIMING_TRACE");
      return e && *e && std::string(e) != "0";
    }();
    std::string traceText;
    auto mark = [&](const char* what) {
      if (!trace) return;
      static thread_local std::chrono::steady_clock::time_point last;
      auto now = std::chrono::steady_clock::now();
      if (std::string(what) != "start")
        traceText += std::string(" ") + what + " " + std::to_string(std::chrono::duration<double, std::milli>(now - last).count());
      last = now;
    };
    struct TracePrint {
      const bool& on;
      const std::string& text;
      const TimedTactic& r;
      const ir::Node& n;
      ~TracePrint() {
        if (on) std::fprintf(stderr, "[timing] %s %s:%s median %.4f\n", n.name.c_str(), r.tactic->name.c_str(), text.c_str(), r.medianMs);
      }
    } tracePrint{trace, traceText, r, n};
    mark("start");
    try {
      std::unique_ptr<backend::Kernel> k = r.tactic->create(n);
      std::size_t ws = k->workspaceSize(ins, outs);
      mark("create");
      Mem wsMem;
      if (ws) wsMem = allocate(device, ws);
      backend::KernelContext kc;
      kc.inputs = ins;
      kc.outputs = outs;
      kc.workspace = wsMem.p.get();
      kc.workspaceBytes = ws;
      kc.stream = stream;
      std::vector<double> times;
      auto runOnce = [&] {
        if (device == DeviceType::kGPU) {
          gpu::recordEvent(evA, stream);
          k->run(kc);
          gpu::recordEvent(evB, stream);
          gpu::synchronizeStream(stream);
          return static_cast<double>(gpu::elapsedMs(evA, evB));
        }
        auto t0 = std::chrono::steady_clock::now();
        k->run(kc);
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      };
      mark("alloc");
      const auto warm0 = std::chrono::steady_clock::now();
      if (!reference) runOnce();  // warm-up: algorithm choice, descriptors, caches (host work inside the events)
      mark("warmup");
      // A warm-up run of over a second where another candidate already runs 100 times faster: not a contender
      // (capturing and sampling it would cost seconds more). Its warm-up time stands for its median.
      const double warmMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - warm0).count();
      if (!reference && best >= 0 && warmMs > kSlowWarmupMs && warmMs > 100 * best) {
        r.medianMs = warmMs;
        continue;
      }
      // On the GPU the runs are timed as CUDA graph replays (as `--cuda-graph` and captured plans run them):
      // a direct run's events would also count the host work of the launch (cuDNN descriptors, cuBLASLt
      // calls), which at small sizes exceeds the kernel itself and favours tactics with cheap launches.
      GraphTimer graph;
      if (device == DeviceType::kGPU) graph.prepare(*k, kc, stream, evA, evB);
      mark("graph");
      auto sample = [&] { return graph.ok() ? graph.time(stream, evA, evB) : runOnce(); };
      double first = sample();  // the first steady run decides whether the tactic is worth timing further
      if (best >= 0 && first > 2 * best) {
        r.medianMs = first;
        continue;
      }
      double spent = 0;
      while (times.size() < 5 || (spent < 20.0 && times.size() < 50)) {
        times.push_back(sample());
        spent += times.back() * graph.runsPerSample();
        if (spent > 500.0) break;
      }
      mark(("samples" + std::to_string(times.size())).c_str());
      std::sort(times.begin(), times.end());
      r.medianMs = times[times.size() / 2];
      if (best < 0 || r.medianMs < best) best = r.medianMs;
    } catch (const std::exception& e) {
      r.medianMs = -1;
      r.error = e.what();
    }
  }
  return out;
}

}  // namespace kiln::builder
