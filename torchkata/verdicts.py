"""The verdicts an exercise can have, everywhere: the pytest plugin, the command line, the reports.

A `Verdict` is a str (its value is what JSON files and reports hold), so files written
before it existed read the same.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    DONE = "done"                    # every test of the exercise passed
    WRONG = "wrong"                  # the student's code failed a test: the only verdict that blames it
    NOT_ATTEMPTED = "not attempted"  # the stub still raises NotImplementedError
    GRADING_ERROR = "grading error"  # the grader failed (its own exception, a broken environment): regrade


def combine(outcomes: list[str]) -> Verdict:
    """One exercise's verdict from its tests' outcomes ("passed", "failed", or a Verdict).

    A grading error outranks everything: no point is given or taken on a run the grader
    could not trust. Then not attempted (a stub), then wrong, then done.
    """
    for verdict in (Verdict.GRADING_ERROR, Verdict.NOT_ATTEMPTED):
        if verdict in outcomes:
            return verdict
    return Verdict.WRONG if "failed" in outcomes else Verdict.DONE
