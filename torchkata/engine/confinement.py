"""The confinement of a sandbox child: what it may see, as whom it runs, what it may use.

As root: new mount and network namespaces (no network; the reference solutions, the tests,
the reports and the other submissions hidden under empty tmpfs mounts; a private /tmp; the
submission mounted read-only), then an unprivileged uid of its own. As an ordinary user:
new user, mount and network namespaces, every mount read-only, the same hiding, then every
capability dropped. Resource limits on top. What the platform does not allow is said, so
the reports can say it (channel.py carries it to the parent).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.i18n import _
from ..core.paths import ROOT, SOLUTIONS, TESTS
from .processes import (
    GradingError,
    Unconfined,
    fork,
    wait,
)

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
UID_BASE = 200_000  # sandbox uids are UID_BASE + the pid of the process that owns the sandbox
MOUNTS = Path("/run/torchkata")  # inside the child's own mount namespace
INSIDE = MOUNTS / "submission"


@dataclass
class Limits:
    call_seconds: float = 20.0
    memory_bytes: int = 2 << 30    # address space on top of what the preloaded process maps
    processes: int = 64
    file_bytes: int = 16 << 20


@dataclass
class Confinement:
    """Where the child may look, and as whom it runs."""

    hide: tuple[Path, ...] = ()     # folders replaced by empty ones inside the child
    allow_unconfined: bool = False  # grade even where no confinement can be set up (said in the report)
    uid: int | None = None          # the unprivileged uid the child drops to (as root); by default
                                    # one derived from this process id, so no two live sandboxes share one
    limits: Limits = field(default_factory=Limits)


def unconfined_advice() -> str:
    return _("grading would run student code with the grader's uid, files and network. Grade as root or where user "
             "namespaces are allowed, or pass --allow-unconfined to grade anyway")


def _mount(libc, source, target, fstype, flags, data=None) -> bool:
    def enc(value):
        return None if value is None else str(value).encode()

    return libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) == 0


def _bind_readonly(libc, source, target) -> bool:
    return _mount(libc, source, target, None, MS_BIND | MS_REC) and \
        _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)


def _runtime_folders() -> list[Path]:
    """What the child still reads after confinement: Python, its site-packages, torchkata."""
    folders = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), ROOT}
    folders.update(Path(p) for p in sys.path if p and os.path.isabs(p) and os.path.isdir(p))  # isdir: False, not
    # an error, for a folder this uid may not look into
    # Never /tmp itself or a folder above it: that would put back what the private /tmp hides.
    return sorted({f.resolve() for f in folders} - {Path("/tmp"), *Path("/tmp").parents})


def _tops_to_cover(needed: list[Path]) -> list[Path]:
    """/tmp (scratch), and every folder above a needed one that others may not enter."""
    tops = {Path("/tmp")}
    for folder in needed:
        for ancestor in reversed(folder.parents):
            if ancestor != Path("/") and not os.stat(ancestor).st_mode & 0o001:
                tops.add(ancestor)
                break
    return sorted(tops, key=lambda p: len(p.parts))


def _cover(libc, top: Path, keep: list[Path]) -> bool:
    """An empty tmpfs over `top`, with the folders in `keep` put back read-only."""
    staged = []
    keep = [f for f in keep if not any(f != other and f.is_relative_to(other) for other in keep)]
    for i, folder in enumerate(keep):
        stage = MOUNTS / f"keep-{top.name}-{i}"
        stage.mkdir()
        if _mount(libc, folder, stage, None, MS_BIND | MS_REC):
            staged.append((folder, stage))
    mode = "1777" if top == Path("/tmp") else "0755"
    if not _mount(libc, "tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, f"size=256m,mode={mode}"):
        return False
    for folder, stage in staged:
        folder.mkdir(parents=True, exist_ok=True)
        for parent in [folder, *folder.parents]:
            if parent == top:
                break
            os.chmod(parent, 0o755)
        _bind_readonly(libc, stage, folder)
    return True


def _mount_and_hide(libc, folder: Path, confinement: Confinement) -> tuple[Path, list[str], list[Path]]:
    """In this process's own mount namespace: the submission read-only at INSIDE, a private
    /tmp and /dev/shm (the Python runtime put back read-only where it lives under them), and
    the hidden folders under empty mounts."""
    weaknesses, hidden = [], []
    # First the submission, read-only, at a place nothing below hides; then the hiding.
    MOUNTS.mkdir(parents=True, exist_ok=True)
    if _mount(libc, "tmpfs", MOUNTS, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755"):
        INSIDE.mkdir()
        if _bind_readonly(libc, folder, INSIDE):
            folder = INSIDE
    if folder != INSIDE:
        weaknesses.append(_("could not mount the submission read-only"))
    # A private /tmp, and the Python runtime readable by the unprivileged uid even where
    # it lives under /tmp or /root (mode 700): cover each, then put back what is needed.
    needed = _runtime_folders()
    for top in _tops_to_cover(needed):
        if not _cover(libc, top, [d for d in needed if d.is_relative_to(top)]):
            weaknesses.append(_("could not give the learner a private {folder}", folder=top))
    for path in confinement.hide:
        if not Path(path).is_dir():
            continue
        if _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755"):
            hidden.append(Path(path).resolve())
        else:
            weaknesses.append(_("could not hide {folder}", folder=path))
    if not _mount(libc, "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777"):
        weaknesses.append(_("could not give the learner a private {folder}", folder="/dev/shm"))
    return folder, weaknesses, hidden


def confine(folder: Path, confinement: Confinement, device: str = "cpu") -> tuple[Path, list[str], list[Path]]:
    """Confine this (child) process; return the submission's path inside, what failed, and
    the folders it hid."""
    weaknesses, hidden = [], []
    limits = confinement.limits
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() == 0:
        if libc.unshare(CLONE_NEWNS | CLONE_NEWNET) == 0 and _mount(libc, None, "/", None, MS_REC | MS_PRIVATE):
            folder, weaknesses, hidden = _mount_and_hide(libc, folder, confinement)
        elif _kept_from_others(TESTS) and _kept_from_others(SOLUTIONS):  # out_of_reach did its part
            weaknesses.append(_("no mount/network namespaces: the network stays reachable (file permissions keep "
                                "the tests and solutions from student code)"))
        else:
            weaknesses.append(_("no mount/network namespaces: the network, the solutions and the tests stay "
                                "reachable"))
        os.setgroups([])
        os.setgid(confinement.uid)
        os.setuid(confinement.uid)
    else:
        try:
            folder, weaknesses, hidden = _confine_unprivileged(libc, folder, confinement)
        except Unconfined as why:
            if not confinement.allow_unconfined:
                raise GradingError(_("student code cannot be confined here ({why}); {advice}", why=why,
                                     advice=unconfined_advice())) from None
            weaknesses.append(_("not confined ({why}; --allow-unconfined): student code keeps the grader's uid, "
                                "files and network", why=why))
    scratch = Path("/tmp/scratch") if os.access("/tmp", os.W_OK) else Path.cwd()
    scratch.mkdir(exist_ok=True)
    os.chdir(scratch)
    mapped = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    rlimits = [(resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_FSIZE, limits.file_bytes),
               (resource.RLIMIT_CORE, 0)]
    if device.startswith("cuda"):
        # CUDA reserves far more virtual address space than any sensible limit; memory is not capped on cuda.
        weaknesses.append(_("no memory limit on cuda (CUDA reserves more address space than a limit allows)"))
    else:
        rlimits.append((resource.RLIMIT_AS, mapped + limits.memory_bytes))
    for limit, value in rlimits:
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            weaknesses.append(_("could not set {limit}", limit=limit))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large file is an OSError, not a kill
    return folder, weaknesses, hidden


# -- without root: a user namespace does what root does ------------------------------------
CLONE_NEWUSER = 0x10000000
MS_NOEXEC, MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 8, 1024, 2048, 1 << 21
_KEPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
               "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
PR_SET_NO_NEW_PRIVS, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 38, 3, 4


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _mount_points() -> list[tuple[str, int]]:
    """(mount point, the flags a read-only remount must keep), outermost first."""
    found = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        point = fields[4].encode().decode("unicode_escape")
        flags = sum(_KEPT_FLAGS.get(option, 0) for option in fields[5].split(","))
        found.append((point, flags))
    return sorted(found, key=lambda item: item[0].count("/"))


def _everything_read_only(libc) -> list[str]:
    """Remount every mount of this (new) namespace read-only, but /proc, /sys and /dev."""
    failed = []
    for point, flags in _mount_points():
        if point.startswith(("/proc", "/sys", "/dev")):
            continue
        if not _mount(libc, None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | flags):
            failed.append(point)
    return failed


def _drop_capabilities(libc) -> bool:
    """No capability left in the namespace (so no mount can be undone) and none to gain."""
    data = (_CapData * 2)()
    dropped = libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data) == 0
    return libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 and dropped


@functools.cache
def user_namespaces_work() -> bool:
    """Whether this process may make a user namespace (most Linux distributions allow it)."""
    def child() -> int:
        return 0 if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) == 0 else 1

    ending = wait(fork(child), time.monotonic() + 30)
    return ending is not None and ending.code == 0


def _kept_from_others(folder: Path) -> bool:
    try:
        return folder.stat().st_mode & 0o077 == 0
    except OSError:
        return True


@functools.cache
def mount_namespaces_work() -> bool:
    """Whether this (root) process may make mount and network namespaces: containers often
    refuse them (Gradescope's usually do)."""
    def child() -> int:
        return 0 if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNS | CLONE_NEWNET) == 0 else 1

    ending = wait(fork(child), time.monotonic() + 30)
    return ending is not None and ending.code == 0


@contextlib.contextmanager
def out_of_reach(folders: list[Path]):
    """As root where no namespace can hide a folder from student code: for the duration, each
    of `folders` lets only its owner in (group and others lose every right to it), so the
    sandbox's uid cannot read the tests, the solutions or another student's files; the
    grader, root, still can. The modes are put back after, even when grading fails."""
    changed: list[tuple[Path, int]] = []
    needed = _runtime_folders()
    try:
        for folder in folders:
            if any(n == folder or n.is_relative_to(folder) for n in needed):
                continue  # never a folder the sandbox runs from (Python, torchkata)
            try:
                mode = folder.stat().st_mode & 0o7777
                if mode & 0o077:
                    os.chmod(folder, mode & ~0o077)
                    changed.append((folder, mode))
            except FileNotFoundError:
                continue
        yield [folder for folder, _mode in changed]
    finally:
        for folder, mode in reversed(changed):
            with contextlib.suppress(OSError):
                os.chmod(folder, mode)


def _confine_unprivileged(libc, folder: Path, confinement: Confinement) -> tuple[Path, list[str], list[Path]]:
    """As an ordinary user: new user, mount and network namespaces, where this process may
    mount; every mount made read-only, a private /tmp and /dev/shm, the submission read-only,
    the hidden folders under empty mounts; then every capability dropped, so student code
    can undo none of it. Its uid stays the grader's (one uid is all an ordinary user may map),
    but every file the grader owns is on a read-only mount."""
    weaknesses, hidden = [], []
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) != 0:
        raise Unconfined(_("this system refuses user namespaces to ordinary users"))
    # /proc/self is writable by its own uid only while the process is dumpable (a process
    # that changed uid is not, until told).
    dumpable = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    libc.prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0)
    if not _mount(libc, None, "/", None, MS_REC | MS_PRIVATE):
        raise Unconfined(_("could not make the mounts private to the sandbox"))
    failed = _everything_read_only(libc)
    if failed:
        weaknesses.append(_("could not make {folders} read-only", folders=", ".join(failed)))
    scratch_top = MOUNTS.parent  # /run: a tmpfs of our own there holds the staging points
    if not _mount(libc, "tmpfs", scratch_top, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755"):
        raise Unconfined(_("could not mount a scratch tmpfs on {folder}", folder=scratch_top))
    folder, more, hidden = _mount_and_hide(libc, folder, confinement)
    weaknesses += more
    if not _drop_capabilities(libc):
        raise Unconfined(_("could not drop the namespace's capabilities"))
    return folder, weaknesses, hidden


def can_confine() -> bool:
    """Whether student code can be confined here: as root, or where an ordinary user may
    make user namespaces."""
    return os.geteuid() == 0 or user_namespaces_work()


def confinement_refusal(allow_unconfined: bool) -> str | None:
    """Why student code may not be run here, or None: where it can be confined, or
    elsewhere with --allow-unconfined."""
    if allow_unconfined or can_confine():
        return None
    return _("student code cannot be confined here ({why}); {advice}", why=_("not root, and no user namespaces"),
             advice=unconfined_advice())

