"""Taking a class in: finding each student's submission, slicing the class into shards,
and staging a private copy of each submission for its judge.

Submissions come as students and learning platforms make them: a folder laid out like
exercises/ (or with its files one or two folders down), a .zip, .tar.gz or .tgz of one
(any case), or a platform's download folder per student (Moodle's
`Name_123_assignsubmission_file_/`, holding the files or an archive of them). Hidden files,
`__MACOSX/` and `__pycache__/` are ignored. What cannot be taken in is listed with the
reason; a submission that cannot be read is its student's problem only (judges.py).
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..core.i18n import _
from ..core.manifest import load


class IntakeError(ValueError):
    """The submissions given cannot be taken in as asked (the message says why)."""


class UnreadableSubmission(ValueError):
    """One submission cannot be read or holds no usable module (the message says why): that
    student must resubmit; the rest of the class is graded."""


@dataclass
class Submission:
    student: str
    source: Path       # a folder, or an archive of one (the class folder, for loose files)
    problem: str = ""  # why it cannot be graded, found while taking the class in (then staging says so)
    files: tuple[Path, ...] = ()  # loose files of one student in a class folder (Canvas), when not a folder
    project_copy: bool = False  # staging found a copy of the whole project and took its exercises/ only
    late: bool = False  # the platform marked it late (Canvas's _LATE_), or it was handed in after --deadline
    set_aside: tuple[Submission, ...] = ()  # the student's older hand-ins, not graded: the newest is

    @property
    def handed_in(self) -> float:
        """When it was handed in, as the platform's download gives it: the newest modification
        time of its own files (an archive's, a folder's .py files', the loose files')."""
        if self.files:
            paths = list(self.files)
        elif self.source.is_dir():
            paths = [p for p in self.source.rglob("*.py") if not ignored(p.relative_to(self.source))] or [self.source]
        else:
            paths = [self.source]
        try:
            return max(p.stat().st_mtime for p in paths)
        except OSError:  # unreadable: staging says so; its time decides nothing
            return 0.0

    @property
    def label(self) -> str:
        """The hand-in as the class folder shows it: `alice/`, `alice.zip`, or loose files."""
        if self.files:
            return _("loose files such as {file}", file=self.files[0].name)
        return f"{self.source.name}/" if self.source.is_dir() else self.source.name


@dataclass
class Skipped:
    path: Path
    why: str


# Matched without regard to case. tarfile reads a tar whatever its compression.
ARCHIVES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip")
ARCHIVES_SAID = ".zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz"
# Archives of kinds the grader cannot open without tools it does not install: the hand-in
# still gets its row ("could not load", with what to submit instead).
FOREIGN_ARCHIVES = (".rar", ".7z", ".tar.zst", ".zst", ".gz", ".bz2", ".xz", ".cab", ".arj", ".lzh")
IGNORED = ("__MACOSX", "__pycache__")
MOODLE_SUFFIX = re.compile(r"_assignsubmission_[a-z]+_?$")
# Canvas names each file of a download `<name>[_LATE]_<user id>_<submission id>_<file name>`,
# and a resubmitted file `<file name>-1.py`.
CANVAS = re.compile(r"^(?P<name>[^_]+)(?P<late>_LATE)?_(?P<user>\d+)_\d+_(?P<file>.+)$")
CANVAS_AGAIN = re.compile(r"-\d+(?=\.py$)")
MAX_MEMBER_BYTES = 4 << 20  # a module bigger than this is not a student's answer


def archive_suffix(path: Path) -> str | None:
    name = path.name.lower()
    return next((suffix for suffix in ARCHIVES if name.endswith(suffix)), None)


def foreign_archive_suffix(path: Path) -> str | None:
    """The suffix of an archive of a kind the grader does not open (.rar, .7z), or None."""
    name = path.name.lower()
    return None if archive_suffix(path) else next((s for s in FOREIGN_ARCHIVES if name.endswith(s)), None)


def any_archive_suffix(path: Path) -> str | None:
    """The suffix of an archive of any kind: one the grader opens, or one it does not."""
    return archive_suffix(path) or foreign_archive_suffix(path)


def foreign_archive_problem(path: Path) -> str:
    """Why a hand-in that is an archive of a kind the grader does not open cannot be graded ("" for any other)."""
    kind = foreign_archive_suffix(path)
    return _("{archive} is a {kind} archive, which the grader does not open: submit a {kinds} instead",
             archive=path.name, kind=kind, kinds=ARCHIVES_SAID) if kind else ""


def ignored(path: Path | PurePosixPath) -> bool:
    return any(part.startswith(".") or part in IGNORED for part in path.parts)


def student_id(entry: Path) -> str:
    """The student a submission belongs to: its name without the archive suffix or the
    suffix a learning platform adds (Moodle's `_assignsubmission_file_`)."""
    canvas = CANVAS.match(entry.name) if entry.is_file() else None
    if canvas:
        return f"{canvas['name']}_{canvas['user']}"
    name = entry.name
    suffix = any_archive_suffix(entry)
    if suffix and entry.is_file():
        name = name[: -len(suffix)]
    return MOODLE_SUFFIX.sub("", name)


# -- finding the class ----------------------------------------------------------------------
def looks_like_exercises(folder: Path) -> bool:
    """A folder holding at least one of the course's modules."""
    return any((folder / f"{module}.py").is_file() for module in load().modules)


def _one_submission(folder: Path) -> bool:
    """A folder given on the command line is one submission when the modules are at its top,
    or in the only folder it holds (`alice/exercises/*.py`); otherwise it is a class."""
    if looks_like_exercises(folder):
        return True
    entries = [e for e in folder.iterdir() if not ignored(PurePosixPath(e.name))]
    return len(entries) == 1 and entries[0].is_dir() and looks_like_exercises(entries[0])


def discover(paths: list[Path], skipped: list[Skipped] | None = None, *, newest_wins: bool = True,
             deadline: datetime | None = None) -> list[Submission]:
    """Each path: a submission (a folder or an archive), or a class folder of those (one per
    student, named by student). What a class folder holds that is not a submission is
    appended to `skipped`, with the reason.

    A student with several hand-ins (a folder and a zip, two zips): the newest is graded and
    the others are set aside, said in the reports; with `newest_wins=False`, none is graded
    and the student is asked to keep one. A hand-in is late when the platform says so
    (Canvas's `_LATE_`) or when it was handed in after `deadline`."""
    skipped = [] if skipped is None else skipped
    every: dict[str, list[Submission]] = {}  # each student's hand-ins, as found
    for path in map(Path, paths):
        if path.is_file():
            if not any_archive_suffix(path):
                raise IntakeError(_("{path} is neither a folder nor an archive ({kinds})", path=path,
                                    kinds=ARCHIVES_SAID))
            candidates = [path]
        elif path.is_dir() and _one_submission(path):
            candidates = [path]
        elif path.is_dir():
            candidates = []
            loose: dict[str, list[Path]] = {}
            for entry in sorted(path.iterdir()):
                if ignored(PurePosixPath(entry.name)):
                    skipped.append(Skipped(entry, _("a hidden or system entry")))
                elif entry.is_dir() or any_archive_suffix(entry):
                    candidates.append(entry)
                elif CANVAS.match(entry.name) and entry.name.endswith(".py"):
                    loose.setdefault(student_id(entry), []).append(entry)
                else:
                    skipped.append(Skipped(entry, _("neither a folder nor an archive ({kinds})", kinds=ARCHIVES_SAID)))
            for student, files in loose.items():
                files = tuple(sorted(files, key=_resubmission_order))
                late = any(CANVAS.match(f.name)["late"] for f in files)
                every.setdefault(student, []).append(Submission(student, path, files=files, late=late))
        else:
            raise IntakeError(_("{path}: no such file or folder", path=path))
        for candidate in candidates:
            canvas = CANVAS.match(candidate.name) if candidate.is_file() else None
            every.setdefault(student_id(candidate), []).append(
                Submission(student_id(candidate), candidate, foreign_archive_problem(candidate),
                           late=bool(canvas and canvas["late"])))
    found = {student: _one_of(hand_ins, newest_wins) for student, hand_ins in every.items()}
    if deadline is not None:
        limit = deadline.timestamp()
        for submission in found.values():
            submission.late = submission.late or submission.handed_in > limit
    return [found[s] for s in sorted(found, key=sort_key)]


def _one_of(hand_ins: list[Submission], newest_wins: bool) -> Submission:
    """The hand-in graded of one student's: the only one, else the newest (the others set
    aside), or (not newest_wins) the first, with the problem that there are several."""
    if len(hand_ins) == 1:
        return hand_ins[0]
    names = [h.label for h in hand_ins]
    if not newest_wins:
        chosen = hand_ins[0]
        chosen.problem = \
            _("two submissions for this student: {first} and {second}; keep one and resubmit", first=names[0],
              second=names[1]) if len(names) == 2 else \
            _("{n} submissions for this student: {submissions}; keep one and resubmit", n=len(names),
              submissions=_(", ").join(names))
        return chosen
    order = sorted(range(len(hand_ins)), key=lambda i: (hand_ins[i].handed_in, names[i]))
    chosen = hand_ins[order[-1]]
    chosen.set_aside = tuple(hand_ins[i] for i in order[:-1])  # the graded one's own lateness stays its own
    return chosen


def _resubmission_order(path: Path) -> tuple:
    """A file before its resubmissions (`losses.py`, `losses-1.py`, `losses-2.py`): the last one staged wins."""
    again = re.search(r"-(\d+)\.py$", path.name)
    return CANVAS_AGAIN.sub("", path.name), int(again[1]) if again else 0


def sort_key(student: str) -> tuple:
    """Student ids as people sort them: case-insensitively, numbers by value (s2 before s10)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in re.split(r"(\d+)", student) if part)


def shard(submissions: list[Submission], spec: str | None) -> list[Submission]:
    """`K/N`: the K-th of N slices (1-based), in student order: deterministic."""
    if not spec:
        return submissions
    try:
        k, n = (int(x) for x in spec.split("/"))
        assert 1 <= k <= n
    except (ValueError, AssertionError):
        raise IntakeError(_("--shard must be K/N with 1 <= K <= N, got {spec!r}", spec=spec)) from None
    ordered = sorted(submissions, key=lambda s: sort_key(s.student))
    return [s for i, s in enumerate(ordered) if i % n == k - 1]


# -- staging one submission -------------------------------------------------------------------
def stage(submission: Submission, staging: Path) -> Path:
    """A private copy of the submission's modules in one flat folder, readable by its judge.

    Archives are unpacked safely (only .py files, and archives nested one level; no path
    outside; nothing huge); the folder holding most of the course's modules is the
    submission's, copied with every .py file beside them; a course module found in two
    places is an error naming both. Raises UnreadableSubmission."""
    if submission.problem:
        raise UnreadableSubmission(submission.problem)
    target = staging / submission.student
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=staging, prefix=".unpacked-") as unpacked:
        base = Path(unpacked) / "submission"
        if submission.files:  # loose files, named as the learning platform names them
            base.mkdir()
            for path in submission.files:
                shutil.copyfile(path, base / CANVAS_AGAIN.sub("", CANVAS.match(path.name)["file"]))
        elif submission.source.is_dir():
            shutil.copytree(submission.source, base, symlinks=True,
                            ignore=lambda folder, names: [n for n in names if ignored(PurePosixPath(n))])
        else:
            _unpack(submission.source, base)
        modules = _modules(base)
        if not modules:  # a platform's folder holding an archive of the work
            nested = Path(unpacked) / "nested"
            for archive in sorted(p for p in base.rglob("*") if p.is_file() and archive_suffix(p)):
                _unpack(archive, nested / archive.name)
            base, modules = nested, _modules(nested)
        if not modules:
            names = _(", ").join(f"{m}.py" for m in load().modules)
            raise UnreadableSubmission(_("no module of the course in it (looked for {files} at any depth)", files=names))
        project = _project_copy(base)
        if project is not None:  # the learner's work is its exercises/; the rest is the project's own
            modules = {m: kept for m, places in modules.items()
                       if (kept := [p for p in places if p.parent == project / "exercises"])}
            submission.project_copy = True
            if not modules:
                raise UnreadableSubmission(_("a copy of the whole project with no module of the course in its "
                                             "exercises/ folder"))
        twice = sorted((m, places) for m, places in modules.items() if len(places) > 1)
        if twice:
            module, places = twice[0]
            raise UnreadableSubmission(_("two files for module {module}: {first} and {second}; keep one and resubmit",
                                         module=module, first=places[0], second=places[1]) if len(places) == 2 else
                                       _("{n} files for module {module}: {files}; keep one and resubmit", n=len(places),
                                         module=module, files=_(", ").join(map(str, places))))
        folders = [places[0].parent for places in modules.values()]
        home = max(sorted(set(folders)), key=folders.count)
        target.mkdir()
        for path in [*sorted((base / home).glob("*.py")), *(base / places[0] for places in modules.values())]:
            if path.is_file() and not path.is_symlink() and not (target / path.name).exists():
                shutil.copyfile(path, target / path.name)
    for path in [target, *target.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return target


# What only a copy of the whole project has beside exercises/ (a clone, or Gradescope's GitHub
# submission): its own solutions, tests and package, each holding modules of the course's names.
PROJECT_PARTS = ("solutions", "tests", "torchkata")


def _project_copy(root: Path, depth: int = 3) -> Path | None:
    """The folder (relative to root, at most `depth` down) that is a copy of the project, or None."""
    for top, dirs, _files in os.walk(root):
        here = Path(top)
        if len(here.relative_to(root).parts) > depth:
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not ignored(PurePosixPath(d)))
        if (here / "exercises").is_dir() and sum((here / part).is_dir() for part in PROJECT_PARTS) >= 2:
            return here.relative_to(root)
    return None


def _modules(root: Path) -> dict[str, list[Path]]:
    """Course module name -> where files of that name are (relative to root)."""
    names = set(load().modules)
    found: dict[str, list[Path]] = {}
    if not root.is_dir():
        return found
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not ignored(PurePosixPath(d)))
        for name in sorted(files):
            if name.endswith(".py") and name[:-3] in names and not ignored(PurePosixPath(name)):
                found.setdefault(name[:-3], []).append((Path(top) / name).relative_to(root))
    return found


def _wanted(name: PurePosixPath) -> bool:
    return not (name.is_absolute() or ".." in name.parts or ignored(name)) and \
        (name.suffix == ".py" or archive_suffix(Path(name.name)) is not None)


def _unpack(archive: Path, into: Path) -> None:
    """The .py files (and archives) of a zip or tar, under `into`; nothing outside it."""
    into.mkdir(parents=True, exist_ok=True)
    if archive.stat().st_size == 0:
        raise UnreadableSubmission(_("{archive} is empty (0 bytes): the upload did not complete", archive=archive.name))
    try:
        if archive_suffix(archive) == ".zip":
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.infolist():
                    name = PurePosixPath(member.filename)
                    if member.is_dir() or not _wanted(name) or member.file_size > MAX_MEMBER_BYTES:
                        continue
                    (into / name).parent.mkdir(parents=True, exist_ok=True)
                    (into / name).write_bytes(zipped.read(member))
        else:
            with tarfile.open(archive) as tarred:
                for member in tarred.getmembers():
                    name = PurePosixPath(member.name)
                    if not member.isfile() or not _wanted(name) or member.size > MAX_MEMBER_BYTES:
                        continue
                    (into / name).parent.mkdir(parents=True, exist_ok=True)
                    (into / name).write_bytes(tarred.extractfile(member).read())
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        raise UnreadableSubmission(_("{archive} could not be read as an archive: {error}", archive=archive.name,
                                     error=error or type(error).__name__)) from None
