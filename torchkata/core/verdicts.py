"""The typed values of grading, in one place: verdicts, flags, the worker's reply statuses,
and a student's result.

`Verdict`, `Flag` and `ReplyStatus` are strs (their values are what JSON files and reports
hold), so files written before they existed read the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .compat import StrEnum
from .failures import Failure, Rule
from .i18n import M_, Message

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
    PROJECT_COPY = "handed in a copy of the whole project: graded on its exercises/"


class ReplyStatus(StrEnum):
    """What a call into learner code came to, as the worker replies it."""

    OK = "ok"
    RAISED = "raised"
    NOT_ATTEMPTED = "not_attempted"
    BROKEN = "broken"       # the module would not import
    TIMEOUT = "timeout"     # the sandbox stopped it at the call's time limit
    CRASHED = "crashed"     # the sandbox child died, or garbled its reply


# A verdicts file (the plugin writes one per run) maps exercise ids to their verdicts
# (`ExerciseResult.to_json`), and may hold these two entries besides: why the run could not
# grade at all, and what the sandbox could not do.
GRADING_ERROR_KEY, SANDBOX_KEY = "_grading_error", "_sandbox_weaknesses"


def write_grading_error(path: Path, message: str) -> None:
    """The verdicts file of a run that could not grade: no verdict, only the grader's reason."""
    path.write_text(json.dumps({GRADING_ERROR_KEY: message}), encoding="utf-8")


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
    """One exercise's verdict, the one record every step carries: the plugin writes it, the
    command line remembers and shows it, the class grader reports it.

    `failures` are said once already (`failures.said_once`), `more` counts those left out;
    `output` is what the learner's code printed in the first failing test that printed; `ran`
    names every function and class of the learner's that ran while it was graded (module.name),
    which is what the verdict depends on.
    """

    verdict: Verdict
    points: int = 0
    failures: list[Failure] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    output: str = ""
    more: int = 0
    ran: list[str] = field(default_factory=list)

    @property
    def first(self) -> Failure | None:
        return self.failures[0] if self.failures else None

    @property
    def main(self) -> Failure | None:
        """The failure that says most about the code: another exercise to fix first, else a
        known mistake, else the one found by the most tests (the first of equals)."""
        if not self.failures:
            return None
        return max(self.failures, key=lambda f: (f.rule == Rule.DEPENDENCY, bool(f.suspect), f.count))

    def said(self, lang: str | None = None) -> list[str]:
        """Each failure in words, in `lang` (default: the current language)."""
        return [failure.render(lang) for failure in self.failures]

    def to_json(self) -> dict:
        data = {"verdict": str(self.verdict), "points": self.points, "failures": [f.to_json() for f in self.failures],
                "flags": [str(f) for f in self.flags]}
        if self.output:
            data["output"] = self.output
        if self.more:
            data["more"] = self.more
        if self.ran:
            data["ran"] = self.ran
        return data

    @classmethod
    def from_json(cls, data: dict) -> ExerciseResult:
        """From this format, or from the messages of formats 1 and 2 (kept as they were said)."""
        if "failures" in data:
            failures = [Failure.from_json(f) for f in data["failures"]]
        else:
            counts = list(data.get("counts", [])) or [1] * len(data.get("messages", []))
            failures = [Failure(Rule.CONTRACT, Message.verbatim(m), count=int(n))
                        for m, n in zip(data.get("messages", []), counts)]
        return cls(Verdict(data["verdict"]), int(data.get("points", 0)), failures,
                   [Flag(f) for f in data.get("flags", [])], data.get("output", ""), int(data.get("more", 0)),
                   list(data.get("ran", [])))


def blame(results: dict[str, ExerciseResult], known: dict[str, ExerciseResult] | None = None) -> None:
    """Put blame where it lies: an exercise that is wrong while another exercise it ran (its
    `ran`: tanh_derivative calls the learner's tanh; capstone.fit trains their networks.Model)
    is wrong too gets, as its first failure, that exercise to fix first. `known` holds the
    verdicts of exercises not in `results` (the learner's remembered ones). Changes `results`."""
    verdicts = {**(known or {}), **results}
    for exercise, result in results.items():
        if result.verdict != Verdict.WRONG or any(f.rule == Rule.DEPENDENCY for f in result.failures):
            continue
        wrong = [other for other in result.ran if other != exercise and other in verdicts
                 and verdicts[other].verdict == Verdict.WRONG]
        if wrong:
            other = wrong[0]
            result.failures.insert(0, Failure(Rule.DEPENDENCY, M_(
                "{id} calls your {other}, which is not right yet: fix {other} first (torchkata check {other}), then "
                "check this one again.", id=exercise, other=other), blames=other))


def grading_error(why: Message | str) -> ExerciseResult:
    """The verdict of an exercise the grader could not grade (`why` says why)."""
    return ExerciseResult(Verdict.GRADING_ERROR, failures=[Failure(Rule.GRADING_ERROR, M_("grading error: {why}",
                                                                                          why=why))])


@dataclass
class StudentResult:
    student: str
    exercises: dict[str, ExerciseResult] = field(default_factory=dict)
    sandbox_weaknesses: list[str] = field(default_factory=list)
    extra_flags: list[str] = field(default_factory=list)  # the student's own (not an exercise's), and
                                                          # the free-text flags of format 1 files
    late: bool = False                                    # handed in late (the platform's mark, or --deadline)
    hand_ins: list[dict] = field(default_factory=list)    # when more than one: each {"name", "handed_in"
                                                          # (ISO 8601), "graded"}, the newest graded
    code: dict[str, str] = field(default_factory=dict)   # exercise id -> the student's definition of it, kept
                                                          # for the similarity check (across shards too)

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
