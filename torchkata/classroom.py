"""Grade a whole class: many submissions, one preloaded process, a judge per student.

The grader imports torch and pytest and collects the real suite once (--isolate). For
each student it forks a judge from that collected session (judges.py: milliseconds,
nothing to import or collect again): the judge holds the tests and computes the
verdicts, and the student's code runs in the judge's confined child (sandbox.py).
Judges run in parallel, one per core, each sandbox with a uid of its own, and write
their verdicts to a file the student's code cannot see.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from .manifest import DONE, GRADING_ERROR, WRONG, load
from .preload import preload
from .processes import GradingError, children_can_grade, cuda_in_use, prepare_parent

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Submission:
    student: str
    source: Path  # a folder laid out like exercises/, or a zip of one


@dataclass
class StudentResult:
    student: str
    exercises: dict[str, dict] = field(default_factory=dict)  # id -> {"verdict", "points", "messages"}
    flags: list[str] = field(default_factory=list)
    sandbox_weaknesses: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(e["points"] for e in self.exercises.values())


# -- finding the class ----------------------------------------------------------------------
def _looks_like_exercises(folder: Path) -> bool:
    return any((folder / f"{module}.py").is_file() for module in load().modules)


def discover(paths: list[Path]) -> list[Submission]:
    """Each path: a submission folder, a zip of one, or a folder of those (named by student)."""
    found: dict[str, Submission] = {}
    for path in map(Path, paths):
        if path.is_file() and path.suffix == ".zip":
            candidates = [path]
        elif path.is_dir() and _looks_like_exercises(path):
            candidates = [path]
        elif path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.is_dir() or p.suffix == ".zip")
        else:
            raise SystemExit(f"torchkata grade: {path} is neither a folder nor a .zip")
        for candidate in candidates:
            student = candidate.stem if candidate.suffix == ".zip" else candidate.name
            if student in found:
                raise SystemExit(f"torchkata grade: two submissions for student {student!r}: "
                                 f"{found[student].source} and {candidate}")
            found[student] = Submission(student, candidate)
    return [found[s] for s in sorted(found)]


def shard(submissions: list[Submission], spec: str | None) -> list[Submission]:
    """`K/N`: the K-th of N slices (1-based), by sorted student id: deterministic."""
    if not spec:
        return submissions
    try:
        k, n = (int(x) for x in spec.split("/"))
        assert 1 <= k <= n
    except (ValueError, AssertionError):
        raise SystemExit(f"torchkata grade: --shard must be K/N with 1 <= K <= N, got {spec!r}") from None
    return [s for i, s in enumerate(sorted(submissions, key=lambda s: s.student)) if i % n == k - 1]


def stage(submission: Submission, staging: Path) -> Path:
    """A private copy of the submission (a zip is extracted safely), readable by its judge."""
    target = staging / submission.student
    if submission.source.suffix == ".zip":
        target.mkdir(parents=True)
        with zipfile.ZipFile(submission.source) as archive:
            for member in archive.infolist():
                name = Path(member.filename)
                if member.is_dir() or name.is_absolute() or ".." in name.parts or name.suffix != ".py":
                    continue
                (target / name.name).write_bytes(archive.read(member))  # flattened: modules only
    else:
        shutil.copytree(submission.source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    for path in [target, *target.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return target


# -- grading ----------------------------------------------------------------------------------
def grade_class(submissions: list[Submission], out: Path, *, jobs: int | None = None, call_seconds: float = 20.0,
                exercises: tuple[str, ...] = (), hide: tuple[Path, ...] = (), progress=None,
                device: str = "cpu") -> list[StudentResult]:
    """Grade every submission on `device`; returns one result per student, in student order.

    One pytest session, in this process, collects the suite once; its run loop then forks
    a judge per student (at most `jobs` at a time) that runs the collected tests on that
    student's folder and writes the verdicts. Raises GradingError when this process cannot
    fork judges that grade right (processes.py says when).
    """
    import pytest

    from .judges import Judges
    from .session import LEAN_ENV, LEAN_OPTIONS

    if cuda_in_use():
        raise GradingError("class grading must start in a process that has not used CUDA: its judges are forked "
                           "from it (run `torchkata grade` as its own command)")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # Every change to the environment is undone when grading ends (CUDA has read its part by then).
    with mock.patch.dict(os.environ, LEAN_ENV), tempfile.TemporaryDirectory(prefix="torchkata-class-") as scratch:
        prepare_parent(device)
        preload(device, test_modules=False)
        problem = children_can_grade(device)
        if problem:
            raise GradingError(problem)
        scratch = Path(scratch)
        os.chmod(scratch, 0o711)
        judges = Judges(submissions, scratch, max(1, jobs or os.cpu_count() or 1), exercises, progress, device)
        hidden = [out, scratch, *hide, *_sources_to_hide(submissions)]
        # --impl is a placeholder here: each judge points the session at its student's folder.
        code = pytest.main([str(ROOT / "tests" / "exercises"), "--impl=exercises", f"--device={device}",
                            "--isolate", "--stop-at-verdict",
                            f"--call-timeout={call_seconds}", *(f"--hide={h}" for h in hidden),
                            *(f"--exercise={e}" for e in exercises), "--capture=no", *LEAN_OPTIONS],
                           plugins=[judges])
        if judges.problem or code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            raise GradingError(f"the grader could not run its own test suite (pytest exit code {code}): "
                               f"{judges.problem or 'see the messages above'}")
        return [judges.results[s.student] for s in submissions]


def _sources_to_hide(submissions: list[Submission]) -> list[Path]:
    """The original submissions (a zip's folder too), but never a folder the grader runs from."""
    keep = [ROOT, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    folders = set()
    for submission in submissions:
        source = submission.source.resolve()
        folder = source if source.is_dir() else source.parent
        if not any(k == folder or k.is_relative_to(folder) for k in keep):
            folders.add(folder)
    return sorted(folders)


def read_result(submission: Submission, verdicts_file: Path, only: tuple[str, ...],
                judge_ending: str = "ended") -> StudentResult:
    """A student's result from the verdicts file its judge wrote. A judge is the grader's
    own process (student code runs in its sandbox): when it wrote no verdicts, or could not
    grade, every exercise it did not settle is a grading error, never wrong."""
    result = StudentResult(submission.student)
    try:
        verdicts = json.loads(verdicts_file.read_text())
    except (OSError, ValueError):
        verdicts = {"_grading_error": f"the judge grading this student {judge_ending} without writing its verdicts"}
    result.sandbox_weaknesses = verdicts.pop("_sandbox_weaknesses", [])
    why = verdicts.pop("_grading_error", "this exercise was not graded")
    for exercise in load():
        if only and exercise.id not in only:
            continue
        state = verdicts.get(exercise.id, {"verdict": GRADING_ERROR, "messages": [f"grading error: {why}"]})
        result.exercises[exercise.id] = {"verdict": state["verdict"], "messages": state["messages"],
                                         "points": exercise.points if state["verdict"] == DONE else 0}
    result.flags = flags_of(result)
    return result


REGRADE = "grading error: regrade"
FLAG_MARKERS = {
    "must not patch torch": "patched torch or the grader",
    "the reference solutions": "called the reference solutions",
    "did not finish in": "timed out",
    "the process running your code died": "crashed the sandbox",
}


def flags_of(result: StudentResult) -> list[str]:
    text = "\n".join(m for e in result.exercises.values() for m in e["messages"] if e["verdict"] != GRADING_ERROR)
    regrade = [REGRADE] if any(e["verdict"] == GRADING_ERROR for e in result.exercises.values()) else []
    return regrade + [flag for marker, flag in FLAG_MARKERS.items() if marker in text]


def unreadable_result(submission: Submission, error: Exception) -> StudentResult:
    result = StudentResult(submission.student)
    for exercise in load():
        result.exercises[exercise.id] = {"verdict": WRONG, "points": 0,
                                         "messages": [f"the submission could not be read: {error}"]}
    return result
