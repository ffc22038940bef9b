"""The class grader's pytest plugin: the suite is collected once, then run once per student,
each time in a judge forked from the collected session.

A judge inherits the collected items, the imported tests and torch, so grading a student
costs the tests themselves: no interpreter to start, nothing to import or collect again.
It checks first that it can grade at all (processes.self_check), points the session at the
student's folder, runs every item through pytest's own runtest protocol (fixtures,
the sandboxed worker), writes the verdicts to a file the student's code
cannot see, kills whatever the student's code left running, and ends.
"""

from __future__ import annotations

import functools
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ..core.failures import Failure, Rule
from ..core.i18n import M_, _
from ..core.manifest import load
from ..core.verdicts import (
    GRADING_ERROR_KEY,
    SANDBOX_KEY,
    ExerciseResult,
    Flag,
    StudentResult,
    Verdict,
    grading_error,
    write_grading_error,
)
from ..engine import processes
from ..engine.guard import FileGuard
from ..engine.plugin import FILE_GUARD, set_implementation, verdict_collector
from .intake import Submission, UnreadableSubmission, stage

JUDGE_SECONDS = 900  # a whole student's suite, as a last resort; calls have their own limit


class Judges:
    """Plugin for the grader's own pytest session: instead of running the collected tests,
    its run loop forks a judge per student, at most `jobs` at a time, and collects results."""

    def __init__(self, submissions: list[Submission], scratch: Path, jobs: int, exercises: tuple[str, ...] = (),
                 progress=None, device: str = "cpu", guard: FileGuard | None = None):
        self.pending = list(submissions)
        self.scratch = scratch
        self.jobs = jobs
        self.exercises = exercises  # the --exercise selection: a result lists only these
        self.progress = progress
        self.device = device
        self.guard = guard  # unconfined grading: the grader's files, put back after each student
        self.results: dict[str, StudentResult] = {}
        self.problem = ""

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        # Nobody reads a judge's terminal: its report is the verdicts file.
        config.pluginmanager.unregister(name="terminalreporter")
        config.stash[FILE_GUARD] = self.guard  # this grader puts the files back, itself, after each student

    def pytest_collectreport(self, report):
        if report.failed:
            self.problem += f"{report.nodeid}: {report.longreprtext}\n"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if self.problem:
            return True
        staging = self.scratch / "submissions"
        staging.mkdir()
        os.chmod(staging, 0o711)
        (self.scratch / "verdicts").mkdir()
        running: dict[int, tuple[Submission, Path]] = {}
        deadlines: dict[int, float] = {}
        while self.pending or running:
            while self.pending and len(running) < self.jobs:
                submission = self.pending.pop(0)
                verdicts = self.scratch / "verdicts" / f"{submission.student}.json"
                try:
                    folder = stage(submission, staging)
                except (OSError, UnreadableSubmission) as error:
                    self._done(submission, unreadable_result(submission, error, self.exercises))
                    continue
                verdicts.unlink(missing_ok=True)  # only this student's judge can write it now
                pid = processes.fork(functools.partial(_judge, session, folder, verdicts, self.device))
                running[pid] = (submission, verdicts)
                deadlines[pid] = time.monotonic() + JUDGE_SECONDS
            if not running:  # every submission taken up just now was unreadable
                continue
            pid, ending = processes.wait_any(deadlines)
            del deadlines[pid]
            submission, verdicts = running.pop(pid)
            how = _("did not finish in {seconds} s", seconds=JUDGE_SECONDS) if ending is None else ending.text()
            result = read_result(submission, verdicts, self.exercises, judge_ending=how)
            if submission.project_copy:
                result.extra_flags.append(str(Flag.PROJECT_COPY))
            changed = self.guard.restore() if self.guard else []
            if changed:
                result.extra_flags.append(str(Flag.CHANGED_GRADER_FILES))
                result.sandbox_weaknesses.append(_("unconfined, its code changed the grader's files ({files}); they "
                                                   "were put back before the next student", files=", ".join(changed)))
            self._done(submission, result)
        return True

    def _done(self, submission: Submission, result: StudentResult) -> None:
        result.late = submission.late
        if submission.set_aside:
            result.hand_ins = [{"name": h.label, "graded": h is submission,
                                "handed_in": datetime.fromtimestamp(h.handed_in, timezone.utc).isoformat()}
                               for h in sorted((submission, *submission.set_aside), key=lambda h: h.handed_in)]
        self.results[submission.student] = result
        if self.progress:
            self.progress(submission.student)


def _judge(session, folder: Path, verdicts: Path, device: str) -> int:
    """In the forked judge: run the collected tests on one submission, write the verdicts."""
    null = os.open(os.devnull, os.O_WRONLY)  # a judge reports through its verdicts file only
    os.dup2(null, 1)
    os.dup2(null, 2)
    processes.adopt_orphans()  # what the student's code starts stays this judge's to kill
    try:
        processes.self_check(device)
    except processes.GradingError as error:
        write_grading_error(verdicts, str(error))
        return 0
    set_implementation(session.config, folder)
    items = session.items
    try:
        for item, nextitem in zip(items, [*items[1:], None], strict=True):
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        verdict_collector(session.config).write(verdicts)
    finally:
        processes.kill_descendants()
    return 0


def read_result(submission: Submission, verdicts_file: Path, only: tuple[str, ...],
                judge_ending: str = "") -> StudentResult:
    """A student's result from the verdicts file its judge wrote. A judge is the grader's
    own process (student code runs in its sandbox): when it wrote no verdicts, or could not
    grade, every exercise it did not settle is a grading error, never wrong."""
    result = StudentResult(submission.student)
    try:
        verdicts = json.loads(verdicts_file.read_text())
    except (OSError, ValueError):
        verdicts = {GRADING_ERROR_KEY: _("the judge grading this student {ending} without writing its verdicts",
                                         ending=judge_ending or _("ended"))}
    result.sandbox_weaknesses = verdicts.pop(SANDBOX_KEY, [])
    why = verdicts.pop(GRADING_ERROR_KEY) if GRADING_ERROR_KEY in verdicts else _("this exercise was not graded")
    for exercise in load():
        if only and exercise.id not in only:
            continue
        state = ExerciseResult.from_json(verdicts[exercise.id]) if exercise.id in verdicts else grading_error(why)
        state.points = exercise.points if state.verdict == Verdict.DONE else 0
        result.exercises[exercise.id] = state
    return result


def unreadable_result(submission: Submission, error: Exception, only: tuple[str, ...] = ()) -> StudentResult:
    """A submission that could not be taken in: nothing of it loaded (its student must resubmit)."""
    result = StudentResult(submission.student)
    for exercise in load():
        if only and exercise.id not in only:
            continue
        result.exercises[exercise.id] = ExerciseResult(Verdict.NOT_LOADED, 0, [Failure(Rule.NOT_LOADED, M_(
            "the submission could not be used: {error}", error=str(error)))])
    return result
