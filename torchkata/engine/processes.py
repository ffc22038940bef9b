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
import time
from dataclasses import dataclass

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
    """torch's one-time costs: the first seed, backward pass and optimiser (which imports
    torch._dynamo, ~1.5 s, and looks the user up by uid). Never in a cuda parent that forks."""
    import torch

    torch.manual_seed(0)
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


def fork(child, *, new_session: bool = True) -> int:
    """Fork; the child runs `child()` and ends with its return value (70 if it raised),
    without ever returning here. Returns the child's pid to the parent."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 70  # EX_SOFTWARE: the child's own code failed
        try:
            if new_session:
                os.setsid()
            code = int(child() or 0)
        finally:
            os._exit(code)
    return pid


def spawn(argv: list[str], *, pass_fds: tuple[int, ...] = (), env: dict | None = None) -> int:
    """Start a fresh interpreter (no state inherited from this process but `pass_fds` and
    0-2) in a session of its own. Returns its pid."""
    for fd in pass_fds:
        os.set_inheritable(fd, True)
    try:
        return os.posix_spawn(argv[0], argv, os.environ if env is None else env, setsid=True)
    finally:
        for fd in pass_fds:
            os.set_inheritable(fd, False)


def run(argv: list[str], *, seconds: float, cwd=None, env: dict | None = None) -> tuple[str, Ending | None]:
    """Run a fresh program in a session of its own with a time limit; its output (stdout and
    stderr) and how it ended, None when it ran past `seconds` and was killed with its group.
    Its whole group is killed either way: whatever it left running goes too."""
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", start_new_session=True, env=env)
    try:
        output, _ = process.communicate(timeout=seconds)
        return output, Ending(process.returncode)
    except subprocess.TimeoutExpired:
        kill_group(process.pid)
        output, _ = process.communicate()
        return output, None
    finally:
        kill_group(process.pid)


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
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


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


def wait(pid: int, deadline: float) -> Ending | None:
    """Wait for child `pid` until the monotonic `deadline`; past it, kill its whole group
    and return None (it timed out). Its group is killed either way: whatever it left
    running goes with it."""
    return wait_any({pid: deadline})[1]


def wait_any(deadlines: dict[int, float]) -> tuple[int, Ending | None]:
    """Wait for the first of several children (pid -> monotonic deadline) to end, and kill
    what it left running; a child past its deadline is killed with its group and returned
    with None."""
    while True:
        for pid, deadline in deadlines.items():
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                kill_group(pid)
                return pid, Ending.from_status(raw)
            if time.monotonic() > deadline:
                kill_group(pid)
                os.waitpid(pid, 0)
                return pid, None
        time.sleep(0.01)
