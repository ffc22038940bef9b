"""Hostile submissions, graded with --isolate: each is contained and scored right.

Every case replaces `training.zero_grad` (or its module) of an otherwise perfect
submission. For each: the run ends in bounded time, zero_grad is wrong with the reason,
sgd_step in the same module and softmax in another are graded as when graded alone, and
nothing outside the learner's scratch space changed.
"""

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

# The grader holds reference code in memory (the tests compare with it) and a sandbox is
# forked from it: make sure some is there, for the case that goes looking for it.
import solutions.networks  # noqa: F401

from .grading import ROOT, grade, submission_with

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox needs fork and Linux namespaces")

HOSTILE = [
    ("infinite loop", "def zero_grad(params):\n    while True:\n        pass", "did not finish in 3 s"),
    ("sleep forever", "import time\ndef zero_grad(params):\n    time.sleep(10**6)", "did not finish in 3 s"),
    ("sys.exit(0)", "import sys\ndef zero_grad(params):\n    sys.exit(0)", "raised SystemExit"),
    ("os._exit(0)", "import os\ndef zero_grad(params):\n    os._exit(0)", "exited with status 0"),
    ("segfault", "import ctypes\ndef zero_grad(params):\n    ctypes.string_at(0)", "segmentation fault"),
    # 8 GiB at once: refused at once by the sandbox's 2 GiB address-space limit (without the
    # limit this machine would grant it). Many smaller blocks would spend the call's time
    # limit zero-filling memory before reaching the limit.
    ("memory bomb", "def zero_grad(params):\n    hog = bytearray(8 << 30)", "MemoryError"),
    ("patched assert_close and allclose", "def zero_grad(params):\n    torch.testing.assert_close = lambda *a, **k: None\n"
     "    torch.allclose = lambda *a, **k: True\n    torch.Tensor.__eq__ = lambda self, other: True",
     "zero_grad left parameter"),  # judged on what it did, with the patches undone (and flagged: test_plugin.py)
    ("tensor subclass with a lying __eq__", "class Liar(torch.Tensor):\n    def __eq__(self, other):\n        return True\n"
     "def zero_grad(params):\n    for p in params:\n        if p.grad is not None:\n            p.grad = p.grad.as_subclass(Liar)",
     "zero_grad left parameter"),
    ("printed fake pytest output", "def zero_grad(params):\n    print('=' * 30 + ' 638 passed in 1.00s ' + '=' * 30)\n"
     "    print('torchkata verdicts: done training.zero_grad')", "zero_grad left parameter"),
    ("imports the solutions", "def zero_grad(params):\n    import solutions.training\n    solutions.training.zero_grad(params)",
     "solutions"),
    ("calls reference code found in memory", "import gc, types\ndef zero_grad(params):\n"
     "    found = [f for f in gc.get_objects() if isinstance(f, types.FunctionType)\n"
     "             and (f.__module__ or '').startswith('solutions')]\n"
     "    found[0](torch.nn.Linear(2, 2))\n"
     "    for p in params:\n        p.grad = None", "the reference solutions"),
    ("spawns a process that outlives it", "import subprocess\ndef zero_grad(params):\n"
     "    subprocess.Popen(['sleep', '987654'], start_new_session=True)", "zero_grad left parameter"),
    ("writes to the reports", "def zero_grad(params):\n    open(REPORTS + '/grades.csv', 'w').write('me,100')",
     "raised"),
    ("deletes the grader's tests", "import shutil\ndef zero_grad(params):\n    shutil.rmtree(ROOT + '/tests')",
     "raised"),
    ("tampers with a neighbour's folder", "def zero_grad(params):\n    open(NEIGHBOUR + '/training.py', 'w').write('')",
     "raised"),
    ("copies a neighbour's answer", "def zero_grad(params):\n    exec(open(NEIGHBOUR + '/training.py').read(), globals())\n"
     "    return globals()['zero_grad'](params)", "raised"),
    # Every descriptor from 3 to 1024: the grader's are closed in the sandbox; the reply pipe
    # is the student's own, and garbling it breaks this exercise only (wrong, not a grading error).
    ("writes into every descriptor", "import os\ndef zero_grad(params):\n    for fd in range(3, 1025):\n"
     "        try:\n            os.write(fd, b'GARBAGE FROM STUDENT CODE')\n        except OSError:\n            pass",
     "garbled"),
    ("leaves a file in /tmp", "def zero_grad(params):\n    open('/tmp/torchkata-escaped-file', 'w').write('x')\n"
     "    assert False, 'wrote it'", "wrote it"),
]


def fingerprint(*folders: Path) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """The verdicts of the untouched exercises, graded alone (no hostile code beside them)."""
    tmp = tmp_path_factory.mktemp("alone")
    clean = submission_with(tmp, "training", "")
    return grade(clean, tmp, ("training.sgd_step", "activations.softmax"), "--isolate")


@pytest.mark.parametrize("label,code,reason", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_code_is_contained(tmp_path, alone, label, code, reason):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "grades.csv").write_text("student,total\n")
    neighbour = submission_with(tmp_path / "neighbour", "training", "")
    prelude = f"REPORTS = {str(reports)!r}\nNEIGHBOUR = {str(neighbour)!r}\nROOT = {str(ROOT)!r}\n"
    submission = submission_with(tmp_path, "training", prelude + code)
    before = fingerprint(ROOT / "tests", ROOT / "solutions", ROOT / "torchkata", reports, neighbour)

    start = time.monotonic()
    verdicts = grade(submission, tmp_path, ("training.zero_grad", "training.sgd_step", "activations.softmax"),
                     "--isolate", "--call-timeout=3", f"--hide={reports}", f"--hide={neighbour}")
    assert time.monotonic() - start < 120, f"{label}: grading took too long"

    assert verdicts["training.zero_grad"]["verdict"] == "wrong", f"{label} was not caught"
    messages = "\n".join(verdicts["training.zero_grad"]["messages"])
    assert reason.lower() in messages.lower(), f"{label}: the reason should mention {reason!r}:\n{messages}"
    for other in ("training.sgd_step", "activations.softmax"):
        assert verdicts[other] == alone[other], f"{label} changed the grade of {other}"
    assert fingerprint(ROOT / "tests", ROOT / "solutions", ROOT / "torchkata", reports, neighbour) == before, \
        f"{label} changed something outside its scratch space"
    assert not Path("/tmp/torchkata-escaped-file").exists(), f"{label} wrote into the real /tmp"
    leftovers = subprocess.run(["pgrep", "-f", "sleep 987654"], capture_output=True, text=True).stdout.split()
    assert not leftovers, f"{label} left processes running: {leftovers}"


def test_code_that_exits_at_import_costs_its_module_only(tmp_path, alone):
    submission = submission_with(tmp_path, "training", "")
    text = (submission / "training.py").read_text()
    (submission / "training.py").write_text("import os\nos._exit(0)\n" + text)
    verdicts = grade(submission, tmp_path, ("training.zero_grad", "training.sgd_step", "activations.softmax"),
                     "--isolate", "--call-timeout=3")
    for exercise in ("training.zero_grad", "training.sgd_step"):
        assert verdicts[exercise]["verdict"] == "wrong"
        assert "exited with status 0" in verdicts[exercise]["messages"][0]
    assert verdicts["activations.softmax"] == alone["activations.softmax"]
