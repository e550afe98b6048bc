// kiln Python bindings: helpers shared by the binding sources (python/src/*.cpp).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "kiln/kiln.h"

namespace py = pybind11;

namespace kilnpy {

// ---- error reporting -------------------------------------------------------------------------------------

//! Throws the kiln.Error subclass that matches `code` (translated by the registered exception translator).
[[noreturn]] void raise(kiln::ErrorCode code, const std::string& message);
//! The last ERROR/INTERNAL_ERROR message that a kiln Logger created from Python received on this thread
//! (empty if none since clearLastError()). Used to put the C++ reason into Python exceptions.
const std::string& lastError();
void clearLastError();
//! "message: <last logged error>" or "message (see the log)".
std::string withLastError(const std::string& message);

// ---- the Logger trampoline -------------------------------------------------------------------------------

//! Every kiln.Logger made from Python is a PyLogger: log() records the last error of the calling thread and
//! calls a Python override (taking the GIL; kiln may call it from stream worker threads) or the default
//! stderr sink.
class PyLogger : public kiln::Logger {
 public:
  using kiln::Logger::Logger;
  void log(kiln::Severity severity, const char* msg) noexcept override;
};

// ---- conversions -----------------------------------------------------------------------------------------

kiln::Dims toDims(py::handle obj);
py::tuple dimsTuple(const kiln::Dims& d);
//! numpy dtype of a kiln DataType (raises for BF16, which numpy lacks).
py::dtype nptype(kiln::DataType t);
//! kiln DataType of a numpy dtype (raises for an unsupported one).
kiln::DataType fromNumpy(const py::dtype& dt);
//! An address: int, kiln.cuda.DeviceAllocation (anything with __index__/__int__), or a numpy array /
//! buffer (its data pointer).
std::uintptr_t toPtr(py::handle obj);

//! Weights argument: a numpy array (any contiguous array-like), kiln.Weights, or None (empty). Holds the
//! contiguous array alive for the duration of the add_* call (kiln copies weights at add time).
struct WeightsArg {
  py::object keep;
  kiln::Weights w{};
};
WeightsArg toWeights(py::handle obj);

//! Python-facing wrapper of kiln.Weights: a numpy array (contiguous) and its kiln type.
struct PyWeights {
  py::object array;  // None for empty weights
  kiln::DataType type{kiln::DataType::kFLOAT};
};

//! Adds __enter__/__exit__. kiln objects are freed when their last reference goes (as in TensorRT 10,
//! where context managers have no further effect); __exit__ never swallows exceptions.
template <class Cls>
Cls& withContextManager(Cls& cls) {
  cls.def("__enter__", [](py::object self) { return self; });
  cls.def("__exit__", [](py::object, py::args) { return false; });
  return cls;
}

//! Deleter for objects whose destructor may wait for stream work (which may log to a Python logger):
//! drops the GIL while destroying.
template <class T>
struct NoGilDelete {
  void operator()(T* p) const noexcept {
    if (!p) return;
    if (Py_IsInitialized() && PyGILState_Check()) {
      py::gil_scoped_release nogil;
      delete p;
    } else {
      delete p;
    }
  }
};
template <class T>
using Holder = std::unique_ptr<T, NoGilDelete<T>>;
template <class T>
Holder<T> hold(std::unique_ptr<T> p) {
  return Holder<T>(p.release());
}

//! The kiln::Stream of a stream handle (int) of a live kiln.cuda.Stream; nullptr for handle 0 (the
//! default stream: work runs synchronously); raises kiln.InvalidArgumentError for an unknown handle.
kiln::Stream* streamFromHandle(py::handle handle);

// ---- module parts ----------------------------------------------------------------------------------------
void initCore(py::module_& m);
void initNetwork(py::module_& m);
void initBuilder(py::module_& m);
void initRuntime(py::module_& m);
void initCuda(py::module_& m);

}  // namespace kilnpy
