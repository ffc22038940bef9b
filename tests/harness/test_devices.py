"""One way to compare devices: `cuda` and `cuda:<current device>` are the same device.

On a GPU machine, a tensor made on torch.device("cuda") reports cuda:0, and a plain `!=`
between the two failed 43 tests of the reference solutions. These tests run on any machine.
"""

import ast
from pathlib import Path

import pytest
import torch

from torchkata.core.devices import canonical, same_device

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def current_gpu(monkeypatch):
    """Pretend the current CUDA device is `index`, without touching CUDA."""
    def set_current(index):
        monkeypatch.setattr(torch.cuda, "current_device", lambda: index)
    return set_current


@pytest.mark.parametrize("current,other,same", [(0, "cuda:0", True), (0, "cuda:1", False), (1, "cuda:1", True),
                                                (1, "cuda:0", False)])
def test_cuda_is_the_current_gpu(current_gpu, current, other, same):
    current_gpu(current)
    assert same_device("cuda", other) is same
    assert same_device(torch.device(other), torch.device("cuda")) is same
    assert canonical("cuda") == torch.device("cuda", current)


@pytest.mark.parametrize("a,b,same", [("cpu", "cpu:0", True), ("cpu", "meta", False), ("meta", "meta", True),
                                      ("cpu", "cuda:0", False)])
def test_other_devices(a, b, same):
    assert same_device(a, b) is same


def test_a_cpu_comparison_never_asks_cuda(monkeypatch):
    def touched():
        raise AssertionError("CUDA was asked for its current device on a cpu comparison")

    monkeypatch.setattr(torch.cuda, "current_device", touched)
    assert same_device("cpu", torch.empty(0).device)
    assert not same_device("meta", "cpu")


def _device_comparisons(tree):
    """`x.device == y` / `x.device != y` anywhere in a module: the comparison that fails on GPUs."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Attribute) and side.attr == "device":
                    yield node.lineno


@pytest.mark.parametrize("path", sorted([*ROOT.glob("tests/exercises/*.py"), *ROOT.glob("torchkata/*.py")]),
                         ids=lambda p: p.name)
def test_no_device_is_compared_with_equality(path):
    """The mistake itself, caught on any machine: every device comparison uses same_device."""
    lines = list(_device_comparisons(ast.parse(path.read_text(encoding="utf-8"))))
    assert not lines, f"{path.name} compares .device with == or != at lines {lines}: use torchkata.core.devices.same_device"
