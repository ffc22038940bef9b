"""Every child process torchkata starts: how it starts, what it inherits, when it is
stopped, and one sentence for how it ended.

Used by the learner's `check` and `watch` (session.py), the class grader's judges
(judges.py) and the sandbox that runs student code (channel.py, confinement.py).

Why forking after torch is sound here
-------------------------------------
Grading forks a lot: `watch` forks each regrade from a process that imported torch once,
the class grader forks a judge per student, and `--isolate` forks the sandbox that runs
student code. A fork of a process is only as good as that process's state, and torch has
two states that a fork cannot inherit:

* **autograd's GPU threads.** The first backward pass in a process where CUDA shows
  devices starts one autograd thread per GPU; a process forked after that cannot run
  autograd at all ("Unable to handle autograd's threading in combination with fork-based
  multiprocessing"). This is what handed perfect students 31/57 on an H100.
* **CUDA itself.** A process forked after CUDA was set up cannot use CUDA.

So the rules are:

1. A **cpu** run that forks makes this process see no GPU before CUDA is set up
   (`prepare_parent("cpu")` sets CUDA_VISIBLE_DEVICES to ""): autograd then starts no GPU
   threads, the parent may warm torch up with a backward pass before forking (it saves each
   judge ~1.5 s), and every fork can run autograd. Grading on cpu never needed the GPU.
2. A **cuda** run that forks keeps CUDA untouched in the parent (`prepare_parent("cuda")`
   asks NVML, not CUDA, whether a GPU exists, and the parent runs no backward pass); each
   child sets CUDA up itself. The sandbox child of a cuda run, which must be started again
   after a crash by a judge that has used CUDA, is a fresh interpreter (`spawn`), not a fork.
3. Every forked child that grades checks first that it can (`self_check`): a backward pass,
   and on cuda a tensor on the GPU. If it cannot, that is a `GradingError`, reported as
   "grading error" and never as the student's wrong answer.

Rules 1 and 2 make the failure impossible by construction; rule 3 turns any way around
them (a caller that set CUDA up before handing us the process) into a loud grading error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.i18n import _


class GradingError(RuntimeError):
    """The grader itself failed (its own exception, a broken environment, a platform
    limit): never the student's fault. Reported as "grading error" with a non-zero exit."""


class Unconfined(RuntimeError):
    """No confinement can be set up for student code here (and running it unconfined was
    not allowed): a refusal before grading, not a grading error."""


# -- the parent, before it forks -------------------------------------------------------------
def prepare_parent(device: str) -> None:
    """Make this process safe to fork children that grade on `device` (see the module doc).

    Call it before torch sets CUDA up, ideally before torch is imported. On cpu it is too late
    once CUDA was set up in this process; `self_check` in the children then says so.
    """
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    # torch.cuda.is_available() asks NVML instead of setting the CUDA driver up (torch's own switch).
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"


def cuda_in_use() -> bool:
    """True when this process has set CUDA up: a fork of it cannot use CUDA or autograd safely."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_initialized()


# What torch says when a process was forked in one of the states above: the grader's fault.
FORK_FAILURES = ("Unable to handle autograd's threading in combination with fork-based multiprocessing",
                 "Cannot re-initialize CUDA in forked subprocess")


def is_fork_failure(message: str) -> bool:
    return any(text in message for text in FORK_FAILURES)


# -- the child, first thing -------------------------------------------------------------------
def fork_advice() -> str:
    return _("the grader forked this process after torch had used the GPU in its parent. Grade on cpu in a fresh "
             "process (torchkata grade, pytest --isolate), which hides the GPUs before torch starts, or run the "
             "cuda grading from a process that has not used CUDA")


def self_check(device: str = "cpu") -> None:
    """Raise GradingError unless this (freshly forked) process can run autograd, and set
    CUDA up when `device` is cuda. Costs well under a millisecond on cpu."""
    import torch

    try:
        x = torch.ones(2, requires_grad=True, device=device)
        (x * x).sum().backward()
    except RuntimeError as error:
        raise GradingError(_("this grading process cannot run autograd on {device}: {error}; {advice}", device=device,
                             error=error, advice=fork_advice())) from None


def children_can_grade(device: str = "cpu", seconds: float = 120.0) -> str | None:
    """Fork one child that runs `self_check`: None when it passes, else why not. The
    parent calls this once before forking graders, to fail at once instead of once per child."""
    read_end, write_end = os.pipe()

    def child():
        os.close(read_end)
        try:
            self_check(device)
        except GradingError as error:
            os.write(write_end, str(error).encode()[:8000])
            return 1
        return 0

    pid = fork(child)
    os.close(write_end)
    ending = wait(pid, time.monotonic() + seconds)
    with os.fdopen(read_end, "rb") as reader:
        said = reader.read().decode(errors="replace")
    if ending is None:
        return f"a grading process could not start autograd on {device} within {seconds:g} s"
    return None if ending.code == 0 else (said or f"a grading process {ending.text()} before it could grade")


def warm_up() -> None:
    """torch's one-time costs: the first seed, backward pass and optimiser step (which imports
    torch._dynamo, ~1.5 s, and looks the user up by uid), the first operation on the meta
    device (which imports sympy, ~0.3 s). Never in a cuda parent that forks."""
    import torch

    torch.manual_seed(0)
    torch.empty(1, device="meta").normal_()
    layer = torch.nn.Linear(4, 2)
    optimiser = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(torch.randn(3, 4)).sum().backward()
    optimiser.step()
    optimiser.zero_grad()


# -- starting children ----------------------------------------------------------------------
@contextlib.contextmanager
def environment(changes: dict[str, str]):
    """Inside: os.environ with `changes` (what every child started inside inherits); after,
    os.environ exactly as before, whatever was set inside (CUDA's settings for the children too)."""
    before = dict(os.environ)
    os.environ.update(changes)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


# -- every child this process started, until it is reaped --------------------------------------
# pid -> whether it leads a process group of its own (then the whole group is killed with it).
_started: dict[int, bool] = {}
PR_SET_PDEATHSIG = 1
_libc = None


def _prctl(option: int, value: int) -> bool:
    global _libc
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc.prctl(option, value, 0, 0, 0) == 0


def die_with(parent: int) -> None:
    """In a new child: be killed when `parent` (the process that started it) ends, however
    it ends, even by SIGKILL (Linux's parent-death signal); if it already ended, end now."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def fork(child, *, new_session: bool = True) -> int:
    """Fork; the child runs `child()` and ends with its return value (70 if it raised),
    without ever returning here. Returns the child's pid to the parent. The child dies with
    this process, and answers signals as a plain process would (not with its parent's
    `end_on_signals`)."""
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 70  # EX_SOFTWARE: the child's own code failed
        try:
            _started.clear()
            _default_signal_endings()
            if new_session:
                os.setsid()
            die_with(parent)
            code = int(child() or 0)
        finally:
            os._exit(code)
    _started[pid] = new_session
    return pid


def spawn(argv: list[str], *, pass_fds: tuple[int, ...] = (), env: dict | None = None) -> int:
    """Start a fresh interpreter (no state inherited from this process but `pass_fds` and
    0-2) in a session of its own. Returns its pid."""
    for fd in pass_fds:
        os.set_inheritable(fd, True)
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ if env is None else env, setsid=True)
        _started[pid] = True
        return pid
    finally:
        for fd in pass_fds:
            os.set_inheritable(fd, False)


@dataclass(frozen=True)
class TimeLimit:
    """How long a child may take. With `ready` (a file the child creates once it is ready
    to run the learner's code, see READY_FILE), the `seconds` count from then: the time to
    start (an interpreter, torch, the tests) is the grader's, limited apart by `startup`.
    Without it, `seconds` count from the start."""

    seconds: float
    ready: Path | None = None
    startup: float = 0.0


# The child of a TimeLimit with `ready` learns the file's path from this variable (plugin.py).
READY_FILE = "TORCHKATA_READY_FILE"


class SlowStart(GradingError):
    """A child was not ready to run the learner's code within its start-up limit: the
    machine was slow or busy; none of the learner's code had run."""

    def __init__(self, startup: float, output: str = ""):
        super().__init__(f"not ready within {startup:g} s")
        self.startup, self.output = startup, output


class _Clock:
    def __init__(self, limit: TimeLimit):
        self.limit, self.started, self.ready_at = limit, time.monotonic(), None

    def overrun(self) -> str | None:
        """None while within the limit; "startup" or "work" for the limit it ran past."""
        now = time.monotonic()
        if self.limit.ready is not None and self.ready_at is None:
            if self.limit.ready.exists():
                self.ready_at = now
            else:
                return "startup" if now - self.started > self.limit.startup else None
        return "work" if now - (self.ready_at or self.started) > self.limit.seconds else None


def run(argv: list[str], *, seconds: float | TimeLimit, cwd=None, env: dict | None = None) -> tuple[str, Ending | None]:
    """Run a fresh program in a session of its own with a time limit; its output (stdout and
    stderr) and how it ended, None when it ran past its limit and was killed with its group
    (SlowStart when that was the start-up limit of a TimeLimit). Its whole group is killed
    either way: whatever it left running goes too. It dies with this process."""
    limit = seconds if isinstance(seconds, TimeLimit) else TimeLimit(seconds)
    if limit.ready is not None:
        env = {**(os.environ if env is None else env), READY_FILE: str(limit.ready)}
    parent = os.getpid()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   env=env, preexec_fn=lambda: die_with(parent))
        _started[process.pid] = True
        clock = _Clock(limit)
        try:
            overrun = None
            while process.poll() is None and overrun is None:
                overrun = clock.overrun()
                time.sleep(0.02)
        finally:
            kill_group(process.pid)
            process.wait()
            _started.pop(process.pid, None)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if overrun == "startup":
        raise SlowStart(limit.startup, output)
    return output, None if overrun else Ending(process.returncode)


def close_inherited_fds(keep: tuple[int, ...] = ()) -> None:
    """Close every descriptor from 3 up except `keep`: a child keeps nothing of its parent's
    (log files, sockets, the grader's own pipes) that it could write into."""
    highest = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1 << 16
    start = 3
    for fd in sorted(set(k for k in keep if k >= 3)):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, highest)


# -- how children end -------------------------------------------------------------------------
@dataclass(frozen=True)
class Ending:
    """How a child ended: its exit status, or the signal that killed it."""

    code: int  # the exit status; a negative signal number when it was killed (as subprocess says)

    @classmethod
    def from_status(cls, raw: int) -> Ending:
        """From os.waitpid's raw status."""
        return cls(-os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else os.WEXITSTATUS(raw))

    @property
    def signal(self) -> int | None:
        return -self.code if self.code < 0 else None

    def text(self) -> str:
        """One sentence for every child: 'killed by SIGSEGV (a segmentation fault)', 'exited with status 3'."""
        return ending_text(self.code)


def ending_text(code: int) -> str:
    if code >= 0:
        return _("exited with status {code}", code=code)
    if -code == signal.SIGSEGV:
        return _("killed by {signal} (a segmentation fault)", signal=signal_name(-code))
    return _("killed by {signal}", signal=signal_name(-code))


def signal_name(number: int) -> str:
    """SIGSEGV, SIGKILL, ...: a signal by its name (by its number where it has none)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def kill_group(pid: int) -> None:
    """SIGKILL the process group (session) led by `pid`, if any of it is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> bool:
    """Make this process the one that inherits every orphan among its descendants (Linux's
    child subreaper), so `kill_descendants` finds even a process that left its session.
    False where the platform does not allow it."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def kill_descendants() -> None:
    """SIGKILL every child of this process and reap it, until none is left (a killed
    child's own children come back to this process when it adopts orphans)."""
    me = str(os.getpid())
    while True:
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = open(f"/proc/{entry}/stat").read()
                except OSError:
                    continue
                if stat.rsplit(")", 1)[1].split()[1] == me:
                    children.append(int(entry))
        if not children:
            return
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def wait(pid: int, deadline: float | TimeLimit) -> Ending | None:
    """Wait for child `pid` until the monotonic `deadline` (or within a TimeLimit from now);
    past it, kill its whole group and return None (it timed out; SlowStart when it was the
    start-up limit). Its group is killed either way: whatever it left running goes with it."""
    return wait_any({pid: _Clock(deadline) if isinstance(deadline, TimeLimit) else deadline})[1]


def wait_any(deadlines: dict[int, float | _Clock]) -> tuple[int, Ending | None]:
    """Wait for the first of several children (pid -> monotonic deadline, or the clock of a
    TimeLimit) to end, and kill what it left running; a child past its deadline is killed
    with its group and returned with None (past a clock's start-up limit: SlowStart)."""
    while True:
        for pid, deadline in deadlines.items():
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                _end(pid, wait=False)
                return pid, Ending.from_status(raw)
            overrun = deadline.overrun() if isinstance(deadline, _Clock) else \
                "work" if time.monotonic() > deadline else None
            if overrun:
                _end(pid, wait=True)
                if overrun == "startup":
                    raise SlowStart(deadline.limit.startup)
                return pid, None
        time.sleep(0.01)


def _end(pid: int, *, wait: bool) -> None:
    """Kill what is left of a child's group (the child itself too, and reap it when `wait`)."""
    kill_group(pid)
    if wait:
        os.waitpid(pid, 0)
    _started.pop(pid, None)


# -- ending on a signal -------------------------------------------------------------------------
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def end_on_signals(farewell, *, with_parent: bool = False) -> None:
    """From now on, SIGINT (Ctrl-C), SIGTERM or SIGHUP (the terminal closed) end this
    process at once and every child it started with it (their whole groups), then print
    `farewell(signal number)` (one line) and exit 128 + the signal's number, without a
    traceback: SystemExit unwinds this process, so its temporary folders are removed on the
    way out. Children started by `fork` go back to the default endings.

    With `with_parent`, the process also ends so when its parent ends (a wrapper such as
    nox, stopped by a signal it does not pass on): Linux sends it SIGTERM then."""
    def end(number, frame):
        for pid, group in list(_started.items()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)
        kill_descendants()
        _started.clear()
        for ending in ENDING_SIGNALS:  # a second signal while unwinding changes nothing
            signal.signal(ending, signal.SIG_IGN)
        with contextlib.suppress(OSError, ValueError):  # the terminal may be gone (SIGHUP)
            sys.stdout.flush()
        with contextlib.suppress(OSError, ValueError):
            print(farewell(number), file=sys.stderr, flush=True)
        raise SystemExit(128 + number)

    for number in ENDING_SIGNALS:
        signal.signal(number, end)
    if with_parent:
        parent = os.getppid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)


def _default_signal_endings() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in ENDING_SIGNALS[1:]:
        signal.signal(number, signal.SIG_DFL)
