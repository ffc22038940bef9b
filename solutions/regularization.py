"""Reference: dropout (course section 2.8)."""

import torch
from torch import nn


def _check_p(p) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: dropout probability must be between 0 and 1, got {p}")


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Inverted dropout: keep each element with probability 1-p and scale it by 1/(1-p)."""
    _check_p(p)
    if not x.is_floating_point():
        raise TypeError(f"x: dropout needs a floating-point tensor, got dtype {x.dtype}; "
                        "convert it first, e.g. x.float() (torch.randint gives integers)")
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand_like(x) >= p
    return x * keep / (1 - p)


class Dropout(nn.Module):
    """Applies `dropout` while training; the identity after .eval()."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        _check_p(p)
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)
