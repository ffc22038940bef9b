"""Scenarios that run beside learner code and report back in plain data.

A probe is a module-level function `probe_xxx(scene, *args, **kwargs)`: `scene.fn` is the
learner's exercise (watched by the tripwire), `scene.device` the run's device. It builds
what cannot cross the boundary (a parameter that requires grad, a graph, an optimizer),
calls the learner, and returns facts as plain data; the test then judges those facts.
The generic probes live here; exercise-specific ones live in their test module.
"""

from __future__ import annotations

import torch

from ..core.i18n import _


def backpropagate(out: torch.Tensor, upstream: torch.Tensor) -> None:
    """`out.backward(upstream)`, without its one-time cost: torch's first backward given a
    gradient tensor imports torch.fx's symbolic shapes and sympy (~0.6 s, most of a check).
    The gradient of sum(out * upstream) is the same vector-Jacobian product, bit for bit
    (the product's backward multiplies upstream by exactly 1)."""
    if out.shape != upstream.shape:
        raise RuntimeError(_("Mismatch in shape: the result has shape {got}, but its gradient has shape {expected} "
                             "(the shape of the input)", got=tuple(out.shape), expected=tuple(upstream.shape)))
    (out * upstream).sum().backward()


def probe_build_on_meta(scene, *args, **kwargs):
    """`fn(*args, device=meta, **kwargs)`, with torch's meta path warmed up first, outside the
    watch: most operations on the meta device run torch's Python references, whose first use
    imports sympy and torch.fx's symbolic shapes (~0.3 s; more than twice that when the
    tripwire watches every call of the import). The learner's build then costs what it costs."""
    meta = torch.device("meta")
    torch.empty(1, device=meta).normal_()
    return scene.fn(*args, device=meta, **kwargs)


def probe_inputs_after_call(scene, *args, **kwargs):
    """(result, args as they are after the call): shows whether the call modified its inputs."""
    before = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
    result = scene.fn(*args, **kwargs)
    return {"result": result, "args_after": list(args), "args_before": before}


def probe_gradient(scene, x: torch.Tensor, upstream: torch.Tensor, *args, **kwargs):
    """Backpropagate `upstream` through fn(x, ...) and return (d out/d x) . upstream.

    Returns None for the gradient when the result is not connected to x, and what came
    back ("out") when it is not even a tensor.
    """
    x = x.detach().clone().requires_grad_(True)
    out = scene.fn(x, *args, **kwargs)
    if not isinstance(out, torch.Tensor):
        return {"connected": False, "grad": None, "out": out}
    if not out.requires_grad:
        return {"connected": False, "grad": None}
    backpropagate(out, upstream)
    return {"connected": True, "grad": x.grad}


def probe_step_gradient(scene, x: torch.Tensor, upstream: torch.Tensor):
    """probe_gradient for a step function, whose gradient is 0 wherever it exists: an op
    without a derivative formula (torch.heaviside, say) is as right as one with a zero
    gradient, so its "not implemented" at backward reads as no graph, not as an error."""
    x = x.detach().clone().requires_grad_(True)
    out = scene.fn(x)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return {"connected": False, "grad": None}
    try:
        backpropagate(out, upstream)
    except (RuntimeError, NotImplementedError) as error:
        if "not implemented" not in str(error):
            raise
        return {"connected": False, "grad": None}
    return {"connected": True, "grad": x.grad}


def probe_gradient_two(scene, a: torch.Tensor, b: torch.Tensor, upstream: torch.Tensor, *args,
                       grad_b: bool = True, **kwargs):
    """Like probe_gradient for a function of two tensors (a loss): gradients of both."""
    a = a.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(grad_b)
    out = scene.fn(a, b, *args, **kwargs)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return {"connected": False, "grad_a": None, "grad_b": None}
    backpropagate(out, upstream)
    return {"connected": True, "grad_a": a.grad, "grad_b": b.grad if grad_b else None}
