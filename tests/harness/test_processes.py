"""The one module that starts children: sound forks, one text for how a child ended,
nothing of the parent's inherited, and a grading error (never "wrong") when a child cannot grade."""

import faulthandler
import os
import signal
import time

import pytest
import torch

from torchkata.engine import processes
from torchkata.engine.processes import Ending, GradingError

pytestmark = pytest.mark.forks


def test_a_fork_of_this_process_can_grade_on_cpu():
    assert processes.children_can_grade("cpu") is None


def test_a_fork_that_cannot_run_autograd_is_a_grading_error(monkeypatch):
    """What a fork after autograd's GPU threads started sees, simulated on any machine."""
    def broken_backward(*args, **kwargs):
        raise RuntimeError("Unable to handle autograd's threading in combination with fork-based multiprocessing")

    monkeypatch.setattr(torch.Tensor, "backward", broken_backward)
    problem = processes.children_can_grade("cpu")
    assert problem and "cannot run autograd on cpu" in problem and "Unable to handle autograd" in problem
    with pytest.raises(GradingError, match="forked this process after torch had used the GPU"):
        processes.self_check("cpu")


def test_a_cpu_parent_hides_the_gpus_before_cuda_starts(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    processes.prepare_parent("cpu")
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    assert os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] == "1"


def test_a_cuda_parent_keeps_the_gpus_and_asks_nvml(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.delenv("PYTORCH_NVML_BASED_CUDA_CHECK", raising=False)
    processes.prepare_parent("cuda")
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    assert os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] == "1"


def _die_of(signum):
    faulthandler.disable()
    signal.signal(signum, signal.SIG_DFL)  # no handler of pytest's or torch's in the way
    os.kill(os.getpid(), signum)


@pytest.mark.parametrize("child,expected", [
    (lambda: 3, "exited with status 3"),
    (lambda: _die_of(signal.SIGSEGV), "killed by SIGSEGV (a segmentation fault)"),
    (lambda: os.kill(os.getpid(), signal.SIGKILL), "killed by SIGKILL"),
])
def test_one_text_for_how_a_child_ended(child, expected):
    ending = processes.wait(processes.fork(child), time.monotonic() + 30)
    assert isinstance(ending, Ending) and ending.text() == expected


def test_a_child_past_its_deadline_is_killed_with_its_group():
    start = time.monotonic()
    pid = processes.fork(lambda: os.system("sleep 100") or time.sleep(100))
    assert processes.wait(pid, time.monotonic() + 0.5) is None
    assert time.monotonic() - start < 10
    assert _group_gone(pid), "the grandchild (sleep 100) outlived the deadline"


def _group_gone(pgid: int, seconds: float = 5) -> bool:
    """True once no live process is left in the group (killed ones may linger as zombies)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.05)
    return False


def test_a_child_keeps_only_the_descriptors_it_is_given(tmp_path):
    kept_r, kept_w = os.pipe()
    other = os.open(tmp_path / "grader-log", os.O_WRONLY | os.O_CREAT)
    report = tmp_path / "report"

    def child():
        processes.close_inherited_fds(keep=(kept_w,))
        open_now = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
        os.write(kept_w, b"still open")
        report.write_text(" ".join(map(str, open_now)))  # the file's own fd is opened after the listing
        return 0

    ending = processes.wait(processes.fork(child), time.monotonic() + 30)
    os.close(kept_w)
    assert ending.code == 0 and os.read(kept_r, 100) == b"still open"
    still_open = {int(fd) for fd in report.read_text().split()} - {0, 1, 2}
    assert other not in still_open and kept_r not in still_open and kept_w in still_open
    os.close(kept_r)
    os.close(other)


def _descendants(root: int) -> set[int]:
    """Every live process below `root`, whatever session it moved to."""
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(pid)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
                alive.add(pid)
        except OSError:
            pass
    return alive


def _still_alive_after(pids: set[int], seconds: float) -> set[int]:
    """Those of `pids` still alive once `seconds` have passed (or none is left)."""
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(pids)


def _check_of_a_loop(tmp_path) -> list[str]:
    """The command line of `torchkata check` on a copy of the stubs whose softmax never returns."""
    import shutil
    import sys

    from .grading import EXERCISES

    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    with open(folder / "activations.py", "a", encoding="utf-8") as handle:
        handle.write("\n\ndef softmax(x, dim=-1):\n    while True:\n        pass\n")
    return [sys.executable, "-m", "torchkata", "check", "activations.softmax", "--exercises", str(folder), "--lang", "en"]


def _installed_env(**extra) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | extra


@pytest.fixture
def checking_a_loop(tmp_path):
    """`torchkata check` of a softmax that never returns, started as a terminal would start
    it; yields (the command, the processes it started once its grading child runs)."""
    import subprocess

    command = subprocess.Popen(_check_of_a_loop(tmp_path), cwd=tmp_path, env=_installed_env(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    started = set()
    deadline = time.monotonic() + 60
    while not started and time.monotonic() < deadline and command.poll() is None:
        started = _descendants(command.pid)
        time.sleep(0.05)
    time.sleep(1)
    started |= _descendants(command.pid)
    try:
        yield command, started
    finally:
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(command.pid, signal.SIGKILL)
        for pid in _alive(started):
            os.kill(pid, signal.SIGKILL)
        command.communicate()


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda n: n.name)
def test_a_signal_ends_the_command_and_everything_it_started(checking_a_loop, number):
    command, started = checking_a_loop
    assert started, "the grading child never started"
    os.kill(command.pid, number)
    out, err = command.communicate(timeout=2)
    assert command.returncode == 128 + number, (command.returncode, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "stopped by" in err and "nothing it started is left running" in err
    left = _still_alive_after(started, 2)
    assert not left, f"left running after {number.name}: {left}"


def test_a_command_killed_outright_takes_its_children_with_it(checking_a_loop):
    """SIGKILL cannot be handled: the children die with their parent (the parent-death signal)."""
    command, started = checking_a_loop
    assert started, "the grading child never started"
    os.kill(command.pid, signal.SIGKILL)
    command.wait(timeout=5)
    left = _still_alive_after(started, 2)
    assert not left, f"left running after SIGKILL: {left}"


def test_the_time_limit_starts_when_the_child_is_ready(tmp_path):
    """A child that takes 1.5 s to get ready and then 0.5 s of work fits a 1 s limit: the
    start-up is the grader's time, not the learner's."""
    ready = tmp_path / "ready"

    def child():
        time.sleep(1.5)
        ready.touch()
        time.sleep(0.5)
        return 0

    ending = processes.wait(processes.fork(child), processes.TimeLimit(1.0, ready=ready, startup=30))
    assert ending is not None and ending.code == 0


def test_work_past_the_limit_after_ready_is_a_timeout(tmp_path):
    ready = tmp_path / "ready"

    def child():
        ready.touch()
        time.sleep(100)

    assert processes.wait(processes.fork(child), processes.TimeLimit(0.5, ready=ready, startup=30)) is None


def test_a_child_never_ready_is_a_slow_start_not_a_timeout(tmp_path):
    pid = processes.fork(lambda: time.sleep(100))
    with pytest.raises(processes.SlowStart) as raised:
        processes.wait(pid, processes.TimeLimit(30, ready=tmp_path / "ready", startup=0.5))
    assert isinstance(raised.value, GradingError) and raised.value.startup == 0.5
    assert _group_gone(pid)


def test_under_nox_the_command_ends_with_the_wrapper_that_started_it(tmp_path):
    """nox, stopped by a signal, does not pass it on: `nox -s learn -- check` must not leave
    the command grading on. Under nox (NOX_CURRENT_SESSION set), the command ends when its
    parent does, and takes its children with it."""
    import subprocess
    import sys

    command = _check_of_a_loop(tmp_path)
    wrapper = subprocess.Popen([sys.executable, "-c", f"import subprocess; subprocess.run({command!r})"],
                               env=_installed_env(NOX_CURRENT_SESSION="learn"), cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(_descendants(wrapper.pid)) < 2 and time.monotonic() < deadline:  # the command and its grader
            time.sleep(0.05)
        started = _descendants(wrapper.pid)
        assert len(started) >= 2, "the command never started its grader"
        os.kill(wrapper.pid, signal.SIGKILL)
        wrapper.wait(timeout=5)
        left = _still_alive_after(started, 3)
        assert not left, f"left running after the wrapper died: {left}"
    finally:
        for pid in _alive(started | _descendants(wrapper.pid)):
            os.kill(pid, signal.SIGKILL)
