"""Off-limits built-ins are noticed however they are reached, and nothing else is."""

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch import sigmoid as aliased_sigmoid

from torchkata.core.manifest import load
from torchkata.engine import tripwire
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


def _tools_in_use():
    return [tool for tool in range(6) if sys.monitoring.get_tool(tool) is not None]


OFF_SWITCHES = {"sys.setprofile(None)": lambda: sys.setprofile(None)}
if hasattr(sys, "monitoring"):  # Python 3.12+, where the watch is sys.monitoring's
    OFF_SWITCHES |= {
        "monitoring.set_events": lambda: [sys.monitoring.set_events(t, 0) for t in _tools_in_use()],
        "monitoring.free_tool_id": lambda: [sys.monitoring.free_tool_id(t) for t in _tools_in_use()],
        "monitoring.register_callback": lambda: [sys.monitoring.register_callback(t, e, None) for t in _tools_in_use()
                                                 for e in (sys.monitoring.events.PY_START, sys.monitoring.events.CALL)],
    }


@pytest.mark.parametrize("switch", OFF_SWITCHES)
def test_switching_the_watch_off_never_hides_a_forbidden_call(switch):
    """Code that stops the watch is itself noticed; code that tries and cannot has its call seen."""
    def sneaky():
        OFF_SWITCHES[switch]()
        return torch.sigmoid(x)

    found = hits("activations.sigmoid", sneaky)
    assert "torch.sigmoid" in found or any("switching off the grader's watch" in h for h in found), found


def test_switching_off_the_route_watching_is_named():
    """Whichever route watches, stopping it is named as what it is."""
    switch = "sys.setprofile(None)" if tripwire.WATCH_ROUTE == tripwire.SETPROFILE else "monitoring.set_events"
    found = hits("activations.sigmoid", OFF_SWITCHES[switch])
    assert any(f"sys.{tripwire.WATCH_ROUTE} (switching off the grader's watch)" == h for h in found), found


@pytest.mark.skipif(not hasattr(sys, "monitoring"), reason="sys.monitoring is Python 3.12's")
@pytest.mark.parametrize("switch", [s for s in OFF_SWITCHES if s.startswith("monitoring")])
def test_the_watch_leaves_no_monitoring_behind(switch):
    """After a watch, even one learner code tampered with, the tool id is free and nothing fires."""
    hits("activations.sigmoid", OFF_SWITCHES[switch])
    assert sys.monitoring.get_tool(tripwire.MONITORING_TOOL) is None
    sys.monitoring.use_tool_id(tripwire.MONITORING_TOOL, "test")
    try:
        assert sys.monitoring.get_events(tripwire.MONITORING_TOOL) == 0
    finally:
        sys.monitoring.free_tool_id(tripwire.MONITORING_TOOL)


def test_both_routes_see_the_same_calls():
    """sys.monitoring where Python has it, sys.setprofile everywhere: the same hits."""
    routes = [tripwire.SETPROFILE, *([tripwire.MONITORING] if hasattr(sys, "monitoring") else [])]
    def calls():
        aliased_sigmoid(x), x.sigmoid(), nn.Sigmoid()(x), F.sigmoid(x), torch.special.expit(x)

    seen = []
    for route in routes:
        with Tripwire(CURRICULUM.get("activations.sigmoid").off_limits, route=route) as wire:
            calls()
        seen.append(sorted(wire.hits))
    assert all(found == seen[0] for found in seen) and len(seen[0]) == 5, seen  # each call its own name


def test_torchkata_watch_setprofile_asks_for_the_older_route():
    code = "from torchkata.engine import tripwire; print(tripwire.WATCH_ROUTE)"
    env = {**os.environ, "TORCHKATA_WATCH": "setprofile"}
    asked = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert asked.stdout.strip() == "setprofile"
    default = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={k: v for k, v in env.items() if k != "TORCHKATA_WATCH"})
    assert default.stdout.strip() == ("monitoring" if hasattr(sys, "monitoring") else "setprofile")
