"""Grade an implementation folder with the real suite, in-process, and read the verdicts.

Harness tests use this to check the grader from the outside: a folder of learner code
goes in, and what comes out is exactly what a learner or instructor would see.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def grade(impl: Path, tmp_path: Path, exercises=(), *options: str) -> dict:
    """Run tests/exercises on `impl` and return {exercise id: {"verdict", "messages"}}.

    Only the test modules of the given exercises are collected, to keep it quick.
    """
    modules = sorted({e.split(".")[0] for e in exercises})
    paths = [str(ROOT / "tests" / "exercises" / f"test_{m}.py") for m in modules] or [str(ROOT / "tests" / "exercises")]
    verdicts = tmp_path / "verdicts.json"
    args = [*paths, f"--impl={impl}", f"--verdicts={verdicts}", "-q", "--tb=no", "-p", "no:cacheprovider",
            f"--rootdir={ROOT}", *(f"--exercise={e}" for e in exercises), *options]
    code = pytest.main(args)
    assert code in (0, 1), f"pytest could not grade {impl}: exit code {code}"
    return json.loads(verdicts.read_text())


def submission_with(tmp_path: Path, module: str, code: str, base: Path = SOLUTIONS) -> Path:
    """A copy of `base` whose `module` ends with `code`: a later `def` replaces the earlier one."""
    folder = tmp_path / "submission"
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("__pycache__"))
    with open(folder / f"{module}.py", "a", encoding="utf-8") as handle:
        handle.write("\n\n" + code.strip() + "\n")
    return folder
