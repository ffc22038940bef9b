"""Reference: loss functions (course section 4)."""

import torch

_REDUCTIONS = ("mean", "sum", "none")


def _check(input: torch.Tensor, target: torch.Tensor, reduction: str, names=("input", "target")) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    if input.shape != target.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got {tuple(input.shape)} "
                         f"and {tuple(target.shape)} (no broadcasting)")


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def binary_cross_entropy(probs, target, reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)), each log clamped at -100 as torch does."""
    _check(probs, target, reduction, ("probs", "target"))
    log_p = torch.clamp(torch.log(probs), min=-100)
    log_not_p = torch.clamp(torch.log(1 - probs), min=-100)
    return _reduce(-(target * log_p + (1 - target) * log_not_p), reduction)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """max(z, 0) - z y + log(1 + e^-|z|): BCE of sigmoid(z), finite for any z."""
    _check(logits, target, reduction, ("logits", "target"))
    # Built up in place where autograd allows it: three large temporaries instead of eight.
    loss = logits.clamp(min=0).addcmul_(logits, target, value=-1)
    return _reduce(loss.add_(torch.log1p(logits.abs().neg_().exp_())), reduction)


def cross_entropy(logits, target, reduction="mean"):
    """-sum_c t_c log_softmax(z)_c per row; class indices pick one c. log_softmax = z - logsumexp(z)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    log_sum_exp = torch.logsumexp(logits, dim=1, keepdim=True)
    if target.is_floating_point():
        _check(logits, target, reduction, ("logits", "target"))
        loss = -(target * (logits - log_sum_exp)).sum(dim=1)
    else:
        if target.shape != logits.shape[:1]:
            raise ValueError(f"target: class indices must have shape ({logits.shape[0]},) for logits of "
                             f"shape {tuple(logits.shape)}, got {tuple(target.shape)}")
        # -log_softmax at the target class only: no N x C tensor of log-probabilities needed
        loss = (log_sum_exp - logits.gather(1, target.unsqueeze(1))).squeeze(1)
    return _reduce(loss, reduction)


def mse_loss(input, target, reduction="mean"):
    _check(input, target, reduction)
    return _reduce((input - target).square_(), reduction)  # squared in place: one temporary


def l1_loss(input, target, reduction="mean"):
    _check(input, target, reduction)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta; beta = 0 is plain L1.

    With c = d clamped to [-beta, beta] both pieces are one formula, c (d - c/2) / beta
    (inside, c = d; outside, c = +-beta). Summed over every element that is
    (c.d - c.c/2) / beta: two dot products, so "mean" and "sum" need no third large tensor.
    """
    _check(input, target, reduction)
    d = input - target
    if beta == 0:
        return _reduce(d.abs_(), reduction)
    c = d.clamp(-beta, beta)
    if reduction == "none":
        return c * (d - 0.5 * c) / beta
    flat_c, flat_d = c.flatten(), d.flatten()
    total = (torch.dot(flat_c, flat_d) - 0.5 * torch.dot(flat_c, flat_c)) / beta
    return total if reduction == "sum" else total / d.numel()
