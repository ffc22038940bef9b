"""Initialisers on a large weight: each writes every element once (and reads nothing)."""

import functools

import torch
from torch import nn

from torchkata.bench import Case, float_bytes, timing_test


def weight(*args, **kwargs):
    def make(shape, device, generator):
        return (torch.empty(shape, device=device), *args), kwargs

    return make


written_once = functools.partial(float_bytes, tensors_read=0)

CASES = [
    Case("initialization.constant_", nn.init.constant_, "nn.init.constant_", weight(0.5), written_once),
    Case("initialization.zeros_", nn.init.zeros_, "nn.init.zeros_", weight(), written_once),
    Case("initialization.ones_", nn.init.ones_, "nn.init.ones_", weight(), written_once),
    Case("initialization.eye_", nn.init.eye_, "nn.init.eye_", weight(), written_once),
    Case("initialization.normal_", nn.init.normal_, "nn.init.normal_", weight(0.0, 0.02), written_once),
    Case("initialization.uniform_", nn.init.uniform_, "nn.init.uniform_", weight(-0.1, 0.1), written_once),
    Case("initialization.xavier_uniform_", nn.init.xavier_uniform_, "nn.init.xavier_uniform_", weight(), written_once),
    Case("initialization.xavier_normal_", nn.init.xavier_normal_, "nn.init.xavier_normal_", weight(), written_once),
    Case("initialization.kaiming_uniform_", nn.init.kaiming_uniform_, "nn.init.kaiming_uniform_", weight(),
         written_once),
    Case("initialization.kaiming_normal_", nn.init.kaiming_normal_, "nn.init.kaiming_normal_", weight(),
         written_once),
]

test_speed = timing_test(CASES)
