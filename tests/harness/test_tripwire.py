"""Off-limits built-ins are noticed however they are reached, and nothing else is."""

import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch import sigmoid as aliased_sigmoid

from torchkata.core.manifest import load
from torchkata.engine.tripwire import Tripwire

CURRICULUM = load()
x = torch.randn(4, 3)


def hits(exercise, call):
    with Tripwire(CURRICULUM.get(exercise).off_limits) as wire:
        call()
    return wire.hits


@pytest.mark.parametrize("exercise,call,name", [
    ("activations.sigmoid", lambda: torch.sigmoid(x), "torch.sigmoid"),
    ("activations.sigmoid", lambda: aliased_sigmoid(x), "torch.sigmoid"),
    ("activations.sigmoid", lambda: x.sigmoid(), "torch.Tensor.sigmoid"),
    ("activations.sigmoid", lambda: torch.Tensor.sigmoid(x), "torch.Tensor.sigmoid"),
    ("activations.sigmoid", lambda: nn.Sigmoid()(x), "torch.nn.Sigmoid"),
    ("activations.sigmoid", lambda: torch.special.expit(x), "torch.special.expit"),
    ("activations.sigmoid", lambda: F.sigmoid(x), "torch.nn.functional.sigmoid"),
    ("activations.tanh", lambda: x.clone().tanh_(), "torch.Tensor.tanh_"),
    ("activations.relu", lambda: F.relu(x), "torch.nn.functional.relu"),
    ("activations.softmax", lambda: F.log_softmax(x, 1), "torch.nn.functional.log_softmax"),
    ("activations.softmax", lambda: torch.special.softmax(x, 1), "torch.special.softmax"),
    ("activations.sigmoid_derivative", lambda: x.clone().requires_grad_().sum().backward(), "torch.Tensor.backward"),
    ("activations.sigmoid_derivative", lambda: torch.autograd.functional.jacobian(torch.exp, x),
     "torch.autograd.functional.jacobian"),
    ("initialization.xavier_normal_", lambda: nn.init.xavier_normal_(torch.empty(3, 3)), "torch.nn.init.xavier_normal_"),
    ("initialization.eye_", lambda: nn.init._no_grad_fill_(torch.empty(3), 1.0), "torch.nn.init._no_grad_fill_"),
    ("regularization.dropout", lambda: nn.Dropout()(x), "torch.nn.Dropout"),
    ("losses.cross_entropy", lambda: F.cross_entropy(x, torch.tensor([0, 1, 2, 0])), "torch.nn.functional.cross_entropy"),
    ("losses.cross_entropy", lambda: x.log_softmax(1), "torch.Tensor.log_softmax"),
    ("losses.mse_loss", lambda: nn.MSELoss()(x, x), "torch.nn.MSELoss"),
    ("losses.smooth_l1_loss", lambda: F.huber_loss(x, x), "torch.nn.functional.huber_loss"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_built_in_is_noticed(exercise, call, name):
    assert name in hits(exercise, call)


@pytest.mark.parametrize("exercise,call", [
    ("activations.sigmoid", lambda: 1 / (1 + torch.exp(-x))),
    ("activations.softmax", lambda: torch.logsumexp(x, 1)),
    ("activations.relu", lambda: torch.clamp(x, min=0)),
    ("initialization.normal_", lambda: torch.empty(3).normal_()),
    ("losses.cross_entropy", lambda: torch.gather(x, 1, torch.zeros(4, 1, dtype=torch.long))),
    ("networks.Model", lambda: torch.softmax(x, 1)),  # networks: torch is yours to use
])
def test_allowed_operations_are_not_flagged(exercise, call):
    assert hits(exercise, call) == []


def test_previous_profiler_is_restored():
    def mine(frame, event, arg):
        return None

    sys.setprofile(mine)
    try:
        with Tripwire(CURRICULUM.get("activations.sigmoid").off_limits):
            torch.sigmoid(x)
        assert sys.getprofile() is mine
    finally:
        sys.setprofile(None)


def test_switching_the_watch_off_is_itself_noticed():
    def sneaky():
        sys.setprofile(None)
        return torch.sigmoid(x)

    found = hits("activations.sigmoid", sneaky)
    assert any("sys.setprofile" in h for h in found)
