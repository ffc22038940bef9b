"""Gradescope: its results format, and an autograder bundle that runs inside its container.

Gradescope builds one container per assignment from the bundle's `setup.sh`, then runs
`run_autograder` once per submission, with the student's files in `/autograder/submission`;
whatever `/autograder/results/results.json` says is the grade. `write_bundle` writes that
bundle (and a zip of it to upload): `setup.sh` installs the light CPU torch and this
project; `run_autograder` grades the submission with the class grader (the same judge and
sandbox as `torchkata grade`) and writes the results.

The container runs as root, so student code runs as an unprivileged uid of its own; where
the container refuses new namespaces (Gradescope's usually do), the tests and solutions are
not hidden from it, and the run's log (stdout, the instructor's) and extra_data say so.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from ..core.i18n import _
from ..core.paths import ROOT
from ..engine.processes import GradingError
from . import grader, reports
from .reports import gradescope_results

# What the bundle carries of this checkout: the package, the tests and solutions it grades
# with, the stubs, and what pip needs to install it.
CARRIED = ("pyproject.toml", "README.md", "requirements", "torchkata", "tests", "solutions", "exercises")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the assignment's container.
set -euo pipefail
cd /autograder/source/torchkata
python3 -m pip install --quiet -r requirements/torch-cpu.txt
python3 -m pip install --quiet -e .
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write
# /autograder/results/results.json. AUTOGRADER_ROOT and TORCHKATA_PYTHON stand in for the
# container's paths in tests.
set -uo pipefail
export TORCHKATA_STARTED="$(date +%s.%N)"  # execution_time covers the whole run, the interpreter's start too
exec "${TORCHKATA_PYTHON:-python3}" -m torchkata.classroom.gradescope "${AUTOGRADER_ROOT:-/autograder}"
"""


def write_bundle(out: Path, root: Path = ROOT) -> Path:
    """The autograder bundle in `out/` (setup.sh, run_autograder, torchkata/ with the project)
    and `out/autograder.zip` to upload to Gradescope; returns the zip's path."""
    out, root = Path(out), Path(root)
    if out.exists() and not out.is_dir():
        raise ValueError(_("{out} is a file; give a folder for the autograder bundle", out=out))
    where = out.resolve()
    if where == root.resolve() or root.resolve().is_relative_to(where) or \
            any(where.is_relative_to((root / name).resolve()) for name in CARRIED):
        raise ValueError(_("{out} overlaps the project it would copy ({root}); give a folder of its own, "
                           "e.g. autograder/", out=out, root=root))
    if (out / "torchkata").exists() and not (out / "run_autograder").is_file():
        raise ValueError(_("{out} holds a torchkata/ that is not an earlier bundle; give an empty folder", out=out))
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
        (out / name).write_text(text, encoding="utf-8")
        os.chmod(out / name, 0o755)
    project = out / "torchkata"
    if project.exists():
        shutil.rmtree(project)
    project.mkdir()
    for name in CARRIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=SKIPPED)
        else:
            shutil.copy2(source, project / name)
    archive = out / "autograder.zip"
    own = [out / "setup.sh", out / "run_autograder", *sorted(project.rglob("*"))]  # nothing else of the folder's
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in own:
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, path.relative_to(out).as_posix())
                zipped.writestr(info, path.read_bytes())
    return archive


def run(autograder: Path) -> int:
    """Inside the container: grade `autograder/submission` as one student and write
    `autograder/results/results.json`. A grading error writes no grade: it exits 3 and
    says why, so Gradescope shows a failed autograder run, never a 0 the student did not earn."""
    try:
        started = float(os.environ["TORCHKATA_STARTED"])
    except (KeyError, ValueError):
        started = time.time()
    submission = autograder / "submission"
    results_file = autograder / "results" / "results.json"
    results_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="torchkata-gradescope-") as scratch:
        try:
            graded = grader.grade_class([grader.Submission("submission", submission)], Path(scratch) / "out")
        except GradingError as error:
            print(_("torchkata: grading error: {error}", error=error), file=sys.stderr)
            return 3
    data = reports.to_json(graded)
    entry = data["students"]["submission"]
    if graded[0].needs_regrading:
        failed = [f"{i}: {reports.headline(e)}"
                  for i, e in entry["exercises"].items() if e["verdict"] == "grading error"]
        print(_("torchkata: grading error: these exercises could not be graded, so no grade was written; "
                "regrade this submission:\n{failed}", failed="\n".join(failed)), file=sys.stderr)
        return 3
    results = gradescope_results(data, entry, time.time() - started)
    results_file.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    log(results, entry)
    return 0


def log(results: dict, entry: dict) -> None:
    """The run's log on stdout, which Gradescope keeps for the instructor (hidden from the
    student): the score, each exercise's verdict, the flags and what the sandbox could not do."""
    print(_("torchkata: graded in {seconds} s: {score} of {max_score} points", seconds=results["execution_time"],
            score=results["score"], max_score=sum(t["max_score"] for t in results["tests"])))
    for test in results["tests"]:
        print(f"  {test['status']:<7} {test['score']}/{test['max_score']}  {test['name']}")
    if entry["flags"]:
        print(_("Flagged: {flags}", flags=reports.flags_text(entry["flags"])))
    for weakness in entry.get("sandbox_weaknesses", []):
        print(_("Sandbox: {weakness}", weakness=weakness))


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
