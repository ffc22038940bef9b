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

from dataclasses import dataclass, replace

import pytest
import torch

from ..core.failures import Failure, Frame, Rule, stub_reached
from ..core.i18n import M_, Message, _
from ..core.manifest import Exercise, load
from ..core.verdicts import Flag, ReplyStatus
from . import boundary, tripwire
from .processes import GradingError, fork_advice, is_fork_failure
from .tripwire import REFERENCE_LABEL


class LearnerFailure(pytest.fail.Exception):
    """A test stopped by what the learner's code did, carrying the record of it."""

    def __init__(self, failure: Failure):
        super().__init__(failure.render(), pytrace=False)
        self.failure = failure


class NotAttempted(LearnerFailure):
    """A stub still raises NotImplementedError: the exercise's own, or one it calls."""


class NotLoaded(LearnerFailure):
    """The exercise's module could not be loaded (a syntax error, a failing import): its
    code never ran, so it is neither right nor wrong."""


class WrongAnswer(LearnerFailure):
    """Learner code broke a rule (an off-limits built-in, an exception, a time-out)."""


def _number(value: float) -> str:
    return f"{value:g}"


def show(value) -> Message:
    """A short description of a value for messages: never a raw dump of a big tensor. A
    0-d tensor reads as the scalar it is (`tensor(4.29828, float32, cpu)`); a Message is a
    description already."""
    if isinstance(value, Message):
        return value
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        if value.dim() == 0:
            return Message.value(f"tensor({_number(value.detach().double().item())}, {dtype}, {value.device})")
        if value.numel() <= 6:
            items = ", ".join(map(_number, value.detach().flatten().double().tolist())) if value.numel() else ""
            return Message.value(f"tensor([{items}], {dtype}, shape {tuple(value.shape)}, {value.device})")
        return M_("{dtype} tensor of shape {shape} on {device}", dtype=Message.value(dtype), shape=tuple(value.shape),
                  device=value.device)
    if isinstance(value, Handle):
        return Message.value(f"<{value.type_name} object>")
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return M_("{type} of {n} items", type=type(value).__name__, n=len(value))
    if isinstance(value, list):
        return Message.join("", ["[", Message.join(", ", map(show, value)), "]"])
    if isinstance(value, tuple):
        return Message.join("", ["(", Message.join(", ", map(show, value)), "," if len(value) == 1 else "", ")"])
    if isinstance(value, dict):
        return Message.join("", ["{", Message.join(", ", [Message.join(": ", [repr(k), show(v)])
                                                          for k, v in value.items()]), "}"])
    return Message.value(repr(value))


def call_said(name: str, args=(), kwargs=None) -> Message:
    """`name(arguments)`, each argument described by `show`."""
    parts = [show(a) for a in args] + [Message.join("=", [k, show(v)]) for k, v in (kwargs or {}).items()]
    return Message.join("", [name, "(", Message.join(", ", parts), ")"])


@dataclass
class Outcome:
    """What a call did: returned `value`, or raised (`error_type`, `error_mro`, `message`)."""

    value: object = None
    error_type: str | None = None
    error_mro: tuple[str, ...] = ()
    message: str = ""
    trace: tuple[Frame, ...] = ()  # the learner's frames, most recent last
    ran: tuple[str, ...] = ()      # the learner's functions that ran in the call

    @property
    def raised(self) -> bool:
        return self.error_type is not None

    def raised_a(self, exc_type: type[BaseException]) -> bool:
        return exc_type.__name__ in self.error_mro


# Errors torch raises for common learner mistakes, and what to do about each. The advice is
# translated when it is given (a function, not a table), in the language of that moment.
IN_PLACE_ON_A_LEAF = "a leaf Variable that requires grad is being used in an in-place operation"


def in_place_advice(changes_arguments: bool) -> Message:
    if changes_arguments:
        # An exercise that must change its arguments (an initialiser, an optimiser step) does it the right way:
        return M_("In-place changes to a parameter must happen inside `with torch.no_grad():`, so autograd neither "
                 "refuses them nor records them.")
    # One that must not has changed its input, which is the mistake itself.
    return M_("Your code wrote into its input in place (an indexed assignment such as x[x < 0] = 0, an op ending in _ "
             "such as x.clamp_(), or x *= ...). This exercise must return a new tensor and leave its input alone; "
             "autograd refuses the in-place write here because the input requires grad. Build the result with "
             "out-of-place ops (torch.where, x.clamp(...)).")


def known_error_advice(message: str) -> Message | str:
    """What to do about the torch error `message`, when it is a common mistake's; else ""."""
    for fragment, advice in (
        ("Expected all tensors to be on the same device",
         M_("A tensor you created lives on another device than the input: create it with device=x.device "
           "(or torch.zeros_like(x) and friends).")),
        ("torch.return_types.m",
         M_("x.max(dim) and x.min(dim) return (values, indices), not a tensor: use x.amax(dim, keepdim=True), "
           "or x.max(dim, keepdim=True).values.")),
        ("must match the size of tensor b",
         M_("Two tensors of different shapes met: a reduction over a dim (sum, max, mean) drops that dim, so "
           "its result no longer lines up with the input. Pass keepdim=True (x.sum(dim, keepdim=True)) to "
           "keep it.")),
        ("can't be cast to the desired output type",
         M_("An in-place op mixes dtypes: build new tensors in the input's dtype.")),
        ("'NoneType' object has no attribute",
         M_("A parameter's .grad is None until a backward() reaches it (and after zero_grad sets it to None): skip "
            "such parameters (if p.grad is not None: ...), or set p.grad = None instead of zeroing it.")),
        ("element 0 of tensors does not require grad",
         M_("backward() needs a tensor that requires grad: call requires_grad_(True) on a detached copy "
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
        self.ran: set[str] = set()  # the learner's functions that ran in this test's calls (module.name)

    def call_text(self, *args, **kwargs) -> Message:
        return call_said(self.exercise.name, args, kwargs)

    # -- calls ---------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        return self._call(None, self.call_text(*args, **kwargs), args, kwargs)

    def attempt(self, *args, **kwargs) -> Outcome:
        """Call, expecting it may raise; returns an Outcome instead of failing the test."""
        return self._outcome(self._send("call", None, args, kwargs), self.call_text(*args, **kwargs))

    def run(self, probe, *args, **kwargs):
        """Run `probe(scene, *args, **kwargs)`, a module-level function of a test module,
        where learner code lives; `scene.fn` is the learner's exercise."""
        text = M_("{name} in the scenario {scenario!r}", name=self.exercise.name,
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

    def _outcome(self, reply: dict, text: Message) -> Outcome:
        status = ReplyStatus(reply["status"])
        ran = tuple(reply.get("ran", ()))
        self.ran.update(ran)
        if reply.get("tampered"):
            # Flagged for the instructor, and put back by the worker before any check ran: the
            # answer is judged on what it returned, like anyone else's.
            self.on_flag(Flag.TAMPERED)
        if status == ReplyStatus.NOT_ATTEMPTED:
            raise NotAttempted(self._stub_reached(_frames(reply.get("trace", [])), ran))
        if status == ReplyStatus.BROKEN:
            raise NotLoaded(Failure(Rule.NOT_LOADED, M_("{file} could not be loaded: {detail}", file=reply["file"],
                                                        detail=Message.from_json(reply["detail"])),
                                    trace=_frames(reply.get("trace", []))))
        if status == ReplyStatus.TIMEOUT:
            self.on_flag(Flag.TIMED_OUT)
            again = M_(" (in an earlier test of this exercise; not run again)") if reply.get("again") else ""
            raise WrongAnswer(Failure(Rule.TIMED_OUT, M_(
                "{call}: your code did not finish in {seconds:g} s{again} (an infinite loop, or a sleep?) and was "
                "stopped.", call=text, seconds=reply["seconds"], again=again), call=text, ran=ran))
        if status == ReplyStatus.CRASHED:
            self.on_flag(Flag.CRASHED)
            raise WrongAnswer(Failure(Rule.CRASHED, M_("{call}: the process running your code died: {how}.",
                                                       call=text, how=reply["how"]), call=text, ran=ran))
        if reply.get("off_limits"):
            if any(REFERENCE_LABEL in name for name in reply["off_limits"]):
                self.on_flag(Flag.CALLED_REFERENCE)
            raise WrongAnswer(Failure(Rule.OFF_LIMITS, self._off_limits_text(text, reply["off_limits"]), call=text,
                                      ran=ran))
        if status == ReplyStatus.RAISED and is_fork_failure(reply["message"]):
            raise GradingError(_("{call}: torch could not run in the grader's child process ({error}); {advice}",
                                 call=text, error=reply["message"], advice=fork_advice()))
        if status == ReplyStatus.RAISED:
            return Outcome(error_type=reply["type"], error_mro=tuple(reply["mro"]), message=reply["message"],
                           trace=_frames(reply.get("trace", [])), ran=ran)
        return Outcome(value=_handles(reply["value"], self), ran=ran)

    def _off_limits_text(self, text: Message, names: list[str]) -> Message:
        said = Message.join(", ", [tripwire.said(name) for name in names])
        if self.exercise.builds_on:  # the capstone: the learner's own pieces take the built-ins' place
            modules = ", ".join(dict.fromkeys(other.split(".")[0] for other in self.exercise.builds_on))
            return M_("{call} calls {names}; this exercise is built from your own {own} instead: call those, from "
                      "the same folder ({module}.py has `from . import {modules}`).", call=text, names=said,
                      own=Message.join(", ", self.exercise.builds_on), module=self.exercise.module, modules=modules)
        return M_("{call} calls {names}, which this exercise asks you to write yourself instead of calling the "
                  "built-in. Build it from basic tensor operations (torch.exp, sum, clamp, where, ...) as the "
                  "docstring explains.", call=text, names=said)

    def _stub_reached(self, trace: tuple[Frame, ...], ran: tuple[str, ...]) -> Failure:
        """Name the stub that was reached: this exercise's own, or one it calls (kaiming_normal_
        is written, but calculate_fan_in_and_fan_out, which it uses, is still a stub)."""
        last = trace[-1] if trace else None
        other = f"{last.file.removesuffix('.py')}.{last.function}" if last else ""
        if other and other != self.exercise.id and other in {e.id for e in load()}:
            return replace(stub_reached(self.exercise.id, last, other), ran=ran)
        return replace(stub_reached(self.exercise.id, last), ran=ran)

    def _fail_raised(self, text: Message, outcome: Outcome):
        if IN_PLACE_ON_A_LEAF in outcome.message:
            advice = in_place_advice(self.exercise.changes_arguments)
        else:
            advice = known_error_advice(outcome.message)
        advice = Message.join("", ["\n  ", advice]) if advice else ""
        raise WrongAnswer(Failure(Rule.RAISED, M_("{call} raised {error}: {message}{advice}{where}", call=text,
                                                  error=outcome.error_type, message=Message.value(outcome.message), advice=advice,
                                                  where=""),
                                  call=text, trace=outcome.trace, ran=outcome.ran))


def _frames(trace: list) -> tuple[Frame, ...]:
    return tuple(Frame(*frame) for frame in trace)


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
        outcome = self._learner._outcome(self._learner._send("getattr", self._ref.id, name=name),
                                         Message.verbatim(f"{self.type_name}.{name}"))
        if outcome.raised:
            raise AttributeError(_("{type} has no attribute {name!r} ({error}: {message})", type=self.type_name,
                                   name=name, error=outcome.error_type, message=outcome.message))
        return outcome.value

    def __call__(self, *args, **kwargs):
        return self._learner._call(self._ref.id, call_said(self.type_name, args, kwargs), args, kwargs)

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
