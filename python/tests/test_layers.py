"""The layer API from Python: a classic sample CNN (conv -> relu -> pool -> conv -> relu -> pool ->
shuffle (flatten) -> matrix multiply + bias -> softmax) with numpy weights, checked against numpy."""
import numpy as np
import pytest

import kiln as trt


def conv2d(x, w, b, pad):
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    out = np.zeros((n, k, oh, ow))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nchw,kc->nkhw", xp[:, :, i:i + oh, j:j + ow], w[:, :, i, j].astype(np.float64))
    return out + b.reshape(1, -1, 1, 1)


def maxpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def run(engine, feeds):
    with engine.create_execution_context() as ctx:
        return ctx.infer(feeds)


def build(logger, network, builder):
    config = builder.create_builder_config()
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, logger.messages
    return trt.Runtime(logger).deserialize_cuda_engine(plan)


def test_sample_cnn(logger):
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.3, (4, 1, 5, 5)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 4).astype(np.float32)
    w2 = rng.normal(0, 0.3, (8, 4, 3, 3)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 8).astype(np.float32)
    wf = rng.normal(0, 0.2, (8 * 4 * 4, 10)).astype(np.float32)
    bf = rng.normal(0, 0.1, (1, 10)).astype(np.float32)
    x = rng.uniform(-1, 1, (1, 1, 16, 16)).astype(np.float32)

    builder = trt.Builder(logger)
    network = builder.create_network()
    data = network.add_input("data", trt.float32, (1, 1, 16, 16))
    conv1 = network.add_convolution_nd(data, 4, (5, 5), w1, b1)
    conv1.stride_nd = (1, 1)
    conv1.padding_nd = (2, 2)
    conv1.name = "conv1"
    assert tuple(conv1.padding_nd) == (2, 2) and conv1.num_output_maps == 4
    relu1 = network.add_activation(conv1.get_output(0), trt.ActivationType.RELU)
    pool1 = network.add_pooling_nd(relu1.get_output(0), trt.PoolingType.MAX, (2, 2))
    pool1.stride_nd = trt.Dims2(2, 2)
    conv2 = network.add_convolution_nd(pool1.get_output(0), 8, (3, 3), trt.Weights(w2), trt.Weights(b2))
    conv2.padding_nd = (1, 1)
    relu2 = network.add_activation(conv2.get_output(0), trt.ActivationType.RELU)
    pool2 = network.add_pooling_nd(relu2.get_output(0), trt.PoolingType.MAX, (2, 2))
    pool2.stride_nd = (2, 2)
    assert tuple(pool2.get_output(0).shape) == (1, 8, 4, 4)
    flat = network.add_shuffle(pool2.get_output(0))
    flat.reshape_dims = (1, -1)
    fc_w = network.add_constant(wf.shape, wf)
    fc_b = network.add_constant(bf.shape, bf)
    mm = network.add_matrix_multiply(flat.get_output(0), trt.MatrixOperation.NONE, fc_w.get_output(0),
                                     trt.MatrixOperation.NONE)
    add = network.add_elementwise(mm.get_output(0), fc_b.get_output(0), trt.ElementWiseOperation.SUM)
    softmax = network.add_softmax(add.get_output(0))
    softmax.axes = 1 << 1
    softmax.get_output(0).name = "prob"
    network.mark_output(softmax.get_output(0))
    assert network.num_layers == len(network) >= 10
    assert network[0].name == "conv1" and isinstance(network[0], trt.IConvolutionLayer)
    assert network[0].type == trt.LayerType.CONVOLUTION
    assert tuple(softmax.get_output(0).shape) == (1, 10)
    # the weights were copied at add time: clobbering the arrays does not change the network
    w1[...] = 0

    engine = build(logger, network, builder)
    prob = run(engine, {"data": x})["prob"]

    w1 = np.random.default_rng(0).normal(0, 0.3, (4, 1, 5, 5)).astype(np.float32)
    y = maxpool2(np.maximum(conv2d(x, w1, b1, 2), 0))
    y = maxpool2(np.maximum(conv2d(y, w2, b2, 1), 0))
    logits = y.reshape(1, -1) @ wf.astype(np.float64) + bf
    e = np.exp(logits - logits.max())
    ref = e / e.sum()
    assert np.allclose(prob, ref, rtol=1e-4, atol=1e-6)


def test_misc_layers(logger):
    builder = trt.Builder(logger)
    network = builder.create_network()
    a = network.add_input("a", trt.DataType.FLOAT, (2, 3))
    b = network.add_input("b", np.float32, (2, 3))
    cat = network.add_concatenation([a, b])
    cat.axis = 0
    red = network.add_reduce(cat.get_output(0), trt.ReduceOperation.SUM, 1 << 1, keep_dims=False)
    ident = network.add_identity(red.get_output(0))
    cast = network.add_cast(ident.get_output(0), trt.DataType.INT32)
    unary = network.add_unary(a, trt.UnaryOperation.ABS)
    scale = network.add_scale(b, trt.ScaleMode.UNIFORM, shift=np.array([1.0], np.float32),
                              scale=np.array([2.0], np.float32))
    shuf = network.add_shuffle(a)
    shuf.first_transpose = (1, 0)
    assert shuf.first_transpose[:2] == (1, 0)
    sl = network.add_slice(a, (0, 1), (2, 2), (1, 1))
    for name, layer in [("sum", cast), ("abs", unary), ("scaled", scale), ("t", shuf), ("sl", sl)]:
        layer.get_output(0).name = name
        network.mark_output(layer.get_output(0))
    assert network.num_outputs == 5
    engine = build(logger, network, builder)
    assert engine.get_tensor_dtype("sum") == trt.DataType.INT32
    xa = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    xb = np.ones((2, 3), np.float32)
    out = run(engine, {"a": xa, "b": xb})
    assert out["sum"].dtype == np.int32
    np.testing.assert_array_equal(out["sum"], np.concatenate([xa, xb]).sum(axis=1).astype(np.int32))
    np.testing.assert_allclose(out["abs"], np.abs(xa))
    np.testing.assert_allclose(out["scaled"], xb * 2 + 1)
    np.testing.assert_allclose(out["t"], xa.T)
    np.testing.assert_allclose(out["sl"], xa[:, 1:3])


def test_layer_programming_error_raises(logger):
    builder = trt.Builder(logger)
    network = builder.create_network()
    x = network.add_input("x", trt.float32, (1, 2, 4, 4))
    with pytest.raises(trt.Error):
        # 3 weights for a 1x1 conv with 2 input channels and 4 maps: the count does not match
        network.add_convolution_nd(x, 4, (1, 1), np.zeros(3, np.float32), None)
    layer = network.add_identity(x)
    with pytest.raises((trt.Error, IndexError)):
        layer.get_output(5)
