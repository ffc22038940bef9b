"""Correct answers written differently from solutions/: the grader must accept them."""

import torch


def sigmoid(x):
    # The two-sided stable form: exp only ever sees numbers <= 0.
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_derivative(x):
    e = torch.exp(-x.abs())
    return e / (1 + e) ** 2


def tanh(x):
    return 2 * sigmoid(2 * x) - 1


def tanh_derivative(x):
    return (1 - tanh(x)) * (1 + tanh(x))


def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_derivative(x):
    # A step function through an op without a derivative formula: as right as any other.
    return torch.heaviside(x, torch.zeros_like(x))


def softmax(x, dim):
    return torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))


def autograd_derivative(fn, x):
    xc = x.detach().requires_grad_()
    (grad,) = torch.autograd.grad(fn(xc), xc, grad_outputs=torch.ones_like(xc))
    return grad
