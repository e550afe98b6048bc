// kiln Python bindings: Builder, BuilderConfig, OptimizationProfile, HostMemory (the plan).
#include "common.h"

namespace kilnpy {

namespace {
using namespace kiln;

void deprecated(const char* what, const char* instead) {
  std::string msg = std::string(what) + " is deprecated and has no effect in kiln";
  if (instead && *instead) msg += std::string("; use ") + instead;
  if (PyErr_WarnEx(PyExc_DeprecationWarning, msg.c_str(), 2) < 0) throw py::error_already_set();
}

std::vector<Dims> profileShape(const OptimizationProfile& p, const std::string& name) {
  return {p.getDimensions(name.c_str(), OptProfileSelector::kMIN), p.getDimensions(name.c_str(), OptProfileSelector::kOPT),
          p.getDimensions(name.c_str(), OptProfileSelector::kMAX)};
}
}  // namespace

void initBuilder(py::module_& m) {
  py::enum_<OptProfileSelector>(m, "OptProfileSelector")
      .value("MIN", OptProfileSelector::kMIN)
      .value("OPT", OptProfileSelector::kOPT)
      .value("MAX", OptProfileSelector::kMAX);
  py::enum_<BuilderFlag>(m, "BuilderFlag")
      .value("FP16", BuilderFlag::kFP16)
      .value("INT8", BuilderFlag::kINT8)
      .value("DEBUG", BuilderFlag::kDEBUG)
      .value("GPU_FALLBACK", BuilderFlag::kGPU_FALLBACK)
      .value("REFIT", BuilderFlag::kREFIT)
      .value("TF32", BuilderFlag::kTF32)
      .value("BF16", BuilderFlag::kBF16)
      .value("NO_TACTIC_TIMING", BuilderFlag::kNO_TACTIC_TIMING);
  py::enum_<MemoryPoolType>(m, "MemoryPoolType").value("WORKSPACE", MemoryPoolType::kWORKSPACE);

  // ---- HostMemory: the plan, exposed through the buffer protocol (no copy) ----
  py::class_<HostMemory> hm(m, "IHostMemory", py::buffer_protocol(),
                            "A serialized plan. Supports the buffer protocol: bytes(plan), memoryview(plan), "
                            "f.write(plan) and numpy.frombuffer(plan, numpy.uint8) read it without a copy.");
  withContextManager(hm);
  hm.def_buffer([](HostMemory& h) {
      return py::buffer_info(const_cast<void*>(h.data()), 1, py::format_descriptor<uint8_t>::format(), 1,
                             {static_cast<py::ssize_t>(h.size())}, {static_cast<py::ssize_t>(1)}, true);
    })
      .def_property_readonly("nbytes", &HostMemory::size)
      .def_property_readonly("dtype", &HostMemory::type)
      .def("__len__", &HostMemory::size)
      .def("__bytes__", [](const HostMemory& h) { return py::bytes(static_cast<const char*>(h.data()), h.size()); });

  // ---- OptimizationProfile ----
  py::class_<OptimizationProfile> prof(m, "IOptimizationProfile");
  withContextManager(prof);
  prof.def(py::init<>())
      .def(
          "set_shape",
          [](OptimizationProfile& p, const std::string& name, py::object mn, py::object opt, py::object mx) {
            return p.setDimensions(name.c_str(), OptProfileSelector::kMIN, toDims(mn)) &&
                   p.setDimensions(name.c_str(), OptProfileSelector::kOPT, toDims(opt)) &&
                   p.setDimensions(name.c_str(), OptProfileSelector::kMAX, toDims(mx));
          },
          py::arg("input"), py::arg("min"), py::arg("opt"), py::arg("max"),
          "Sets min/opt/max shapes of a dynamic input. False if refused (rank mismatch, negative extents).")
      .def("get_shape", &profileShape, py::arg("input"), "[min, opt, max] as kiln.Dims (Dims(invalid) if unset).")
      .def(
          "set_dimensions",
          [](OptimizationProfile& p, const std::string& name, OptProfileSelector s, py::object d) {
            return p.setDimensions(name.c_str(), s, toDims(d));
          },
          py::arg("input"), py::arg("select"), py::arg("dims"))
      .def(
          "get_dimensions",
          [](const OptimizationProfile& p, const std::string& name, OptProfileSelector s) {
            return p.getDimensions(name.c_str(), s);
          },
          py::arg("input"), py::arg("select"))
      .def("is_valid", &OptimizationProfile::isValid)
      .def("__bool__", &OptimizationProfile::isValid);
  m.attr("OptimizationProfile") = prof;

  // ---- BuilderConfig ----
  py::class_<BuilderConfig> cfg(m, "IBuilderConfig");
  withContextManager(cfg);
  cfg.def("set_memory_pool_limit", &BuilderConfig::setMemoryPoolLimit, py::arg("pool"), py::arg("pool_size"))
      .def("get_memory_pool_limit", &BuilderConfig::getMemoryPoolLimit, py::arg("pool"))
      .def("set_flag", &BuilderConfig::setFlag, py::arg("flag"))
      .def("clear_flag", &BuilderConfig::clearFlag, py::arg("flag"))
      .def("get_flag", &BuilderConfig::getFlag, py::arg("flag"))
      .def("add_optimization_profile", &BuilderConfig::addOptimizationProfile, py::arg("profile"),
           "Adds a copy of the profile; returns its index, or -1 if it is invalid.")
      .def_property_readonly("num_optimization_profiles", &BuilderConfig::getNbOptimizationProfiles)
      .def_property("default_device_type", &BuilderConfig::getDefaultDeviceType, &BuilderConfig::setDefaultDeviceType)
      .def_property("num_threads", &BuilderConfig::getNbThreads, &BuilderConfig::setNbThreads)
      .def_property(
          "max_workspace_size",
          [](const BuilderConfig& c) { return c.getMemoryPoolLimit(MemoryPoolType::kWORKSPACE); },
          [](BuilderConfig& c, size_t) {
            deprecated("IBuilderConfig.max_workspace_size", "set_memory_pool_limit(kiln.MemoryPoolType.WORKSPACE, n)");
          });

  // ---- Builder ----
  py::class_<Builder> builder(m, "Builder", "kiln.Builder(logger): creates networks and configs, builds plans.");
  withContextManager(builder);
  builder.def(py::init([](kiln::Logger& logger) { return createBuilder(logger); }), py::arg("logger"), py::keep_alive<1, 2>())
      .def(
          "create_network", [](Builder& b, uint32_t flags) { return hold(b.createNetwork(flags)); },
          py::arg("flags") = 0, py::keep_alive<0, 1>(),
          "Networks are always explicit-batch; flags are accepted for TensorRT compatibility and ignored.")
      .def("create_builder_config", &Builder::createBuilderConfig)
      .def("create_optimization_profile", &Builder::createOptimizationProfile)
      .def(
          "build_serialized_network",
          [](Builder& b, NetworkDefinition& net, BuilderConfig& cfg) -> std::unique_ptr<HostMemory> {
            py::gil_scoped_release nogil;
            return b.buildSerializedNetwork(net, cfg);
          },
          py::arg("network"), py::arg("config"),
          "Optimizes the network into a plan (kiln.IHostMemory, buffer protocol). None on failure: the "
          "reasons went to the logger.")
      .def_property_readonly("logger", [](Builder& b) -> kiln::Logger& { return b.getLogger(); },
                             py::return_value_policy::reference)
      .def_property_readonly("platform_has_fast_fp16", [](const Builder&) { return false; })
      .def_property_readonly("platform_has_fast_int8", [](const Builder&) { return false; })
      .def_property(
          "max_batch_size",
          [](const Builder&) { return 1; },
          [](Builder&, int) { deprecated("Builder.max_batch_size", "explicit-batch shapes and optimization profiles"); })
      .def_property(
          "max_workspace_size",
          [](const Builder&) { return 0; },
          [](Builder&, size_t) {
            deprecated("Builder.max_workspace_size", "config.set_memory_pool_limit(kiln.MemoryPoolType.WORKSPACE, n)");
          });
  m.attr("IBuilder") = builder;
}

}  // namespace kilnpy
