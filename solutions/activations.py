"""Reference: activation functions and their derivatives (course section 1)."""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """s(x) = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below: exp only ever sees -|x|.

    The one-line 1 / (1 + exp(-x)) has the right values (1/inf = 0) but not the right
    gradient: below about -100 autograd meets 0 x inf = NaN. Here every intermediate is
    finite for every input, in both branches (torch.where differentiates the one it drops).
    -|x| is written with where, not abs(): abs has slope 0 at 0, and so would s there.
    """
    e = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_derivative(x: torch.Tensor) -> torch.Tensor:
    """s'(x) = s(x) (1 - s(x))."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = (1 - e^-2|x|) / (1 + e^-2|x|), with the sign of x: exp only ever sees
    numbers <= 0, so values and gradients stay finite (see sigmoid for why |x| is a where)."""
    e = torch.exp(torch.where(x >= 0, -2 * x, 2 * x))
    t = (1 - e) / (1 + e)
    return torch.where(x >= 0, t, -t)


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
