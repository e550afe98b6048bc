// kiln Python bindings: Runtime, Engine, ExecutionContext (TensorRT's names) and ExecutionContext.infer().
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common.h"

namespace kilnpy {

namespace {
using namespace kiln;

std::string ioName(const Engine& e, int32_t i) {
  const char* n = e.getIOTensorName(i);
  if (!n) throw py::index_error("I/O tensor index " + std::to_string(i) + " out of range (" +
                                std::to_string(e.getNbIOTensors()) + " I/O tensors)");
  return n;
}

void checkName(const Engine& e, const std::string& name) {
  if (e.getTensorIOMode(name.c_str()) == TensorIOMode::kNONE) {
    std::string names;
    for (int32_t i = 0; i < e.getNbIOTensors(); ++i) names += (i ? ", '" : "'") + std::string(e.getIOTensorName(i)) + "'";
    raise(ErrorCode::kINVALID_ARGUMENT, "'" + name + "' is not an I/O tensor of the engine (it has " + names + ")");
  }
}

std::string shapeStr(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// A numpy array for an infer() argument: CPU DLPack objects are wrapped without a copy.
py::array asArray(const std::string& name, py::handle obj) {
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
  if (py::hasattr(obj, "__dlpack__")) return py::module_::import("kiln._kiln").attr("from_dlpack")(obj).cast<py::array>();
  raise(ErrorCode::kINVALID_ARGUMENT, "'" + name + "': expected a numpy array (or a CPU DLPack tensor), got " +
                                          std::string(py::str(obj.get_type().attr("__name__"))));
}

void checkArray(const std::string& name, const py::array& a, DataType want, bool output) {
  py::dtype dt = nptype(want);
  if (!a.dtype().equal(dt))
    raise(ErrorCode::kINVALID_ARGUMENT, std::string(output ? "output" : "input") + " '" + name + "': dtype " +
                                            std::string(py::str(a.dtype())) + ", the engine expects " +
                                            std::string(py::str(dt)) + " (convert with .astype(numpy." +
                                            std::string(py::str(dt)) + "))");
  if (!(a.flags() & py::array::c_style))
    raise(ErrorCode::kINVALID_ARGUMENT, std::string(output ? "output" : "input") + " '" + name +
                                            "': the array is not C-contiguous (use numpy.ascontiguousarray)");
  if (output && !a.writeable()) raise(ErrorCode::kINVALID_ARGUMENT, "output '" + name + "': the array is read-only");
}

bool sameShape(const py::array& a, const Dims& d) {
  if (a.ndim() != d.nbDims) return false;
  for (int i = 0; i < d.nbDims; ++i)
    if (a.shape(i) != d.d[i]) return false;
  return true;
}

//! Staging memory of infer() on a GPU engine, kept per context (the context's `_kiln_staging` attribute):
//! inputs go through page-locked buffers (GPU kernels read them; shape-determining inputs must be host
//! memory anyway), outputs through device buffers copied back into the numpy arrays.
struct Staging {
  std::vector<std::unique_ptr<Buffer>> bufs;  // per I/O index
  std::atomic<bool> busy{false};
  void* get(size_t i, std::size_t bytes, MemoryKind kind) {
    if (bufs.size() <= i) bufs.resize(i + 1);
    auto& b = bufs[i];
    if (!b || b->size() < bytes || b->kind() != kind) {
      b.reset();  // free first: the old block may be large
      b = std::make_unique<Buffer>(std::max<std::size_t>(bytes, 64), kind, DeviceType::kGPU);
    }
    return b->data();
  }
};

Staging& stagingOf(py::object self) {
  if (!py::hasattr(self, "_kiln_staging")) self.attr("_kiln_staging") = py::cast(std::make_unique<Staging>());
  return self.attr("_kiln_staging").cast<Staging&>();
}

std::size_t arrayBytes(const py::array& a) { return static_cast<std::size_t>(a.size()) * static_cast<std::size_t>(a.itemsize()); }

//! ExecutionContext.infer(): sets input shapes and addresses (the arrays' own memory: no copy on the CPU;
//! staged through page-locked/device memory on the GPU), allocates outputs (or uses the given ones), runs
//! synchronously with the GIL released.
py::dict infer(py::object self, py::object feeds, py::object outputs) {
  ExecutionContext& ctx = self.cast<ExecutionContext&>();
  const Engine& e = ctx.getEngine();
  const bool onGpu = e.getDeviceType() == DeviceType::kGPU;
  Staging* st = onGpu ? &stagingOf(self) : nullptr;
  if (st && st->busy.exchange(true))
    raise(ErrorCode::kINVALID_STATE, "infer(): this context is running on another thread; use one context per thread");
  struct Release {
    Staging* st;
    ~Release() {
      if (st) st->busy = false;
    }
  } release{st};
  const int32_t n = e.getNbIOTensors();
  py::dict in;
  if (py::isinstance<py::dict>(feeds)) {
    in = feeds;
  } else {
    int nIn = 0;
    std::string only;
    for (int32_t i = 0; i < n; ++i)
      if (e.getTensorIOMode(e.getIOTensorName(i)) == TensorIOMode::kINPUT) ++nIn, only = e.getIOTensorName(i);
    if (nIn != 1)
      raise(ErrorCode::kINVALID_ARGUMENT, "infer(): the engine has " + std::to_string(nIn) +
                                              " inputs; pass a dict {name: array}");
    in[py::str(only)] = feeds;
  }
  py::dict outGiven = outputs.is_none() ? py::dict() : py::dict(outputs);
  for (auto item : in) {
    std::string name = py::str(item.first);
    checkName(e, name);
    if (e.getTensorIOMode(name.c_str()) != TensorIOMode::kINPUT)
      raise(ErrorCode::kINVALID_ARGUMENT, "infer(): '" + name + "' is an output, not an input");
  }
  clearLastError();
  std::vector<py::array> keep;
  // inputs first: their shapes determine the output shapes
  for (int32_t i = 0; i < n; ++i) {
    std::string name = e.getIOTensorName(i);
    if (e.getTensorIOMode(name.c_str()) != TensorIOMode::kINPUT) continue;
    if (!in.contains(name)) raise(ErrorCode::kINVALID_ARGUMENT, "infer(): no value for input '" + name + "'");
    py::array a = asArray(name, in[py::str(name)]);
    checkArray(name, a, e.getTensorDataType(name.c_str()), false);
    Dims want = e.getTensorShape(name.c_str());
    Dims have;
    have.nbDims = static_cast<int32_t>(a.ndim());
    if (a.ndim() > Dims::MAX_DIMS) raise(ErrorCode::kINVALID_ARGUMENT, "input '" + name + "': too many dimensions");
    for (int k = 0; k < have.nbDims; ++k) have.d[k] = a.shape(k);
    bool dynamic = false;
    for (int k = 0; k < want.nbDims; ++k) dynamic |= want.d[k] < 0;
    if (!dynamic) {
      if (!(have == want))
        raise(ErrorCode::kINVALID_ARGUMENT, "input '" + name + "': shape " + shapeStr(a) + ", the engine expects " +
                                                kiln::toString(want));
    } else if (!(ctx.getTensorShape(name.c_str()) == have)) {
      if (!ctx.setInputShape(name.c_str(), have))
        raise(ErrorCode::kINVALID_ARGUMENT, withLastError("input '" + name + "': shape " + shapeStr(a) + " refused"));
    }
    // kiln only reads inputs; the const_cast is for the TensorRT-style address API.
    void* addr = const_cast<void*>(a.data());
    if (st) {
      addr = st->get(static_cast<size_t>(i), arrayBytes(a), MemoryKind::kPAGELOCKED);
      if (arrayBytes(a)) std::memcpy(addr, a.data(), arrayBytes(a));
    }
    if (!ctx.setTensorAddress(name.c_str(), addr))
      raise(ErrorCode::kINVALID_ARGUMENT, withLastError("input '" + name + "': address refused"));
    keep.push_back(a);
  }
  py::dict result;
  struct CopyBack {
    void* host;
    const void* dev;
    std::size_t bytes;
  };
  std::vector<CopyBack> copyBack;
  for (int32_t i = 0; i < n; ++i) {
    std::string name = e.getIOTensorName(i);
    if (e.getTensorIOMode(name.c_str()) != TensorIOMode::kOUTPUT) continue;
    Dims shape = ctx.getTensorShape(name.c_str());
    if (shape.nbDims < 0) raise(ErrorCode::kINVALID_STATE, withLastError("output '" + name + "': shape unknown"));
    DataType t = e.getTensorDataType(name.c_str());
    py::array out;
    if (outGiven.contains(name)) {
      out = asArray(name, outGiven[py::str(name)]);
      checkArray(name, out, t, true);
      if (!sameShape(out, shape))
        raise(ErrorCode::kINVALID_ARGUMENT, "output '" + name + "': shape " + shapeStr(out) + ", the result has " +
                                                kiln::toString(shape));
    } else {
      std::vector<py::ssize_t> sh(shape.d, shape.d + shape.nbDims);
      out = py::array(nptype(t), sh);
    }
    void* addr = out.mutable_data();
    if (st) {
      addr = st->get(static_cast<size_t>(i), arrayBytes(out), MemoryKind::kDEVICE);
      copyBack.push_back({out.mutable_data(), addr, arrayBytes(out)});
    }
    if (!ctx.setTensorAddress(name.c_str(), addr))
      raise(ErrorCode::kINVALID_ARGUMENT, withLastError("output '" + name + "': address refused"));
    result[py::str(name)] = out;
  }
  bool ok;
  {
    py::gil_scoped_release nogil;
    ok = ctx.execute();
    for (size_t k = 0; ok && k < copyBack.size(); ++k)
      ok = kiln::memcpy(copyBack[k].host, copyBack[k].dev, copyBack[k].bytes);
  }
  if (!ok) raise(ErrorCode::kFAILED_EXECUTION, withLastError("inference failed"));
  return result;
}

bool setBindings(ExecutionContext& ctx, const std::vector<py::object>& bindings) {
  const Engine& e = ctx.getEngine();
  if (static_cast<int32_t>(bindings.size()) != e.getNbIOTensors())
    raise(ErrorCode::kINVALID_ARGUMENT, "bindings: " + std::to_string(bindings.size()) + " addresses given, the engine has " +
                                            std::to_string(e.getNbIOTensors()) + " I/O tensors");
  for (size_t i = 0; i < bindings.size(); ++i)
    if (!ctx.setTensorAddress(e.getIOTensorName(static_cast<int32_t>(i)), reinterpret_cast<void*>(toPtr(bindings[i]))))
      return false;
  return true;
}

bool enqueueOn(ExecutionContext& ctx, py::handle streamHandle) {
  Stream* s = streamFromHandle(streamHandle);
  py::gil_scoped_release nogil;
  return s ? ctx.enqueue(*s) : ctx.execute();
}
}  // namespace

void initRuntime(py::module_& m) {
  py::class_<EngineInspector>(m, "EngineInspector")
      .def("get_layer_information", &EngineInspector::getLayerInformation, py::arg("layer_index"), py::arg("format"))
      .def("get_engine_information", &EngineInspector::getEngineInformation, py::arg("format"));
  py::enum_<LayerInformationFormat>(m, "LayerInformationFormat")
      .value("ONELINE", LayerInformationFormat::kONELINE)
      .value("JSON", LayerInformationFormat::kJSON);

  // ---- ExecutionContext ----
  py::class_<Staging>(m, "_InferStaging");  // held by a context's _kiln_staging attribute (GPU infer())
  py::class_<ExecutionContext, Holder<ExecutionContext>> ctx(m, "IExecutionContext", py::dynamic_attr(), R"doc(Per-thread inference state.

One context serves one thread or one stream at a time; use one context per Python thread. execute_*
and infer() release the GIL while kiln runs.)doc");
  withContextManager(ctx);
  ctx.def_property_readonly("engine", &ExecutionContext::getEngine, py::return_value_policy::reference_internal)
      .def_property(
          "name", [](const ExecutionContext& c) { return std::string(c.getName()); },
          [](ExecutionContext& c, const std::string& n) { c.setName(n.c_str()); })
      .def(
          "set_input_shape",
          [](ExecutionContext& c, const std::string& name, py::object shape) {
            Dims d = toDims(shape);
            return c.setInputShape(name.c_str(), d);
          },
          py::arg("name"), py::arg("shape"), "False if refused (reason logged: unknown name, rank, outside the profile).")
      .def(
          "get_tensor_shape", [](const ExecutionContext& c, const std::string& name) { return c.getTensorShape(name.c_str()); },
          py::arg("name"))
      .def_property_readonly("all_input_dimensions_specified", &ExecutionContext::allInputDimensionsSpecified)
      .def(
          "set_tensor_address",
          [](ExecutionContext& c, const std::string& name, py::object ptr) {
            return c.setTensorAddress(name.c_str(), reinterpret_cast<void*>(toPtr(ptr)));
          },
          py::arg("name"), py::arg("memory"),
          "memory: an int address, a kiln.cuda.DeviceAllocation or a numpy array (used in place: keep it alive "
          "until the inference is done).")
      .def(
          "get_tensor_address",
          [](const ExecutionContext& c, const std::string& name) {
            return reinterpret_cast<std::uintptr_t>(c.getTensorAddress(name.c_str()));
          },
          py::arg("name"))
      .def(
          "execute_async_v3", [](ExecutionContext& c, py::object stream) { return enqueueOn(c, stream); },
          py::arg("stream_handle"),
          "Queues inference on the stream (kiln.cuda.Stream().handle; 0: run now, synchronously). False if refused.")
      .def(
          "execute_v3",
          [](ExecutionContext& c) {
            py::gil_scoped_release nogil;
            return c.execute();
          },
          "Runs inference synchronously (kiln extension).")
      .def(
          "execute_v2",
          [](ExecutionContext& c, const std::vector<py::object>& bindings) {
            if (!setBindings(c, bindings)) return false;
            py::gil_scoped_release nogil;
            return c.execute();
          },
          py::arg("bindings"), "Legacy: bindings[i] is the address of I/O tensor i. Synchronous.")
      .def(
          "execute_async_v2",
          [](ExecutionContext& c, const std::vector<py::object>& bindings, py::object stream) {
            return setBindings(c, bindings) && enqueueOn(c, stream);
          },
          py::arg("bindings"), py::arg("stream_handle"))
      .def(
          "execute_async",
          [](ExecutionContext& c, int batch, const std::vector<py::object>& bindings, py::object stream) {
            return setBindings(c, bindings) && enqueueOn(c, stream);
          },
          py::arg("batch_size") = 1, py::arg("bindings"), py::arg("stream_handle"),
          "Legacy (implicit batch era): batch_size is ignored; shapes come from set_input_shape.")
      .def(
          "execute",
          [](ExecutionContext& c, int batch, const std::vector<py::object>& bindings) {
            if (!setBindings(c, bindings)) return false;
            py::gil_scoped_release nogil;
            return c.execute();
          },
          py::arg("batch_size") = 1, py::arg("bindings"))
      .def(
          "set_binding_shape",
          [](ExecutionContext& c, int32_t i, py::object shape) {
            return c.setInputShape(ioName(c.getEngine(), i).c_str(), toDims(shape));
          },
          py::arg("binding"), py::arg("shape"))
      .def(
          "get_binding_shape",
          [](const ExecutionContext& c, int32_t i) { return c.getTensorShape(ioName(c.getEngine(), i).c_str()); },
          py::arg("binding"))
      .def("infer", &infer, py::arg("feeds"), py::arg("outputs") = py::none(),
           R"doc(Runs inference on numpy arrays: infer({"input": x}) -> {"output": y}.

Inputs are used in place (no copy) and must be C-contiguous with the engine's dtype; a wrong dtype, shape
or layout raises kiln.InvalidArgumentError. On a GPU engine the arrays are copied into page-locked staging
buffers and the outputs back from device buffers (kept by the context for the next call); for zero-copy
runs bind kiln.cuda memory with set_tensor_address and use execute_async_v3. Dynamic input shapes are set from the arrays. Outputs are new
arrays, or the arrays given in outputs={name: array} (written in place). The GIL is released while kiln
runs.)doc");

  // ---- Engine ----
  py::class_<Engine, Holder<Engine>> engine(m, "ICudaEngine", "An optimized network (immutable; shareable across threads).");
  withContextManager(engine);
  engine.def_property_readonly("num_io_tensors", &Engine::getNbIOTensors)
      .def("get_tensor_name", &ioName, py::arg("index"))
      .def(
          "get_tensor_mode", [](const Engine& e, const std::string& n) { return e.getTensorIOMode(n.c_str()); }, py::arg("name"))
      .def(
          "get_tensor_dtype",
          [](const Engine& e, const std::string& n) {
            checkName(e, n);
            return e.getTensorDataType(n.c_str());
          },
          py::arg("name"))
      .def(
          "get_tensor_shape", [](const Engine& e, const std::string& n) { return e.getTensorShape(n.c_str()); }, py::arg("name"))
      .def(
          "get_tensor_profile_shape",
          [](const Engine& e, const std::string& n, int32_t p) {
            return std::vector<Dims>{e.getProfileShape(n.c_str(), p, OptProfileSelector::kMIN),
                                     e.getProfileShape(n.c_str(), p, OptProfileSelector::kOPT),
                                     e.getProfileShape(n.c_str(), p, OptProfileSelector::kMAX)};
          },
          py::arg("name"), py::arg("profile_index"), "[min, opt, max] of an input in a profile.")
      .def_property_readonly("num_optimization_profiles", &Engine::getNbOptimizationProfiles)
      .def_property_readonly("num_layers", &Engine::getNbLayers)
      .def_property_readonly("device_memory_size", &Engine::getDeviceMemorySize)
      .def_property_readonly("device_type", &Engine::getDeviceType)
      .def("serialize", [](const Engine& e) {
        std::unique_ptr<HostMemory> h;
        {
          py::gil_scoped_release nogil;
          h = e.serialize();
        }
        return h;
      })
      .def(
          "create_execution_context",
          [](Engine& e) -> py::object {
            auto c = e.createExecutionContext();
            if (!c) return py::none();
            return py::cast(hold(std::move(c)));
          },
          py::keep_alive<0, 1>(), "None on failure (logged).")
      .def("create_engine_inspector", &Engine::createEngineInspector, py::keep_alive<0, 1>())
      // legacy binding API
      .def_property_readonly("num_bindings", &Engine::getNbBindings)
      .def("get_binding_name", &ioName, py::arg("index"))
      .def(
          "get_binding_index",
          [](const Engine& e, const std::string& n) {
            for (int32_t i = 0; i < e.getNbIOTensors(); ++i)
              if (n == e.getIOTensorName(i)) return i;
            return -1;
          },
          py::arg("name"))
      .def(
          "get_binding_shape", [](const Engine& e, int32_t i) { return e.getTensorShape(ioName(e, i).c_str()); },
          py::arg("index"))
      .def(
          "get_binding_dtype", [](const Engine& e, int32_t i) { return e.getTensorDataType(ioName(e, i).c_str()); },
          py::arg("index"))
      .def(
          "binding_is_input",
          [](const Engine& e, py::object i) {
            if (py::isinstance<py::str>(i)) return e.getTensorIOMode(i.cast<std::string>().c_str()) == TensorIOMode::kINPUT;
            int32_t idx = i.cast<int32_t>();
            ioName(e, idx);
            return e.bindingIsInput(idx);
          },
          py::arg("index"))
      .def("__len__", &Engine::getNbIOTensors)
      .def("__getitem__", [](const Engine& e, int32_t i) { return ioName(e, i); });
  m.attr("Engine") = engine;

  // ---- Runtime ----
  auto deserialize = [](Runtime& r, py::buffer plan) -> py::object {
    py::buffer_info info = plan.request();
    std::unique_ptr<Engine> e;
    {
      py::gil_scoped_release nogil;
      e = r.deserializeEngine(info.ptr, static_cast<size_t>(info.size * info.itemsize));
    }
    if (!e) return py::none();
    return py::cast(hold(std::move(e)));
  };
  py::class_<Runtime> runtime(m, "Runtime", "kiln.Runtime(logger): loads plans.");
  withContextManager(runtime);
  runtime.def(py::init([](kiln::Logger& l) { return createRuntime(l); }), py::arg("logger"), py::keep_alive<1, 2>())
      .def("deserialize_cuda_engine", deserialize, py::arg("serialized_engine"), py::keep_alive<0, 1>(),
           "Loads a plan (any buffer: bytes, kiln.IHostMemory, numpy uint8 array, mmap). None if the plan is "
           "refused; the reason (truncated, damaged, other version or target) went to the logger.")
      .def("deserialize_engine", deserialize, py::arg("serialized_engine"), py::keep_alive<0, 1>())
      .def(
          "deserialize_engine_from_file",
          [](Runtime& r, py::object path) -> py::object {
            std::string p = py::str(path);
            std::unique_ptr<Engine> e;
            {
              py::gil_scoped_release nogil;
              e = r.deserializeEngineFromFile(p.c_str());
            }
            if (!e) return py::none();
            return py::cast(hold(std::move(e)));
          },
          py::arg("path"), py::keep_alive<0, 1>(), "Maps a plan file (weights used in place).")
      .def_property_readonly("logger", [](Runtime& r) -> kiln::Logger& { return r.getLogger(); },
                             py::return_value_policy::reference)
      .def_property("memory_budget", &Runtime::getMemoryBudget, &Runtime::setMemoryBudget,
                    "Bytes (0: none) that constants + every execution context's memory of an engine deserialized "
                    "afterwards may use; plans and contexts beyond it are refused (Runtime::setMemoryBudget).");
  m.attr("IRuntime") = runtime;
}

}  // namespace kilnpy
