"""Grade a whole class: many submissions, one preloaded process, a judge per student.

The grader imports torch and pytest and collects the real suite once (--isolate). For
each student it forks a judge from that collected session (judges.py: milliseconds,
nothing to import or collect again): the judge holds the tests and computes the
verdicts, and the student's code runs in the judge's confined child (channel.py, confinement.py).
Judges run in parallel, one per core, each sandbox with a uid of its own, and write
their verdicts to a file the student's code cannot see. Where student code cannot be
confined and the instructor allowed it anyway, guard.py says what keeps the grades safe. Taking the class in is intake.py;
the typed results are in verdicts.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

from ..core.i18n import _
from ..core.manifest import load
from ..core.paths import EXERCISE_TESTS, EXERCISES, ROOT, SOLUTIONS, TESTS
from ..core.verdicts import StudentResult
from ..engine.confinement import can_confine, confinement_refusal, mount_namespaces_work, out_of_reach
from ..engine.guard import FileGuard
from ..engine.preload import preload
from ..engine.processes import GradingError, Unconfined, children_can_grade, cuda_in_use, environment, prepare_parent
from ..engine.session import LEAN_ENV, LEAN_OPTIONS
from .intake import IntakeError, Skipped, Submission, UnreadableSubmission, discover, shard, stage  # noqa: F401 - the API
from .judges import Judges
from .similarity import definition_in


# -- grading ----------------------------------------------------------------------------------
def grade_class(submissions: list[Submission], out: Path, *, jobs: int | None = None, call_seconds: float = 20.0,
                exercises: tuple[str, ...] = (), hide: tuple[Path, ...] = (), progress=None,
                device: str = "cpu", allow_unconfined: bool = False) -> list[StudentResult]:
    """Grade every submission on `device`; returns one result per student, in student order.

    One pytest session, in this process, collects the suite once; its run loop then forks
    a judge per student (at most `jobs` at a time) that runs the collected tests on that
    student's folder and writes the verdicts. Raises GradingError when this process cannot
    fork judges that grade right (processes.py says when).

    Where student code cannot be confined (and `allow_unconfined` says grade anyway), the
    students are graded one at a time, and the grader's files and the submissions are put
    back after each (guard.py).
    """
    import pytest

    refusal = confinement_refusal(allow_unconfined)
    if refusal:
        raise Unconfined(refusal)
    if cuda_in_use():
        raise GradingError(_("class grading must start in a process that has not used CUDA: its judges are forked "
                             "from it (run `torchkata grade` as its own command)"))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # Every change to the environment is undone when grading ends (CUDA has read its part by then).
    with environment(LEAN_ENV), tempfile.TemporaryDirectory(prefix="torchkata-class-") as scratch:
        prepare_parent(device)
        preload(device, test_modules=False)
        problem = children_can_grade(device)
        if problem:
            raise GradingError(problem)
        scratch = Path(scratch)
        os.chmod(scratch, 0o711)
        guard = None
        if not can_confine():  # and allowed: the grader's files and the submissions are put back after each
            guard = FileGuard.of_grader(out, *(s.source for s in submissions))  # out: the reports' folder
        jobs = 1 if guard else max(1, jobs or os.cpu_count() or 1)
        judges = Judges(submissions, scratch, jobs, exercises, progress, device, guard)
        # The checkout's own exercises/ too: a student's `import exercises...` must not find the instructor's.
        hidden = [out, scratch, EXERCISES, *hide, *_sources_to_hide(submissions)]
        # As root where no namespace can hide them: file permissions keep them from the sandbox's uid.
        unhideable = os.geteuid() == 0 and not mount_namespaces_work()
        reach = out_of_reach([TESTS, SOLUTIONS, *(h for h in hidden if h != scratch)]) if unhideable else nullcontext()
        # --impl is a placeholder here: each judge points the session at its student's folder.
        with reach:
            code = pytest.main([str(EXERCISE_TESTS), "--impl=exercises", f"--device={device}",
                                # Every test, not --stop-at-verdict: the reports list every distinct failure
                                # (it costs a class of 40 nothing measurable: docs/measured.md).
                                "--isolate", *(["--allow-unconfined"] if allow_unconfined else []),
                                f"--call-timeout={call_seconds}", *(f"--hide={h}" for h in hidden),
                                *(f"--exercise={e}" for e in exercises), "--capture=no", *LEAN_OPTIONS],
                               plugins=[judges])
        if judges.problem or code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            raise GradingError(_("the grader could not run its own test suite (pytest exit code {code}): {problem}",
                                 code=code, problem=judges.problem or _("see the messages above")))
        results = [judges.results[s.student] for s in submissions]
        keep_code(results, scratch / "submissions", exercises)
        return results


def keep_code(results: list[StudentResult], staged: Path, only: tuple[str, ...] = ()) -> None:
    """Keep, on each student's result, their definition of each exercise, from the copy staged
    for their judge: the reports compare the class's code with it (similarity.py)."""
    for result in results:
        folder = staged / result.student
        if folder.is_dir():
            result.code = _definitions(folder, only)


def _definitions(folder: Path, only: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for exercise in load():
        if not only or exercise.id in only:
            text = definition_in(folder / f"{exercise.module}.py", exercise.name)
            if text:
                found[exercise.id] = text
    return found


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
