"""Devices as the kata compares them.

`torch.device("cuda")` means "the current GPU", and a tensor made there reports the GPU's
index (`cuda:0`), so `torch.device("cuda") == tensor.device` is False on every GPU
machine. Every device comparison in the tests and checks goes through `same_device`,
which treats `cuda` and `cuda:<current device>` as one device (and `cpu` and `cpu:0`).
"""

from __future__ import annotations

import torch

# Devices with a single instance, whatever index is written: cpu:0 is the cpu.
_UNINDEXED = ("cpu", "meta")


def canonical(device: str | torch.device, current: int | None = None) -> torch.device:
    """`device` with its index made explicit: `cuda` becomes `cuda:<current device>`.

    Only a device of an accelerator type without an index asks torch for the current
    index, so a cpu run never touches CUDA here; `current` gives that index instead (a
    test that pretends a GPU exists).
    """
    device = torch.device(device)
    if device.type in _UNINDEXED:
        return torch.device(device.type)
    if device.index is None:
        if current is None:
            backend = getattr(torch, device.type, None)
            ask = getattr(backend, "current_device", None)
            current = ask() if ask is not None else 0
        return torch.device(device.type, current)
    return device


def same_device(a: str | torch.device, b: str | torch.device, *, current: int | None = None) -> bool:
    """True when `a` and `b` name the same device (`cuda` is `cuda:<current device>`;
    `current`, when given, is that index)."""
    return canonical(a, current) == canonical(b, current)
