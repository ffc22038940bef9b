import torch
from torch import nn


def dropout(x, p=0.5, training=True):
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got p={p}")
    if not torch.is_floating_point(x):
        raise TypeError(f"dropout works on floating point tensors only, got {x.dtype}; use x.float()")
    if not training:
        return x
    if p == 1:
        return x * 0
    mask = torch.bernoulli(torch.full_like(x, 1 - p))
    return x * mask * (1.0 / (1 - p))


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not (0 <= p <= 1):
            raise ValueError(f"p must be a probability in [0, 1], got p={p}")
        self.p = p

    def forward(self, x):
        return dropout(x, p=self.p, training=self.training)
