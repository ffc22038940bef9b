"""Keep torch._dynamo (torch.compile's tracer) out of a grading run that compiles nothing.

torch marks some of its own functions "not for torch.compile to trace" with
`torch._disable_dynamo`, a wrapper that imports torch._dynamo on the function's first call
to ask it for the real wrapper, then caches that on the function as `__dynamo_disable`. That
import costs about as much as `import torch` itself (0.9 s here, several times more under the
tripwire's profiler), and the marked functions run in everyday eager code: building an
optimiser (`Optimizer.add_param_group`), and most operations on the `meta` device, where torch
runs its Python reference implementations (`normal_`, `eye_`, `tanh`, `relu`, ...): every
network exercise's device check builds the learner's model there.

`settle()` puts a cheaper answer in each mark's cache: outside torch.compile the function runs
as it is (all that the real wrapper does then); while torch.compile traces, the real wrapper is
asked for as before. So a learner's `Model(device="meta")` or `torch.optim.SGD(...)` costs what
it costs, not an import of the compiler.

Check it yourself: `python -c "import sys, torch; torch.nn.init.normal_(torch.empty(2, device='meta'));
print('torch._dynamo' in sys.modules)"` prints True; with `settle()` called first, False.
"""

from __future__ import annotations

import functools
import gc
import sys
import types


def _mark_code() -> types.CodeType | None:
    """The code of the wrapper `torch._disable_dynamo` puts around a function; None where this
    torch builds its marks differently (then nothing is settled, and all works as before)."""
    import torch._compile

    for constant in torch._compile._disable_dynamo.__code__.co_consts:
        if isinstance(constant, types.CodeType) and constant.co_name == "inner" \
                and set(constant.co_freevars) >= {"fn", "recursive"}:
            return constant
    return None


def _outside_compile(fn, recursive: bool):
    import torch

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if torch.compiler.is_compiling():  # what the mark is for: have torch.compile skip fn
            from torch import _dynamo

            return _dynamo.disable(fn, recursive, wrapping=False)(*args, **kwargs)
        return fn(*args, **kwargs)

    return run


def settle() -> int:
    """Resolve every mark made so far without importing torch._dynamo; returns how many were
    settled (0 once torch._dynamo is imported: the marks then resolve cheaply by themselves)."""
    if "torch._dynamo" in sys.modules or "torch" not in sys.modules:
        return 0
    code = _mark_code()
    if code is None:
        return 0
    settled = 0
    for mark in gc.get_referrers(code):
        if not isinstance(mark, types.FunctionType) or mark.__code__ is not code or mark.__closure__ is None:
            continue
        cells = dict(zip(code.co_freevars, mark.__closure__))
        fn, recursive = cells["fn"].cell_contents, cells["recursive"].cell_contents
        if getattr(fn, "__dynamo_disable", None) is None:
            try:
                fn.__dynamo_disable = _outside_compile(fn, recursive)
            except (AttributeError, TypeError):  # a callable that takes no attributes: left as torch made it
                continue
            settled += 1
    return settled
