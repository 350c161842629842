"""dl_core.device: the single place that chooses where to compute."""
from __future__ import annotations

import pytest
import torch

from dl_core.device import ENV_VAR, describe, pick_device

CUDA = torch.cuda.is_available()
MPS = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def test_env_var_name():
    assert ENV_VAR == "DLV_DEVICE"


@pytest.mark.skipif(CUDA or MPS, reason="an accelerator is available, so the default is not the CPU")
def test_default_is_cpu_without_accelerator():
    assert pick_device({}) == torch.device("cpu")
    assert pick_device({ENV_VAR: ""}) == torch.device("cpu")  # empty means unset


@pytest.mark.skipif(not CUDA, reason="CUDA not available")
def test_default_is_cuda_when_available():
    assert pick_device({}).type == "cuda"


@pytest.mark.parametrize("value", ["cpu", "CPU", "  cpu "])
def test_explicit_cpu(value):
    assert pick_device({ENV_VAR: value}) == torch.device("cpu")


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert pick_device() == torch.device("cpu")


@pytest.mark.skipif(CUDA, reason="CUDA is available here")
@pytest.mark.parametrize("value", ["cuda", "cuda:1"])
def test_cuda_requested_but_unavailable(value):
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        pick_device({ENV_VAR: value})


@pytest.mark.skipif(MPS, reason="MPS is available here")
def test_mps_requested_but_unavailable():
    with pytest.raises(RuntimeError, match="MPS is not available"):
        pick_device({ENV_VAR: "mps"})


@pytest.mark.parametrize("value", ["tpu9", "gpu", "cpu:x"])
def test_malformed_name(value):
    with pytest.raises(RuntimeError):
        pick_device({ENV_VAR: value})


def test_describe_cpu():
    text = describe(torch.device("cpu"))
    assert isinstance(text, str)
    assert text.startswith("cpu")
    assert f"{torch.get_num_threads()} threads" in text
