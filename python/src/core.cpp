// kiln Python bindings: errors, Logger, basic types (DataType, Dims, Weights, ...), numpy/DLPack helpers.
#include <cstring>
#include <map>
#include <sstream>

#include "common.h"

namespace kilnpy {

// ---------------------------------------------------------------------------------------------------------
// Errors

namespace {
std::map<kiln::ErrorCode, PyObject*>& errorClasses() {
  static std::map<kiln::ErrorCode, PyObject*> classes;
  return classes;
}
PyObject* baseError = nullptr;

PyObject* classFor(kiln::ErrorCode code) {
  auto& c = errorClasses();
  auto it = c.find(code);
  return it == c.end() ? baseError : it->second;
}

thread_local std::string tlsLastError;

void setPythonError(const kiln::Error& e) {
  PyObject* cls = classFor(e.code());
  py::object inst = py::reinterpret_steal<py::object>(PyObject_CallFunction(cls, "s", e.what()));
  if (!inst) return;  // a Python error is already set
  try {
    inst.attr("code") = py::cast(e.code());
    inst.attr("message") = py::str(e.message());
    inst.attr("context") = py::cast(e.context());
  } catch (py::error_already_set& err) {
    err.restore();
    return;
  }
  PyErr_SetObject(cls, inst.ptr());
}
}  // namespace

void raise(kiln::ErrorCode code, const std::string& message) { throw kiln::Error(code, message); }
const std::string& lastError() { return tlsLastError; }
void clearLastError() { tlsLastError.clear(); }
std::string withLastError(const std::string& message) {
  if (tlsLastError.empty()) return message + " (see the log)";
  return message + ": " + tlsLastError;
}

// ---------------------------------------------------------------------------------------------------------
// Logger

void PyLogger::log(kiln::Severity severity, const char* msg) noexcept {
  if (static_cast<int>(severity) <= static_cast<int>(kiln::Severity::kERROR)) tlsLastError = msg ? msg : "";
  if (!Py_IsInitialized() || _Py_IsFinalizing()) {
    kiln::Logger::log(severity, msg);
    return;
  }
  py::gil_scoped_acquire gil;
  try {
    py::function override = py::get_override(static_cast<const kiln::Logger*>(this), "log");
    if (override) {
      override(severity, msg ? msg : "");
      return;
    }
  } catch (py::error_already_set& e) {
    // An exception in a Python log() must not cross into C++: report it as unraisable.
    e.discard_as_unraisable("kiln.Logger.log");
    return;
  } catch (...) {
    return;
  }
  kiln::Logger::log(severity, msg);
}

// ---------------------------------------------------------------------------------------------------------
// Conversions

kiln::Dims toDims(py::handle obj) {
  if (py::isinstance<kiln::Dims>(obj)) return obj.cast<kiln::Dims>();
  if (PyLong_Check(obj.ptr())) {
    kiln::Dims d;
    d.nbDims = 1;
    d.d[0] = obj.cast<int64_t>();
    return d;
  }
  if (!py::isinstance<py::iterable>(obj) || py::isinstance<py::str>(obj))
    raise(kiln::ErrorCode::kINVALID_ARGUMENT,
          std::string("expected a shape (kiln.Dims, tuple or list of ints), got ") + std::string(py::str(obj.get_type().attr("__name__"))));
  kiln::Dims d;
  d.nbDims = 0;
  for (py::handle item : py::iter(obj)) {
    if (d.nbDims >= kiln::Dims::MAX_DIMS)
      raise(kiln::ErrorCode::kINVALID_ARGUMENT, "a shape has at most " + std::to_string(kiln::Dims::MAX_DIMS) + " dimensions");
    d.d[d.nbDims++] = py::int_(py::reinterpret_borrow<py::object>(item)).cast<int64_t>();
  }
  return d;
}

py::tuple dimsTuple(const kiln::Dims& d) {
  int n = d.nbDims < 0 ? 0 : d.nbDims;
  py::tuple t(n);
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = py::int_(d.d[i]);
  return t;
}

py::dtype nptype(kiln::DataType t) {
  switch (t) {
    case kiln::DataType::kFLOAT: return py::dtype("float32");
    case kiln::DataType::kHALF: return py::dtype("float16");
    case kiln::DataType::kINT8: return py::dtype("int8");
    case kiln::DataType::kINT32: return py::dtype("int32");
    case kiln::DataType::kBOOL: return py::dtype("bool");
    case kiln::DataType::kUINT8: return py::dtype("uint8");
    case kiln::DataType::kINT64: return py::dtype("int64");
    case kiln::DataType::kDOUBLE: return py::dtype("float64");
    case kiln::DataType::kINT16: return py::dtype("int16");
    case kiln::DataType::kUINT16: return py::dtype("uint16");
    case kiln::DataType::kUINT32: return py::dtype("uint32");
    case kiln::DataType::kUINT64: return py::dtype("uint64");
    case kiln::DataType::kBF16: break;
    default: break;  // float8 / sub-byte types: no numpy dtype
  }
  raise(kiln::ErrorCode::kINVALID_ARGUMENT,
        std::string("numpy has no dtype for kiln.DataType ") + kiln::dataTypeName(t) + " (use uint16 storage for bfloat16)");
}

kiln::DataType fromNumpy(const py::dtype& dt) {
  static const std::pair<const char*, kiln::DataType> table[] = {
      {"float32", kiln::DataType::kFLOAT}, {"float16", kiln::DataType::kHALF},   {"int8", kiln::DataType::kINT8},
      {"int32", kiln::DataType::kINT32},   {"bool", kiln::DataType::kBOOL},      {"uint8", kiln::DataType::kUINT8},
      {"int64", kiln::DataType::kINT64},   {"float64", kiln::DataType::kDOUBLE}, {"int16", kiln::DataType::kINT16},
      {"uint16", kiln::DataType::kUINT16}, {"uint32", kiln::DataType::kUINT32},  {"uint64", kiln::DataType::kUINT64},
  };
  for (const auto& [name, type] : table)
    if (dt.equal(py::dtype(name))) return type;
  raise(kiln::ErrorCode::kINVALID_ARGUMENT, "numpy dtype " + std::string(py::str(dt)) + " has no kiln.DataType");
}

std::uintptr_t toPtr(py::handle obj) {
  if (obj.is_none()) raise(kiln::ErrorCode::kINVALID_ARGUMENT, "expected an address, got None");
  if (py::isinstance<py::array>(obj)) return reinterpret_cast<std::uintptr_t>(obj.cast<py::array>().data());
  if (PyIndex_Check(obj.ptr())) return py::int_(py::reinterpret_borrow<py::object>(obj)).cast<std::uintptr_t>();
  if (py::hasattr(obj, "__int__")) return py::int_(py::reinterpret_borrow<py::object>(obj)).cast<std::uintptr_t>();
  if (PyObject_CheckBuffer(obj.ptr())) {
    py::buffer_info info = py::reinterpret_borrow<py::buffer>(obj).request();
    return reinterpret_cast<std::uintptr_t>(info.ptr);
  }
  raise(kiln::ErrorCode::kINVALID_ARGUMENT,
        "expected an address (int, kiln.cuda.DeviceAllocation or numpy array), got " +
            std::string(py::str(obj.get_type().attr("__name__"))));
}

WeightsArg toWeights(py::handle obj) {
  WeightsArg out;
  if (obj.is_none()) return out;
  py::object arr;
  kiln::DataType type;
  if (py::isinstance<PyWeights>(obj)) {
    const auto& w = obj.cast<const PyWeights&>();
    if (w.array.is_none()) {
      out.w.type = w.type;
      return out;
    }
    arr = w.array;
  } else {
    py::module_ np = py::module_::import("numpy");
    arr = np.attr("ascontiguousarray")(obj);
  }
  py::array a = arr.cast<py::array>();
  type = fromNumpy(a.dtype());
  out.keep = arr;
  out.w.type = type;
  out.w.values = a.data();
  out.w.count = static_cast<int64_t>(a.size());
  return out;
}

// ---------------------------------------------------------------------------------------------------------

void initCore(py::module_& m) {
  // ---- errors ----
  baseError = PyErr_NewExceptionWithDoc("kiln.Error",
                                        "Base of every kiln error. Attributes: code (kiln.ErrorCode), message (the "
                                        "C++ message without context), context (list of str, outermost first).",
                                        PyExc_RuntimeError, nullptr);
  m.attr("Error") = py::handle(baseError);
  auto sub = [&](const char* name, kiln::ErrorCode code, PyObject* extraBase) {
    py::tuple bases = extraBase ? py::tuple(py::make_tuple(py::handle(baseError), py::handle(extraBase)))
                                : py::tuple(py::make_tuple(py::handle(baseError)));
    std::string qual = std::string("kiln.") + name;
    PyObject* cls = PyErr_NewException(qual.c_str(), bases.ptr(), nullptr);
    m.attr(name) = py::handle(cls);
    errorClasses()[code] = cls;
    return cls;
  };
  errorClasses()[kiln::ErrorCode::kUNSPECIFIED_ERROR] = baseError;
  sub("InternalError", kiln::ErrorCode::kINTERNAL_ERROR, nullptr);
  sub("InvalidArgumentError", kiln::ErrorCode::kINVALID_ARGUMENT, PyExc_ValueError);
  sub("InvalidConfigError", kiln::ErrorCode::kINVALID_CONFIG, nullptr);
  sub("AllocationError", kiln::ErrorCode::kFAILED_ALLOCATION, PyExc_MemoryError);
  sub("InitializationError", kiln::ErrorCode::kFAILED_INITIALIZATION, nullptr);
  PyObject* exec = sub("ExecutionError", kiln::ErrorCode::kFAILED_EXECUTION, nullptr);
  {
    PyObject* cls = PyErr_NewException("kiln.ComputationError", exec, nullptr);
    m.attr("ComputationError") = py::handle(cls);
    errorClasses()[kiln::ErrorCode::kFAILED_COMPUTATION] = cls;
  }
  sub("InvalidStateError", kiln::ErrorCode::kINVALID_STATE, nullptr);
  sub("UnsupportedError", kiln::ErrorCode::kUNSUPPORTED_STATE, nullptr);
  sub("InvalidPlanError", kiln::ErrorCode::kINVALID_PLAN, nullptr);
  sub("UnsupportedNodeError", kiln::ErrorCode::kUNSUPPORTED_NODE, nullptr);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const kiln::Error& e) {
      setPythonError(e);
    }
  });

  py::enum_<kiln::ErrorCode>(m, "ErrorCode")
      .value("SUCCESS", kiln::ErrorCode::kSUCCESS)
      .value("UNSPECIFIED_ERROR", kiln::ErrorCode::kUNSPECIFIED_ERROR)
      .value("INTERNAL_ERROR", kiln::ErrorCode::kINTERNAL_ERROR)
      .value("INVALID_ARGUMENT", kiln::ErrorCode::kINVALID_ARGUMENT)
      .value("INVALID_CONFIG", kiln::ErrorCode::kINVALID_CONFIG)
      .value("FAILED_ALLOCATION", kiln::ErrorCode::kFAILED_ALLOCATION)
      .value("FAILED_INITIALIZATION", kiln::ErrorCode::kFAILED_INITIALIZATION)
      .value("FAILED_EXECUTION", kiln::ErrorCode::kFAILED_EXECUTION)
      .value("FAILED_COMPUTATION", kiln::ErrorCode::kFAILED_COMPUTATION)
      .value("INVALID_STATE", kiln::ErrorCode::kINVALID_STATE)
      .value("UNSUPPORTED_STATE", kiln::ErrorCode::kUNSUPPORTED_STATE)
      .value("INVALID_PLAN", kiln::ErrorCode::kINVALID_PLAN)
      .value("UNSUPPORTED_NODE", kiln::ErrorCode::kUNSUPPORTED_NODE);

  // ---- Logger ----
  py::class_<kiln::Logger, PyLogger> logger(m, "Logger", R"doc(Receives kiln's messages.

kiln.Logger(kiln.Logger.WARNING) writes "[kiln] [W] ..." lines to stderr. Subclass it and override
log(self, severity, msg) to route messages elsewhere; the override may be called from kiln's stream
threads (kiln takes the GIL for it). Keep the logger alive as long as the objects made with it (kiln's
Python objects keep a reference for you).)doc");
  py::enum_<kiln::Severity>(logger, "Severity", py::arithmetic())
      .value("INTERNAL_ERROR", kiln::Severity::kINTERNAL_ERROR)
      .value("ERROR", kiln::Severity::kERROR)
      .value("WARNING", kiln::Severity::kWARNING)
      .value("INFO", kiln::Severity::kINFO)
      .value("VERBOSE", kiln::Severity::kVERBOSE)
      .export_values();
  logger.def(py::init_alias<kiln::Severity>(), py::arg("min_severity") = kiln::Severity::kWARNING)
      .def(
          "log", [](kiln::Logger& self, kiln::Severity s, const std::string& msg) { self.kiln::Logger::log(s, msg.c_str()); },
          py::arg("severity"), py::arg("msg"), "The default sink: writes the message to stderr.")
      .def_property("min_severity", &kiln::Logger::getMinSeverity, &kiln::Logger::setMinSeverity)
      .def("enabled", &kiln::Logger::enabled);
  withContextManager(logger);
  m.attr("Severity") = logger.attr("Severity");
  m.attr("ILogger") = logger;

  // ---- enums of types.h ----
  py::enum_<kiln::DataType>(m, "DataType")
      .value("FLOAT", kiln::DataType::kFLOAT)
      .value("HALF", kiln::DataType::kHALF)
      .value("INT8", kiln::DataType::kINT8)
      .value("INT32", kiln::DataType::kINT32)
      .value("BOOL", kiln::DataType::kBOOL)
      .value("UINT8", kiln::DataType::kUINT8)
      .value("BF16", kiln::DataType::kBF16)
      .value("INT64", kiln::DataType::kINT64)
      .value("DOUBLE", kiln::DataType::kDOUBLE)
      .value("INT16", kiln::DataType::kINT16)
      .value("UINT16", kiln::DataType::kUINT16)
      .value("UINT32", kiln::DataType::kUINT32)
      .value("UINT64", kiln::DataType::kUINT64)
      .value("FP8", kiln::DataType::kFP8)
      .value("FP8E4M3FNUZ", kiln::DataType::kFP8E4M3FNUZ)
      .value("FP8E5M2", kiln::DataType::kFP8E5M2)
      .value("FP8E5M2FNUZ", kiln::DataType::kFP8E5M2FNUZ)
      .value("E8M0", kiln::DataType::kE8M0)
      .value("INT4", kiln::DataType::kINT4)
      .value("UINT4", kiln::DataType::kUINT4)
      .value("FP4", kiln::DataType::kFP4)
      .value("INT2", kiln::DataType::kINT2)
      .value("UINT2", kiln::DataType::kUINT2)
      .def_property_readonly("itemsize", [](kiln::DataType t) { return kiln::dataTypeSize(t); });
  m.attr("float32") = kiln::DataType::kFLOAT;
  m.attr("float16") = kiln::DataType::kHALF;
  m.attr("int8") = kiln::DataType::kINT8;
  m.attr("int32") = kiln::DataType::kINT32;
  m.attr("int64") = kiln::DataType::kINT64;
  m.attr("bool") = kiln::DataType::kBOOL;
  m.attr("uint8") = kiln::DataType::kUINT8;
  m.attr("bfloat16") = kiln::DataType::kBF16;
  py::enum_<kiln::TensorIOMode>(m, "TensorIOMode")
      .value("NONE", kiln::TensorIOMode::kNONE)
      .value("INPUT", kiln::TensorIOMode::kINPUT)
      .value("OUTPUT", kiln::TensorIOMode::kOUTPUT);
  py::enum_<kiln::DeviceType>(m, "DeviceType").value("CPU", kiln::DeviceType::kCPU).value("GPU", kiln::DeviceType::kGPU);

  m.def("nptype", &nptype, py::arg("dtype"), "numpy dtype of a kiln.DataType (TensorRT's trt.nptype).");
  m.def(
      "from_nptype", [](py::object dt) { return fromNumpy(py::dtype::from_args(dt)); }, py::arg("dtype"),
      "kiln.DataType of a numpy dtype.");

  // ---- Dims ----
  py::class_<kiln::Dims> dims(m, "Dims", R"doc(A shape: a sequence of ints (-1: dynamic extent).

kiln.Dims((1, 3, 224, 224)) or kiln.Dims(1, 3, 224, 224); everywhere a shape is taken, a tuple or list
works too. len(), indexing, iteration, == (with Dims, tuples and lists) and .volume().)doc");
  dims.def(py::init([](py::args args) {
        if (args.size() == 1 && !PyLong_Check(args[0].ptr())) return toDims(args[0]);
        return toDims(args);
      }))
      .def("__len__", [](const kiln::Dims& d) { return d.nbDims < 0 ? 0 : d.nbDims; })
      .def("__getitem__",
           [](const kiln::Dims& d, int64_t i) {
             int64_t n = d.nbDims < 0 ? 0 : d.nbDims;
             if (i < 0) i += n;
             if (i < 0 || i >= n) throw py::index_error("Dims index out of range");
             return d.d[i];
           })
      .def("__getitem__", [](const kiln::Dims& d, py::slice s) { return dimsTuple(d)[s]; })
      .def("__setitem__",
           [](kiln::Dims& d, int64_t i, int64_t v) {
             int64_t n = d.nbDims < 0 ? 0 : d.nbDims;
             if (i < 0) i += n;
             if (i < 0 || i >= n) throw py::index_error("Dims index out of range");
             d.d[i] = v;
           })
      .def("__iter__", [](const kiln::Dims& d) { return dimsTuple(d).attr("__iter__")(); })
      .def("__eq__",
           [](const kiln::Dims& a, py::object b) {
             if (py::isinstance<kiln::Dims>(b)) return a == b.cast<kiln::Dims>();
             if (py::isinstance<py::tuple>(b) || py::isinstance<py::list>(b)) return dimsTuple(a).equal(py::tuple(b));
             return false;
           })
      .def("__hash__", [](const kiln::Dims& d) { return py::hash(dimsTuple(d)); })
      .def("__repr__", [](const kiln::Dims& d) {
        if (d.nbDims < 0) return std::string("Dims(invalid)");
        return "Dims(" + std::string(py::repr(dimsTuple(d))) + ")";
      })
      .def("__str__", [](const kiln::Dims& d) { return kiln::toString(d); })
      .def("volume", [](const kiln::Dims& d) { return kiln::volume(d); }, "Product of the extents (-1 if dynamic).")
      .def_property_readonly("nbDims", [](const kiln::Dims& d) { return d.nbDims; })
      .def_readonly_static("MAX_DIMS", &kiln::Dims::MAX_DIMS)
      .def(py::pickle([](const kiln::Dims& d) { return dimsTuple(d); }, [](py::tuple t) { return toDims(t); }));
  py::implicitly_convertible<py::tuple, kiln::Dims>();
  py::implicitly_convertible<py::list, kiln::Dims>();
  for (const char* alias : {"Dims2", "Dims3", "Dims4", "DimsHW", "DimsNCHW"}) m.attr(alias) = dims;
  m.def(
      "volume", [](py::object shape) { return kiln::volume(toDims(shape)); }, py::arg("shape"),
      "Product of the extents of a shape (kiln.Dims, tuple, list); -1 if any extent is dynamic.");

  // ---- Weights ----
  py::class_<PyWeights>(m, "Weights", R"doc(Weights for the layer API: kiln.Weights(numpy_array) or
kiln.Weights() / kiln.Weights(kiln.DataType.FLOAT) for none. Every add_* method also takes a numpy array
directly. kiln copies the values when the layer is added.)doc")
      .def(py::init([]() { return PyWeights{py::none(), kiln::DataType::kFLOAT}; }))
      .def(py::init([](kiln::DataType t) { return PyWeights{py::none(), t}; }), py::arg("type"))
      .def(py::init([](py::object a) {
             py::object arr = py::module_::import("numpy").attr("ascontiguousarray")(a);
             kiln::DataType t = fromNumpy(arr.cast<py::array>().dtype());
             return PyWeights{arr, t};
           }),
           py::arg("a"))
      .def_readonly("dtype", &PyWeights::type)
      .def_property_readonly("size", [](const PyWeights& w) { return w.array.is_none() ? py::int_(0) : py::int_(w.array.attr("size")); })
      .def("numpy", [](const PyWeights& w) { return w.array; })
      .def("__len__", [](const PyWeights& w) { return w.array.is_none() ? 0 : w.array.attr("size").cast<size_t>(); });
  py::implicitly_convertible<py::array, PyWeights>();

  // ---- DLPack (CPU) ----
  m.def(
      "from_dlpack",
      [](py::object obj) {
        if (py::hasattr(obj, "__dlpack_device__")) {
          py::tuple dev = obj.attr("__dlpack_device__")();
          int type = dev[0].cast<int>();
          if (type != 1 /* kDLCPU */ && type != 3 /* kDLCUDAHost */)
            raise(kiln::ErrorCode::kUNSUPPORTED_STATE,
                  "from_dlpack: the tensor lives on DLPack device type " + std::to_string(type) +
                      "; this kiln build runs on the CPU (GPU DLPack comes with the CUDA backend)");
        }
        return py::module_::import("numpy").attr("from_dlpack")(obj);
      },
      py::arg("obj"),
      "Wraps a CPU DLPack tensor (torch, jax, cupy host arrays, numpy...) as a numpy array without copying. "
      "GPU tensors are refused until the CUDA backend exists.");

  m.attr("__version__") = kiln::versionString();
  m.def("version", &kiln::versionString);
}

}  // namespace kilnpy
