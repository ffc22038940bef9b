"""Harness tests that fork a grader (the sandbox, judges, watch's warm grader) need a process
that has not used CUDA (torchkata/engine/processes.py says why). In `pytest tests --device=cuda`
the exercise tests used CUDA in this process first, so a test marked `forks` runs again in
a fresh interpreter, as a user would run the grader, and passes or fails there."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from torchkata.engine.processes import cuda_in_use

ROOT = Path(__file__).resolve().parents[2]
FRESH = "TORCHKATA_TEST_IN_FRESH_INTERPRETER"

# The harness reads the grader's English: pin it, whatever this checkout last chose with
# --lang (remembered in .torchkata/progress.json) or the locale says. Tests of the language
# choice build their own environment. Only the harness: the exercise tests speak whatever
# language the command line that runs them settled on.
os.environ["TORCHKATA_LANG"] = "en"
# Run by pytest-xdist (nox -s tests), a harness test is still a user's own run: the graders and
# benchmarks it starts, in this process or another, must not take themselves for xdist workers.
for _name in [name for name in os.environ if name.startswith("PYTEST_XDIST_")]:
    del os.environ[_name]


def pytest_configure(config):
    config.addinivalue_line("markers", "forks: the test forks a grader; after CUDA was used here it runs in a "
                            "fresh interpreter")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("forks") is None or not cuda_in_use() or os.environ.get(FRESH):
        return
    run = subprocess.run([sys.executable, "-m", "pytest", item.nodeid, "-q", "-p", "no:cacheprovider",
                          f"--rootdir={ROOT}"], cwd=ROOT, env={**os.environ, FRESH: "1"}, capture_output=True,
                         text=True, timeout=600)
    if run.returncode != 0:
        pytest.fail(f"{item.nodeid} failed in a fresh interpreter:\n{run.stdout[-4000:]}{run.stderr[-2000:]}",
                    pytrace=False)
    item.runtest = lambda: None  # it passed there; the in-process call would test a forked CUDA process
