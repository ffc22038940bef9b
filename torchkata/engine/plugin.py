"""The pytest plugin: what is graded, on which device, and the verdict per exercise.

Options:
    --impl=exercises|solutions|PATH   the implementation to grade (default: exercises)
    --device=cpu|cuda                 where every tensor of the run lives (default: cpu)
    --exercise=ID                     grade only this exercise (repeatable)
    --verdicts=FILE                   write {exercise id: its verdict record} as JSON (verdicts.ExerciseResult)
    --isolate                         learner code in a confined child process (see channel.py and confinement.py)
    --stop-at-verdict                 skip an exercise's remaining tests once one has failed

Tests of an exercise are marked `@pytest.mark.exercise("module.name")` and reach the
learner's code only through the `learner` fixture.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ..core.failures import Failure, Rule, said_once
from ..core.i18n import M_, Message, _, current, words
from ..core.manifest import DONE, GRADING_ERROR, NOT_ATTEMPTED, NOT_LOADED, WRONG, load
from ..core.verdicts import SANDBOX_KEY, ExerciseResult, blame, combine
from . import dynamo_marks
from .channel import IsolatedWorker
from .checks import Failed
from .confinement import Confinement, Limits, can_confine, confinement_refusal
from .guard import FileGuard
from .learner import Learner, LearnerFailure, NotAttempted, NotLoaded
from .loader import ImplementationNotFound, resolve
from .processes import READY_FILE, prepare_parent
from .worker import Worker


def pytest_addoption(parser):
    group = parser.getgroup("torchkata")
    group.addoption("--impl", default="exercises",
                    help="implementation to grade: exercises (default), solutions, or a folder laid out like exercises/")
    group.addoption("--device", default="cpu", choices=("cpu", "cuda"), help="device every test runs on (default: cpu)")
    group.addoption("--exercise", action="append", default=[], metavar="ID",
                    help="grade only this exercise, e.g. activations.softmax (repeatable)")
    group.addoption("--isolate", action="store_true",
                    help="run learner code in a confined child process (what the class grader does)")
    group.addoption("--call-timeout", type=float, default=20.0, metavar="SECONDS",
                    help="with --isolate: the time limit of one call into learner code (default: 20)")
    group.addoption("--sandbox-uid", type=int, default=None, metavar="UID",
                    help="with --isolate as root: the unprivileged uid learner code runs as "
                    "(default: 200000 + this process id, unique among live sandboxes)")
    group.addoption("--hide", action="append", default=[], metavar="PATH",
                    help="with --isolate: a folder learner code must not see (repeatable; solutions/ and tests/ always)")
    group.addoption("--allow-unconfined", action="store_true",
                    help="with --isolate, where student code cannot be confined (not root, no user namespaces): "
                    "run it anyway, with the grader's uid, files and network (said in the verdicts)")
    group.addoption("--stop-at-verdict", action="store_true",
                    help="stop testing an exercise once its verdict is settled (its first failing or not "
                    "attempted test): the same verdicts, sooner, with the first failure's message only")
    group.addoption("--verdicts", metavar="FILE",
                    help="write each exercise's verdict and first failure messages to FILE as JSON")


def pytest_configure(config):
    config.addinivalue_line("markers", "exercise(id): the curriculum exercise (module.name) a test grades")
    config.addinivalue_line("markers", "lesson: the test of the exercise's own lesson (stability, scaling): "
                            "its failure is shown before the others")
    if config.getoption("isolate"):
        # The sandbox is forked from this process: make that sound before torch sets CUDA up (processes.py).
        prepare_parent(config.getoption("device"))
        refusal = confinement_refusal(config.getoption("allow_unconfined"))
        if refusal:
            raise pytest.UsageError(f"--isolate: {refusal}")
    if config.getoption("device") == "cuda" and not torch.cuda.is_available():
        build = _("this torch {version} was built without CUDA", version=torch.__version__) \
            if torch.version.cuda is None else \
            _("torch {version} (CUDA {cuda}) finds no usable GPU", version=torch.__version__, cuda=torch.version.cuda)
        raise pytest.UsageError(_("--device=cuda: CUDA is not available ({build}). Run with --device=cpu, or on a "
                                  "machine with an NVIDIA GPU and a CUDA build of torch.", build=build))
    dynamo_marks.settle()  # nothing here is compiled: torch need not import its compiler for us (dynamo_marks.py)
    if config.getoption("isolate"):
        # One thread: forking a process whose OpenMP pool has run can deadlock the child,
        # and the class grader runs one student per core anyway.
        torch.set_num_threads(1)
    try:
        set_implementation(config, config.getoption("impl"))
    except ImplementationNotFound as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[VERDICTS] = VerdictCollector(config)
    config.pluginmanager.register(config.stash[VERDICTS], "torchkata-verdicts")


# This run's state, in pytest's own typed store on the config.
IMPLEMENTATION = pytest.StashKey[Path]()    # the folder graded (--impl, or a judge's student)
VERDICTS = pytest.StashKey["VerdictCollector"]()
SANDBOX = pytest.StashKey[IsolatedWorker]()  # the confined worker, when --isolate
CURRENT_ITEM = pytest.StashKey[pytest.Item]()
# --isolate --allow-unconfined where nothing confines: what puts the grader's files back after
# the run (guard.py). The class grader sets its own, which also guards the submissions.
FILE_GUARD = pytest.StashKey[FileGuard | None]()


def set_implementation(config, impl: str | Path) -> Path:
    """Point this run (a collected session too: the class grader's judges, the benchmarks)
    at an implementation: exercises, solutions, or a folder laid out like exercises/."""
    config.stash[IMPLEMENTATION] = resolve(str(impl), config.rootpath)
    return config.stash[IMPLEMENTATION]


def implementation(config) -> Path:
    return config.stash[IMPLEMENTATION]


def verdict_collector(config) -> VerdictCollector:
    return config.stash[VERDICTS]


def pytest_report_header(config):
    device = config.getoption("device")
    lines = [_("torchkata: grading {impl} on {device}", impl=implementation(config), device=device)]
    if device != "cuda":
        lines.append(_("torchkata: cuda was NOT run in this session (pass --device=cuda on a machine with a GPU)"))
    return lines


def pytest_collection_finish(session):
    """The suite is ready to call the learner's code: from here on the time is the learner's
    (processes.TimeLimit; the learner's modules load lazily, in the first test that needs them)."""
    ready = os.environ.get(READY_FILE)
    if ready:
        Path(ready).touch()


def exercise_of(item) -> str | None:
    marker = item.get_closest_marker("exercise")
    return marker.args[0] if marker else None


def pytest_collection_modifyitems(config, items):
    curriculum = load()
    known = {e.id for e in curriculum}
    for item in items:
        exercise = exercise_of(item)
        if exercise is not None and exercise not in known:
            raise pytest.UsageError(f"{item.nodeid} is marked for {exercise!r}, which is not in the curriculum")
        if exercise is None and "learner" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} uses the learner fixture but has no exercise marker")
    wanted = config.getoption("exercise")
    if wanted:
        unknown = [e for e in wanted if e not in known]
        if unknown:
            raise pytest.UsageError(_("--exercise={id}: no such exercise; known: {known}", id=unknown[0],
                                      known=", ".join(e.id for e in curriculum)))
        keep = [i for i in items if exercise_of(i) in wanted]
        config.hook.pytest_deselected(items=[i for i in items if exercise_of(i) not in wanted])
        items[:] = keep


# Fixtures reach the run's config through `run`, a session fixture built once: a fixture
# that takes `request` (as `pytestconfig` does) costs pytest a new fixture definition, with
# an inspect.signature(), every time a test uses it (~5 per test).
@pytest.fixture(scope="session")
def run(pytestconfig) -> pytest.Config:
    return pytestconfig


@pytest.fixture(scope="session")
def device(run) -> torch.device:
    """The device of this run (--device)."""
    return torch.device(run.getoption("device"))


@pytest.fixture(scope="session")
def worker(run, device):
    """Where learner code runs: this process, or (--isolate) a confined child."""
    pytestconfig = run
    if not pytestconfig.getoption("isolate"):
        yield Worker(implementation(pytestconfig), device)
        return
    root = pytestconfig.rootpath
    # The checkout's exercises/ too, unless it is what is graded: the code graded must not import someone else's.
    own = [root / "exercises"] if (root / "exercises").resolve() != implementation(pytestconfig) else []
    hide = (root / "solutions", root / "tests", *own, *map(Path, pytestconfig.getoption("hide")))
    limits = Limits(call_seconds=pytestconfig.getoption("call_timeout"))
    isolated = IsolatedWorker(implementation(pytestconfig), device,
                              Confinement(hide=hide, uid=pytestconfig.getoption("sandbox_uid"), limits=limits,
                                          allow_unconfined=pytestconfig.getoption("allow_unconfined")))
    pytestconfig.stash[SANDBOX] = isolated
    unconfined = pytestconfig.getoption("allow_unconfined") and not can_confine()
    guard = FileGuard.of_grader() if unconfined and FILE_GUARD not in pytestconfig.stash else None
    yield isolated
    isolated.close()
    changed = guard.restore() if guard else []
    if changed:
        isolated.weaknesses.append(_("unconfined, the code graded changed the grader's files ({files}); they were "
                                     "put back", files=", ".join(changed)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.config.stash[CURRENT_ITEM] = item  # the test being set up, for the fixtures (see `run`)
    if item.config.getoption("stop_at_verdict"):
        exercise = exercise_of(item)
        if verdict_collector(item.config).settled(exercise):
            pytest.skip(f"--stop-at-verdict: {exercise} already failed a test, so its verdict is settled")


@pytest.fixture
def seed(run) -> int:
    """A fixed seed per test: the same test always sees the same numbers."""
    return zlib.crc32(run.stash[CURRENT_ITEM].nodeid.encode()) & 0x7FFFFFFF


@pytest.fixture
def learner(run, worker, device, seed) -> Learner:
    """The exercise this test grades, in the implementation chosen by --impl. Flags the
    learner's calls raise (tampering, a time-out, ...) are recorded on this test's report."""
    item = run.stash[CURRENT_ITEM]
    exercise_id = exercise_of(item)
    if exercise_id is None:
        raise pytest.UsageError(f"{item.nodeid} uses `learner` without @pytest.mark.exercise")
    return Learner(worker, load().get(exercise_id), device, seed,
                   on_flag=lambda flag: item.user_properties.append(("flag", str(flag))))


@pytest.fixture
def rand(device, seed):
    """rand(*shape, dtype=float32, scale=1.0): standard-normal values times `scale`, drawn
    on the CPU from this test's seed (the same numbers on every device), then moved."""
    generator = torch.Generator().manual_seed(seed)

    def make(*shape, dtype=torch.float32, scale=1.0):
        return (torch.randn(shape, generator=generator, dtype=torch.float64) * scale).to(dtype).to(device)

    return make


# What a test raises when the student's code is at fault: a failed check (pytest.fail, the
# learner's WrongAnswer) or an assertion. Anything else is the grader's own failure.
STUDENT_FAILURES = (pytest.fail.Exception, AssertionError)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, NotAttempted):
        report.user_properties += [("torchkata", str(NOT_ATTEMPTED)), ("failure", error.failure.to_json())]
    elif isinstance(error, NotLoaded):
        report.user_properties += [("torchkata", str(NOT_LOADED)), ("failure", error.failure.to_json())]
    elif error is not None and (call.when != "call" or not isinstance(error, STUDENT_FAILURES)) \
            and not isinstance(error, pytest.skip.Exception):
        report.user_properties.append(("torchkata", str(GRADING_ERROR)))
        report.user_properties.append(("failure", Failure(Rule.GRADING_ERROR, M_(
            "grading error (the grader failed, not your code) in {stage} of {test}: {error}: {message}",
            stage=call.when, test=item.name, error=type(error).__name__, message=str(error))).to_json()))
    elif isinstance(error, (Failed, LearnerFailure)):
        report.user_properties.append(("failure", error.failure.to_json()))
    learner = getattr(item, "funcargs", {}).get("learner")
    if call.when == "call" and isinstance(learner, Learner) and learner.ran:
        report.user_properties.append(("ran", sorted(learner.ran)))
    exercise = exercise_of(item)
    if exercise is not None:
        report.user_properties.append(("exercise", exercise))
    return report


class VerdictCollector:
    """Collects each exercise's test outcomes and failure records, and turns them into one
    verdict record per exercise (verdicts.ExerciseResult)."""

    MAX_FAILURES = 10  # distinct failures kept per exercise; the rest are counted in `more`

    def __init__(self, config):
        self.config = config
        self.outcomes: dict[str, list[str]] = defaultdict(list)
        self.failures: dict[str, list[Failure]] = defaultdict(list)  # one per failing test, in the order met
        self.flags: dict[str, list[str]] = defaultdict(list)
        self.ran: dict[str, set[str]] = defaultdict(set)  # the learner's functions that ran, over all its tests

    def pytest_runtest_logreport(self, report):
        props = dict(report.user_properties)
        exercise = props.get("exercise")
        for key, value in report.user_properties:
            if key == "flag" and exercise is not None and value not in self.flags[exercise]:
                self.flags[exercise].append(value)
        if exercise is None:
            return
        self.ran[exercise].update(props.get("ran", ()))
        if not (report.when == "call" or report.failed):
            return
        self.outcomes[exercise].append(props.get("torchkata", report.outcome))
        if report.failed:
            failure = Failure.from_json(props["failure"]) if "failure" in props else \
                Failure(Rule.CONTRACT, Message.verbatim(report.longreprtext.strip()))  # a test's plain assert
            self.failures[exercise].append(replace(failure, output=report.capstdout.strip() and report.capstdout,
                                                   lesson="lesson" in report.keywords))

    def settled(self, exercise: str | None) -> bool:
        return combine(self.outcomes.get(exercise, [])) != DONE

    def verdicts(self) -> dict[str, str]:
        """Per exercise that ran, in course order: done, wrong, not attempted, could not load or grading error."""
        return {e.id: combine(self.outcomes[e.id]) for e in load() if self.outcomes.get(e.id)}

    def results(self) -> dict[str, ExerciseResult]:
        """Per exercise that ran, in course order, its verdict record: each mistake said once."""
        points = {e.id: e.points for e in load()}
        results = {}
        for exercise, verdict in self.verdicts().items():
            failures, more = said_once(self.failures.get(exercise, []), self.MAX_FAILURES)
            output = next((f.output for f in self.failures.get(exercise, []) if f.output), "")
            results[exercise] = ExerciseResult(verdict, points[exercise] if verdict == DONE else 0, failures,
                                               list(self.flags.get(exercise, [])), output, more,
                                               sorted(self.ran.get(exercise, ())))
        blame(results)
        return results

    def pytest_terminal_summary(self, terminalreporter):
        results = self.results()
        if not results:
            return
        config = self.config
        terminalreporter.section(_("torchkata verdicts ({impl}, {device})", impl=config.getoption("impl"),
                                   device=config.getoption("device")))
        width = terminalreporter._tw.fullwidth
        said = words(current())  # the verdicts' names, in the reader's language
        for exercise_id, result in results.items():
            line = f"  {said[result.verdict]:<14} {exercise_id}"
            if result.verdict in (WRONG, NOT_LOADED, GRADING_ERROR) and result.first:
                first = result.first.render().splitlines()[0]
                line = f"{line:<60} {first}"[: max(width - 1, 60)]
            terminalreporter.write_line(line)
        verdicts = [r.verdict for r in results.values()]
        counts = {v: verdicts.count(v) for v in (DONE, WRONG, NOT_ATTEMPTED, NOT_LOADED, GRADING_ERROR)}
        terminalreporter.write_line(", ".join(f"{n} {said[v]}" for v, n in counts.items()
                                              if n or v not in (NOT_LOADED, GRADING_ERROR)))
        if counts[GRADING_ERROR]:
            terminalreporter.write_line(_("{count} exercise(s) could not be graded: the grader failed, not the code "
                                          "under test. Fix the cause shown and grade again.",
                                          count=counts[GRADING_ERROR]), red=True)
        sandbox = config.stash.get(SANDBOX, None)
        for weakness in sandbox.weaknesses if sandbox else []:
            terminalreporter.write_line(_("sandbox: {weakness}", weakness=weakness), yellow=True)
        if config.getoption("device") != "cuda":
            terminalreporter.write_line(_("cuda was NOT run in this session (graded on cpu only)"))
        if config.getoption("verdicts"):
            self.write(Path(config.getoption("verdicts")))

    def write(self, path: Path) -> None:
        """The verdicts file: {exercise id: its verdict record}, and what the sandbox lacked."""
        report = {exercise: result.to_json() for exercise, result in self.results().items()}
        sandbox = self.config.stash.get(SANDBOX, None)
        if sandbox is not None and sandbox.weaknesses:
            report[SANDBOX_KEY] = sandbox.weaknesses
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
