import functools
import math
import operator

import numpy
import torch


def calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions: {tensor.ndim}")
    k = functools.reduce(operator.mul, tensor.shape[2:], 1)
    return int(tensor.size(1) * k), int(tensor.size(0) * k)


def calculate_gain(nonlinearity, param=None):
    table = {"tanh": 5 / 3, "relu": numpy.sqrt(2.0), "selu": 0.75}  # a NumPy float is a number too
    if nonlinearity in ("linear", "sigmoid") or nonlinearity.startswith("conv"):
        if nonlinearity.startswith("conv") and nonlinearity not in (
            "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"
        ):
            raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
        return 1
    if nonlinearity == "leaky_relu":
        slope = param if param is not None else 0.01
        return (2 / (1 + slope * slope)) ** 0.5
    try:
        return table[nonlinearity]
    except KeyError:
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}") from None


def constant_(tensor, val):
    tensor.data.fill_(val)
    return tensor


def zeros_(tensor):
    tensor.data.zero_()
    return tensor


def ones_(tensor):
    return constant_(tensor, 1)


def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported, got a tensor with shape {tuple(tensor.shape)}")
    with torch.no_grad():
        tensor.copy_(torch.eye(tensor.shape[0], tensor.shape[1]))
    return tensor


def normal_(tensor, mean=0.0, std=1.0):
    with torch.no_grad():
        tensor.copy_(torch.randn(tensor.shape, device=tensor.device) * std + mean)
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    with torch.no_grad():
        tensor.copy_(torch.rand(tensor.shape, device=tensor.device) * (b - a) + a)
    return tensor


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    with torch.no_grad():
        return tensor.normal_(0, gain * (2 / (fan_in + fan_out)) ** 0.5)


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ["fan_in", "fan_out"]:
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fan = _fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fan = _fan(tensor, mode)
    with torch.no_grad():
        return tensor.normal_(0, calculate_gain(nonlinearity, a) / math.sqrt(fan))
