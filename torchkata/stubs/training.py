"""One training step (course section 4.4): gradients, an update, and clearing up.

After loss.backward(), every parameter p holds dL/dp in p.grad. Gradient descent moves
each parameter a small step against it, p <- p - lr * p.grad; an optimizer such as
torch.optim.SGD does exactly that in step(). Gradients accumulate across backward calls,
so they are cleared after every step.
"""

import torch


def sgd_step(params, lr: float) -> None:
    """Update every parameter in place: p <- p - lr * p.grad; skip those whose grad is None.

    `params` may be any iterable, e.g. model.parameters() (a generator: iterate it once).
    Pitfalls: `p = p - lr * p.grad` only rebinds a local name and changes nothing; and an
    in-place change to a parameter must happen under torch.no_grad(), so autograd neither
    refuses it nor records it.
    """
    raise NotImplementedError("sgd_step: replace this line with your code")


def zero_grad(params) -> None:
    """Set every parameter's grad to None (what optimizer.zero_grad() does by default)."""
    raise NotImplementedError("zero_grad: replace this line with your code")


def train_step(model, inputs, target, loss_fn, optimizer) -> float:
    """One step: forward, loss, backward, optimizer step, zero the grads.

    Return the loss computed in this step (before the update) as a Python float
    (loss.item()), not a tensor.

    The course's worked example: a Linear(5, 3) with fixed weights, inputs
    [[1..5], [6..10]], an all-zero target, nn.MSELoss and SGD with lr=0.1 gives a loss
    of 839.4167.
    """
    raise NotImplementedError("train_step: replace this line with your code")
