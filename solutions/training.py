"""Reference: one training step by hand and with an optimizer (course section 4.4)."""

import torch


def sgd_step(params, lr: float) -> None:
    """p <- p - lr * grad, in place and unrecorded, for every parameter that has a grad."""
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.sub_(lr * p.grad)


def zero_grad(params) -> None:
    for p in params:
        p.grad = None


def train_step(model, inputs, target, loss_fn, optimizer) -> float:
    output = model(inputs)
    loss = loss_fn(output, target)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()
