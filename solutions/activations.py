"""Reference: activation functions and their derivatives (course section 1)."""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """s(x) = 1 / (1 + e^-x). For x -> -inf, e^-x overflows to inf and 1/inf = 0: still right."""
    return 1 / (1 + torch.exp(-x))


def sigmoid_derivative(x: torch.Tensor) -> torch.Tensor:
    """s'(x) = s(x) (1 - s(x))."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = sign(x) (1 - e^-2|x|) / (1 + e^-2|x|): exp only ever sees numbers <= 0."""
    e = torch.exp(-2 * x.abs())
    return torch.sign(x) * (1 - e) / (1 + e)


def tanh_derivative(x: torch.Tensor) -> torch.Tensor:
    """tanh'(x) = 1 - tanh(x)^2."""
    t = tanh(x)
    return 1 - t * t


def relu(x: torch.Tensor) -> torch.Tensor:
    """relu(x) = max(0, x)."""
    return torch.clamp(x, min=0)


def relu_derivative(x: torch.Tensor) -> torch.Tensor:
    """1 where x > 0, else 0 (also at x = 0, as autograd has it)."""
    return (x > 0).to(x.dtype)


def softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    """e^(x - max) / sum(e^(x - max)) along dim; the shift leaves the result unchanged.

    exp_ works in place on the shifted copy: one large temporary fewer (on a 4096x4096
    input each new tensor costs as much as a pass over memory).
    """
    e = (x - x.amax(dim=dim, keepdim=True)).exp_()
    return e / e.sum(dim=dim, keepdim=True)


def autograd_derivative(fn, x: torch.Tensor) -> torch.Tensor:
    """f'(x) elementwise: d/dx_i sum_j f(x_j) = f'(x_i), computed on a detached copy of x."""
    xc = x.detach().clone().requires_grad_(True)
    fn(xc).sum().backward()
    return xc.grad.detach()
