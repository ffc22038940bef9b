"""Activation functions and their derivatives (course section 1).

An activation is applied elementwise after a linear layer; without one, stacked linear
layers collapse into a single linear map. Each function here takes a tensor and returns a
new tensor of the same shape, dtype and device, leaving its input untouched.

Write them from basic operations (torch.exp, torch.clamp, torch.where, arithmetic): the
built-in of the same name is off-limits inside its own exercise, and the grader notices
however you reach it.
"""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """The logistic sigmoid, s(x) = 1 / (1 + e^(-x)), elementwise.

    It squashes any real number into (0, 1), which is why it turns a score into a
    probability for binary classification. s(0) = 0.5, and s(-x) = 1 - s(x).

    Pitfall: the equivalent form e^x / (1 + e^x) returns inf / inf = NaN at x = 1e4.
    Choose a form that stays finite for inputs as large as 1e4 in either direction, and
    whose gradient does too: the course differentiates sigmoid with autograd, which
    differentiates every step you wrote. 1 / (1 + e^(-x)) has the right values but at
    x = -1e4 its gradient is 0 x inf = NaN; torch.where does not save it, since the
    branch it drops is differentiated too. Let exp() see only -|x|.

    Check yourself:
        >>> sigmoid(torch.tensor([-1e4, 0.0, 1e4]))   # tensor([0.0000, 0.5000, 1.0000])
        >>> torch.testing.assert_close(sigmoid(x := torch.randn(5)), torch.sigmoid(x))
    """
    raise NotImplementedError("sigmoid: replace this line with your code")


def sigmoid_derivative(x: torch.Tensor) -> torch.Tensor:
    """The derivative of sigmoid, s'(x) = s(x) * (1 - s(x)), in closed form.

    The slope is largest (0.25) at x = 0 and vanishes for large |x|: this is the
    "vanishing gradient" that makes deep sigmoid networks slow to train.
    Use your `sigmoid` above; autograd is off-limits here (that is autograd_derivative).

    Check yourself:
        >>> sigmoid_derivative(torch.tensor([0.0]))    # tensor([0.2500])
    """
    raise NotImplementedError("sigmoid_derivative: replace this line with your code")


def tanh(x: torch.Tensor) -> torch.Tensor:
    """The hyperbolic tangent, (e^x - e^(-x)) / (e^x + e^(-x)), elementwise.

    Like sigmoid but centred on zero, with values in (-1, 1); tanh(x) = 2 s(2x) - 1.

    Pitfall: the textbook formula overflows: at x = 1e4 it is inf / inf = NaN. Rewrite it
    so exp() never sees a large positive number (e.g. with e^(-2|x|) and the sign of x),
    in every branch you compute: the gradient at 1e4 must be finite too (see sigmoid).

    Check yourself:
        >>> tanh(torch.tensor([-1e4, 0.0, 1e4]))       # tensor([-1., 0., 1.])
    """
    raise NotImplementedError("tanh: replace this line with your code")


def tanh_derivative(x: torch.Tensor) -> torch.Tensor:
    """The derivative of tanh, 1 - tanh(x)^2, in closed form (use your `tanh`).

    It is 1 at x = 0 and vanishes for large |x|, like sigmoid's (but four times larger).

    Check yourself:
        >>> tanh_derivative(torch.tensor([0.0]))       # tensor([1.])
    """
    raise NotImplementedError("tanh_derivative: replace this line with your code")


def relu(x: torch.Tensor) -> torch.Tensor:
    """The rectified linear unit, max(0, x), elementwise.

    Cheap, and its slope is 1 for every positive input, so gradients do not vanish
    there; the usual choice for hidden layers.

    Check yourself:
        >>> relu(torch.tensor([-2.0, 0.0, 3.0]))       # tensor([0., 0., 3.])
    """
    raise NotImplementedError("relu: replace this line with your code")


def relu_derivative(x: torch.Tensor) -> torch.Tensor:
    """The derivative of relu: 1 where x > 0, else 0, in the dtype of x.

    At exactly x = 0 the slope is undefined; autograd uses 0, and so must you.
    Pitfall: a comparison gives a bool tensor; convert it to the input's dtype.

    Check yourself:
        >>> relu_derivative(torch.tensor([-1.0, 0.0, 2.0]))   # tensor([0., 0., 1.])
    """
    raise NotImplementedError("relu_derivative: replace this line with your code")


def softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax along `dim`: e^(x_i) / sum_j e^(x_j), so each slice along `dim` sums to 1.

    It turns a row of scores into probabilities for multi-class classification. `dim`
    may be negative (-1 is the last dim), as everywhere in torch.

    Pitfall: e^1000 overflows. Subtract the maximum along `dim` first: softmax(x - c) =
    softmax(x) for any c, and then exp() only sees numbers <= 0. Inputs of 1e4 must give
    finite probabilities that sum to 1. Use keepdim=True so the max and the sum broadcast.

    Check yourself:
        >>> p = softmax(torch.randn(3, 5), dim=1)
        >>> p.sum(dim=1)                                  # tensor([1., 1., 1.])
        >>> softmax(torch.tensor([[1e4, 0.0]]), dim=1)    # tensor([[1., 0.]])
    """
    raise NotImplementedError("softmax: replace this line with your code")


def autograd_derivative(fn, x: torch.Tensor) -> torch.Tensor:
    """The elementwise derivative f'(x) of an elementwise function `fn`, by autograd.

    The course's trick: fn(x).sum().backward() leaves f'(x_i) in x.grad, because each
    output depends on one input only. Here autograd is the point: use it.

    Pitfalls: do not touch the caller's `x` (no requires_grad_ on it, no .grad left on it):
    work on a detached copy. Return a tensor with no autograd graph attached.

    Check yourself:
        >>> autograd_derivative(torch.sigmoid, torch.zeros(3))   # tensor([0.25, 0.25, 0.25])
        >>> autograd_derivative(lambda t: t ** 3, torch.tensor([2.0]))   # tensor([12.])
    """
    raise NotImplementedError("autograd_derivative: replace this line with your code")
