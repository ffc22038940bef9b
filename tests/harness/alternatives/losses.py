import torch


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return torch.sum(loss)
    if reduction == "mean":
        return torch.mean(loss)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _same_shape(a, b):
    if a.size() != b.size():
        raise ValueError(f"Using a target size ({b.size()}) that is different to the input size ({a.size()})")


def _check_reduction(reduction):
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def binary_cross_entropy(probs, target, reduction="mean"):
    _check_reduction(reduction)
    _same_shape(probs, target)
    loss = -(target * probs.log().clamp_min(-100) + (1 - target) * (1 - probs).log().clamp_min(-100))
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    _check_reduction(reduction)
    _same_shape(logits, target)
    # log(1 + e^-z) + (1 - y) z, written with softplus-style stability.
    softplus_neg = torch.logaddexp(torch.zeros_like(logits), -logits)
    return _reduce((1 - target) * logits + softplus_neg, reduction)


def cross_entropy(logits, target, reduction="mean"):
    _check_reduction(reduction)
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    if target.dtype in (torch.long, torch.int, torch.int32, torch.int64):
        if target.dim() != 1 or target.shape[0] != logits.shape[0]:
            raise ValueError(f"Expected target of shape ({logits.shape[0]},) but got {list(target.shape)}")
        target = torch.nn.functional.one_hot(target, logits.shape[1]).to(logits.dtype)
    else:
        _same_shape(logits, target)
    return _reduce(-(target * log_probs).sum(dim=1), reduction)


def mse_loss(input, target, reduction="mean"):
    _check_reduction(reduction)
    _same_shape(input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    _check_reduction(reduction)
    _same_shape(input, target)
    return _reduce(torch.abs(input - target), reduction)


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    _check_reduction(reduction)
    _same_shape(input, target)
    d = torch.abs(input - target)
    if beta == 0:
        loss = d
    else:
        quadratic = torch.clamp(d, max=beta)
        loss = 0.5 * quadratic**2 / beta + (d - quadratic)
    return _reduce(loss, reduction)
