// kiln Python bindings: the _kiln extension module (imported by python/kiln/__init__.py).
#include "common.h"

PYBIND11_MODULE(_kiln, m) {
  m.doc() = "kiln: an open inference optimizer and runtime (TensorRT-style Python API).";
  kilnpy::initCore(m);
  kilnpy::initNetwork(m);
  kilnpy::initBuilder(m);
  kilnpy::initRuntime(m);
  kilnpy::initCuda(m);
}
