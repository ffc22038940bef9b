"""The curriculum manifest: one file says which exercises exist, in which order.

`curriculum.toml` beside this module is the single source of truth. Everything else
(tests, the command line, the grader) asks this module rather than keeping its own list.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .compat import tomllib
from .paths import PACKAGE
from .verdicts import Verdict

MANIFEST_PATH = PACKAGE / "curriculum.toml"

DONE, WRONG, NOT_ATTEMPTED, GRADING_ERROR = Verdict.DONE, Verdict.WRONG, Verdict.NOT_ATTEMPTED, Verdict.GRADING_ERROR
NOT_LOADED = Verdict.NOT_LOADED


@dataclass(frozen=True)
class Exercise:
    """One exercise: `module.name`, its points, hints and off-limits built-ins."""

    id: str
    points: int
    hints: tuple[str, ...]
    off_limits: tuple[str, ...]
    hints_zh: tuple[str, ...] = ()
    changes_arguments: bool = False  # its contract is to change what it is given (parameters, gradients)
    lesson_zh: str = ""  # the lesson of the stub's docstring, in Chinese (`torchkata explain --lang zh`)
    builds_on: tuple[str, ...] = ()  # the learner's own exercises it must use in place of the off-limits built-ins

    def hints_in(self, lang: str) -> tuple[str, ...]:
        return self.hints_zh if lang == "zh" and self.hints_zh else self.hints

    @property
    def module(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]


@dataclass(frozen=True)
class Curriculum:
    exercises: tuple[Exercise, ...]

    def __iter__(self):
        return iter(self.exercises)

    def __len__(self) -> int:
        return len(self.exercises)

    def get(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        known = ", ".join(e.id for e in self.exercises)
        raise KeyError(f"no exercise {exercise_id!r} in the curriculum; known: {known}")

    @property
    def modules(self) -> tuple[str, ...]:
        """Module names in course order, each once."""
        return tuple(dict.fromkeys(e.module for e in self.exercises))


def parse(text: str) -> Curriculum:
    """Parse manifest text; raises ValueError naming the entry that is malformed."""
    data = tomllib.loads(text)
    groups: dict[str, list[str]] = data.get("off_limits", {})
    exercises = []
    seen = set()
    for entry in data.get("exercise", []):
        ex_id = entry.get("id", "")
        if ex_id.count(".") != 1:
            raise ValueError(f"exercise id must be 'module.name', got {ex_id!r}")
        if ex_id in seen:
            raise ValueError(f"exercise {ex_id!r} is listed twice")
        seen.add(ex_id)
        points = entry.get("points")
        if not isinstance(points, int) or points <= 0:
            raise ValueError(f"exercise {ex_id!r}: points must be a positive integer, got {points!r}")
        hints = tuple(entry.get("hints", ()))
        if len(hints) < 2:
            raise ValueError(f"exercise {ex_id!r}: needs at least two hints, got {len(hints)}")
        off_limits: list[str] = []
        for item in entry.get("off_limits", ()):
            if item.startswith("@"):
                if item[1:] not in groups:
                    raise ValueError(f"exercise {ex_id!r}: unknown off-limits group {item!r}")
                off_limits.extend(groups[item[1:]])
            else:
                off_limits.append(item)
        hints_zh = tuple(entry.get("hints_zh", ()))
        if hints_zh and len(hints_zh) != len(hints):
            raise ValueError(f"exercise {ex_id!r}: {len(hints_zh)} Chinese hints for {len(hints)} English ones")
        # torch's own convention: a name ending in _ changes its argument in place.
        changes = entry.get("changes_arguments", ex_id.endswith("_"))
        lesson_zh = entry.get("lesson_zh", "").strip()
        builds_on = tuple(entry.get("builds_on", ()))
        unknown = [other for other in builds_on if other not in seen]
        if unknown:
            raise ValueError(f"exercise {ex_id!r}: builds_on names {unknown[0]!r}, which is not an earlier exercise")
        exercises.append(Exercise(ex_id, points, hints, tuple(off_limits), hints_zh, changes, lesson_zh, builds_on))
    return Curriculum(tuple(exercises))


@cache
def load(path: Path = MANIFEST_PATH) -> Curriculum:
    return parse(Path(path).read_text(encoding="utf-8"))
