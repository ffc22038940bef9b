"""Learner code in a child process, confined (confinement.py); the checks stay in the parent.

`IsolatedWorker` has the same `handle(bytes) -> bytes` as `Worker`, so the `learner`
fixture cannot tell them apart. It forks a child (torch is already imported, so this
costs milliseconds) that confines itself and then serves requests over a pipe:

* its own session, so every process it starts can be killed with it;
* stdin, stdout and stderr on /dev/null: printed "fake test output" reaches nobody;
* as root: new mount and network namespaces (no network; the reference solutions, the
  tests, the reports and the other submissions hidden under empty tmpfs mounts; a private
  /tmp as scratch space; the submission itself mounted read-only), then an unprivileged
  uid of its own, so it can write nowhere else and can be cleaned up by uid;
* as an ordinary user (no root): new user, mount and network namespaces instead, where
  every mount is made read-only (the grader's files included), the same hiding and private
  /tmp, then every capability dropped so nothing can be undone; the uid stays the grader's.
  Where neither works, student code is not run unless --allow-unconfined says so;
* resource limits: address space, process count, file size, no core dumps.

Every call has a time limit. A call that hangs, or a child that dies (os._exit, a
segfault, the memory limit), becomes a reply saying so, and the next call gets a fresh
child. What the platform does not allow is listed in `weaknesses` (and in the reports).
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import sys
import time
from pathlib import Path

from ..core.i18n import _, current, translations
from ..core.paths import SOLUTIONS
from . import boundary
from . import confinement as confining  # its confine() is looked up at the call (tests replace it)
from .confinement import UID_BASE, Confinement, Limits
from .loader import import_test_modules
from .processes import (
    Ending,
    GradingError,
    close_inherited_fds,
    fork,
    kill_group,
    self_check,
    spawn,
    warm_up,
)
from .tripwire import reference_code


def _frame(data: bytes) -> bytes:
    return struct.pack("!Q", len(data)) + data


# The child writes nothing but framed replies to its pipe: anything else is student code
# writing into a descriptor of its own, which breaks its own exercise (never the grader).
MAX_MESSAGE = 1 << 32


class _Garbled(Exception):
    pass


def _well_formed(reply: bytes) -> bool:
    try:
        boundary.loads(reply)
    except boundary.BoundaryError:
        return False
    return True


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    if n > MAX_MESSAGE:
        raise _Garbled
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class IsolatedWorker:
    def __init__(self, folder: Path, device="cpu", confinement: Confinement | None = None):
        self.folder = Path(folder).resolve()
        self.device = str(device)
        self.confinement = confinement or Confinement()
        if self.confinement.uid is None:
            self.confinement.uid = UID_BASE + os.getpid()
        self.weaknesses: list[str] = []
        self._pid = None
        self._to_child = self._from_child = None
        self._timed_out: set[str] = set()  # exercises that hung once are not run again

    # -- the one entry point, as Worker ---------------------------------------------
    def handle(self, request: bytes, exercise: str | None = None) -> bytes:
        seconds = self.confinement.limits.call_seconds
        if exercise in self._timed_out:
            return boundary.dumps({"status": "timeout", "seconds": seconds, "off_limits": [], "again": True})
        if self._pid is None:
            self._start()
        try:
            _write_all(self._to_child, _frame(request))
            deadline = time.monotonic() + seconds
            header = _read_exact(self._from_child, 8, deadline)
            reply = None if header is None else _read_exact(self._from_child, struct.unpack("!Q", header)[0], deadline)
        except TimeoutError:
            self.close()
            self._timed_out.add(exercise)
            return boundary.dumps({"status": "timeout", "seconds": seconds, "off_limits": []})
        except (BrokenPipeError, OSError):
            reply = None
        except _Garbled:
            reply = b""
        if reply is None:
            return boundary.dumps({"status": "crashed", "how": self._reap(), "off_limits": []})
        if not _well_formed(reply):
            self.close()
            garbled = _("its reply to the grader was garbled (did your code write to a file descriptor it did not "
                        "open?)")
            return boundary.dumps({"status": "crashed", "how": garbled, "off_limits": []})
        return reply

    def close(self) -> None:
        """Kill the child, everything it started, and every process of its uid."""
        if self._pid is None:
            return
        kill_group(self._pid)
        self._reap()

    # -- internals ------------------------------------------------------------------
    def _reap(self) -> str:
        pid, self._pid = self._pid, None
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except (OSError, TypeError):
                pass
        how = _("it ended")
        try:
            ending = Ending.from_status(os.waitpid(pid, 0)[1])
            how = ending.text() if ending.signal is not None else \
                _("exited with status {code} (sys.exit or os._exit in your code?)", code=ending.code)
        except ChildProcessError:
            pass
        self._kill_uid()
        return how

    def _kill_uid(self) -> None:
        """Processes the learner's code started and moved out of its session: kill by uid."""
        if os.geteuid() != 0:
            return
        uid = self.confinement.uid

        def kill_as_that_uid() -> int:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)  # every process of that uid, and (not root now) no other
            return 0

        os.waitpid(fork(kill_as_that_uid, new_session=False), 0)

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        report_r, report_w = os.pipe()
        child_fds = (to_child_r, from_child_w, report_w)
        translations(current())  # the messages' catalog, read here: the confined child may not reach it
        if self.device.startswith("cuda"):
            # A fork of a process that has used CUDA cannot use CUDA: a fresh interpreter sets it up itself.
            settings = {"path": sys.path, "folder": str(self.folder), "device": self.device, "fds": child_fds,
                        "confinement": {"hide": [str(h) for h in self.confinement.hide], "uid": self.confinement.uid,
                                        "allow_unconfined": self.confinement.allow_unconfined,
                                        "limits": vars(self.confinement.limits)}}
            pid = spawn([sys.executable, "-c", SPAWNED_CHILD, json.dumps(settings)], pass_fds=child_fds)
        else:
            pid = fork(lambda: _child_main(self.folder, self.device, self.confinement, *child_fds), new_session=False)
        for fd in child_fds:
            os.close(fd)
        self._pid, self._to_child, self._from_child = pid, to_child_w, from_child_r
        report = b""
        while chunk := os.read(report_r, 4096):
            report += chunk
        os.close(report_r)
        for line in report.decode().splitlines():
            if line.startswith(GRADING_ERROR_LINE):
                self.close()
                raise GradingError(line.removeprefix(GRADING_ERROR_LINE))
            if line and line not in self.weaknesses:
                self.weaknesses.append(line)


GRADING_ERROR_LINE = "grading error: "


SPAWNED_CHILD = ("import json, sys; settings = json.loads(sys.argv[1]); sys.path[:0] = settings['path']; "
                 "from torchkata.engine.channel import spawned_child_main; spawned_child_main(settings)")


def spawned_child_main(settings: dict) -> None:
    """The sandbox child of a cuda run, in a fresh interpreter: load what a forked child
    inherits (the test modules hold the probes), then serve as a forked child does."""
    import_test_modules()  # a forked child has them from its parent; they hold the probes
    raw = settings["confinement"]
    confinement = Confinement(hide=tuple(map(Path, raw["hide"])), uid=raw["uid"], limits=Limits(**raw["limits"]),
                              allow_unconfined=raw["allow_unconfined"])
    _child_main(Path(settings["folder"]), settings["device"], confinement, *settings["fds"])


def _child_main(folder: Path, device, confinement: Confinement, rfd: int, wfd: int, report_fd: int):
    try:
        if os.getsid(0) != os.getpid():
            os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        # Nothing of the grader's but these three pipes: student code cannot write into its output.
        close_inherited_fds(keep=(rfd, wfd, report_fd))
        sys.stdin, sys.stdout, sys.stderr = (open(fd, mode, closefd=False) for fd, mode in ((0, "r"), (1, "w"), (2, "w")))
        try:
            translations(current())  # a spawned child reads the catalog before confinement hides anything
            self_check(device)
            # torch imports parts of itself lazily (torch._dynamo with the first optimiser), and those
            # look the user up by uid: do it now, before dropping to a uid that has no name.
            os.environ.setdefault("USER", "torchkata-sandbox")
            os.environ.setdefault("LOGNAME", "torchkata-sandbox")
            warm_up()
            reference_code(SOLUTIONS)  # read now: confinement hides the folder, or makes it unreadable
            folder, weaknesses, hidden = confining.confine(folder, confinement, device)
        except BaseException as error:  # noqa: BLE001 - say why, then end
            reason = str(error) if isinstance(error, GradingError) else \
                _("the sandbox could not be set up: {error}: {message}", error=type(error).__name__, message=error)
            os.write(report_fd, (GRADING_ERROR_LINE + reason.replace(chr(10), " ")).encode())
            raise
        os.write(report_fd, "\n".join(weaknesses).encode())
        os.close(report_fd)
        sys.dont_write_bytecode = True
        from .worker import Worker

        worker = Worker(folder, device, reference_hidden=SOLUTIONS in hidden)
        while True:
            header = _read_exact(rfd, 8, None)
            if header is None:
                break
            request = _read_exact(rfd, struct.unpack("!Q", header)[0], None)
            _write_all(wfd, _frame(worker.handle(request)))
    except BaseException:  # noqa: BLE001 - the child must end here, whatever happened
        pass
    finally:
        os._exit(0)


