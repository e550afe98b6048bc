"""Shared fixtures of the kiln Python tests. The module under test is the one on PYTHONPATH (CTest points
it at <build>/python)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import kiln

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="session")
def example_model(tmp_path_factory):
    """examples/make_example_model.py's classifier: (onnx path, input array, expected output)."""
    out = tmp_path_factory.mktemp("example")
    subprocess.run([sys.executable, os.path.join(REPO, "examples", "make_example_model.py"), str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return (str(out / "classifier.onnx"), np.load(out / "input.npy"), np.load(out / "expected.npy"))


class RecordingLogger(kiln.Logger):
    """A Logger subclass: C++ calls log() (through the GIL-taking trampoline)."""

    def __init__(self, severity=kiln.Logger.WARNING):
        super().__init__(severity)
        self.messages = []

    def log(self, severity, msg):
        self.messages.append((severity, msg))


@pytest.fixture
def logger():
    return RecordingLogger()


def build_relu_engine(logger, n=16, dynamic=False, device=None, batch=1, max_batch=8):
    """A tiny network made with the layer API: x -> ReLU -> y. `device`: kiln.DeviceType (default: kiln's)."""
    builder = kiln.Builder(logger)
    network = builder.create_network()
    x = network.add_input("x", kiln.DataType.FLOAT, (-1, n) if dynamic else (batch, n))
    relu = network.add_activation(x, kiln.ActivationType.RELU)
    relu.get_output(0).name = "y"
    network.mark_output(relu.get_output(0))
    config = builder.create_builder_config()
    if device is not None:
        config.default_device_type = device
    if dynamic:
        profile = builder.create_optimization_profile()
        assert profile.set_shape("x", (1, n), (4, n), (max_batch, n))
        assert config.add_optimization_profile(profile) == 0
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, logger.messages
    engine = kiln.Runtime(logger).deserialize_cuda_engine(plan)
    assert engine is not None
    assert device is None or engine.device_type == device
    return engine
