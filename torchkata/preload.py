"""Pay torch's one-time costs once, in a process that forks graders, so no child pays again.

Imports torch, pytest and the grading modules (and, on request, the test modules), and on a
cpu run warms torch up: the first backward pass, the first optimiser (which imports
torch._dynamo, ~1.5 s), the first seed. On a cuda run there is no warm-up: a backward pass
in a process where CUDA shows GPUs starts autograd's GPU threads, after which no fork can
run autograd (processes.py says why). Call `processes.prepare_parent(device)` first.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def preload(device: str = "cpu", test_modules: bool = True) -> None:
    import pytest  # noqa: F401
    import torch

    if str(ROOT) not in sys.path:  # the test modules are imported as tests.exercises.*
        sys.path.insert(0, str(ROOT))
    torch.set_num_threads(1)
    from . import plugin, probes, sandbox  # noqa: F401

    if test_modules:
        import_test_modules()
    if device == "cpu":
        warm_up(torch)


def import_test_modules() -> None:
    for path in sorted((ROOT / "tests" / "exercises").glob("test_*.py")):
        importlib.import_module(f"tests.exercises.{path.stem}")


def warm_up(torch) -> None:
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 2)
    optimiser = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(torch.randn(3, 4)).sum().backward()
    optimiser.step()
    optimiser.zero_grad()
