"""The grader's own files, put back as they were after every student graded unconfined.

Confined grading (as root, or in a user namespace) shows student code the grader's files
read-only or not at all, so nothing here is needed. Graded with --allow-unconfined, student
code runs with the grader's uid and could delete or rewrite `tests/`, `solutions/`,
`exercises/` or torchkata itself. The class grader then keeps every other student's grade safe this way:

* everything the judges need is imported before the first judge is forked, so a file
  deleted on disk changes nothing a later judge runs;
* one student is graded at a time, and each judge kills whatever its student left running
  (processes.adopt_orphans), so no student's code is alive while another is graded;
* after each student, `FileGuard.restore` compares the grader's files with the snapshot
  taken before grading and writes back every file changed, deleted or added, and the
  student is flagged. The instructor's checkout ends as it began.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..core.paths import EXERCISES, PACKAGE, SOLUTIONS, TESTS

SKIPPED = ("__pycache__",)


def grader_files() -> tuple[Path, ...]:
    """What unconfined student code must not change: the grader's tests, solutions and
    torchkata, and the checkout's exercises/ (a student who imports `exercises.losses` by
    name reads them: overwritten, they would change another student's grade)."""
    return TESTS, SOLUTIONS, PACKAGE, EXERCISES


class FileGuard:
    """A snapshot of files and every file under folders (contents and modes), and a way back to it."""

    def __init__(self, paths: tuple[Path, ...]):
        self.roots = tuple(Path(p).resolve() for p in paths)
        self.files = {path: (path.stat().st_mode & 0o7777, path.read_bytes()) for path in self._walk()}
        self.single = {path for path in self.roots if path in self.files}

    @classmethod
    def of_grader(cls, *more: Path) -> FileGuard:
        """The grader's own files (`grader_files`), and `more`."""
        return cls((*grader_files(), *more))

    def _walk(self) -> list[Path]:
        found = []
        for root in self.roots:
            if root.is_file() and not root.is_symlink():
                found.append(root)
            for top, dirs, names in os.walk(root):
                dirs[:] = [d for d in dirs if d not in SKIPPED]
                found.extend(Path(top) / name for name in names)
        return found

    def changes(self) -> list[str]:
        """Each difference from the snapshot, in words ('tests/x.py deleted')."""
        said = []
        present = set()
        for path in self._walk():
            present.add(path)
            if path not in self.files:
                said.append(f"{self._name(path)} added")
            elif path.is_symlink() or not path.is_file() or self._differs(path):
                said.append(f"{self._name(path)} changed")
        said.extend(f"{self._name(p)} deleted" for p in self.files if p not in present)
        for folder in set(self.roots) - self.single:
            if not folder.is_dir() or folder.is_symlink():
                said.append(f"{folder.name}/ replaced")
        return sorted(set(said))

    def restore(self) -> list[str]:
        """Put every guarded file back as it was; returns what had changed (empty: nothing did)."""
        changed = self.changes()
        if not changed:
            return []
        present = set(self._walk())
        for path in present - self.files.keys():
            path.unlink()
        for path, (mode, data) in self.files.items():
            if path in self.single:
                path.parent.mkdir(parents=True, exist_ok=True)
            else:
                _make_folder(path.parent, self._top(path))
            if path.is_symlink() or (path.exists() and not path.is_file()):
                _remove(path)
            if not path.exists() or self._differs(path):
                path.write_bytes(data)
            os.chmod(path, mode)
        return changed

    def _differs(self, path: Path) -> bool:
        mode, data = self.files[path]
        try:
            return path.stat().st_mode & 0o7777 != mode or path.read_bytes() != data
        except OSError:
            return True

    def _top(self, path: Path) -> Path:
        return next(root for root in self.roots if path.is_relative_to(root))

    def _name(self, path: Path) -> str:
        top = self._top(path)
        if path in self.single:
            return path.name
        return f"{top.name}/{path.relative_to(top)}" if path != top else f"{top.name}/"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _make_folder(folder: Path, top: Path) -> None:
    """`folder` and every folder between it and `top` as real folders: a file or a link in
    their place is removed first (a link would send the restored files somewhere else)."""
    parts = folder.relative_to(top).parts
    for depth in range(len(parts) + 1):
        step = top.joinpath(*parts[:depth])
        if step.is_symlink() or (step.exists() and not step.is_dir()):
            _remove(step)
        if not step.exists():
            step.mkdir()
