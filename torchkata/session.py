"""One grading run: the real pytest suite, in a child process, with a time limit.

The command line grades through exactly the suite a CI run uses (no second grading path).
The child process is what keeps a learner's infinite loop, `os._exit` or segfault from
taking the command line down with it: the run either reports verdicts, or says it did
not finish in time, or says how the interpreter died.
"""

from __future__ import annotations

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


def grade(exercises: Path, exercise_ids, *, timeout: float = 60.0, device: str = "cpu") -> Run:
    """Grade `exercise_ids` of the implementation folder `exercises` in a child process."""
    modules = sorted({e.split(".")[0] for e in exercise_ids})
    with tempfile.TemporaryDirectory(prefix="torchkata-") as scratch:
        verdicts = Path(scratch) / "verdicts.json"
        command = [sys.executable, "-m", "pytest", *(str(ROOT / "tests" / "exercises" / f"test_{m}.py") for m in modules),
                   f"--impl={Path(exercises).resolve()}", f"--device={device}", f"--verdicts={verdicts}",
                   *(f"--exercise={e}" for e in exercise_ids), "-q", "--tb=no", "--no-header",
                   "-p", "no:cacheprovider", f"--rootdir={ROOT}"]
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
                                        # only our plugin (via tests/conftest.py): faster start
                                        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            output, _ = process.communicate()
            return Run(timed_out=True, output=output, seconds=time.perf_counter() - start)
        finally:
            _kill_group(process)  # anything the learner's code left running goes too
        run = Run(output=output, seconds=time.perf_counter() - start)
        if verdicts.exists():
            run.verdicts = json.loads(verdicts.read_text(encoding="utf-8"))
        else:
            run.crashed = _how_it_ended(process.returncode, output)
        return run


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _how_it_ended(code: int, output: str) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the Python interpreter was killed by {name} while running your code"
    tail = "\n".join(output.strip().splitlines()[-5:])
    return f"the Python interpreter exited with status {code} before grading finished (did your code call os._exit or exit at import?)\n{tail}".strip()
