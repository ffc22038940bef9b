"""One grading run: the real pytest suite, in a child process, with a time limit.

The command line grades through exactly the suite a CI run uses (no second grading path).
The child process is what keeps a learner's infinite loop, `os._exit` or segfault from
taking the command line down with it: the run either reports verdicts, or says it did
not finish in time, or says how the interpreter died.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    """What a grading run produced: verdicts, or why there are none."""

    verdicts: dict[str, dict] = field(default_factory=dict)  # id -> {"verdict", "messages"}
    timed_out: bool = False
    crashed: str = ""   # how the interpreter ended, when it ended without verdicts
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


def _pytest_args(exercises: Path, exercise_ids, device: str, verdicts: Path) -> list[str]:
    modules = sorted({e.split(".")[0] for e in exercise_ids})
    return [*(str(ROOT / "tests" / "exercises" / f"test_{m}.py") for m in modules),
            f"--impl={Path(exercises).resolve()}", f"--device={device}", f"--verdicts={verdicts}",
            *(f"--exercise={e}" for e in exercise_ids), *LEAN_OPTIONS]


def _collect(run: Run, verdicts: Path, returncode: int) -> Run:
    if verdicts.exists():
        run.verdicts = json.loads(verdicts.read_text(encoding="utf-8"))
    else:
        run.crashed = _how_it_ended(returncode, run.output)
    return run


def grade(exercises: Path, exercise_ids, *, timeout: float = 60.0, device: str = "cpu") -> Run:
    """Grade `exercise_ids` of the implementation folder `exercises` in a child process."""
    with tempfile.TemporaryDirectory(prefix="torchkata-") as scratch:
        verdicts = Path(scratch) / "verdicts.json"
        command = [sys.executable, "-m", "pytest", *_pytest_args(exercises, exercise_ids, device, verdicts)]
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True, env={**os.environ, **LEAN_ENV})
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process.pid)
            output, _ = process.communicate()
            return Run(timed_out=True, output=output, seconds=time.perf_counter() - start)
        finally:
            kill_group(process.pid)  # anything the learner's code left running goes too
        return _collect(Run(output=output, seconds=time.perf_counter() - start), verdicts, process.returncode)


class WarmGrader:
    """For `watch`: torch, pytest and the tests are imported once, here; each grading run
    is a fork of this process, so a check costs the tests, not the imports. The fork is
    the same shield as a child process: a loop is killed at the time limit, a crash ends
    only the fork."""

    def __init__(self):
        from .classroom import preload

        preload()

    def grade(self, exercises: Path, exercise_ids, *, timeout: float = 60.0, device: str = "cpu") -> Run:
        with tempfile.TemporaryDirectory(prefix="torchkata-") as scratch:
            verdicts, log = Path(scratch) / "verdicts.json", Path(scratch) / "output.txt"
            args = _pytest_args(exercises, exercise_ids, device, verdicts)
            start = time.perf_counter()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the fork: run the suite, then end without returning
                code = 3
                try:
                    os.setsid()
                    out = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
                    os.dup2(out, 1)
                    os.dup2(out, 2)
                    os.environ.update(LEAN_ENV)
                    import pytest

                    code = pytest.main(args)
                finally:
                    os._exit(int(code))
            deadline = time.monotonic() + timeout
            status = None
            while status is None:
                done, raw = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = raw
                elif time.monotonic() > deadline:
                    kill_group(pid)
                    os.waitpid(pid, 0)
                    return Run(timed_out=True, output=log.read_text(errors="replace"), seconds=time.perf_counter() - start)
                else:
                    time.sleep(0.01)
            kill_group(pid)  # anything the learner's code left running
            returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            run = Run(output=log.read_text(errors="replace") if log.exists() else "", seconds=time.perf_counter() - start)
            return _collect(run, verdicts, returncode)


def kill_group(pid: int) -> None:
    """SIGKILL the process group (session) led by `pid`, if any of it is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _how_it_ended(code: int, output: str) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the Python interpreter was killed by {name} while running your code"
    tail = "\n".join(output.strip().splitlines()[-5:])
    return f"the Python interpreter exited with status {code} before grading finished (did your code call os._exit or exit at import?)\n{tail}".strip()
