"""Dropout (course section 2.8): randomly switching neurons off while training.

Each call zeroes every element independently with probability p, so the network cannot
rely on any single neuron. To keep the expected value of every element unchanged, the
survivors are scaled by 1 / (1 - p) ("inverted dropout"); then nothing needs to change at
evaluation time, where dropout does nothing at all.

torch's dropout functions and nn.Dropout are off-limits here.
"""

import torch
from torch import nn


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Zero each element of x with probability p, scale the others by 1 / (1 - p).

    * training=False returns x unchanged (evaluation mode);
    * p = 0 returns x; p = 1 returns all zeros (no division by zero, no NaN);
    * the input is not modified: build a new tensor;
    * every call draws a fresh random mask, independently for every element.

    Errors: ValueError naming `p` and its value when p is outside [0, 1]; TypeError when x
    is not floating point. The course met this pitfall: torch.randint(1, 10, (10,)) is an
    integer tensor, and dropout's scaling needs floats. Say so in the message.

    Check yourself: y = dropout(torch.ones(10000), p=0.3); (y == 0).float().mean() is about
    0.3, and every non-zero element of y equals 1 / 0.7.
    """
    raise NotImplementedError("dropout: replace this line with your code")


class Dropout(nn.Module):
    """A module wrapping your `dropout`: active in training mode, the identity after .eval().

    nn.Module keeps the mode in self.training (True after .train(), False after .eval()).
    Raise ValueError in __init__ for p outside [0, 1], naming `p` and the value.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        raise NotImplementedError("Dropout.__init__: replace this line with your code")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Dropout.forward: replace this line with your code")
