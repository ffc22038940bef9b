"""Pay torch's one-time costs once, in a process that forks graders, so no child pays again.

Imports torch, pytest and the grading modules (and, on request, the test modules), and on a
cpu run warms torch up: the first backward pass, the first optimiser (which imports
torch._dynamo, ~1.5 s), the first seed. On a cuda run there is no warm-up: a backward pass
in a process where CUDA shows GPUs starts autograd's GPU threads, after which no fork can
run autograd (processes.py says why). Call `processes.prepare_parent(device)` first.
"""

from __future__ import annotations

import sys

from ..core.paths import ROOT
from .loader import import_test_modules
from .processes import warm_up


def preload(device: str = "cpu", test_modules: bool = True) -> None:
    import pytest  # noqa: F401
    import torch

    if str(ROOT) not in sys.path:  # the test modules are imported as tests.exercises.*
        sys.path.insert(0, str(ROOT))
    torch.set_num_threads(1)
    from . import channel, plugin, probes  # noqa: F401

    if test_modules:
        import_test_modules()
    if device == "cpu":
        warm_up()


