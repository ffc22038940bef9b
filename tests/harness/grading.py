"""Grade an implementation folder with the real suite, in-process, and read the verdicts.

Harness tests use this to check the grader from the outside: a folder of learner code
goes in, and what comes out is exactly what a learner or instructor would see.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from torchkata.core.verdicts import ExerciseResult
from torchkata.engine.processes import cuda_in_use

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def grade(impl: Path, tmp_path: Path, exercises=(), *options: str) -> dict:
    """Run tests/exercises on `impl` and return the verdicts file: {exercise id: its verdict
    record as JSON}, each with what a reader of English sees added: "messages" (every failure
    in words) and "counts" (how many tests found each).

    Only the test modules of the given exercises are collected, to keep it quick.
    """
    modules = sorted({e.split(".")[0] for e in exercises})
    paths = [str(ROOT / "tests" / "exercises" / f"test_{m}.py") for m in modules] or [str(ROOT / "tests" / "exercises")]
    verdicts = tmp_path / "verdicts.json"
    args = [*paths, f"--impl={impl}", f"--verdicts={verdicts}", "-q", "--tb=no", "-p", "no:cacheprovider",
            f"--rootdir={ROOT}", "-p", "no:xdist", *(f"--exercise={e}" for e in exercises), *options]
    if "--isolate" in options and cuda_in_use():
        # The sandbox forks from the grading process, which must not have used CUDA (the cuda suite
        # did, in this process): grade as a user would, with pytest in a fresh interpreter.
        code = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, capture_output=True).returncode
    else:
        with mock.patch.dict(os.environ):  # what the plugin sets up for a forking run is undone
            code = pytest.main(args)
    assert code in (0, 1), f"pytest could not grade {impl}: exit code {code}"
    found = json.loads(verdicts.read_text())
    for exercise, record in found.items():
        if not exercise.startswith("_"):
            result = ExerciseResult.from_json(record)
            record.update(messages=result.said("en"), counts=[f.count for f in result.failures])
    return found


def torchkata(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the command line as a user types it, in a fresh interpreter, without PYTHONPATH: it
    must find tests/ itself, as when installed (nox -s grade)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "torchkata", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=cwd)


def submission_with(tmp_path: Path, module: str, code: str, base: Path = SOLUTIONS) -> Path:
    """A copy of `base` whose `module` ends with `code`: a later `def` replaces the earlier one."""
    folder = tmp_path / "submission"
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("__pycache__"))
    with open(folder / f"{module}.py", "a", encoding="utf-8") as handle:
        handle.write("\n\n" + code.strip() + "\n")
    return folder
