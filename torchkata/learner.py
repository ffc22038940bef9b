"""The test side of the boundary: one exercise of one implementation, as a callable.

Tests never import learner code. They get a `Learner` from the `learner` fixture and:

    out = learner(x, dim=1)             # call the exercise; plain data comes back
    outcome = learner.attempt(x, p=2)   # a call that should raise: the error as data
    report = learner.run(probe, 3)      # a trusted scenario from tests/, run beside learner code
    model = learner(device="cpu")       # an nn.Module comes back as a Handle
    model(x), model.training            # ... whose calls and attributes are plain data again

A stub that still raises NotImplementedError fails as "not attempted yet"; an off-limits
built-in, an exception or a module that will not import fail with a sentence that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import torch

from . import boundary, tripwire
from .i18n import _
from .manifest import Exercise, load
from .processes import GradingError, fork_advice, is_fork_failure
from .tripwire import REFERENCE_LABEL
from .verdicts import Flag, ReplyStatus


class NotAttempted(pytest.fail.Exception):
    """The exercise's stub still raises NotImplementedError."""

    def __init__(self, msg: str):
        super().__init__(msg, pytrace=False)


class NotLoaded(pytest.fail.Exception):
    """The exercise's module could not be loaded (a syntax error, a failing import): its
    code never ran, so it is neither right nor wrong."""

    def __init__(self, msg: str):
        super().__init__(msg, pytrace=False)


class WrongAnswer(pytest.fail.Exception):
    """Learner code broke a rule (an off-limits built-in, an exception, a broken module)."""

    def __init__(self, msg: str):
        super().__init__(msg, pytrace=False)


def show(value) -> str:
    """A short description of a value for messages: never a raw dump of a big tensor."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        if value.numel() <= 6:
            items = ", ".join(f"{v:g}" for v in value.detach().flatten().double().tolist()) if value.numel() else ""
            return f"tensor([{items}], {dtype}, shape {tuple(value.shape)}, {value.device})"
        return _("{dtype} tensor of shape {shape} on {device}", dtype=dtype, shape=tuple(value.shape),
                 device=value.device)
    if isinstance(value, Handle):
        return f"<{value.type_name} object>"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return _("{type} of {n} items", type=type(value).__name__, n=len(value))
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {show(v)}" for k, v in value.items()) + "}"
    return repr(value)


@dataclass
class Outcome:
    """What a call did: returned `value`, or raised (`error_type`, `error_mro`, `message`)."""

    value: object = None
    error_type: str | None = None
    error_mro: tuple[str, ...] = ()
    message: str = ""
    where: str = ""

    @property
    def raised(self) -> bool:
        return self.error_type is not None

    def raised_a(self, exc_type: type[BaseException]) -> bool:
        return exc_type.__name__ in self.error_mro


# Errors torch raises for common learner mistakes, and what to do about each. The advice is
# translated when it is given (a function, not a table), in the language of that moment.
IN_PLACE_ON_A_LEAF = "a leaf Variable that requires grad is being used in an in-place operation"


def in_place_advice(changes_arguments: bool) -> str:
    if changes_arguments:
        # An exercise that must change its arguments (an initialiser, an optimiser step) does it the right way:
        return _("In-place changes to a parameter must happen inside `with torch.no_grad():`, so autograd neither "
                 "refuses them nor records them.")
    # One that must not has changed its input, which is the mistake itself.
    return _("Your code wrote into its input in place (an indexed assignment such as x[x < 0] = 0, an op ending in _ "
             "such as x.clamp_(), or x *= ...). This exercise must return a new tensor and leave its input alone; "
             "autograd refuses the in-place write here because the input requires grad. Build the result with "
             "out-of-place ops (torch.where, x.clamp(...)).")


def known_error_advice(message: str) -> str:
    """What to do about the torch error `message`, when it is a common mistake's; else ""."""
    for fragment, advice in (
        ("Expected all tensors to be on the same device",
         _("A tensor you created lives on another device than the input: create it with device=x.device "
           "(or torch.zeros_like(x) and friends).")),
        ("torch.return_types.m",
         _("x.max(dim) and x.min(dim) return (values, indices), not a tensor: use x.amax(dim, keepdim=True), "
           "or x.max(dim, keepdim=True).values.")),
        ("must match the size of tensor b",
         _("Two tensors of different shapes met: a reduction over a dim (sum, max, mean) drops that dim, so "
           "its result no longer lines up with the input. Pass keepdim=True (x.sum(dim, keepdim=True)) to "
           "keep it.")),
        ("can't be cast to the desired output type",
         _("An in-place op mixes dtypes: build new tensors in the input's dtype.")),
        ("element 0 of tensors does not require grad",
         _("backward() needs a tensor that requires grad: call requires_grad_(True) on a detached copy "
           "first.")),
    ):
        if fragment in message:
            return advice
    return ""


class Learner:
    """One exercise of one implementation, reached through a worker."""

    def __init__(self, worker, exercise: Exercise, device: torch.device, seed: int = 0, on_flag=None):
        self.worker = worker
        self.exercise = exercise
        self.device = device
        self.seed = seed
        self.on_flag = on_flag or (lambda flag: None)  # where a flag is recorded the moment it arises

    def call_text(self, *args, **kwargs) -> str:
        parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
        return f"{self.exercise.name}({', '.join(parts)})"

    # -- calls ---------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        return self._call(None, self.call_text(*args, **kwargs), args, kwargs)

    def attempt(self, *args, **kwargs) -> Outcome:
        """Call, expecting it may raise; returns an Outcome instead of failing the test."""
        return self._outcome(self._send("call", None, args, kwargs), self.call_text(*args, **kwargs))

    def run(self, probe, *args, **kwargs):
        """Run `probe(scene, *args, **kwargs)`, a module-level function of a test module,
        where learner code lives; `scene.fn` is the learner's exercise."""
        text = _("{name} in the scenario {scenario!r}", name=self.exercise.name,
                 scenario=probe.__name__.removeprefix("probe_").replace("_", " "))
        reply = self._send("probe", None, args, kwargs, probe=f"{probe.__module__}:{probe.__qualname__}")
        outcome = self._outcome(reply, text)
        if outcome.raised:
            self._fail_raised(text, outcome)
        return outcome.value

    def _call(self, target, text, args, kwargs):
        outcome = self._outcome(self._send("call", target, args, kwargs), text)
        if outcome.raised:
            self._fail_raised(text, outcome)
        return outcome.value

    # -- plumbing --------------------------------------------------------------------
    def _send(self, op, target, args=(), kwargs=None, **extra):
        request = {"op": op, "exercise": self.exercise.id, "target": target, "seed": self.seed,
                   "args": list(args), "kwargs": dict(kwargs or {}), **extra}
        return boundary.loads(self.worker.handle(boundary.dumps(_refs(request)), exercise=self.exercise.id))

    def _outcome(self, reply: dict, text: str) -> Outcome:
        status = ReplyStatus(reply["status"])
        if reply.get("tampered"):
            # Flagged for the instructor, and put back by the worker before any check ran: the
            # answer is judged on what it returned, like anyone else's.
            self.on_flag(Flag.TAMPERED)
        if status == ReplyStatus.NOT_ATTEMPTED:
            raise NotAttempted(self._not_attempted_text(reply.get("where", "")))
        if status == ReplyStatus.BROKEN:
            raise NotLoaded(reply["message"])
        if status == ReplyStatus.TIMEOUT:
            self.on_flag(Flag.TIMED_OUT)
            again = _(" (in an earlier test of this exercise; not run again)") if reply.get("again") else ""
            raise WrongAnswer(_("{call}: your code did not finish in {seconds:g} s{again} (an infinite loop, or a "
                                "sleep?) and was stopped.", call=text, seconds=reply["seconds"], again=again))
        if status == ReplyStatus.CRASHED:
            self.on_flag(Flag.CRASHED)
            raise WrongAnswer(_("{call}: the process running your code died: {how}.", call=text, how=reply["how"]))
        if reply.get("off_limits"):
            if any(REFERENCE_LABEL in name for name in reply["off_limits"]):
                self.on_flag(Flag.CALLED_REFERENCE)
            raise WrongAnswer(_(
                "{call} calls {names}, which this exercise asks you to write yourself instead of "
                "calling the built-in. Build it from basic tensor operations (torch.exp, sum, "
                "clamp, where, ...) as the docstring explains.",
                call=text, names=", ".join(tripwire.said(name) for name in reply["off_limits"])
            ))
        if status == ReplyStatus.RAISED and is_fork_failure(reply["message"]):
            raise GradingError(_("{call}: torch could not run in the grader's child process ({error}); {advice}",
                                 call=text, error=reply["message"], advice=fork_advice()))
        if status == ReplyStatus.RAISED:
            return Outcome(error_type=reply["type"], error_mro=tuple(reply["mro"]),
                           message=reply["message"], where=reply.get("where", ""))
        return Outcome(value=_handles(reply["value"], self))

    def _not_attempted_text(self, where: str) -> str:
        """Name the stub that was reached: this exercise's own, or one it calls (kaiming_normal_
        is written, but calculate_fan_in_and_fan_out, which it uses, is still a stub)."""
        last = where.splitlines()[-1] if where else ""
        found = re.match(r"(?P<file>[\w.]+\.py):\d+ in (?P<function>\w+)", last)
        other = found and f"{found['file'].removesuffix('.py')}.{found['function']}"
        if other and other != self.exercise.id and other in {e.id for e in load()}:
            return _("{id} is not finished: it calls {function}, which is still a stub ({where}). Finish {other} "
                     "first (torchkata check {other}), then this one.", id=self.exercise.id,
                     function=found["function"], where=last, other=other)
        shown = f" ({last})" if last else ""
        return _("{id} is not attempted yet: its stub still raises NotImplementedError{where}. Open {module}.py, "
                 "read the docstring of {name}, and replace the raise with your code.", id=self.exercise.id,
                 where=shown, module=self.exercise.module, name=self.exercise.name)

    def _fail_raised(self, text: str, outcome: Outcome):
        where = "\n  " + _("in your code: {trace}", trace=outcome.where.replace(chr(10), chr(10) + "  ")) \
            if outcome.where else ""
        if IN_PLACE_ON_A_LEAF in outcome.message:
            advice = f"\n  {in_place_advice(self.exercise.changes_arguments)}"
        else:
            tip = known_error_advice(outcome.message)
            advice = f"\n  {tip}" if tip else ""
        raise WrongAnswer(_("{call} raised {error}: {message}{advice}{where}", call=text, error=outcome.error_type,
                            message=outcome.message, advice=advice, where=where))


class Handle:
    """An object that stayed with the learner's code (e.g. their nn.Module).

    Attribute reads and calls are answered by the worker, in plain data (or new handles).
    """

    def __init__(self, ref: boundary.HandleRef, learner: Learner):
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_learner", learner)

    @property
    def type_name(self) -> str:
        return self._ref.type_name

    def is_a(self, class_name: str) -> bool:
        """True when the object's class or a base class has this name (e.g. "Module")."""
        return class_name in self._ref.bases

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        outcome = self._learner._outcome(self._learner._send("getattr", self._ref.id, name=name), f"{self.type_name}.{name}")
        if outcome.raised:
            raise AttributeError(_("{type} has no attribute {name!r} ({error}: {message})", type=self.type_name,
                                   name=name, error=outcome.error_type, message=outcome.message))
        return outcome.value

    def __call__(self, *args, **kwargs):
        parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
        return self._learner._call(self._ref.id, f"{self.type_name}({', '.join(parts)})", args, kwargs)

    def __repr__(self):
        return f"<handle to {self._ref.text}>"


def _handles(value, learner: Learner):
    if isinstance(value, boundary.HandleRef):
        return Handle(value, learner)
    if type(value) is list:
        return [_handles(v, learner) for v in value]
    if type(value) is tuple:
        return tuple(_handles(v, learner) for v in value)
    if type(value) is dict:
        return {k: _handles(v, learner) for k, v in value.items()}
    return value


def _refs(value):
    if isinstance(value, Handle):
        return value._ref
    if type(value) is list:
        return [_refs(v) for v in value]
    if type(value) is tuple:
        return tuple(_refs(v) for v in value)
    if type(value) is dict:
        return {k: _refs(v) for k, v in value.items()}
    return value
