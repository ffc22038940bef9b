"""Notice off-limits built-ins while learner code runs, however they are reached.

A learner may write `torch.softmax(x, 1)`, `x.softmax(1)`, `F.softmax`, `from torch import
softmax as sm`, or `nn.Softmax(dim=1)(x)`. Patching module attributes misses aliases bound
at import time, so instead we watch calls with `sys.setprofile` for the duration of the
learner's call and compare each callee with the forbidden set:

* a Python function (e.g. `F.softmax`, `nn.init.xavier_normal_`) by its code object;
* a C function (e.g. `torch.sigmoid`) by its owner and name;
* a tensor method (e.g. `Tensor.sigmoid`) by name, whatever tensor it is bound to;
* a module class (e.g. `nn.Softmax`) by the code object of its `forward`.

The tripwire only records; it never changes what the learner's code computes.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from functools import cache

import torch

_TENSOR_METHOD = "tensor-method"


def _c_key(fn) -> tuple | None:
    """A key that is the same for every way of reaching one C function or method."""
    name = getattr(fn, "__name__", None)
    if name is None:
        return None
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, torch.Tensor):
        return (_TENSOR_METHOD, name)
    objclass = getattr(fn, "__objclass__", None)  # an unbound method descriptor
    if isinstance(objclass, type) and issubclass(objclass, torch._C.TensorBase):
        return (_TENSOR_METHOD, name)
    if isinstance(owner, (type, types.ModuleType)):
        return (id(owner), name)
    if owner is None:  # torch.sigmoid and friends: bound to nothing, named by module
        return ("function", getattr(fn, "__module__", None), name)
    return None


def _import_path(path: str):
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"cannot resolve {path!r}")


@cache
def resolve(names: tuple[str, ...]) -> tuple[dict, dict]:
    """Dotted names -> ({code object: name}, {C key: name}). Unknown names are skipped
    (an older torch may lack one), since a built-in that does not exist cannot be called."""
    codes: dict = {}
    c_keys: dict = {}

    def add(obj, label):
        if isinstance(obj, type):
            forward = vars(obj).get("forward")
            if forward is not None:
                codes[forward.__code__] = label
            return
        code = getattr(obj, "__code__", None)
        if code is not None:
            codes[code] = label
            return
        key = _c_key(obj)
        if key is not None:
            c_keys[key] = label

    for name in names:
        if name.endswith(".*"):
            module = importlib.import_module(name[:-2])
            for attr, obj in vars(module).items():
                if callable(obj) and getattr(obj, "__module__", None) == module.__name__:
                    add(obj, f"{module.__name__}.{attr}")
            continue
        try:
            obj = _import_path(name)
        except (ImportError, AttributeError):
            continue
        add(obj, name)
    return codes, c_keys


class Tripwire:
    """Context manager: records the off-limits built-ins called inside it, in order."""

    def __init__(self, names: tuple[str, ...], forbidden_files: tuple[str, ...] = ()):
        self.codes, self.c_keys = resolve(tuple(names))
        self.c_names = frozenset(key[-1] for key in self.c_keys)  # a cheap first filter
        self.forbidden_files = forbidden_files
        self.hits: list[str] = []
        self._previous = None

    def _profile(self, frame, event, arg):
        if event == "call":
            label = self.codes.get(frame.f_code)
            if label is None and self.forbidden_files and frame.f_code.co_filename.startswith(self.forbidden_files):
                label = f"the reference solutions ({frame.f_code.co_filename})"
        elif event == "c_call":
            if getattr(arg, "__name__", None) not in self.c_names:
                return
            key = _c_key(arg)
            label = self.c_keys.get(key) if key is not None else None
        else:
            return
        if label is not None and label not in self.hits:
            self.hits.append(label)

    def __enter__(self):
        if self.codes or self.c_keys or self.forbidden_files:
            self._previous = sys.getprofile()
            sys.setprofile(self._profile)
            threading.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        if self.codes or self.c_keys or self.forbidden_files:
            if sys.getprofile() != self._profile:  # learner code switched the watch off
                self.hits.append("sys.setprofile (switching off the grader's watch)")
            sys.setprofile(self._previous)
            threading.setprofile(None)
        return False
