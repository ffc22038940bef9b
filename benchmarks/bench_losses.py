"""Losses: each reads its two inputs once and writes one number; torch's are fused kernels."""

import functools

import torch
from torch.nn import functional as F

from torchkata.bench import Case, float_bytes, timing_test

read_two = functools.partial(float_bytes, tensors_read=2, tensors_written=0)


def pair(make_input, make_target):
    def make(shape, device, generator):
        return (make_input(shape, generator).to(device), make_target(shape, generator).to(device)), {}

    return make


def normal(shape, generator):
    return torch.randn(shape, generator=generator)


def probabilities(shape, generator):
    return torch.rand(shape, generator=generator).clamp(1e-4, 1 - 1e-4)


def class_indices(shape, generator):
    return torch.randint(0, shape[1], (shape[0],), generator=generator)


def cross_entropy_bytes(shape):
    return shape[0] * shape[1] * 4 + shape[0] * 8  # the logits, and one int64 class per row


CASES = [
    Case("losses.binary_cross_entropy", F.binary_cross_entropy, "F.binary_cross_entropy",
         pair(probabilities, probabilities), read_two),
    Case("losses.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
         "F.binary_cross_entropy_with_logits", pair(normal, probabilities), read_two),
    Case("losses.cross_entropy", F.cross_entropy, "F.cross_entropy", pair(normal, class_indices), cross_entropy_bytes),
    Case("losses.mse_loss", F.mse_loss, "F.mse_loss", pair(normal, normal), read_two),
    Case("losses.l1_loss", F.l1_loss, "F.l1_loss", pair(normal, normal), read_two),
    Case("losses.smooth_l1_loss", F.smooth_l1_loss, "F.smooth_l1_loss", pair(normal, normal), read_two),
]

test_speed = timing_test(CASES)
