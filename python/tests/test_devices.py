"""kiln.cuda on either device: the default follows kiln's default device (the GPU where one is usable),
Stream/mem_alloc take an explicit device, infer() stages numpy arrays for GPU engines, and memory of the
wrong device is refused with a message instead of being read."""
import numpy as np
import pytest

import kiln
from kiln import cuda
from conftest import RecordingLogger, build_relu_engine

GPU, WHY = cuda.is_available()


def relu_engine(logger, device, dynamic=False):
    return build_relu_engine(logger, dynamic=dynamic, device=device, batch=2, max_batch=64)


def test_backend_follows_the_default_device():
    assert cuda.backend == ("cuda" if cuda.device_type == kiln.DeviceType.GPU else "cpu")
    assert isinstance(WHY, str)
    if not GPU:
        assert cuda.device_type == kiln.DeviceType.CPU and WHY
    assert cuda.Stream().device == cuda.device_type


def test_explicit_cpu_memory_and_stream_run_a_cpu_engine():
    """A CPU plan on any machine: CPU stream, host "device" memory, async copies ordered on the stream."""
    log = RecordingLogger()
    engine = relu_engine(log, kiln.DeviceType.CPU)
    ctx = engine.create_execution_context()
    stream = cuda.Stream(device=kiln.DeviceType.CPU)
    assert stream.device == kiln.DeviceType.CPU
    x = (np.arange(32, dtype=np.float32) - 16).reshape(2, 16)
    host_in, host_out = cuda.pagelocked_empty(x.shape, np.float32), cuda.pagelocked_zeros(x.shape, np.float32)
    host_in[...] = x
    d_in = cuda.mem_alloc(x.nbytes, device=kiln.DeviceType.CPU)
    d_out = cuda.mem_alloc(x.nbytes, device=kiln.DeviceType.CPU)
    assert cuda.memory_kind(d_in) == 0  # host memory
    ctx.set_tensor_address("x", int(d_in))
    ctx.set_tensor_address("y", int(d_out))
    cuda.memcpy_htod_async(d_in, host_in, stream)
    assert ctx.execute_async_v3(stream.handle)
    cuda.memcpy_dtoh_async(host_out, d_out, stream)
    stream.synchronize()
    np.testing.assert_array_equal(host_out, np.maximum(x, 0))


@pytest.mark.skipif(GPU, reason="checks the message given where no GPU is usable")
def test_gpu_memory_without_a_gpu_is_a_clear_error():
    with pytest.raises(kiln.Error) as e:
        cuda.mem_alloc(64, device=kiln.DeviceType.GPU)
    assert "GPU" in str(e.value) or "CUDA" in str(e.value)
    with pytest.raises(kiln.Error):
        cuda.Stream(device=kiln.DeviceType.GPU)


@pytest.mark.skipif(not GPU, reason=f"no GPU: {WHY}")
def test_gpu_engine_with_device_memory_and_infer():
    log = RecordingLogger()
    engine = relu_engine(log, kiln.DeviceType.GPU, dynamic=True)
    ctx = engine.create_execution_context()
    # infer() stages the arrays (page-locked in, device out) and grows its buffers with the shapes
    for rows in (3, 64, 5):
        x = np.random.default_rng(rows).standard_normal((rows, 16)).astype(np.float32)
        y = ctx.infer({"x": x})["y"]
        np.testing.assert_array_equal(y, np.maximum(x, 0))
    # the zero-copy path: CUDA device memory bound directly, one CUDA stream
    stream = cuda.Stream()
    assert stream.device == kiln.DeviceType.GPU
    x = (np.arange(64, dtype=np.float32) - 30).reshape(4, 16)
    h_in, h_out = cuda.pagelocked_empty(x.shape, np.float32), cuda.pagelocked_zeros(x.shape, np.float32)
    h_in[...] = x
    assert cuda.memory_kind(h_in.ctypes.data) == 1
    d_in, d_out = cuda.mem_alloc(x.nbytes), cuda.mem_alloc(x.nbytes)
    assert cuda.memory_kind(d_in) == 2
    assert ctx.set_input_shape("x", x.shape)
    assert ctx.set_tensor_address("x", int(d_in)) and ctx.set_tensor_address("y", int(d_out))
    cuda.memcpy_htod_async(d_in, h_in, stream)
    assert ctx.execute_async_v3(stream.handle)
    cuda.memcpy_dtoh_async(h_out, d_out, stream)
    stream.synchronize()
    np.testing.assert_array_equal(h_out, np.maximum(x, 0))


@pytest.mark.skipif(not GPU, reason=f"no GPU: {WHY}")
def test_wrong_memory_for_the_engine_is_refused():
    log = RecordingLogger()
    gpu_ctx = relu_engine(log, kiln.DeviceType.GPU).create_execution_context()
    cpu_ctx = relu_engine(log, kiln.DeviceType.CPU).create_execution_context()
    pageable = np.zeros((2, 16), np.float32)
    device = cuda.mem_alloc(pageable.nbytes)
    log.messages.clear()
    assert not gpu_ctx.set_tensor_address("x", pageable.ctypes.data)
    assert "pageable" in log.messages[-1][1]
    assert not cpu_ctx.set_tensor_address("x", int(device))
    assert "device memory" in log.messages[-1][1]
    # a GPU stream for a CPU engine
    cpu_ctx.set_tensor_address("x", pageable.ctypes.data)
    out = np.zeros_like(pageable)
    cpu_ctx.set_tensor_address("y", out.ctypes.data)
    assert not cpu_ctx.execute_async_v3(cuda.Stream().handle)
