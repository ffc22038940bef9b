"""A failure is a record, not a sentence.

A check that fails builds one `Failure`: the rule of the contract it broke (one of `Rule`),
the call as described, the values where they differ, the known mistakes (suspects) the wrong
answer matches, where in the learner's file it happened, which of the learner's functions ran,
and what the learner's code printed. Every later step (the plugin, the verdicts file, the
progress file, the status screen, report.md, feedback, Gradescope) carries the record as it
is; only the page a person reads turns it into text (`Failure.render`), in that person's
language. Nothing reads facts back out of a sentence.

`said_once` is how a verdict says each mistake once: failures that break the same rule for
the same reason (the same suspect, or the same message with other numbers) are one item
with a count; when one bug matches several suspects, the suspect that explains the most
inputs is the one named.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .compat import StrEnum
from .i18n import M_, N_, Message, _


class Rule(StrEnum):
    """The rules of an exercise's contract a failure can break (a closed set)."""

    VALUES = "values"                  # the values differ from torch's
    NOT_FINITE = "not finite"          # inf or nan where torch's answer is finite
    SHAPE = "shape"
    DTYPE = "dtype"
    DEVICE = "device"
    RETURN_TYPE = "return type"        # None, or not the kind of value asked for
    INPUT_MODIFIED = "input modified"  # wrote into an input it must leave alone
    MUST_RAISE = "must raise"          # bad input must raise the error the contract names
    ERROR_MESSAGE = "error message"    # ... with a message that names the argument and the value
    DISTRIBUTION = "distribution"      # random values from the wrong distribution
    DIFFERENTIABLE = "differentiable"  # autograd must reach the input through the result
    CONTRACT = "contract"              # a rule of this exercise's own, said by its test
    DEPENDENCY = "dependency"          # another exercise this one calls is not right yet
    RAISED = "raised"                  # the learner's code raised an exception
    OFF_LIMITS = "off limits"          # called a built-in the exercise asks to write by hand
    TIMED_OUT = "timed out"
    CRASHED = "crashed"
    NOT_ATTEMPTED = "not attempted"    # a stub was reached
    NOT_LOADED = "not loaded"          # the module could not be loaded
    GRADING_ERROR = "grading error"    # the grader failed, not the learner's code


# Each rule in one sentence, for the pages that group failures by rule (report.md).
RULE_SAID = {
    Rule.VALUES: N_("the values must equal torch's, within the tolerance"),
    Rule.NOT_FINITE: N_("the result must be finite wherever torch's is"),
    Rule.SHAPE: N_("the result must have torch's shape"),
    Rule.DTYPE: N_("the result must keep the input's dtype"),
    Rule.DEVICE: N_("the result must be on the input's device"),
    Rule.RETURN_TYPE: N_("return the kind of value the contract names"),
    Rule.INPUT_MODIFIED: N_("leave the inputs unchanged"),
    Rule.MUST_RAISE: N_("refuse bad input with the error the contract names"),
    Rule.ERROR_MESSAGE: N_("an error message names the argument and the value received"),
    Rule.DISTRIBUTION: N_("draw from the distribution the contract names"),
    Rule.DIFFERENTIABLE: N_("autograd must reach the input through the result"),
    Rule.CONTRACT: N_("the exercise's own rule"),
    Rule.DEPENDENCY: N_("another exercise it calls is not right yet"),
    Rule.RAISED: N_("the code must not raise on valid input"),
    Rule.OFF_LIMITS: N_("write it yourself instead of calling the built-in"),
    Rule.TIMED_OUT: N_("finish within the time limit"),
    Rule.CRASHED: N_("the process running the code must not die"),
    Rule.NOT_ATTEMPTED: N_("not attempted yet"),
    Rule.NOT_LOADED: N_("the module must load"),
    Rule.GRADING_ERROR: N_("the grader failed, not the code"),
}


def rule_said(rule: Rule, lang: str | None = None) -> str:
    """The rule in its sentence, in `lang` (default: the current language)."""
    return Message(RULE_SAID[rule]).render(lang)


@dataclass(frozen=True)
class Suspicion:
    """A known mistake the wrong answer matches: its id (the suspect's label, in English)
    and the failure said with that mistake as its cause."""

    id: str
    text: Message


@dataclass(frozen=True)
class Frame:
    """A line of the learner's own code on the way to a failure."""

    file: str      # the file's name, as the learner knows it (activations.py)
    line: int
    function: str
    code: str = ""

    def render(self, code: bool = True) -> str:
        return f"{self.file}:{self.line} in {self.function}: {self.code if code else ''}".rstrip(": ")


@dataclass(frozen=True)
class Failure:
    rule: Rule
    text: Message                        # the failure said with no suspect named
    call: Message | None = None          # the call, its arguments described (dtype, shape, device)
    facts: tuple[tuple[str, object], ...] = ()  # where values differ: index, got, expected, atol, rtol
    suspects: tuple[Suspicion, ...] = ()  # known mistakes the answer matches, as the check found them
    suspect: str = ""                    # the one that explains it (said_once chooses)
    trace: tuple[Frame, ...] = ()        # the learner's frames, most recent last
    ran: tuple[str, ...] = ()            # the learner's functions that ran (module.name)
    blames: str = ""                     # the other exercise at fault (Rule.DEPENDENCY, a stub reached)
    count: int = 1                       # how many tests found it
    output: str = ""                     # what the learner's code printed in the test that found it
    lesson: bool = False                 # found by a test of the exercise's own lesson: said first

    def __post_init__(self):
        if isinstance(self.call, str):  # a call a test wrote out itself
            object.__setattr__(self, "call", Message.verbatim(self.call))

    @property
    def where(self) -> Frame | None:
        return self.trace[-1] if self.trace else None

    def fact(self, name: str, default=None):
        return dict(self.facts).get(name, default)

    def key(self) -> tuple:
        """What makes two failures the same mistake: the suspect that explains it, or else the
        rule and what the message says (`Message.shape`: its words, not the values found on
        one input); for an exception, also the line of the learner's code that raised it."""
        if self.suspect:  # a known mistake, whichever check caught it (wrong values, or not finite)
            return ("suspect", self.suspect)
        if self.rule in (Rule.TIMED_OUT, Rule.CRASHED, Rule.DEPENDENCY):  # one cause, whatever the words
            return (str(self.rule), self.blames)
        line = (self.where.file, self.where.line) if self.rule == Rule.RAISED and self.where else ()
        return (str(self.rule), self.text.replacing("call", Message.value("")).shape(), line)

    def said(self) -> Message:
        """The message: the chosen suspect's, else the plain one."""
        for suspicion in self.suspects:
            if suspicion.id == self.suspect:
                return suspicion.text
        return self.text

    def headline(self, lang: str | None = None, brief: bool = False) -> str:
        """The first line, for a row or a list of a whole class. `brief`, where there is room for
        few words beside the verdict: the call without its arguments ("softmax(…) returned what
        ..."), since what went wrong matters more than the inputs it was found on, and for a
        module that could not be loaded only why ("SyntaxError at line 3: ...")."""
        if brief and self.blames:  # the other exercise is what to do something about
            said = M_("finish {other} first (a stub)", other=self.blames) if self.rule == Rule.NOT_ATTEMPTED else \
                M_("fix {other} first", other=self.blames)
            return said.render(lang)
        detail = self.text.field("detail") if brief and self.rule == Rule.NOT_LOADED else None
        said = detail if isinstance(detail, Message) else self.said()
        if brief:
            said = _without_arguments(said)
        return (said.render(lang).splitlines() or [""])[0]

    def render(self, lang: str | None = None) -> str:
        """The failure in words, in `lang` (default: the current language); the learner's
        frames under it."""
        text = self.said().render(lang)
        if self.trace and self.rule in (Rule.RAISED, Rule.NOT_LOADED):
            text += "\n  " + _("in your code: {trace}", lang=lang,
                               trace="\n  ".join(frame.render() for frame in self.trace))
        return text

    # -- as data -------------------------------------------------------------------------
    def to_json(self) -> dict:
        data = {"rule": str(self.rule), "text": self.text.to_json()}
        if self.call is not None:
            data["call"] = self.call.to_json()
        if self.facts:
            data["facts"] = dict(self.facts)
        if self.suspects:
            data["suspects"] = [{"id": s.id, "text": s.text.to_json()} for s in self.suspects]
        for name in ("suspect", "blames", "output"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.trace:
            data["trace"] = [[f.file, f.line, f.function, f.code] for f in self.trace]
        if self.ran:
            data["ran"] = list(self.ran)
        if self.count != 1:
            data["count"] = self.count
        if self.lesson:
            data["lesson"] = True
        return data

    @classmethod
    def from_json(cls, data) -> Failure:
        if isinstance(data, str):  # a message of an older file: said as it was written
            return cls(Rule.CONTRACT, Message.verbatim(data))
        return cls(Rule(data["rule"]), Message.from_json(data["text"]),
                   Message.from_json(data["call"]) if "call" in data else None,
                   tuple(data.get("facts", {}).items()),
                   tuple(Suspicion(s["id"], Message.from_json(s["text"])) for s in data.get("suspects", [])),
                   data.get("suspect", ""), tuple(Frame(*f) for f in data.get("trace", [])),
                   tuple(data.get("ran", [])), data.get("blames", ""), int(data.get("count", 1)),
                   data.get("output", ""), bool(data.get("lesson", False)))


def _without_arguments(text: Message) -> Message:
    """`text` with its call said by name only: the inputs a mistake was found on are not the mistake."""
    call = text.find("call")
    return text.replacing("call", Message.join("", [call.parts[0], "(…)"])) if isinstance(call, Message) and \
        call.parts else text


def said_once(failures: list[Failure], most: int | None = None) -> tuple[list[Failure], int]:
    """Each mistake once: (the failures grouped, how many more were left out beyond `most`).

    A failure that matches several suspects is put down to the one that explains the most
    of these failures (on one bug, one diagnosis); another suspect is named only for inputs
    the first does not explain. Failures with the same `key` become one, with the counts
    added, the first one's example and the first output found. Failures of the lesson come
    first, then the order they were met in.
    """
    explains: dict[str, int] = {}
    for failure in failures:
        for suspicion in failure.suspects:
            explains[suspicion.id] = explains.get(suspicion.id, 0) + failure.count
    groups: dict[tuple, Failure] = {}
    for failure in failures:
        if failure.suspects and not failure.suspect:
            best = max(failure.suspects, key=lambda s: explains[s.id])  # the first of equals: max keeps it
            failure = replace(failure, suspect=best.id)
        key = failure.key()
        if key in groups:
            kept = groups[key]
            groups[key] = replace(kept, count=kept.count + failure.count, output=kept.output or failure.output,
                                  lesson=kept.lesson or failure.lesson)
        else:
            groups[key] = failure
    ordered = sorted(groups.values(), key=lambda f: not f.lesson)  # stable: the order met, lesson first
    if most is None or len(ordered) <= most:
        return ordered, 0
    return ordered[:most], sum(f.count for f in ordered[most:])


@dataclass
class Failures:
    """A verdict's failures as they come (one per failing test), said once on demand."""

    items: list[Failure] = field(default_factory=list)

    def add(self, failure: Failure) -> None:
        self.items.append(failure)

    def grouped(self, most: int | None = None) -> tuple[list[Failure], int]:
        return said_once(self.items, most)


def stub_reached(exercise_id: str, frame: Frame | None, other: str = "") -> Failure:
    """The failure of a test that reached a stub: this exercise's own, or (`other`) the stub
    of another exercise it calls, named with its file and line."""
    if other:
        return Failure(Rule.NOT_ATTEMPTED, M_(
            "{id} is not finished: it calls {function}, which is still a stub ({where}). Finish {other} first "
            "(torchkata check {other}), then this one.", id=exercise_id, function=other.split(".", 1)[-1],
            other=other, where=frame.render(code=False) if frame else ""), trace=(frame,) if frame else (),
            blames=other)
    module, name = exercise_id.split(".", 1)
    where = f" ({frame.render()})" if frame else ""
    return Failure(Rule.NOT_ATTEMPTED, M_(
        "{id} is not attempted yet: its stub still raises NotImplementedError{where}. Open {module}.py, read the "
        "docstring of {name}, and replace the raise with your code.", id=exercise_id, where=where, module=module,
        name=name), trace=(frame,) if frame else ())
