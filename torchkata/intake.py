"""Taking a class in: finding each student's submission, slicing the class into shards,
and staging a private copy of each submission for its judge."""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .manifest import load


class IntakeError(ValueError):
    """The submissions given cannot be taken in as asked (the message says why)."""


@dataclass
class Submission:
    student: str
    source: Path  # a folder laid out like exercises/, or a zip of one


# -- finding the class ----------------------------------------------------------------------
def looks_like_exercises(folder: Path) -> bool:
    """A folder holding at least one of the course's modules."""
    return any((folder / f"{module}.py").is_file() for module in load().modules)


def discover(paths: list[Path]) -> list[Submission]:
    """Each path: a submission folder, a zip of one, or a folder of those (named by student)."""
    found: dict[str, Submission] = {}
    for path in map(Path, paths):
        if path.is_file() and path.suffix == ".zip":
            candidates = [path]
        elif path.is_dir() and looks_like_exercises(path):
            candidates = [path]
        elif path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.is_dir() or p.suffix == ".zip")
        else:
            raise IntakeError(f"{path} is neither a folder nor a .zip")
        for candidate in candidates:
            student = candidate.stem if candidate.suffix == ".zip" else candidate.name
            if student in found:
                raise IntakeError(f"two submissions for student {student!r}: "
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
        raise IntakeError(f"--shard must be K/N with 1 <= K <= N, got {spec!r}") from None
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
