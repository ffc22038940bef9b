"""One grading run: the real pytest suite, in a child process, with a time limit.

The command line grades through exactly the suite a CI run uses (no second grading path).
The child process is what keeps a learner's infinite loop, `os._exit` or segfault from
taking the command line down with it: the run either reports verdicts, or says it did
not finish in time, or says how the interpreter died.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import digests
from ..core.i18n import _
from ..core.verdicts import GRADING_ERROR_KEY, SANDBOX_KEY, ExerciseResult, write_grading_error
from .preload import ROOT, preload
from .processes import (
    READY_FILE,
    GradingError,
    SlowStart,
    TimeLimit,
    children_can_grade,
    cuda_in_use,
    ending_text,
    environment,
    fork,
    prepare_parent,
    run,
    self_check,
    wait,
)


@dataclass
class Run:
    """What a grading run produced: verdicts, or why there are none."""

    verdicts: dict[str, ExerciseResult] = field(default_factory=dict)
    timed_out: bool = False
    crashed: str = ""        # how the interpreter ended, when the learner's code ended it without verdicts
    grading_error: str = ""  # the grader's own failure: nothing is known about the learner's code
    output: str = ""
    seconds: float = 0.0


# A grading run needs our plugin (loaded by tests/conftest.py) and pytest's core, nothing
# else: no entry-point plugins (PYTEST_DISABLE_PLUGIN_AUTOLOAD), no log capture, not the
# unraisable-exception plugin, whose five gc.collect() at exit cost a judge ~0.3 s, and not
# the warnings plugin, which sets up a warnings filter around every test (~20% of pytest's
# own time per test); nobody reads a grading run's warnings summary.
LEAN_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
LEAN_OPTIONS = ["-q", "--tb=no", "--no-header", f"--rootdir={ROOT}", "-p", "no:cacheprovider",
                "-p", "no:logging", "-p", "no:unraisableexception", "-p", "no:threadexception",
                "-p", "no:warnings"]

# pytest's own exit statuses, with what it prints then: the grader failed, not the learner.
PYTEST_FAILURES = {3: "INTERNALERROR", 4: "ERROR:"}
NO_TESTS = 5  # pytest collected no test of the exercises asked for; it then ends with this summary:
NO_TESTS_SUMMARY = re.compile(r"(no tests ran|\d+ deselected) in [\d.]+s")


def _pytest_args(exercises: Path, exercise_ids, device: str, verdicts: Path) -> list[str]:
    modules = sorted({e.split(".")[0] for e in exercise_ids})
    return [*(str(ROOT / "tests" / "exercises" / f"test_{m}.py") for m in modules),
            f"--impl={Path(exercises).resolve()}", f"--device={device}", f"--verdicts={verdicts}",
            *(f"--exercise={e}" for e in exercise_ids), *LEAN_OPTIONS]


def no_tests_found(exercise_ids) -> str:
    """Why a run graded nothing: the suite has no test for the exercises (edited tests)."""
    files = sorted({f"tests/exercises/test_{e.split('.')[0]}.py" for e in exercise_ids})
    changed = digests.changed_tests()
    why = _("these test files differ from the published ones: {files}", files=", ".join(changed)) if changed \
        else _("was a test class deleted or renamed?")
    return _("no test grades {exercises}: {files} has no test for it ({why}). Restore the published tests "
             "(git checkout tests/, or download the kata again) and check again.",
             exercises=", ".join(exercise_ids), files=", ".join(files), why=why)


def _collect(run: Run, verdicts: Path, returncode: int, exercise_ids=()) -> Run:
    found = json.loads(verdicts.read_text(encoding="utf-8")) if verdicts.exists() else None
    tail = "\n".join(run.output.strip().splitlines()[-5:])
    if found is not None and GRADING_ERROR_KEY in found:
        run.grading_error = found[GRADING_ERROR_KEY]
    elif found is not None:
        found.pop(SANDBOX_KEY, None)
        run.verdicts = {exercise: ExerciseResult.from_json(result) for exercise, result in found.items()}
    elif returncode == NO_TESTS and NO_TESTS_SUMMARY.search(tail):
        run.grading_error = no_tests_found(exercise_ids)
    elif returncode in PYTEST_FAILURES and PYTEST_FAILURES[returncode] in run.output:
        run.grading_error = _("the test suite itself could not run (pytest exit status {code}):",
                              code=returncode) + f"\n{tail}"
    else:
        run.crashed = (_("the Python interpreter {ending} while grading your code (did your code call os._exit or "
                         "exit at import, or crash?)", ending=ending_text(returncode)) + f"\n{tail}").strip()
    return run


# The grader's own start (an interpreter, torch, pytest, the tests) is not the learner's time:
# it gets at least this long, or the learner's --timeout where that is longer.
STARTUP_SECONDS = 60.0


def time_limit(timeout: float, scratch: str) -> TimeLimit:
    """`timeout` seconds for the learner's code, counted from when the suite is ready to call
    it (the plugin creates the file then); the start-up is limited apart."""
    return TimeLimit(timeout, ready=Path(scratch) / "ready", startup=max(STARTUP_SECONDS, timeout))


def slow_start(error: SlowStart, output: str = "") -> Run:
    """A run that never reached the learner's code: a grading error, never the learner's."""
    why = _("the grader itself took more than {seconds:g} s to get ready to run your code: this machine is busy "
            "or slow, and none of your code had run yet. Check again when it is quieter, or give it more time "
            "with --timeout {more:g}.", seconds=error.startup, more=2 * error.startup)
    return Run(grading_error=why, output=error.output or output)


def grade(exercises: Path, exercise_ids, *, timeout: float = 60.0, device: str = "cpu") -> Run:
    """Grade `exercise_ids` of the implementation folder `exercises` in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="torchkata-") as scratch:
        verdicts = Path(scratch) / "verdicts.json"
        command = [sys.executable, "-m", "pytest", *_pytest_args(exercises, exercise_ids, device, verdicts)]
        start = time.perf_counter()
        try:
            output, ending = run(command, seconds=time_limit(timeout, scratch), cwd=ROOT,
                                 env={**os.environ, **LEAN_ENV})
        except SlowStart as error:
            return slow_start(error)
        graded = Run(output=output, seconds=time.perf_counter() - start, timed_out=ending is None)
        return graded if ending is None else _collect(graded, verdicts, ending.code, exercise_ids)


class WarmGrader:
    """For `watch`: torch, pytest and the tests are imported once, here; each grading run
    is a fork of this process, so a check costs the tests, not the imports. The fork is
    the same shield as a child process: a loop is killed at the time limit, a crash ends
    only the fork. Forking after torch is sound for the reasons in processes.py."""

    def __init__(self, device: str = "cpu"):
        if cuda_in_use():
            raise GradingError(_("watch forks its checks from this process, which has already used CUDA"))
        self.device = device
        prepare_parent(device)
        preload(device)
        problem = children_can_grade(device)
        if problem:
            raise GradingError(problem)

    def grade(self, exercises: Path, exercise_ids, *, timeout: float = 60.0, device: str | None = None) -> Run:
        device = device or self.device
        with tempfile.TemporaryDirectory(prefix="torchkata-") as scratch:
            verdicts, log = Path(scratch) / "verdicts.json", Path(scratch) / "output.txt"
            args = _pytest_args(exercises, exercise_ids, device, verdicts)

            def run_suite() -> int:
                out = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
                os.dup2(out, 1)
                os.dup2(out, 2)
                try:
                    self_check(device)
                except GradingError as error:
                    write_grading_error(verdicts, str(error))
                    return 0
                os.environ.update(LEAN_ENV)
                import pytest

                return pytest.main(args)

            start = time.perf_counter()
            limit = time_limit(timeout, scratch)
            with environment({READY_FILE: str(limit.ready)}):
                pid = fork(run_suite)
            try:
                ending, slow = wait(pid, limit), None
            except SlowStart as error:
                ending, slow = None, error
            output = log.read_text(errors="replace") if log.exists() else ""
            if slow is not None:
                return slow_start(slow, output)
            run = Run(output=output, seconds=time.perf_counter() - start)
            if ending is None:
                run.timed_out = True
                return run
            return _collect(run, verdicts, ending.code, exercise_ids)
