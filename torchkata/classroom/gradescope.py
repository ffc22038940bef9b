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
import shlex
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from ..core.i18n import _
from ..core.paths import ROOT
from ..engine.processes import GradingError
from . import grader, reports
from .reports import gradescope_results

# What the bundle carries of this checkout: the package, the tests and solutions it grades
# with, the stubs, and what pip needs to install it.
CARRIED = ("pyproject.toml", "README.md", "requirements", "torchkata", "tests", "solutions", "exercises")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")

# setup.sh, as Gradescope runs it (as root, once, in /autograder/source): the project in a
# virtual environment of its own, so a system Python that PEP 668 marks externally managed
# (Debian 12, Ubuntu 24.04) is never touched, with the pinned torch of requirements/torch-cpu.txt.
SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the assignment's image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/venv"
# Where torch comes from: pip's default index (on Linux x86-64 that is the CUDA build,
# about 4.6 GB), unless the bundle was written with --torch-index (PyTorch's CPU-only index).
torch_index=%(torch_index)s

say() { echo "setup.sh: $*" >&2; }

python=""
for candidate in python3 python3.13 python3.12 python3.11 python3.10; do
    if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        python="$(command -v "$candidate")"; break
    fi
done
if [ -z "$python" ]; then
    say "torchkata needs Python 3.10 or newer and this image has none; pick Gradescope's Ubuntu 22.04 base image or newer"
    exit 1
fi
version="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
say "Python $version ($python); virtual environment in $venv"

# Debian and Ubuntu ship venv's pip apart, in python3-venv (python3.X-venv for another version).
if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    if ! command -v apt-get >/dev/null; then
        say "'$python -m venv' failed and there is no apt-get to install what it lacks"; exit 1
    fi
    package="python3-venv"
    [ "$(readlink -f "$python")" = "$(readlink -f "$(command -v python3 || true)")" ] || package="python$version-venv"
    say "installing $package with apt-get (venv needs it here)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$package" "python$version-venv" >/dev/null 2>&1 || apt-get install -y -qq "$package"
    "$python" -m venv "$venv"
fi

# Not --quiet: Gradescope's build log then shows the download of torch going on.
pip=("$venv/bin/python" -m pip install --progress-bar off --disable-pip-version-check)
if [ -n "$torch_index" ]; then
    "${pip[@]}" --index-url "$torch_index" -r "$here/torchkata/requirements/torch-cpu.txt"
else
    "${pip[@]}" -r "$here/torchkata/requirements/torch-cpu.txt"
fi
"${pip[@]}" -e "$here/torchkata"
"$venv/bin/python" -c 'import torch, torchkata; print("setup.sh: torch", torch.__version__, "ready")' >&2
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write
# /autograder/results/results.json. AUTOGRADER_ROOT and TORCHKATA_PYTHON stand in for the
# container's paths in tests.
set -uo pipefail
export TORCHKATA_STARTED="$(date +%%s.%%N)"  # execution_time covers the whole run, the interpreter's start too
export TORCHKATA_LANG="${TORCHKATA_LANG:-%(lang)s}"  # the language of what students read: as the bundle was written
root="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$root/results"
# The run's log, for the instructor: in results/stdout unless Gradescope already sends it there.
tee_pid=""
if ! [ /dev/stdout -ef "$root/results/stdout" ]; then
    exec > >(tee "$root/results/stdout") 2>&1
    tee_pid=$!
fi
"${TORCHKATA_PYTHON:-$root/source/venv/bin/python}" -m torchkata.classroom.gradescope "$root"
status=$?
if [ -n "$tee_pid" ]; then
    exec >&- 2>&-  # tee sees the end of the log and writes its last lines before we exit
    wait "$tee_pid"
fi
exit "$status"
"""


def write_bundle(out: Path, root: Path = ROOT, torch_index: str | None = None, lang: str = "en") -> Path:
    """The autograder bundle in `out/` (setup.sh, run_autograder, torchkata/ with the project)
    and `out/autograder.zip` to upload to Gradescope; returns the zip's path. `torch_index`:
    the package index setup.sh takes torch from (PyTorch's CPU-only one keeps the image light);
    None, pip's default index. `lang`: the language the feedback is written in."""
    out, root = Path(out), Path(root)
    if torch_index is not None and urlsplit(torch_index).scheme not in ("http", "https", "file"):
        raise ValueError(_("--torch-index must be the address of a package index (http://, https:// or "
                           "file://), got {value!r}", value=torch_index))
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
    setup = SETUP_SH % {"torch_index": shlex.quote(torch_index or "")}
    for name, text in (("setup.sh", setup), ("run_autograder", RUN_AUTOGRADER % {"lang": shlex.quote(lang)})):
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
