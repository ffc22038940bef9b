"""Sessions: `tests` (cpu, cuda), `bench` (cpu, cuda), `learn` (the learner's command line), `grade` (a whole class),
`messages` (the translation template and catalog).

Each session builds its own virtual environment with the light CPU torch from
requirements/torch-cpu.txt (cpu) or the default CUDA build (cuda). To use a torch you
already installed instead, set TORCHKATA_USE_INSTALLED_TORCH=1: the environments then see
your site-packages and install no torch of their own.
"""

import hashlib
import os
import shutil
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
