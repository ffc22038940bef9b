"""The Gradescope bundle installed and run as Gradescope does, in the closest stand-ins of its
images this machine allows: `setup.sh` once, as root, then `run_autograder` on a sample
submission, and the results.json it wrote checked.

- a Debian 12 root file system made with debootstrap, whose system Python is marked
  externally managed (PEP 668) and has neither pip nor venv: setup.sh must install
  python3-venv with apt and keep to a virtual environment of its own;
- Python 3.10 (Ubuntu 22.04's, and that of Gradescope's images built on it) as `python3`.

Slow (minutes: a root file system, torch installed twice) and needs root, debootstrap and
the network to Debian's and Python's package registries: `nox -s gradescope` runs it, apart
from `nox -s tests`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.harness.grading import submission_with
from torchkata.classroom.gradescope import write_bundle

SUITE = "bookworm"  # Debian 12: its python3 (3.11) is marked externally managed
ROOTS = Path(os.environ.get("TORCHKATA_STANDIN_CACHE", Path(__file__).resolve().parents[2] / ".nox" / "standins"))
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
             "LANG": "C.UTF-8"}


def timed(command: list[str], what: str, env: dict, timeout: float) -> float:
    """Run `command`, fail the test with its output if it fails; return its seconds."""
    start = time.monotonic()
    ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - start
    print(f"{what}: {seconds:.0f} s")
    assert ran.returncode == 0, f"{what} failed ({ran.returncode}):\n{ran.stdout[-6000:]}\n{ran.stderr[-6000:]}"
    return seconds


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def sample_submission(tmp_path: Path) -> Path:
    """The reference solutions but a relu that keeps negatives: 61 of 62 points."""
    return submission_with(tmp_path, "activations", "def relu(x):\n    return x")


def unpacked_bundle(tmp_path: Path, autograder: Path) -> None:
    """What Gradescope does with the uploaded zip: unpacked in source/, run_autograder beside it."""
    archive = write_bundle(tmp_path / "bundle")
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(autograder / "source")
    for name in ("setup.sh", "run_autograder"):
        os.chmod(autograder / "source" / name, 0o755)
    shutil.copy2(autograder / "source" / "run_autograder", autograder / "run_autograder")


def check_results(autograder: Path) -> None:
    results = json.loads((autograder / "results" / "results.json").read_text())
    assert results["score"] == 61, results["output"]
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 1
    tests = {t["name"]: t for t in results["tests"]}
    assert len(tests) == 40 and tests["activations.relu"]["status"] == "failed"
    assert tests["activations.softmax"]["status"] == "passed"
    assert "Sandbox" not in results["output"]
    log = (autograder / "results" / "stdout").read_text()
    assert "61 of 62 points" in log and "activations.relu" in log, f"results/stdout holds no log: {log!r}"


def needs_root_and(tool: str) -> None:
    if os.geteuid() != 0:
        pytest.fail("the stand-ins build a root file system and install as Gradescope does: run as root")
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (Debian: apt-get install {tool}); `nox -s gradescope` installs it")


def debian_root() -> Path:
    """A minimal Debian 12 with its python3 and nothing else of Python's (no pip, no venv),
    built once by debootstrap from Debian's default mirror and kept for later runs."""
    root = ROOTS / f"debian-{SUITE}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        timed(["debootstrap", "--variant=minbase", "--include=python3", SUITE, str(root)], "debootstrap",
              {**os.environ}, timeout=1800)
        (root / ".complete").write_text("")
    return root


def in_root(root: Path, script: str, env: dict, what: str, timeout: float) -> float:
    """`script` run by bash as root inside `root`, with /proc, /sys and /dev of the host, in a
    mount namespace of its own (its mounts vanish with it: nothing to unmount on failure)."""
    mounts = " && ".join(f"mount --rbind /{name} {root}/{name}" for name in ("proc", "sys", "dev"))
    wheels = os.environ.get("PIP_FIND_LINKS", "")
    carried = [w for w in wheels.split() if Path(w).is_dir()]
    for folder in carried:  # the host's local wheels (the light CPU torch), where pip's settings name some
        (root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
        mounts += f" && mount --bind -o ro {folder} {root}{folder}"
    if carried:
        env = {**env, "PIP_FIND_LINKS": " ".join(carried)}
    cert = os.environ.get("PIP_CERT", "")
    if Path(cert).is_file():  # where this machine's network vouches for the registries with a CA of its own:
        shutil.copy2(cert, root / "host-ca.crt")  # beside the root's own bundle, which apt may rewrite
        env = {**env, "PIP_CERT": "/host-ca.crt"}
    shutil.copy2("/etc/resolv.conf", root / "etc" / "resolv.conf")
    inner = f"{mounts} && exec chroot {root} /bin/bash -c {json.dumps(script)}"
    return timed(["unshare", "--mount", "--propagation", "private", "bash", "-c", inner], what, env, timeout)


def test_setup_and_run_autograder_in_a_debian_root_whose_python_is_externally_managed(tmp_path):
    needs_root_and("debootstrap")
    root = tmp_path / "debian"
    start = time.monotonic()
    subprocess.run(["cp", "-a", str(debian_root()), str(root)], check=True)
    print(f"a fresh copy of the Debian root: {time.monotonic() - start:.0f} s")
    managed = list((root / "usr" / "lib").glob("python3.*/EXTERNALLY-MANAGED"))
    assert managed, "the stand-in's Python is not marked externally managed: it would not test PEP 668"
    assert not (root / "usr" / "lib" / "python3" / "dist-packages" / "pip").exists(), "pip is preinstalled"

    autograder = root / "autograder"
    unpacked_bundle(tmp_path, autograder)
    seconds = in_root(root, "bash /autograder/source/setup.sh", CLEAN_ENV, "setup.sh (Debian 12)", timeout=1800)
    print(f"setup.sh: {seconds:.0f} s; the virtual environment: {size_mb(autograder / 'source' / 'venv'):.0f} MB")
    assert not list((root / "usr" / "lib" / "python3" / "dist-packages").glob("torch*")), \
        "setup.sh installed into the system Python"

    shutil.copytree(sample_submission(tmp_path), autograder / "submission")
    in_root(root, "bash /autograder/run_autograder", CLEAN_ENV, "run_autograder (Debian 12)", timeout=900)
    check_results(autograder)


def test_setup_and_run_autograder_where_python3_is_python_3_10(tmp_path):
    needs_root_and("bash")
    python310 = shutil.which("python3.10")
    assert python310, "no python3.10 on PATH (with pyenv: PYENV_VERSION=3.11.7:3.10.13:3.13.0)"
    real = subprocess.run([python310, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True,
                          check=True).stdout.strip()
    only = tmp_path / "bin"
    only.mkdir()
    (only / "python3").symlink_to(real)  # python3 is 3.10, as on Ubuntu 22.04
    env = {**os.environ, "PATH": f"{only}:{CLEAN_ENV['PATH']}"}
    env.pop("PYENV_VERSION", None)
    env.pop("VIRTUAL_ENV", None)
    autograder = tmp_path / "autograder"
    unpacked_bundle(tmp_path, autograder)
    seconds = timed(["bash", str(autograder / "source" / "setup.sh")], "setup.sh (Python 3.10)", env, timeout=1800)
    venv = autograder / "source" / "venv"
    print(f"setup.sh: {seconds:.0f} s; the virtual environment: {size_mb(venv):.0f} MB")
    version = subprocess.run([venv / "bin" / "python", "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout
    assert version.strip() == "(3, 10)", version

    shutil.copytree(sample_submission(tmp_path), autograder / "submission")
    timed(["bash", str(autograder / "run_autograder")], "run_autograder (Python 3.10)",
          {**env, "AUTOGRADER_ROOT": str(autograder)}, timeout=900)
    check_results(autograder)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v", "-s"]))
