"""Hostile submissions, graded with --isolate: each is contained and scored right.

Every case replaces `training.zero_grad` (or its module) of an otherwise perfect
submission. For each: the run ends in bounded time, zero_grad is wrong with the reason,
sgd_step in the same module and softmax in another are graded as when graded alone, and
nothing outside the learner's scratch space changed.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# The grader holds reference code in memory (the tests compare with it) and a sandbox is
# forked from it: make sure some is there, for the case that goes looking for it.
import solutions.networks  # noqa: F401

from .grading import ROOT, grade, submission_with

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox needs fork and Linux namespaces")

REFERENCE_TEXT = (ROOT / "solutions" / "training.py").read_text(encoding="utf-8")

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
    # The reference's text, read while it was readable (here: written into the file), run as the
    # student's own code, its lines moved: recognised by what it is, not by the file it claims.
    ("runs the reference's text under its own file's name", f"_ns = {{}}\nexec(compile(7 * chr(10) + {REFERENCE_TEXT!r}, __file__, "
     "'exec'), _ns)\ndef zero_grad(params):\n    return _ns['zero_grad'](params)", "the reference solutions"),
    ("runs the reference's text under a made-up name", f"_ns = {{}}\nexec(compile({REFERENCE_TEXT!r}, '<mine>', "
     "'exec'), _ns)\ndef zero_grad(params):\n    return _ns['zero_grad'](params)", "the reference solutions"),
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


# -- graded by an ordinary user (no root): a user namespace confines student code ------------
SPARE_UID = 65534  # "nobody": the grader in these tests, dropped to from root
UNPRIVILEGED_HOSTILE = """
import os, shutil
def zero_grad(params):
    done = []
    for attempt in (lambda: shutil.rmtree(GRADER + '/tests'),
                    lambda: open(GRADER + '/solutions/training.py', 'w').write('def sgd_step(p, lr): pass'),
                    lambda: open(GRADER + '/reports/grades.csv', 'w').write('me,100'),
                    lambda: open(NEIGHBOUR + '/training.py', 'w').write(''),
                    lambda: os.rename(NEIGHBOUR, NEIGHBOUR + '-gone')):
        try:
            attempt()
            done.append('yes')
        except OSError:
            done.append('no')
    return done
"""


def _grade_as(uid: int, folder: Path, hide: tuple[Path, ...], allow_unconfined: bool) -> dict:
    """In a child that dropped from root to `uid`: one call into zero_grad through the sandbox."""
    import json

    from torchkata.engine import boundary, processes
    from torchkata.engine.channel import IsolatedWorker
    from torchkata.engine.confinement import Confinement

    processes.warm_up()  # torch's lazy imports, while root can still read the interpreter's files
    report = folder.parent / "report.json"

    def child() -> int:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        worker = IsolatedWorker(folder, "cpu", Confinement(hide=hide, allow_unconfined=allow_unconfined))
        try:
            reply = boundary.loads(worker.handle(boundary.dumps(
                {"op": "call", "exercise": "training.zero_grad", "target": None, "args": [[]], "kwargs": {}, "seed": 0}),
                exercise="training.zero_grad"))
            outcome = {"reply": {k: v for k, v in reply.items() if k in ("status", "value", "message")},
                       "weaknesses": worker.weaknesses}
        except processes.GradingError as error:
            outcome = {"grading_error": str(error)}
        worker.close()
        report.write_text(json.dumps(outcome))
        return 0

    ending = processes.wait(processes.fork(child), time.monotonic() + 120)
    assert ending is not None and ending.code == 0, ending
    return json.loads(report.read_text())


@pytest.fixture
def unprivileged_class(tmp_path_factory):
    """A grader's checkout, a neighbour and a hostile student, all owned by the spare uid."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to a spare uid (CI runs as root)")
    base = Path(tempfile.mkdtemp(prefix="torchkata-unprivileged-"))
    grader = base / "grader"
    for part in ("tests", "solutions", "reports"):
        (grader / part).mkdir(parents=True)
        (grader / part / "training.py").write_text("# the grader's own file\n")
    neighbour = submission_with(base / "neighbour", "training", "")
    prelude = f"GRADER = {str(grader)!r}\nNEIGHBOUR = {str(neighbour)!r}\n"
    student = submission_with(base / "student", "training", prelude + UNPRIVILEGED_HOSTILE)
    subprocess.run(["chown", "-R", f"{SPARE_UID}:{SPARE_UID}", str(base)], check=True)
    os.chmod(base, 0o755)
    yield base, grader, neighbour, student
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.forks
def test_an_ordinary_users_grader_keeps_its_files_and_the_neighbours(unprivileged_class):
    base, grader, neighbour, student = unprivileged_class
    before = fingerprint(grader, neighbour)
    outcome = _grade_as(SPARE_UID, student, (grader / "tests", grader / "solutions"), allow_unconfined=False)
    if "grading_error" in outcome:  # this kernel refuses user namespaces: refusing is the right answer
        assert "--allow-unconfined" in outcome["grading_error"], outcome
    else:
        assert outcome["reply"] == {"status": "ok", "value": ["no"] * 5}, outcome
        assert not any("not confined" in w for w in outcome["weaknesses"]), outcome
    assert fingerprint(grader, neighbour) == before, "student code changed the grader's or a neighbour's files"
    assert neighbour.exists()


@pytest.mark.forks
def test_without_confinement_the_grader_refuses_unless_allowed(unprivileged_class, monkeypatch):
    """Where no user namespace can be made, student code is not run unless the instructor says so."""
    import torchkata.engine.confinement

    base, grader, neighbour, student = unprivileged_class

    def refused(libc, folder, confinement):
        raise torchkata.engine.confinement.Unconfined("this system refuses user namespaces to ordinary users (simulated)")

    monkeypatch.setattr(torchkata.engine.confinement, "_confine_unprivileged", refused)
    outcome = _grade_as(SPARE_UID, student, (grader / "tests",), allow_unconfined=False)
    assert "cannot be confined here" in outcome["grading_error"] and "--allow-unconfined" in outcome["grading_error"]
    allowed = _grade_as(SPARE_UID, student, (grader / "tests",), allow_unconfined=True)
    assert any("not confined" in w and "--allow-unconfined" in w for w in allowed["weaknesses"]), allowed
    # The control for the test above: unconfined, the same code does all it tries.
    assert allowed["reply"] == {"status": "ok", "value": ["yes"] * 5}, allowed


def test_grading_refuses_at_start_where_nothing_can_confine_student_code(monkeypatch, tmp_path):
    import torchkata.engine.confinement
    from torchkata.classroom import grader as classroom
    from torchkata.engine.processes import Unconfined

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(torchkata.engine.confinement, "user_namespaces_work", lambda: False)
    refusal = torchkata.engine.confinement.confinement_refusal(allow_unconfined=False)
    assert "cannot be confined here" in refusal and "--allow-unconfined" in refusal
    assert torchkata.engine.confinement.confinement_refusal(allow_unconfined=True) is None
    with pytest.raises(Unconfined, match="--allow-unconfined"):
        classroom.grade_class([], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- graded unconfined (--allow-unconfined): the grader's files and the neighbours are put back ---
# Run first in a fresh interpreter: an ordinary user on a system that allows no confinement
# (the unprivileged path is taken and refused), grading with argv[1]'s grader/ as its own files.
NO_CONFINEMENT = """
import json, os, sys
from pathlib import Path
import torchkata.engine.guard
import torchkata.engine.confinement
from torchkata.engine.processes import Unconfined

def refused(libc, folder, confinement):
    raise Unconfined("this system refuses user namespaces to ordinary users (simulated)")

os.geteuid = lambda: 1000
torchkata.engine.confinement.user_namespaces_work = lambda: False
torchkata.engine.confinement._confine_unprivileged = refused
base = Path(sys.argv[1])
_guarded = torchkata.engine.guard.grader_files()  # the real list, moved into a stand-in of the checkout
torchkata.engine.guard.grader_files = lambda: tuple(base / "grader" / path.name for path in _guarded)
"""

UNCONFINED_CLASS = NO_CONFINEMENT + """
from torchkata.classroom import grader as classroom
results = classroom.grade_class(classroom.discover([base / "class"]), base / "out", jobs=2,
                                exercises=("training.zero_grad",), allow_unconfined=True)
print(json.dumps({r.student: {"verdict": str(r.exercises["training.zero_grad"].verdict), "flags": r.flags,
                              "notes": r.sandbox_weaknesses} for r in results}))
"""

UNCONFINED_HOSTILE = """
import glob, json, os, shutil, tempfile, time
def zero_grad(params):
    shutil.rmtree(GRADER + '/tests')
    open(GRADER + '/solutions/training.py', 'w').write('def sgd_step(p, lr): pass')
    open(GRADER + '/exercises/training.py', 'w').write('def zero_grad(params): raise SystemExit')
    open(NEIGHBOUR + '/training.py', 'w').write('')
    open(OUT + '/grades.csv', 'w').write('a-hostile,100')  # the reports' folder, before the reports are written
    fake = json.dumps({'training.zero_grad': {'verdict': 'wrong', 'messages': ['sabotaged']}})
    pattern = tempfile.gettempdir() + '/torchkata-class-*/verdicts/'
    for folder in glob.glob(pattern):
        open(folder + 'b-neighbour.json', 'w').write(fake)
    if os.fork() == 0:  # a daemon, out of the sandbox's session, that keeps sabotaging
        os.setsid()
        if os.fork() == 0:
            open(MARKER, 'w').write('started')
            for _ in range(6000):
                for folder in glob.glob(pattern):
                    open(folder + 'b-neighbour.json', 'w').write(fake)
                time.sleep(0.01)
        os._exit(0)
    time.sleep(0.5)
"""


@pytest.mark.forks
def test_graded_unconfined_a_student_changes_nothing_of_the_graders_or_a_neighbours_grade(tmp_path):
    """--allow-unconfined: student code keeps the grader's uid, so it can delete the
    grader's files and write where the grader writes. One student at a time, every file put
    back after each, and whatever the student left running killed: the grader's files end
    as they began and the neighbour is graded as if alone."""
    grader = tmp_path / "grader"
    for part in ("tests", "solutions", "exercises", "torchkata"):  # exercises/: what `import exercises.x` finds
        (grader / part).mkdir(parents=True)
        (grader / part / "training.py").write_text("# the grader's own file\n")
    (tmp_path / "class").mkdir()
    neighbour = shutil.move(submission_with(tmp_path / "class-b", "training", ""), tmp_path / "class" / "b-neighbour")
    marker = tmp_path / "daemon-started"
    prelude = (f"GRADER = {str(grader)!r}\nNEIGHBOUR = {str(neighbour)!r}\nMARKER = {str(marker)!r}\n"
               f"OUT = {str(tmp_path / 'out')!r}\n")
    shutil.move(submission_with(tmp_path / "class-a", "training", prelude + UNCONFINED_HOSTILE),
                tmp_path / "class" / "a-hostile")
    before = fingerprint(grader, neighbour)

    run = subprocess.run([sys.executable, "-c", UNCONFINED_CLASS, str(tmp_path)], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert marker.exists(), "the control: the hostile student's daemon did start"
    assert fingerprint(grader, neighbour) == before, "the grader's files or the neighbour's were left changed"
    assert results["b-neighbour"] == {"verdict": "done", "flags": [], "notes": results["b-neighbour"]["notes"]}, results
    hostile_result = results["a-hostile"]
    assert hostile_result["verdict"] == "wrong"
    assert "changed the grader's files" in hostile_result["flags"]
    said = " ".join(hostile_result["notes"])
    assert "tests/training.py deleted" in said and "solutions/training.py changed" in said
    assert "exercises/training.py changed" in said
    assert "grades.csv added" in said and not (tmp_path / "out" / "grades.csv").exists(), \
        "what the student left in the reports' folder is taken away before the grader writes there"
    assert "training.py changed" in said and "put back" in said


UNCONFINED_PYTEST = NO_CONFINEMENT + """
import pytest
sys.exit(pytest.main([sys.argv[2], f"--impl={base / 'student'}", "--isolate", "--allow-unconfined", "-p",
                      "no:cacheprovider", "--exercise=training.zero_grad", f"--verdicts={base / 'verdicts.json'}"]))
"""


@pytest.mark.forks
def test_pytest_isolate_unconfined_puts_the_graders_files_back_and_says_so(tmp_path):
    grader = tmp_path / "grader"
    for part in ("tests", "solutions", "exercises", "torchkata"):  # exercises/: what `import exercises.x` finds
        (grader / part).mkdir(parents=True)
        (grader / part / "training.py").write_text("# the grader's own file\n")
    prelude = f"GRADER = {str(grader)!r}\n"
    submission_with(tmp_path, "training", prelude + "import shutil\ndef zero_grad(params):\n"
                    "    shutil.rmtree(GRADER + '/tests', ignore_errors=True)\n    for p in params:\n        p.grad = None")
    (tmp_path / "submission").rename(tmp_path / "student")
    before = fingerprint(grader)
    run = subprocess.run([sys.executable, "-c", UNCONFINED_PYTEST, str(tmp_path),
                          str(ROOT / "tests" / "exercises" / "test_training.py")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert fingerprint(grader) == before
    said = [line for line in run.stdout.splitlines() if line.startswith("sandbox: unconfined, the code graded changed")]
    assert said and "tests/training.py deleted" in said[0] and "put back" in said[0], run.stdout
    weaknesses = json.loads((tmp_path / "verdicts.json").read_text())["_sandbox_weaknesses"]
    assert any("tests/training.py deleted" in w for w in weaknesses), weaknesses


# What a container that refuses namespaces leaves (Gradescope's usually do): root without
# CAP_SYS_ADMIN, from capsh. Student code reads what the grader holds, or says it could not.
READS_THE_GRADERS_FILES = """
def relu(x):
    from torchkata.core.paths import SOLUTIONS, TESTS
    for path in (SOLUTIONS / "activations.py", TESTS / "exercises" / "test_activations.py"):
        try:
            path.read_text()
        except PermissionError:
            continue
        raise AssertionError(f"read {path}")
    return torch.clamp(x, min=0)
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("capsh") is None,
                    reason="needs root and capsh, to take the namespaces away as a container does")
def test_as_root_without_namespaces_student_code_cannot_read_the_solutions_or_the_tests(tmp_path):
    student = shutil.move(submission_with(tmp_path / "s", "activations", READS_THE_GRADERS_FILES), tmp_path / "anna")
    modes = {p: p.stat().st_mode for p in (ROOT / "solutions", ROOT / "tests")}
    grade = f"{sys.executable} -m torchkata grade {student} --out {tmp_path / 'out'} --only activations.relu"
    run = subprocess.run(["capsh", "--drop=cap_sys_admin", "--", "-c", grade], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    graded = json.loads((tmp_path / "out" / "grades.json").read_text())["students"]["anna"]
    weaknesses = " ".join(graded["sandbox_weaknesses"])
    assert "no mount/network namespaces" in weaknesses, "the control: namespaces really were refused"
    assert graded["exercises"]["activations.relu"]["verdict"] == "done", graded["exercises"]["activations.relu"]
    assert "file permissions keep the tests and solutions from student code" in weaknesses
    assert {p: p.stat().st_mode for p in modes} == modes, "the folders' modes were not put back"
