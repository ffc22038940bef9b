"""Notice off-limits built-ins while learner code runs, however they are reached.

A learner may write `torch.softmax(x, 1)`, `x.softmax(1)`, `F.softmax`, `from torch import
softmax as sm`, or `nn.Softmax(dim=1)(x)`. Patching module attributes misses aliases bound
at import time, so instead we watch calls for the duration of the learner's call and
compare each callee with the forbidden set. Two routes watch every call (their cost on the
course's code is in docs/measured.md, `python benchmarks/watch_routes.py`):

* Python 3.12 and later: `sys.monitoring`'s PY_START and CALL events. A Python function seen
  once is switched off for the rest of the watch (its verdict cannot change), so learner
  code that builds modules in a loop pays for each function once, not on every call.
* Python 3.10 and 3.11: `sys.setprofile`, which sees every call and return.

Each callee is compared with the forbidden set:

* a Python function (e.g. `F.softmax`, `nn.init.xavier_normal_`) by its code object;
* a C function (e.g. `torch.sigmoid`) by its owner and name;
* a tensor method (e.g. `Tensor.sigmoid`) by name, whatever tensor it is bound to;
* a module class (e.g. `nn.Softmax`) by the code object of its `forward`.

The tripwire only records; it never changes what the learner's code computes.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import types
import warnings
from functools import cache
from pathlib import Path

import torch

from ..core.i18n import _

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
        if isinstance(obj, type):  # a class is used by calling it (a module) or by building one (an optimiser)
            for method in ("forward", "__init__"):
                code = getattr(vars(obj).get(method), "__code__", None)
                if code is not None:
                    codes[code] = label
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
    """Context manager: records the off-limits built-ins called inside it, in order, and
    (with `learner_folder`) the code of that folder that ran: which of the learner's
    functions a verdict depends on is what actually ran, not what the source seems to use."""

    def __init__(self, names: tuple[str, ...], forbidden_files: tuple[str, ...] = (), learner_folder: str = "",
                 reference: ReferenceCode | None = None, route: str | None = None):
        self.codes, self.c_keys = resolve(tuple(names))
        self.c_names = frozenset(key[-1] for key in self.c_keys)  # a cheap first filter
        self.forbidden_files = forbidden_files
        self.learner_folder = learner_folder
        self.reference = reference
        self.route = route or WATCH_ROUTE
        self.hits: list[str] = []
        self.ran: set[types.CodeType] = set()
        self._previous = None
        self._route: str | None = None  # the route taken while watching

    @property
    def watching(self) -> bool:
        return bool(self.codes or self.c_keys or self.forbidden_files or self.learner_folder)

    def _python_label(self, code: types.CodeType) -> str | None:
        """A Python function starting: the learner's is noted as run; the label of a forbidden one."""
        if self.learner_folder and code.co_filename.startswith(self.learner_folder):
            self.ran.add(code)
            return None
        label = self.codes.get(code)
        if label is None and self.forbidden_files and code.co_filename.startswith(self.forbidden_files):
            label = reference_label(code.co_filename)
        if label is None and self.reference is not None and code.co_name in self.reference.names:
            label = self.reference.label_of(code)  # the reference's text run under another name
        return label

    def _c_label(self, fn) -> str | None:
        if getattr(fn, "__name__", None) not in self.c_names:
            return None
        key = _c_key(fn)
        return self.c_keys.get(key) if key is not None else None

    def _hit(self, label: str | None) -> None:
        if label is not None and label not in self.hits:
            self.hits.append(label)

    # sys.setprofile's callback, which runs on every call and return: _python_label and
    # _c_label written out, as a call of each would cost more than what they do.
    def _profile(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            if self.learner_folder and code.co_filename.startswith(self.learner_folder):
                self.ran.add(code)
                return
            label = self.codes.get(code)
            if label is None and self.forbidden_files and code.co_filename.startswith(self.forbidden_files):
                label = reference_label(code.co_filename)
            if label is None and self.reference is not None and code.co_name in self.reference.names:
                label = self.reference.label_of(code)  # the reference's text run under another name
        elif event == "c_call":
            if getattr(arg, "__name__", None) not in self.c_names:
                return
            key = _c_key(arg)
            label = self.c_keys.get(key) if key is not None else None
        else:
            return
        if label is not None and label not in self.hits:
            self.hits.append(label)

    # sys.monitoring's callbacks
    def _on_start(self, code, offset):
        self._hit(self._python_label(code))
        return sys.monitoring.DISABLE  # seen once is enough: the same code gets the same answer

    def _on_call(self, code, offset, callee, arg0):
        if getattr(callee, "__name__", None) in self.c_names:  # the cheap filter first, as _profile does
            self._hit(self._c_label(callee))  # never switched off: one call site may reach other callees

    def __enter__(self):
        REFERENCE_CALLS.clear()
        self._route = None
        if self.watching:
            self._route = MONITORING if self.route == MONITORING and _take_monitoring_tool() else SETPROFILE
            if self._route == MONITORING:
                events = sys.monitoring.events
                sys.monitoring.register_callback(MONITORING_TOOL, events.PY_START, self._on_start)
                sys.monitoring.register_callback(MONITORING_TOOL, events.CALL, self._on_call)
                sys.monitoring.set_events(MONITORING_TOOL, MONITORED_EVENTS)
            else:
                self._previous = sys.getprofile()
                sys.setprofile(self._profile)
                threading.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        if self._route == MONITORING:
            if not self._monitoring_intact():  # learner code switched the watch off
                self.hits.append(SWITCHED_OFF_MONITORING)
            _give_back_monitoring_tool()
        elif self._route == SETPROFILE:
            if sys.getprofile() != self._profile:  # learner code switched the watch off
                self.hits.append(SWITCHED_OFF)
            sys.setprofile(self._previous)
            threading.setprofile(None)
        copied = self.reference.run_as_own(self.ran) if self.reference is not None else []
        for label in [*REFERENCE_CALLS, *copied]:
            if label not in self.hits:
                self.hits.append(label)
        REFERENCE_CALLS.clear()
        return False

    def _monitoring_intact(self) -> bool:
        monitoring = sys.monitoring
        if monitoring.get_tool(MONITORING_TOOL) != TOOL_NAME or monitoring.get_events(MONITORING_TOOL) != MONITORED_EVENTS:
            return False
        # register_callback answers with the callback it replaces: ours, unless the learner's code replaced it
        ours = {monitoring.events.PY_START: self._on_start, monitoring.events.CALL: self._on_call}
        return all(monitoring.register_callback(MONITORING_TOOL, event, callback) == callback
                   for event, callback in ours.items())


SETPROFILE, MONITORING = "setprofile", "monitoring"
# The route a Tripwire takes by default: TORCHKATA_WATCH=setprofile asks for the older one
# where both exist (to compare them; benchmarks/watch_routes.py).
WATCH_ROUTE = MONITORING if hasattr(sys, "monitoring") and os.environ.get("TORCHKATA_WATCH") != SETPROFILE \
    else SETPROFILE
MONITORING_TOOL = 3  # sys.monitoring's free tool ids are 3 and 4 (0-2 and 5 are the debugger's, coverage's, ...)
TOOL_NAME = "torchkata tripwire"
MONITORED_EVENTS = sys.monitoring.events.PY_START | sys.monitoring.events.CALL if hasattr(sys, "monitoring") else 0


def _take_monitoring_tool() -> bool:
    """Claim the tool id; False where something else holds it (then sys.setprofile watches)."""
    try:
        sys.monitoring.use_tool_id(MONITORING_TOOL, TOOL_NAME)
    except ValueError:
        return False
    return True


def _give_back_monitoring_tool() -> None:
    """Leave the tool id free, with no events and no callbacks, whatever learner code did to it
    (before Python 3.14 a freed id keeps its events firing until someone claims and clears it)."""
    monitoring = sys.monitoring
    if monitoring.get_tool(MONITORING_TOOL) is None:
        monitoring.use_tool_id(MONITORING_TOOL, TOOL_NAME)
    monitoring.set_events(MONITORING_TOOL, 0)
    for event in (monitoring.events.PY_START, monitoring.events.CALL):
        monitoring.register_callback(MONITORING_TOOL, event, None)
    monitoring.free_tool_id(MONITORING_TOOL)
    monitoring.restart_events()  # what the watch switched off is watched again by the next one


# -- the reference solutions, where their folder is hidden -----------------------------------
# A sandbox child is forked from the grader, which imported the reference solutions (the
# tests compare with them), so their functions are in the child's memory even when the
# folder is hidden. Watching every Python call for their files triples the cost of
# Python-heavy learner code (building nn.Modules), so there the child instead replaces the
# code of each such function by one that records the call and refuses to compute anything;
# the Tripwire around the learner's call reports those records with its own hits.
REFERENCE_CALLS: list[str] = []
REFERENCE_LABEL = "the reference solutions"  # how a call into solutions/ is named among the hits
SWITCHED_OFF = "sys.setprofile (switching off the grader's watch)"  # the hit of code that stops the watch
SWITCHED_OFF_MONITORING = "sys.monitoring (switching off the grader's watch)"


def reference_label(path: str) -> str:
    """A call into the reference as the hits name it: by the file's place in the project, never
    by where the grader keeps it (a sandbox's or a container's path)."""
    return f"{REFERENCE_LABEL} (solutions/{os.path.basename(path)})"


def said(label: str) -> str:
    """A hit as the learner reads it: a built-in by its own name, the others in the learner's language."""
    if label == SWITCHED_OFF:
        return _("sys.setprofile (switching off the grader's watch)")
    if label == SWITCHED_OFF_MONITORING:
        return _("sys.monitoring (switching off the grader's watch)")
    if label.startswith(f"{REFERENCE_LABEL} (") and label.endswith(")"):
        return _("the reference solutions ({file})", file=label[len(REFERENCE_LABEL) + 2:-1])
    return label


class ReferenceCodeCalled(RuntimeError):
    pass


def _refuse(label: str):
    REFERENCE_CALLS.append(label)
    raise ReferenceCodeCalled(_("{code} cannot be called from graded code", code=said(label)))


def _refusing_code(label: str, free_variables: int) -> types.CodeType:
    """Code that calls _refuse(label), with as many free variables as the function it
    replaces (Python allows a code swap only when those counts match)."""
    names = [f"free_{i}" for i in range(free_variables)]
    source = ("def outer():\n" + "".join(f"    {n} = None\n" for n in names)
              + "    def refusing(*args, **kwargs):\n"
              + (f"        ({', '.join(names)},)\n" if names else "")
              + "        'REFUSE'('LABEL')\n    return refusing\n")
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # "'str' object is not callable": replaced below
        exec(compile(source, "<torchkata: reference code>", "exec"), namespace)
    code = namespace["outer"]().__code__
    consts = tuple(_refuse if c == "REFUSE" else label if c == "LABEL" else c for c in code.co_consts)
    return code.replace(co_consts=consts)


def _functions_in(namespace: dict, seen: set) -> list[types.FunctionType]:
    found = []
    for value in list(namespace.values()):
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            found += [f for f in (value.fget, value.fset, value.fdel) if isinstance(f, types.FunctionType)]
        elif isinstance(value, types.FunctionType):
            found.append(value)
        elif isinstance(value, type):
            found += _functions_in(dict(vars(value)), seen)
    return found


def refuse_reference_code(folder: str) -> None:
    """Disable every function loaded from `folder` (a path ending in a separator) in this
    process; each later call is recorded in REFERENCE_CALLS."""
    seen: set = set()
    for module in list(sys.modules.values()):
        if str(getattr(module, "__file__", None) or "").startswith(folder):
            for function in _functions_in(vars(module), seen):
                code = function.__code__
                if code.co_filename.startswith(folder):
                    label = reference_label(code.co_filename)
                    function.__code__ = _refusing_code(label, len(code.co_freevars))


# -- the reference solutions, recognised by their code ----------------------------------------
# A learner who reads solutions/losses.py and runs its text as their own (exec, or compile
# under their file's name, with lines added above it) runs code objects equal to the
# reference's in everything but file and line. A learner who wrote the same code honestly
# compiled it from their own file, at the line it claims: only code that matches the
# reference and was not compiled from the file and line it names is the reference's.
def fingerprint(code: types.CodeType) -> tuple:
    """Everything of a code object but where it is: name, bytecode, names, local names,
    constants (nested code by its own fingerprint)."""
    consts = tuple(fingerprint(c) if isinstance(c, types.CodeType) else (type(c).__name__, c) for c in code.co_consts)
    return (code.co_name, code.co_code, code.co_names, code.co_varnames, consts)


def _codes(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _compiled(text: str, filename: str) -> list[types.CodeType]:
    try:
        return list(_codes(compile(text, filename, "exec", dont_inherit=True)))
    except (SyntaxError, ValueError):
        return []


def file_code(filename: str) -> types.CodeType | None:
    """The code a Python file compiles to (None where it cannot be read or compiled), compiled
    once per version of the file."""
    try:
        return _file_code(filename, os.stat(filename).st_mtime_ns)
    except OSError:
        return None


@cache
def _file_code(filename: str, mtime_ns: int) -> types.CodeType | None:
    try:
        compiled = _compiled(Path(filename).read_text(encoding="utf-8"), filename)
    except (OSError, UnicodeDecodeError):
        return None
    return compiled[0] if compiled else None


@cache
def _placed(module: types.CodeType) -> dict[tuple, str]:
    """(fingerprint, first line) of every code object of a module -> the top-level function
    or class it belongs to."""
    return {(fingerprint(c), c.co_firstlineno): top.co_name for top in module.co_consts
            if isinstance(top, types.CodeType) for c in _codes(top)}


def top_level_name(code: types.CodeType) -> str:
    """The top-level function or class of its file that `code` belongs to (Model.forward is
    Model's, a helper nested in fit is fit's): what Python 3.11's co_qualname begins with, on
    every version. Code its file does not compile to (run by exec) goes by its own name."""
    module = file_code(code.co_filename)
    where = (fingerprint(code), code.co_firstlineno)
    return _placed(module).get(where, code.co_name) if module is not None else code.co_name


class ReferenceCode:
    """The reference solutions' code objects, by fingerprint. Built while the reference files
    can still be read (before confinement hides them): `reference_code` caches one."""

    def __init__(self, folder: Path):
        self.prints: dict[tuple, str] = {}
        for path in sorted(Path(folder).glob("*.py")):
            codes = _compiled(path.read_text(encoding="utf-8"), str(path))
            self.prints.update(dict.fromkeys(map(fingerprint, codes), reference_label(str(path))))
        # Named functions and methods only: a lambda or a comprehension is too small to be told
        # from torch's own by its code (and runs inside a named one that is told).
        self.names = frozenset(p[0] for p in self.prints if not p[0].startswith("<"))
        self._labels: dict[int, tuple[types.CodeType, str | None]] = {}

    def label_of(self, code: types.CodeType) -> str | None:
        known = self._labels.get(id(code))
        if known is None or known[0] is not code:
            known = self._labels[id(code)] = (code, self.prints.get(fingerprint(code)))
        return known[1]

    def run_as_own(self, ran) -> list[str]:
        """The reference's code among `ran` (the learner's code that ran) that was not
        compiled from the learner file it names."""
        labels = []
        for code in ran:
            label = self.label_of(code) if code.co_name in self.names else None
            if label is not None:
                module = file_code(code.co_filename)
                if module is None or (fingerprint(code), code.co_firstlineno) not in _placed(module):
                    labels.append(label)
        return labels


@cache
def reference_code(folder: Path) -> ReferenceCode:
    return ReferenceCode(folder)
