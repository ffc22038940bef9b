"""One learner's checkout: what is known about each exercise, and the rules for grading it.

`Kata` holds the exercises folder, the stored progress and how to grade; it decides which
exercises a run must grade and which verdicts can be reused, and prints nothing (views.py
shows what it returns; watching.py drives it on every save). Every verdict comes from the
pytest suite, run by `session.grade` in a child process with a time limit.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core import source
from ..core.failures import Failure, Rule
from ..core.i18n import M_, Message, _
from ..core.manifest import DONE, GRADING_ERROR, NOT_ATTEMPTED, WRONG, Exercise, load
from ..core.paths import PACKAGE, SOLUTIONS
from ..core.verdicts import ExerciseResult, blame, grading_error
from ..engine import processes, session
from .progress import Progress


class UnknownExercise(ValueError):
    """An exercise id (or name) the curriculum does not have; the message lists the known ones."""


@dataclass
class Hint:
    exercise: Exercise
    number: int  # 1-based
    total: int
    text: str

    @property
    def last(self) -> bool:
        return self.number == self.total


class Kata:
    """One learner's checkout: the exercises folder, its progress, and how it is graded."""

    def __init__(self, exercises: Path, lang: str = "en", timeout: float = 60.0, device: str = "cpu",
                 progress: Progress | None = None):
        self.exercises = Path(exercises).resolve()
        self.lang = lang
        self.timeout = timeout
        self.device = device
        self.curriculum = load()
        self.progress = progress or Progress.load(self.exercises)
        self.grader = session  # anything with grade(); watch swaps in a WarmGrader

    # -- what is known -------------------------------------------------------------------
    def _text(self, module: str) -> str | None:
        try:
            return (self.exercises / f"{module}.py").read_text(encoding="utf-8")
        except OSError:
            return None

    def code_hash(self, exercise: Exercise, ran=None) -> str:
        """The fingerprint of the code `exercise`'s verdict depends on: what it uses, and what
        ran while it was graded (`ran`; by default what ran for its stored verdict)."""
        return source.exercise_hash(self.exercises, exercise, self.progress.ran(exercise.id) if ran is None else ran)

    def known_state(self, exercise: Exercise) -> ExerciseResult | None:
        """The state without grading: not attempted (the stub), a stored verdict graded on the
        code as it is now (every function that ran for it unchanged), or None."""
        text = self._text(exercise.module)
        if text is not None and source.is_stub(text, exercise.name):
            return ExerciseResult(NOT_ATTEMPTED)
        return self.progress.verdict(exercise.id, self.code_hash(exercise))

    def changed(self) -> list[Exercise]:
        """The exercises whose code changed since their verdict (in course order)."""
        return [e for e in self.curriculum if self.known_state(e) is None]

    def next_exercise(self) -> Exercise | None:
        """The first exercise in course order not known to be done."""
        for exercise in self.curriculum:
            state = self.known_state(exercise)
            if state is None or state.verdict != DONE:
                return exercise
        return None

    def pick(self, exercise_id: str | None) -> Exercise | None:
        """The exercise named (by id or by name), or the next unfinished one; None when all are done."""
        if exercise_id is None:
            return self.next_exercise()
        matches = [e for e in self.curriculum if exercise_id in (e.id, e.name)]
        if len(matches) != 1:
            ids = {key: e.id for e in self.curriculum for key in (e.id, e.name)}  # what a learner may type
            close = difflib.get_close_matches(exercise_id, ids, n=1, cutoff=0.75)
            # the right name in the wrong module first, then the nearest spelling
            suggestion = ids.get(exercise_id.rsplit(".", 1)[-1]) or (ids[close[0]] if close else None)
            if suggestion:
                raise UnknownExercise(_("no exercise {name!r}; did you mean {close}?", name=exercise_id,
                                        close=suggestion))
            raise UnknownExercise(_("no exercise {name!r}: `torchkata status` lists all {n}.", name=exercise_id,
                                    n=len(self.curriculum)))
        return matches[0]

    def where(self, exercise: Exercise) -> tuple[str, int]:
        """The file to open (relative to the working folder where it can be) and the line."""
        location = source.locate(self.exercises, exercise)
        path = self.exercises / f"{exercise.module}.py"
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        return str(shown), (location.line if location else 1)

    def where_to_look(self, exercise: Exercise, state: ExerciseResult) -> tuple[str, int]:
        """Where to go about a verdict: the exercise, or the other one it blames (tanh for a
        tanh_derivative that calls a wrong tanh)."""
        blamed = state.first.blames if state.first is not None and state.verdict == WRONG else ""
        return self.where(self.pick(blamed) if blamed else exercise)

    # -- grading -------------------------------------------------------------------------
    def grade(self, exercises: list[Exercise], busy=contextlib.nullcontext) -> dict[str, ExerciseResult]:
        """Grade these exercises (one child process; one each if that one fails) and record
        their verdicts; a grading error is returned but never recorded (it says nothing of
        the learner's code). `busy(ids)` is a context the run happens in (a spinner)."""
        if not exercises:
            return {}
        ids = [e.id for e in exercises]
        with busy(ids):
            run = self.grader.grade(self.exercises, ids, timeout=self.timeout, device=self.device)
        if (run.timed_out or run.crashed) and len(ids) > 1:
            results = {}
            for exercise in exercises:
                results.update(self.grade([exercise], busy))
            return results
        results = {}
        for exercise in exercises:
            if run.timed_out:
                state = ExerciseResult(WRONG, failures=[Failure(Rule.TIMED_OUT, M_(
                    "the tests of your code did not finish in {seconds:g} s (an infinite loop, or a sleep?). If it is "
                    "right and the machine is busy, give the tests more time: --timeout {more:g}",
                    seconds=self.timeout, more=max(2 * self.timeout, 60)))])
            elif run.crashed:
                state = ExerciseResult(WRONG, failures=[Failure(Rule.CRASHED, Message.verbatim(run.crashed))])
            elif run.grading_error or exercise.id not in run.verdicts:
                why = run.grading_error or Message.join("\n", [M_("no test ran:"), run.output[-2000:]])
                results[exercise.id] = grading_error(why)
                continue
            else:
                state = run.verdicts[exercise.id]
            results[exercise.id] = state
        self._blame(results, busy)
        for exercise in exercises:
            state = results[exercise.id]
            if state.verdict != GRADING_ERROR:
                self.progress.record(exercise.id, state, self.code_hash(exercise, state.ran))
        self.progress.save()
        return results

    def _blame(self, results: dict[str, ExerciseResult], busy) -> None:
        """Name, first, another exercise a wrong one ran that is wrong too (verdicts.blame),
        grading that other exercise when nothing is known of it yet."""
        wrong_ran = {other for result in results.values() if result.verdict == WRONG for other in result.ran}
        others = [e for e in self.curriculum if e.id in wrong_ran and e.id not in results]
        known = {e.id: self.known_state(e) for e in others}
        unknown = [e for e in others if known[e.id] is None]
        if unknown:
            known.update(self.grade(unknown, busy))
        blame(results, {i: state for i, state in known.items() if state is not None})

    def states(self, busy=contextlib.nullcontext) -> dict[str, ExerciseResult]:
        """Every exercise's state; grades (in one run) those whose stored verdict is stale."""
        states = {e.id: self.known_state(e) for e in self.curriculum}
        states.update(self.grade([e for e in self.curriculum if states[e.id] is None], busy))
        return states

    def being_edited(self, current: Exercise, saved: list[str], changed: list[Exercise]) -> Exercise:
        """After a save of the files `saved`, with `changed` the exercises whose code changed:
        `current` if it is one of them or nothing changed, else the first changed exercise in a
        saved file (the learner moved on)."""
        if not changed or current in changed:
            return current
        saved_modules = {name.removesuffix(".py") for name in saved}
        return next((e for e in changed if e.module in saved_modules), changed[0])

    def regrade(self, first: Exercise, changed: list[Exercise], busy=contextlib.nullcontext) -> dict[str, ExerciseResult]:
        """Regrade the `changed` exercises, `first` first, in one run: their states by id
        (`first`'s always there, graded or known)."""
        if first not in changed:
            return {first.id: self.known_state(first)}
        return self.grade([first, *(e for e in changed if e != first)], busy)

    # -- the other commands ----------------------------------------------------------------
    def lesson(self, exercise: Exercise) -> str:
        """What the exercise teaches, in the kata's language: the published stub's docstring
        (the learner may have edited theirs), or its Chinese from the curriculum."""
        if self.lang == "zh" and exercise.lesson_zh:
            return exercise.lesson_zh
        return source.docstring(original_stub_text(exercise), exercise.name) or ""

    def next_hint(self, exercise: Exercise) -> Hint:
        """The next hint of `exercise` (the last one again once all were shown), remembered."""
        hints = exercise.hints_in(self.lang)
        shown = min(self.progress.hints_shown.get(exercise.id, 0) + 1, len(hints))
        self.progress.hints_shown[exercise.id] = shown
        self.progress.save()
        return Hint(exercise, shown, len(hints), hints[shown - 1])

    def solution(self, exercise: Exercise, busy=contextlib.nullcontext) -> str | None:
        """The reference definition of `exercise`, or None while the learner's is not done."""
        state = self.known_state(exercise)
        if state is None:
            state = self.grade([exercise], busy)[exercise.id]
        if state.verdict != DONE:
            return None
        return source.definition_text((SOLUTIONS / f"{exercise.module}.py").read_text(encoding="utf-8"), exercise.name)

    def reset(self, exercise: Exercise) -> tuple[Path, Path] | None:
        """Put the published stub back; returns (the file, the backup of the learner's
        version), or None when it is a stub already."""
        path = self.exercises / f"{exercise.module}.py"
        current = path.read_text(encoding="utf-8")
        if source.is_stub(current, exercise.name):
            return None
        original = original_stub(exercise)
        backup = path.resolve().parent.parent / ".torchkata" / "backups" / \
            f"{exercise.id}-{datetime.datetime.now():%Y%m%d-%H%M%S}.py"
        backup.parent.mkdir(parents=True, exist_ok=True)
        backup.write_text(source.definition_text(current, exercise.name) + "\n", encoding="utf-8")
        path.write_text(source.replace_definition(current, exercise.name, original), encoding="utf-8")
        self.progress.verdicts.pop(exercise.id, None)
        self.progress.save()
        return path, backup

    def plot(self, kind: str, out: Path) -> tuple[list[str], str, list[str]]:
        """Draw the course's figures from the learner's functions in a child process:
        (the PNG files written, what went wrong: empty when nothing did, what else it said)."""
        command = [sys.executable, "-m", "torchkata.learn.plots", kind, str(self.exercises), str(out)]
        seconds = self.timeout + 60
        output, ending = processes.run(command, seconds=seconds)  # what the learner's code starts goes with it
        if ending is None:
            return [], _("timed out after {seconds:g} s", seconds=seconds), []
        if ending.code != 0:
            return [], output, []
        lines = output.splitlines()
        return [line for line in lines if line.endswith(".png")], "", [line for line in lines if not line.endswith(".png")]


def original_stub_text(exercise: Exercise) -> str:
    return (PACKAGE / "stubs" / f"{exercise.module}.py").read_text(encoding="utf-8")


def original_stub(exercise: Exercise) -> str:
    """The stub as it was published, from the copy that ships with the package
    (torchkata/stubs/): reset needs no git history, and works on a downloaded zip or after
    the stubs were committed over."""
    text = original_stub_text(exercise)
    definition = source.definition_text(text, exercise.name)
    if definition is None or not source.is_stub(text, exercise.name):
        raise FileNotFoundError(f"the published stub of {exercise.id} is missing from torchkata/stubs/")
    return definition
