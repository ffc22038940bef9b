"""The typed values of grading, in one place: verdicts, flags, the worker's reply statuses,
and a student's result.

`Verdict`, `Flag` and `ReplyStatus` are strs (their values are what JSON files and reports
hold), so files written before they existed read the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from .i18n import _, current

# Exit statuses of the command line: 0 passed (or graded), 1 not right yet, 2 what was asked
# cannot be done as given (argparse's own status too), 3 a grading error: the grader failed.
EXIT_NOT_RIGHT, EXIT_USAGE, EXIT_GRADING_ERROR = 1, 2, 3


class Verdict(StrEnum):
    DONE = "done"                    # every test of the exercise passed
    WRONG = "wrong"                  # the student's code failed a test: the only verdict that blames it
    NOT_ATTEMPTED = "not attempted"  # the stub still raises NotImplementedError
    NOT_LOADED = "could not load"    # the module (or the submission) could not be loaded: a syntax error, a
                                     # failing import, a missing file; the code was never run, so not "wrong"
    GRADING_ERROR = "grading error"  # the grader failed (its own exception, a broken environment): regrade


class Flag(StrEnum):
    """Something an instructor should look at, recorded where it happens (never read back
    from a message's wording). Only the verdict decides points."""

    TAMPERED = "patched torch or the grader"
    CHANGED_GRADER_FILES = "changed the grader's files"  # unconfined only; the files were put back
    CALLED_REFERENCE = "called the reference solutions"
    TIMED_OUT = "timed out"
    CRASHED = "crashed the sandbox"
    REGRADE = "grading error: regrade"


class ReplyStatus(StrEnum):
    """What a call into learner code came to, as the worker replies it."""

    OK = "ok"
    RAISED = "raised"
    NOT_ATTEMPTED = "not_attempted"
    BROKEN = "broken"       # the module would not import
    TIMEOUT = "timeout"     # the sandbox stopped it at the call's time limit
    CRASHED = "crashed"     # the sandbox child died, or garbled its reply


# How a module that did not load is said ("losses.py could not be loaded: SyntaxError at line 3: ..."):
# the worker writes it, the views keep only what follows it where the verdict already says the rest.
LOAD_FAILED = " could not be loaded: "

# A verdicts file (the plugin writes one per run) maps exercise ids to their verdicts, and
# may hold these two entries besides: why the run could not grade at all, and what the
# sandbox could not do.
GRADING_ERROR_KEY, SANDBOX_KEY = "_grading_error", "_sandbox_weaknesses"


def write_grading_error(path: Path, message: str) -> None:
    """The verdicts file of a run that could not grade: no verdict, only the grader's reason."""
    path.write_text(json.dumps({GRADING_ERROR_KEY: message}), encoding="utf-8")


# What a failure says, without what differs between the tests that found it: the inputs
# (described by learner.show, in the language being spoken), their dtypes and every number.
_SMALL_TENSOR = r"tensor\(\[[^\]]*\], \w+, shape \([^)]*\), [\w:]+\)"
_DTYPES = re.compile(r"\b(b?float\d+|u?int\d+|complex\d+|bool)\b")
_NUMBERS = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


@cache
def _inputs(lang: str) -> re.Pattern:
    """learner.show's description of a tensor, as a pattern, from the same message template."""
    template = re.escape(_("{dtype} tensor of shape {shape} on {device}", lang=lang))
    described = (template.replace(r"\{dtype\}", r"\w+").replace(r"\{shape\}", r"\([^)]*\)")
                 .replace(r"\{device\}", r"[\w:]+"))
    return re.compile(f"{_SMALL_TENSOR}|{described}")


def same_mistake(message: str) -> str:
    """A key that is equal for two failures that differ only in the inputs they were found on."""
    return _NUMBERS.sub("#", _DTYPES.sub("D", _inputs(current()).sub("X", message)))


def combine(outcomes: list[str]) -> Verdict:
    """One exercise's verdict from its tests' outcomes ("passed", "failed", or a Verdict).

    A grading error outranks everything: no point is given or taken on a run the grader
    could not trust. Then could not load (the module never ran), not attempted (a stub),
    wrong, done.
    """
    for verdict in (Verdict.GRADING_ERROR, Verdict.NOT_LOADED, Verdict.NOT_ATTEMPTED):
        if verdict in outcomes:
            return verdict
    return Verdict.WRONG if "failed" in outcomes else Verdict.DONE


@dataclass
class ExerciseResult:
    verdict: Verdict
    points: int = 0
    messages: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"verdict": str(self.verdict), "points": self.points, "messages": self.messages,
                "flags": [str(f) for f in self.flags]}

    @classmethod
    def from_json(cls, data: dict) -> ExerciseResult:
        return cls(Verdict(data["verdict"]), int(data.get("points", 0)), list(data.get("messages", [])),
                   [Flag(f) for f in data.get("flags", [])])


@dataclass
class StudentResult:
    student: str
    exercises: dict[str, ExerciseResult] = field(default_factory=dict)
    sandbox_weaknesses: list[str] = field(default_factory=list)
    extra_flags: list[str] = field(default_factory=list)  # the student's own (not an exercise's), and
                                                          # the free-text flags of format 1 files

    @property
    def score(self) -> int:
        return sum(e.points for e in self.exercises.values())

    @property
    def flags(self) -> list[str]:
        """The student's flags, in Flag order: those of every exercise, and a regrade flag
        when any exercise is a grading error."""
        found = {f for e in self.exercises.values() for f in e.flags}
        if any(e.verdict == Verdict.GRADING_ERROR for e in self.exercises.values()):
            found.add(Flag.REGRADE)
        return [str(f) for f in Flag if f in found] + [f for f in self.extra_flags if f not in set(map(str, found))]

    @property
    def needs_regrading(self) -> bool:
        return Flag.REGRADE in self.flags
