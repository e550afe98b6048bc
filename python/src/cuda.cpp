// kiln Python bindings: the kiln.cuda module (pycuda-style memory, streams, events, copies).
//
// Where a GPU is usable (kiln::getDefaultDeviceType() == kGPU), mem_alloc is cudaMalloc'd device memory,
// pagelocked_empty is cudaHostAlloc'd memory and a Stream is a CUDA stream. Without one (or with
// KILN_DEVICE=cpu), "device" memory is 64-byte-aligned host memory, page-locked memory is ordinary host
// memory and a Stream is an ordered work queue served by its own thread, so the same script runs on both.
// Stream(device=...) and mem_alloc(n, device=...) pick a device explicitly (a CPU plan on a GPU machine).
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "kiln/device.h"

#include "common.h"

namespace kilnpy {

namespace {
using namespace kiln;

// Registry of the live kiln.cuda.Stream objects, so that an int handle (what TensorRT's Python API passes
// around: the cudaStream_t on the GPU, the kiln::Stream* on the CPU) can be mapped back to the kiln::Stream
// safely.
std::mutex registryMu;
std::unordered_map<std::uintptr_t, Stream*>& registry() {
  static auto* r = new std::unordered_map<std::uintptr_t, Stream*>();
  return *r;
}

struct PyStream {
  std::unique_ptr<Stream> s;
  explicit PyStream(std::optional<DeviceType> device) : s(std::make_unique<Stream>(device.value_or(getDefaultDeviceType()))) {
    std::lock_guard<std::mutex> l(registryMu);
    registry()[handle()] = s.get();
  }
  ~PyStream() {
    {
      std::lock_guard<std::mutex> l(registryMu);
      registry().erase(handle());
    }
    if (Py_IsInitialized() && PyGILState_Check()) {
      py::gil_scoped_release nogil;  // the destructor waits for queued work, which may log from Python
      s.reset();
    } else {
      s.reset();
    }
  }
  std::uintptr_t handle() const { return reinterpret_cast<std::uintptr_t>(s->handle()); }
  void synchronize() {
    bool ok;
    {
      py::gil_scoped_release nogil;
      ok = s->synchronize();
    }
    if (!ok) raise(ErrorCode::kFAILED_EXECUTION, "work queued on the stream failed (the reason went to the logger)");
  }
};

struct DeviceAllocation {
  std::unique_ptr<Buffer> buf;
  std::size_t bytes{0};
  std::uintptr_t ptr() const {
    if (!buf) raise(ErrorCode::kINVALID_STATE, "the DeviceAllocation was freed");
    return reinterpret_cast<std::uintptr_t>(buf->data());
  }
  void free() { buf.reset(); }
};

Stream* optStream(py::handle stream) { return stream.is_none() ? nullptr : streamFromHandle(stream); }

void copy(std::uintptr_t dst, std::uintptr_t src, std::size_t bytes, py::handle stream) {
  Stream* s = optStream(stream);
  bool ok;
  {
    py::gil_scoped_release nogil;
    ok = s ? kiln::memcpyAsync(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes, *s)
           : kiln::memcpy(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes);
  }
  if (!ok) raise(ErrorCode::kFAILED_EXECUTION, "memcpy of " + std::to_string(bytes) + " bytes failed");
}

py::buffer_info hostInfo(py::handle host, bool writable) {
  if (!PyObject_CheckBuffer(host.ptr()))
    raise(ErrorCode::kINVALID_ARGUMENT, "expected a host array (numpy array or another buffer)");
  py::buffer_info info = py::reinterpret_borrow<py::buffer>(host).request(writable);
  // contiguity: the byte span must be dense
  py::ssize_t expect = info.itemsize;
  for (py::ssize_t i = info.ndim - 1; i >= 0; --i) {
    if (info.shape[i] != 1 && info.strides[i] != expect)
      raise(ErrorCode::kINVALID_ARGUMENT, "the host array must be C-contiguous");
    expect *= info.shape[i];
  }
  return info;
}

std::size_t nbytes(const py::buffer_info& i) { return static_cast<std::size_t>(i.size * i.itemsize); }

py::array pagelocked(py::object shape, py::object dtype, bool zero) {
  py::dtype dt = py::dtype::from_args(dtype);
  std::vector<py::ssize_t> sh;
  if (PyLong_Check(shape.ptr())) sh.push_back(shape.cast<py::ssize_t>());
  else
    for (py::handle d : py::iter(shape)) sh.push_back(py::int_(py::reinterpret_borrow<py::object>(d)).cast<py::ssize_t>());
  std::size_t count = 1;
  for (auto d : sh) {
    if (d < 0) raise(ErrorCode::kINVALID_ARGUMENT, "pagelocked_empty: negative extent");
    count *= static_cast<std::size_t>(d);
  }
  auto* buf = new Buffer(count * static_cast<std::size_t>(dt.itemsize()), MemoryKind::kPAGELOCKED, getDefaultDeviceType());
  if (zero) std::memset(buf->data(), 0, buf->size());
  // The capsule owns the kiln::Buffer; the array keeps the capsule (and so the memory) alive.
  py::capsule owner(buf, [](void* p) { delete static_cast<Buffer*>(p); });
  return py::array(dt, sh, {}, buf->data(), owner);
}
}  // namespace

kiln::Stream* streamFromHandle(py::handle handle) {
  if (handle.is_none()) return nullptr;
  if (py::isinstance<PyStream>(handle)) return handle.cast<PyStream&>().s.get();
  std::uintptr_t h = toPtr(handle);
  if (h == 0) return nullptr;
  std::lock_guard<std::mutex> l(registryMu);
  auto it = registry().find(h);
  if (it == registry().end())
    raise(ErrorCode::kINVALID_ARGUMENT, "stream handle " + std::to_string(h) +
                                            " is not a live kiln.cuda.Stream (pass stream.handle of a Stream "
                                            "that is still referenced, or 0 for synchronous execution)");
  return it->second;
}

void initCuda(py::module_& parent) {
  py::module_ m = parent.def_submodule("cuda", R"doc(pycuda-style helpers for kiln: CUDA memory and streams where a GPU is usable (backend == "cuda"),
host memory and worker-thread streams otherwise (backend == "cpu").

pagelocked_empty(shape, dtype), mem_alloc(nbytes), Stream(), Event(), memcpy_htod[_async],
memcpy_dtoh[_async], memcpy_dtod[_async]. Addresses are ints (int(allocation)); stream arguments take a
Stream or its .handle (0 / None: synchronous). Arrays passed to *_async calls must stay alive until the
stream is synchronized.)doc");

  py::class_<PyStream> stream(m, "Stream");
  stream.def(py::init<std::optional<DeviceType>>(), py::arg("device") = py::none(),
             "A stream on `device` (default: kiln.cuda.device_type, the GPU where one is usable).")
      .def_property_readonly("device", [](const PyStream& p) { return p.s->device(); })
      .def_property_readonly("handle", &PyStream::handle, "The int handle for execute_async_v3 (the kiln::Stream*).")
      .def_property_readonly("ptr", &PyStream::handle)
      .def("synchronize", &PyStream::synchronize, "Waits for queued work; raises kiln.ExecutionError if some failed.")
      .def("is_done", [](const PyStream& s) { return s.s->query(); })
      .def("__int__", &PyStream::handle)
      .def("__index__", &PyStream::handle)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyStream& s, py::args) {
        s.synchronize();
        return false;
      });

  py::class_<Event>(m, "Event")
      .def(py::init<>())
      .def(
          "record",
          [](Event& e, py::object stream) -> Event& {
            Stream* s = optStream(stream);
            if (!s) raise(ErrorCode::kINVALID_ARGUMENT, "Event.record needs a kiln.cuda.Stream");
            e.record(*s);
            return e;
          },
          py::arg("stream"), py::return_value_policy::reference_internal)
      .def("synchronize",
           [](Event& e) {
             py::gil_scoped_release nogil;
             e.synchronize();
           })
      .def("query", &Event::query)
      .def("time_since", [](const Event& self, const Event& start) { return Event::elapsedTime(start, self); },
           py::arg("start"), "Milliseconds from start to this event.")
      .def("time_till", [](const Event& self, const Event& end) { return Event::elapsedTime(self, end); }, py::arg("end"));

  py::class_<DeviceAllocation> alloc(m, "DeviceAllocation");
  alloc.def("__int__", &DeviceAllocation::ptr)
      .def("__index__", &DeviceAllocation::ptr)
      .def_property_readonly("ptr", &DeviceAllocation::ptr)
      .def_property_readonly("nbytes", [](const DeviceAllocation& a) { return a.bytes; })
      .def("free", &DeviceAllocation::free)
      .def("__repr__", [](const DeviceAllocation& a) {
        return a.buf ? "<kiln.cuda.DeviceAllocation " + std::to_string(a.bytes) + " bytes>"
                     : std::string("<kiln.cuda.DeviceAllocation (freed)>");
      })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](DeviceAllocation& a, py::args) {
        a.free();
        return false;
      });

  m.def(
      "mem_alloc",
      [](std::size_t bytes, std::optional<DeviceType> device) {
        DeviceAllocation a;
        a.buf = std::make_unique<Buffer>(bytes, MemoryKind::kDEVICE, device.value_or(getDefaultDeviceType()));
        a.bytes = bytes;
        return a;
      },
      py::arg("nbytes"), py::arg("device") = py::none(),
      "Allocates device memory on `device` (default kiln.cuda.device_type; on the CPU: aligned host memory). "
      "int(a) is its address.");
  m.def(
      "pagelocked_empty", [](py::object shape, py::object dtype) { return pagelocked(shape, dtype, false); },
      py::arg("shape"), py::arg("dtype"),
      "A numpy array over kiln page-locked memory (a kiln::Buffer kept alive by the array).");
  m.def(
      "pagelocked_zeros", [](py::object shape, py::object dtype) { return pagelocked(shape, dtype, true); },
      py::arg("shape"), py::arg("dtype"));

  m.def(
      "memcpy_htod_async",
      [](py::object dst, py::object src, py::object stream) {
        py::buffer_info i = hostInfo(src, false);
        copy(toPtr(dst), reinterpret_cast<std::uintptr_t>(i.ptr), nbytes(i), stream);
      },
      py::arg("dest"), py::arg("src"), py::arg("stream") = py::none());
  m.def(
      "memcpy_dtoh_async",
      [](py::object dst, py::object src, py::object stream) {
        py::buffer_info i = hostInfo(dst, true);
        copy(reinterpret_cast<std::uintptr_t>(i.ptr), toPtr(src), nbytes(i), stream);
      },
      py::arg("dest"), py::arg("src"), py::arg("stream") = py::none());
  m.def(
      "memcpy_htod",
      [](py::object dst, py::object src) {
        py::buffer_info i = hostInfo(src, false);
        copy(toPtr(dst), reinterpret_cast<std::uintptr_t>(i.ptr), nbytes(i), py::none());
      },
      py::arg("dest"), py::arg("src"));
  m.def(
      "memcpy_dtoh",
      [](py::object dst, py::object src) {
        py::buffer_info i = hostInfo(dst, true);
        copy(reinterpret_cast<std::uintptr_t>(i.ptr), toPtr(src), nbytes(i), py::none());
      },
      py::arg("dest"), py::arg("src"));
  m.def(
      "memcpy_dtod_async",
      [](py::object dst, py::object src, std::size_t size, py::object stream) { copy(toPtr(dst), toPtr(src), size, stream); },
      py::arg("dest"), py::arg("src"), py::arg("size"), py::arg("stream") = py::none());
  m.def(
      "memcpy_dtod", [](py::object dst, py::object src, std::size_t size) { copy(toPtr(dst), toPtr(src), size, py::none()); },
      py::arg("dest"), py::arg("src"), py::arg("size"));
  const bool gpu = getDefaultDeviceType() == DeviceType::kGPU;
  m.attr("backend") = gpu ? "cuda" : "cpu";
  m.attr("device_type") = gpu ? DeviceType::kGPU : DeviceType::kCPU;
  m.def(
      "is_available",
      []() {
        std::string why;
        bool ok = isGpuAvailable(&why);
        return py::make_tuple(ok, why);
      },
      "(True, '') when a GPU is usable, else (False, the reason).");
  m.def(
      "memory_kind", [](py::object p) { return static_cast<int>(getMemoryKind(reinterpret_cast<const void*>(toPtr(p)))); },
      py::arg("address"), "0 host, 1 page-locked, 2 device: where an address (int, DeviceAllocation) points.");
}

}  // namespace kilnpy
