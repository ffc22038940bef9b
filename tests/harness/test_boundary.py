"""Only plain data crosses between learner code and the checks."""

import json
import pickle
import struct

import pytest
import torch
from torch import nn

from torchkata.core.manifest import load
from torchkata.engine import boundary
from torchkata.engine.learner import Handle, Learner
from torchkata.engine.worker import Worker

from .grading import SOLUTIONS


class LyingTensor(torch.Tensor):
    """A rigged result: claims equality with anything."""

    def __eq__(self, other):
        return True


def test_plain_data_round_trips():
    value = {"t": torch.arange(3.0), "n": [1, 2.5, None, True, "s"], "d": torch.device("cpu"),
             "dtype": torch.float16, "size": torch.Size([2, 3]), "pair": (1, (2, 3))}
    back = boundary.cross(value)
    assert torch.equal(back["t"], value["t"])
    assert back["n"] == value["n"] and back["pair"] == value["pair"]
    assert back["d"] == value["d"] and back["dtype"] is torch.float16 and back["size"] == torch.Size([2, 3])


@pytest.mark.parametrize("make", [lambda: torch.ones(3, requires_grad=True) * 2, lambda: nn.Parameter(torch.ones(2))],
                         ids=["non_leaf", "parameter"])
def test_tensors_cross_as_plain_tensors_cut_from_their_graph(make):
    back = boundary.cross(make())
    assert type(back) is torch.Tensor and back.grad_fn is None and not back.requires_grad


def test_a_tensor_subclass_does_not_cross_as_a_tensor():
    with pytest.raises(boundary.BoundaryError, match="LyingTensor"):
        boundary.cross(torch.ones(2).as_subclass(LyingTensor))


def test_objects_stay_behind_as_handles():
    kept = []
    back = boundary.cross({"model": nn.Linear(2, 2), "rigged": torch.ones(2).as_subclass(LyingTensor)},
                          to_ref=lambda obj: kept.append(obj) or boundary.HandleRef(len(kept), type(obj).__name__, (), "x"))
    assert isinstance(back["model"], boundary.HandleRef) and back["model"].type_name == "Linear"
    assert isinstance(back["rigged"], boundary.HandleRef) and back["rigged"].type_name == "LyingTensor"


def test_a_forged_handle_is_not_trusted():
    forged = {"__torchkata_handle__": 0, "type": "Tensor", "mro": [], "text": ""}
    with pytest.raises(boundary.BoundaryError):
        boundary.cross(forged)


@pytest.mark.parametrize("make", [
    lambda: torch.randn(3, 4).t(),                              # not contiguous
    lambda: torch.randn(5, dtype=torch.complex64).conj(),       # a lazy conjugate
    lambda: torch.randn(4, dtype=torch.bfloat16),               # no numpy dtype
    lambda: torch.tensor([True, False]),
    lambda: torch.tensor(2.5),                                   # 0-d
    lambda: torch.empty(0, 3, dtype=torch.int64),
    lambda: torch.tensor([float("nan"), float("inf"), -0.0]),
], ids=["transposed", "conj", "bfloat16", "bool", "0-d", "empty", "nan-inf"])
def test_awkward_tensors_round_trip_exactly(make):
    value = make()
    back = boundary.cross(value)
    assert back.dtype == value.dtype and back.shape == value.shape
    assert torch.equal(back.resolve_conj(), value.resolve_conj()) or torch.equal(back.isnan(), value.isnan())
    assert torch.equal(torch.signbit(back.real if back.is_complex() else back.float()),
                       torch.signbit(value.resolve_conj().real if value.is_complex() else value.float()))


def test_meta_tensors_cross_without_data():
    back = boundary.cross(torch.empty(2, 3, device="meta"))
    assert back.device.type == "meta" and back.shape == (2, 3)


def test_the_reader_refuses_a_pickle():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(boundary.BoundaryError):
        boundary.loads(pickle.dumps(Evil()))


@pytest.mark.parametrize("header, payload", [
    ({"$": "tensor", "dtype": "float32", "shape": [4], "device": "cpu", "offset": 0, "nbytes": 8}, b"\0" * 8),
    ({"$": "tensor", "dtype": "float32", "shape": [1], "device": "cpu", "offset": 4, "nbytes": 4}, b"\0" * 4),
    ({"$": "tensor", "dtype": "object", "shape": [1], "device": "cpu", "offset": 0, "nbytes": 8}, b"\0" * 8),
    ({"$": "module", "name": "os"}, b""),
], ids=["bytes do not match the shape", "data outside the message", "unknown dtype", "unknown entry"])
def test_the_reader_refuses_malformed_messages(header, payload):
    text = json.dumps(header).encode()
    with pytest.raises(boundary.BoundaryError):
        boundary.loads(struct.pack("<Q", len(text)) + text + payload)


def test_learner_objects_come_back_as_handles_answering_in_plain_data():
    worker = Worker(SOLUTIONS, "cpu")
    learner = Learner(worker, load().get("networks.Model"), torch.device("cpu"))
    model = learner(device="cpu")
    assert isinstance(model, Handle) and model.is_a("Module")
    state = model.state_dict()
    assert list(state) == ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "out.weight", "out.bias"]
    assert all(type(t) is torch.Tensor for t in state.values())
    out = model(torch.randn(5, 3))
    assert type(out) is torch.Tensor and out.shape == (5, 2)
    assert model.training is True
    state["linear1.weight"].zero_()  # a copy: the learner's model is not touched from here
    assert model.state_dict()["linear1.weight"].abs().sum() > 0


def test_inputs_are_copies_learner_code_cannot_modify_the_tests_tensors():
    worker = Worker(SOLUTIONS, "cpu")
    learner = Learner(worker, load().get("initialization.zeros_"), torch.device("cpu"))
    x = torch.ones(3)
    learner(x)
    assert torch.equal(x, torch.ones(3))


def test_patched_comparisons_are_put_back_and_reported():
    from torchkata.engine.worker import Worker

    original_eq, original_allclose = torch.Tensor.__eq__, torch.allclose
    worker = Worker(SOLUTIONS, "cpu")
    learner = Learner(worker, load().get("activations.relu"), torch.device("cpu"))
    reply = boundary.loads(worker.handle(boundary.dumps({"op": "probe", "exercise": "activations.relu",
                                                         "probe": f"{__name__}:probe_patch", "args": [], "kwargs": {}})))
    assert set(reply["tampered"]) >= {"torch.allclose", "Tensor.__eq__"}
    assert torch.Tensor.__eq__ is original_eq and torch.allclose is original_allclose
    assert learner is not None


def probe_patch(scene):
    torch.allclose = lambda *a, **k: True
    torch.Tensor.__eq__ = lambda self, other: True
    return None


def test_numpy_numbers_cross_as_the_python_numbers_they_hold():
    import numbers

    import numpy

    crossed = boundary.loads(boundary.dumps([numpy.float64(1.5), numpy.int64(46), numpy.float32(0.25)]))
    assert crossed == [1.5, 46, 0.25] and [type(v) for v in crossed] == [float, int, float]

    class Pretender:  # says it is NumPy's, and hands itself back as its value
        __module__ = "numpy"

        def item(self):
            return self

    numbers.Number.register(Pretender)
    with pytest.raises(boundary.BoundaryError):
        boundary.dumps(Pretender())
