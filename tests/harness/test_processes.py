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
