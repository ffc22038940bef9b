"""Weight initialisation (course sections 2.1-2.7): torch.nn.init, written by you.

An nn.Linear(in_features, out_features) holds weight (shape out x in) and bias; how they
start decides whether signals keep a sensible size through many layers. Every function
here (except the two helpers at the top) fills `tensor` IN PLACE and returns that very
same tensor object, exactly like torch.nn.init:

* work under `with torch.no_grad():` -- a layer's weight requires grad, and autograd
  refuses (or records) an in-place change to it;
* use the tensor's own in-place fills: fill_, zero_, copy_, uniform_, normal_;
* check the arguments before changing anything, so an error leaves the tensor as it was.

torch.nn.init itself is off-limits in this module.

Check yourself: layer = torch.nn.Linear(5, 2); xavier_normal_(layer.weight) is layer.weight
should be True, and layer.weight.grad_fn should be None.
"""

import math

import torch


def calculate_fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    """Return (fan_in, fan_out) of a weight tensor, as plain ints.

    For a Linear weight of shape (out, in): fan_in = in, fan_out = out.
    For a conv weight of shape (out_channels, in_channels, *kernel): both are multiplied
    by the receptive field, the product of the kernel dims.
    Example: shape (16, 8, 3, 3) gives (8*9, 16*9) = (72, 144).

    Raise ValueError, naming `tensor` and its shape, for fewer than 2 dims.
    """
    raise NotImplementedError("calculate_fan_in_and_fan_out: replace this line with your code")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for an activation, as torch.nn.init.calculate_gain gives it.

    linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
    selu: 3/4;  leaky_relu: sqrt(2 / (1 + slope^2)), where slope = param, or 0.01 when
    param is None.

    Pitfall: param=0 is a slope of 0 (gain sqrt(2)), not "use the default"; kaiming's
    a=0 relies on it. Raise ValueError naming the nonlinearity for an unknown name.
    """
    raise NotImplementedError("calculate_gain: replace this line with your code")


def constant_(tensor: torch.Tensor, val: float) -> torch.Tensor:
    """Fill `tensor` with `val`, in place; return `tensor` itself.

    Check yourself: w = torch.nn.Linear(5, 2).weight; constant_(w, 10) is w, and every
    entry of w is now 10 while w.requires_grad is still True.
    """
    raise NotImplementedError("constant_: replace this line with your code")


def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill `tensor` with 0, in place; return `tensor` itself.

    All-zero weights make every neuron of a layer compute the same thing and get the same
    gradient, so they never learn different features: fine for biases, not for weights.
    """
    raise NotImplementedError("zeros_: replace this line with your code")


def ones_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill `tensor` with 1, in place; return `tensor` itself.

    Check yourself: ones_(torch.empty(2, 3)) is tensor([[1., 1., 1.], [1., 1., 1.]]).
    """
    raise NotImplementedError("ones_: replace this line with your code")


def eye_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill a 2-D `tensor` with the identity: 1 on the main diagonal, 0 elsewhere.

    Works for non-square shapes too: a (2, 3) tensor becomes [[1, 0, 0], [0, 1, 0]].
    Raise ValueError (naming `tensor` and its dims) unless it is 2-D, before changing it.
    """
    raise NotImplementedError("eye_: replace this line with your code")


def normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """Fill with samples of N(mean, std^2). `std` is the standard deviation, not the variance.

    Check yourself: t = normal_(torch.empty(1000, 1000), 2.0, 0.5); t.mean() is about 2.0
    and t.std() about 0.5.
    """
    raise NotImplementedError("normal_: replace this line with your code")


def uniform_(tensor: torch.Tensor, a: float = 0.0, b: float = 1.0) -> torch.Tensor:
    """Fill with samples of U(a, b): every value in [a, b), all equally likely.

    Check yourself: t = uniform_(torch.empty(1000, 1000), -2.0, 3.0); t.min() is just above
    -2, t.max() just below 3, and t.mean() about 0.5.
    """
    raise NotImplementedError("uniform_: replace this line with your code")


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Glorot/Xavier uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).

    Keeps the variance of activations (forward) and gradients (backward) about equal from
    layer to layer, using both fans; suited to sigmoid and tanh.
    Pitfall: fan_in is shape[1], not shape[0], for a Linear weight of shape (out, in).
    """
    raise NotImplementedError("xavier_uniform_: replace this line with your code")


def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Glorot/Xavier normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    Same variance as xavier_uniform_: a U(-b, b) has std b / sqrt(3), hence its 6 and this 2.
    """
    raise NotImplementedError("xavier_normal_: replace this line with your code")


def kaiming_uniform_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> torch.Tensor:
    """He/Kaiming uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    For ReLU-like activations, which zero half their inputs and so halve the variance.
    fan is fan_in for mode="fan_in" (keeps forward variance) and fan_out for "fan_out"
    (keeps backward variance). Raise ValueError naming `mode` for anything else, before
    touching the tensor.
    """
    raise NotImplementedError("kaiming_uniform_: replace this line with your code")


def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> torch.Tensor:
    """He/Kaiming normal: N(0, std^2) with std = gain / sqrt(fan); `a`, `mode` and errors as in kaiming_uniform_.

    Pitfall: std = gain / sqrt(fan), not gain / fan and not gain * sqrt(2 / fan) on top of
    the relu gain (that counts the factor 2 twice).
    """
    raise NotImplementedError("kaiming_normal_: replace this line with your code")
