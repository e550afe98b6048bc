"""The classic TensorRT Python deployment script, written against kiln:
logger -> builder -> network -> OnnxParser -> config -> build -> plan file -> Runtime -> engine ->
page-locked host buffers -> device buffers -> stream -> context -> async copies -> execute_async_v3 ->
synchronize."""
import numpy as np

import kiln as trt
from kiln import cuda

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)


def build_engine_file(onnx_path, plan_path):
    builder = trt.Builder(TRT_LOGGER)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, TRT_LOGGER)
    with open(onnx_path, "rb") as f:
        if not parser.parse(f.read()):
            for i in range(parser.num_errors):
                print(parser.get_error(i))
            raise RuntimeError("ONNX parse failed")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    serialized = builder.build_serialized_network(network, config)
    assert serialized is not None
    with open(plan_path, "wb") as f:
        f.write(serialized)


def allocate_buffers(engine):
    inputs, outputs, bindings = [], [], []
    stream = cuda.Stream()
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        size = trt.volume(engine.get_tensor_shape(name))
        dtype = trt.nptype(engine.get_tensor_dtype(name))
        host_mem = cuda.pagelocked_empty(size, dtype)
        device_mem = cuda.mem_alloc(host_mem.nbytes)
        bindings.append(int(device_mem))
        if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
            inputs.append((name, host_mem, device_mem))
        else:
            outputs.append((name, host_mem, device_mem))
    return inputs, outputs, bindings, stream


def test_classic_deployment_script(example_model, tmp_path):
    onnx_path, x, expected = example_model
    plan_path = tmp_path / "classifier.plan"
    build_engine_file(onnx_path, plan_path)

    runtime = trt.Runtime(TRT_LOGGER)
    with open(plan_path, "rb") as f:
        engine = runtime.deserialize_cuda_engine(f.read())
    assert engine is not None
    assert engine.num_io_tensors == 2
    inputs, outputs, bindings, stream = allocate_buffers(engine)
    context = engine.create_execution_context()
    for name, _, dev in inputs + outputs:
        assert context.set_tensor_address(name, int(dev))

    np.copyto(inputs[0][1], x.ravel())
    for _, host, dev in inputs:
        cuda.memcpy_htod_async(dev, host, stream)
    assert context.execute_async_v3(stream_handle=stream.handle)
    for _, host, dev in outputs:
        cuda.memcpy_dtoh_async(host, dev, stream)
    stream.synchronize()

    out = outputs[0][1].reshape(expected.shape)
    rel = np.abs(out - expected).max() / np.abs(expected).max()
    assert rel < 1e-5

    # the legacy binding calls of the same engine
    assert engine.num_bindings == 2
    assert engine.get_binding_name(0) == "image"
    assert engine.binding_is_input(0) and not engine.binding_is_input(1)
    assert tuple(engine.get_binding_shape(1)) == expected.shape
    outputs[0][1].fill(0)
    assert context.execute_v2(bindings)
    cuda.memcpy_dtoh(outputs[0][1], outputs[0][2])
    assert np.abs(outputs[0][1].reshape(expected.shape) - expected).max() / np.abs(expected).max() < 1e-5
    outputs[0][1].fill(0)
    assert context.execute_async_v2(bindings=bindings, stream_handle=stream.handle)
    cuda.memcpy_dtoh_async(outputs[0][1], outputs[0][2], stream)
    stream.synchronize()
    assert np.allclose(outputs[0][1].reshape(expected.shape), expected, rtol=1e-5, atol=1e-7)

    # serialize() round trip and deserialize_engine alias
    engine2 = runtime.deserialize_engine(engine.serialize())
    assert engine2 is not None and engine2.num_io_tensors == 2
    engine3 = runtime.deserialize_engine_from_file(str(plan_path))
    assert engine3.create_execution_context().infer({"image": x})["probs"].shape == expected.shape


def test_parse_from_file_and_parser_api(example_model):
    onnx_path, _, _ = example_model
    builder = trt.Builder(TRT_LOGGER)
    network = builder.create_network()
    parser = trt.OnnxParser(network, TRT_LOGGER)
    assert parser.parse_from_file(onnx_path)
    assert parser.num_errors == 0
    assert parser.supports_operator("Conv")
    assert not parser.supports_operator("NoSuchOp")
    assert network.num_inputs == 1 and network.get_input(0).name == "image"
    assert network.num_layers > 0
    assert tuple(network.get_input(0).shape) == (1, 3, 32, 32)


def test_parser_errors_are_reported(logger):
    import onnx
    from onnx import TensorProto, helper
    node = helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    builder = trt.Builder(logger)
    network = builder.create_network()
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(model.SerializeToString()) is False
    assert parser.num_errors >= 1
    err = parser.get_error(0)
    assert err.node_name() == "mystery"
    assert err.op == "NoSuchOp" and err.node_operator() == "NoSuchOp"
    assert "NoSuchOp" in str(err) and "NoSuchOp" in err.desc()
    assert err.code() == trt.ErrorCode.UNSUPPORTED_NODE
