"""Sessions: `tests` (cpu, cuda), `pythons` (the tests on Python 3.10 and 3.13), `bench`
(cpu, cuda), `bench_grading` (how fast a class is graded), `learn` (the learner's command
line), `grade` (a whole class), `gradescope` (the bundle in stand-ins of Gradescope's
images), `messages` (the translation template and catalog).

Each session builds its own virtual environment with the light CPU torch from
requirements/torch-cpu.txt (cpu) or the default CUDA build (cuda). To use a torch you
already installed instead, set TORCHKATA_USE_INSTALLED_TORCH=1: the environments then see
your site-packages and install no torch of their own.
"""

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_venv = "yes"

USE_INSTALLED_TORCH = os.environ.get("TORCHKATA_USE_INSTALLED_TORCH") == "1"
VENV_PARAMS = ["--system-site-packages"] if USE_INSTALLED_TORCH else []


# What an environment is built from: when none of it changed since the last install, a
# session reuses the environment as it is (pip takes seconds even when it installs nothing).
INSTALL_INPUTS = ("pyproject.toml", "requirements/torch-cpu.txt")


def install(session, device="cpu"):
    stamp = Path(session.virtualenv.location) / ".torchkata-installed"
    inputs = hashlib.sha256(b"".join(Path(name).read_bytes() for name in INSTALL_INPUTS)
                            + f"{device} {USE_INSTALLED_TORCH}".encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == inputs:
        return
    if not USE_INSTALLED_TORCH and device == "cpu":
        session.install("-r", "requirements/torch-cpu.txt")
    session.install("-e", ".")
    stamp.write_text(inputs)


def require_cuda(session):
    if shutil.which("nvidia-smi") is None:
        session.skip("cuda was NOT run: this machine has no NVIDIA driver (nvidia-smi not found)")


@nox.session(venv_params=VENV_PARAMS)
@nox.parametrize("device", ["cpu", "cuda"])
def tests(session, device):
    """Lint (ruff), the import layers (import-linter), then the whole suite on one device:
    every exercise against solutions/, the harness, and the self-check that the untouched
    stubs fail every exercise test."""
    if device == "cuda":
        require_cuda(session)
    suite(session, device)


# The oldest and the newest Python torchkata supports (pyproject.toml's requires-python):
# 3.10 is Ubuntu 22.04's, and that of Gradescope's images built on it.
OLDEST_AND_NEWEST = ["3.10", "3.13"]


def pyenv_finds_every_python():
    """With pyenv, `python3.10` and the like are found only for the versions PYENV_VERSION
    names (pyenv's shim of nox sets it to the current one): add the newest release of each
    other 3.x installed."""
    if shutil.which("pyenv") is None:
        return
    asked = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout.split()
    current = os.environ.get("PYENV_VERSION") or subprocess.run(["pyenv", "version-name"], capture_output=True,
                                                                text=True).stdout.strip()
    named = [v for v in current.split(":") if v]
    newest = {}
    for version in sorted((v for v in asked if re.fullmatch(r"3\.\d+\.\d+", v)),
                          key=lambda v: tuple(map(int, v.split(".")))):
        newest[version.rsplit(".", 1)[0]] = version  # a later patch release of 3.x replaces an earlier one
    if named:
        os.environ["PYENV_VERSION"] = ":".join([*named, *(v for v in newest.values() if v not in named)])


pyenv_finds_every_python()


@nox.session(python=OLDEST_AND_NEWEST, venv_params=VENV_PARAMS)
def pythons(session):
    """The `tests` session on cpu under the oldest and the newest supported Python, each found
    on PATH as python3.10 and python3.13 (with pyenv, whichever of its versions are installed).
    torch 2.13.0 has no CPU-only wheel for these on the default index: pip takes the CUDA
    build (about 4.6 GB), which runs on the CPU all the same."""
    suite(session, "cpu")


def suite(session, device):
    install(session, device)
    session.install("ruff>=0.6", "import-linter>=2.1", "pytest-xdist>=3.5")
    session.run("ruff", "check", "torchkata", "tests", "benchmarks", "solutions", "exercises", "noxfile.py")
    session.run("lint-imports")  # the layers of torchkata/ (pyproject.toml): no import circle comes back
    # One pytest worker per core (pytest-xdist): most of the harness waits on graders it starts.
    session.run("pytest", f"--device={device}", "--impl=solutions", "--numprocesses=auto", *session.posargs)


@nox.session(venv_params=VENV_PARAMS)
def learn(session):
    """The learner's command line: `nox -s learn` shows your progress; `nox -s learn -- check`,
    `-- hint`, `-- watch`, ... run the other torchkata commands."""
    install(session)
    session.run("torchkata", *(session.posargs or ["status"]))


@nox.session(venv_params=VENV_PARAMS)
def grade(session):
    """Grade a class: `nox -s grade -- SUBMISSIONS... [--out grades] [--shard K/N]`; with no
    submissions, the sample class that ships with the project."""
    install(session)
    session.run("torchkata", "grade", *session.posargs)


@nox.session(venv_params=VENV_PARAMS)
@nox.parametrize("device", ["cpu", "cuda"])
def bench(session, device):
    """Time the reference solutions (or yours: `nox -s bench -- --impl=exercises`) beside
    torch's built-ins. Prints the table and writes benchmark-results/bench-DEVICE.md and
    .json; each run is also saved under .benchmarks/ for `--benchmark-compare`."""
    if device == "cuda":
        require_cuda(session)
    install(session, device)
    os.makedirs("benchmark-results", exist_ok=True)  # pytest-benchmark writes its JSON there, and needs it
    session.run("pytest", "benchmarks", f"--device={device}", "--impl=solutions",
                f"--benchmark-json=benchmark-results/bench-{device}.json", "--benchmark-autosave",
                "--benchmark-group-by=group", "--benchmark-sort=name", "--benchmark-columns=median,iqr,rounds",
                "--benchmark-max-time=0.5", "--benchmark-min-rounds=5", "-q", *session.posargs)


@nox.session
def messages(session):
    """Regenerate the template of every translatable text (torchkata/locale/torchkata.pot) from
    the code, and bring the Chinese catalog up to date with it: new texts arrive untranslated
    (tests/harness/test_messages.py fails until they are), texts gone from the code leave."""
    session.install("babel>=2.12")
    session.run("pybabel", "extract", "-F", "babel.cfg", "-k", "M_", "-o", "torchkata/locale/torchkata.pot", "--no-location",
                "--sort-output", "--omit-header", ".")
    session.run("pybabel", "update", "-i", "torchkata/locale/torchkata.pot", "-d", "torchkata/locale",
                "-D", "torchkata", "-l", "zh_CN", "--no-fuzzy-matching", "--ignore-obsolete", "--width=100")


@nox.session(venv_params=VENV_PARAMS)
def gradescope(session):
    """The Gradescope bundle installed and run as Gradescope does (setup.sh, then run_autograder
    on a sample submission, its results.json checked) in stand-ins of Gradescope's images: a
    Debian 12 root file system from debootstrap, whose Python is externally managed, and
    Python 3.10 as python3. Slow (minutes), as root, with the network to the package registries."""
    if shutil.which("debootstrap") is None:
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "debootstrap", external=True)
    install(session)
    session.run("pytest", "tests/standins", "-v", "-s", *session.posargs)


@nox.session(venv_params=VENV_PARAMS)
def bench_grading(session):
    """How fast a class is graded (benchmarks/grading.py): one complete student, N complete,
    N of the usual mix; wall, CPU of the process tree, peak memory, the CPU a complete student
    costs and a projection for 1000 students on 16 cores. `nox -s bench_grading -- --students 40`."""
    install(session)
    session.run("python", "benchmarks/grading.py", *session.posargs)
