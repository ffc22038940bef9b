"""Activations and their derivatives: elementwise, so a good version runs at the speed of
memory: it reads x once and writes the result once."""

import torch

from torchkata.bench import Case, float_bytes, timing_test


def activation_input(shape, device, generator):
    return ((3 * torch.randn(shape, generator=generator)).to(device),), {}


def autograd_of(builtin):
    """The derivative the way the oracle gets it: autograd through the built-in."""

    def derivative(x):
        leaf = x.detach().requires_grad_()
        (grad,) = torch.autograd.grad(builtin(leaf).sum(), leaf)
        return grad

    return derivative


CASES = [
    Case("activations.sigmoid", torch.sigmoid, "torch.sigmoid", activation_input, float_bytes),
    Case("activations.sigmoid_derivative", autograd_of(torch.sigmoid), "autograd of torch.sigmoid",
         activation_input, float_bytes),
    Case("activations.tanh", torch.tanh, "torch.tanh", activation_input, float_bytes),
    Case("activations.tanh_derivative", autograd_of(torch.tanh), "autograd of torch.tanh", activation_input,
         float_bytes),
    Case("activations.relu", torch.relu, "torch.relu", activation_input, float_bytes),
    Case("activations.relu_derivative", autograd_of(torch.relu), "autograd of torch.relu", activation_input,
         float_bytes),
    Case("activations.softmax", torch.softmax, "torch.softmax",
         lambda shape, device, generator: (((3 * torch.randn(shape, generator=generator)).to(device),), {"dim": 1}),
         float_bytes),
]

test_speed = timing_test(CASES)
