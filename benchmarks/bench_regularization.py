"""Dropout in training mode: reads x, writes the result (the mask need not be stored)."""

import torch
from torch.nn import functional as F

from torchkata.bench import Case, float_bytes, timing_test


def activations(shape, device, generator):
    return (torch.randn(shape, generator=generator).to(device),), {"p": 0.5, "training": True}


CASES = [Case("regularization.dropout", F.dropout, "F.dropout", activations, float_bytes)]

test_speed = timing_test(CASES)
