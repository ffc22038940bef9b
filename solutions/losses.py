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
    loss = torch.clamp(logits, min=0) - logits * target + torch.log1p(torch.exp(-logits.abs()))
    return _reduce(loss, reduction)


def cross_entropy(logits, target, reduction="mean"):
    """-sum_c t_c log_softmax(z)_c per row; class indices pick one c. log_softmax = z - logsumexp(z)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    if target.is_floating_point():
        _check(logits, target, reduction, ("logits", "target"))
        loss = -(target * log_probs).sum(dim=1)
    else:
        if target.shape != logits.shape[:1]:
            raise ValueError(f"target: class indices must have shape ({logits.shape[0]},) for logits of "
                             f"shape {tuple(logits.shape)}, got {tuple(target.shape)}")
        loss = -log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
    return _reduce(loss, reduction)


def mse_loss(input, target, reduction="mean"):
    _check(input, target, reduction)
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    _check(input, target, reduction)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta; beta = 0 is plain L1."""
    _check(input, target, reduction)
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(torch.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)
