"""Benchmarks: the graded implementation beside torch's built-in, and a table people read.

The benchmark files in benchmarks/ (bench_<module>.py, mirroring exercises/) declare one
`Case` per exercise: the built-in it is timed against, how to make its inputs at a size,
and the least number of bytes any implementation must read and write. This plugin

* grades the implementation first (the same suite as `pytest tests/exercises`, in a child
  process): only exercises that pass are timed, the others' rows say why;
* times each side with pytest-benchmark, in one benchmark group per exercise, after a
  warm-up, and on cuda with `torch.cuda.synchronize()` inside the timed call, so
  a figure is the kernel's time and not the launch queue's;
* prints the table at the end (medians, their ratio, and for the large size the achieved
  memory bandwidth next to a plain tensor copy measured in the same run), and writes it
  as Markdown to --bench-out.
"""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from .core.manifest import DONE, GRADING_ERROR, load
from .core.verdicts import Verdict
from .engine.loader import Implementation
from .engine.plugin import IMPLEMENTATION, implementation

SIZES = ("small", "large")
SHAPES = {"cpu": {"small": (64, 64), "large": (4096, 4096)},
          "cuda": {"small": (64, 64), "large": (8192, 8192)}}
COPY = "tensor copy (roofline)"


def shape_text(shape) -> str:
    return f"{shape[0]}x{shape[1]}"


@dataclass(frozen=True)
class Case:
    """One exercise to time: `builtin` and the learner's function take the same inputs."""

    exercise: str
    builtin: Callable
    builtin_name: str
    inputs: Callable[[tuple[int, int], torch.device, torch.Generator], tuple[tuple, dict]]
    bytes_moved: Callable[[tuple[int, int]], int] | None = None  # the least any implementation moves
    describe: Callable[[tuple[int, int]], str] = shape_text

    def __str__(self) -> str:
        return self.exercise


def float_bytes(shape, tensors_read: int = 1, tensors_written: int = 1) -> int:
    """Bytes of float32 tensors of `shape` read and written once each."""
    return shape[0] * shape[1] * 4 * (tensors_read + tensors_written)


def pytest_addoption(parser):
    group = parser.getgroup("torchkata benchmarks")
    group.addoption("--bench-out", default="benchmark-results", metavar="DIR",
                    help="where the Markdown table goes (default: benchmark-results/)")
    group.addoption("--bench-grade-timeout", type=float, default=300.0, metavar="SECONDS",
                    help="time limit for grading the implementation before timing it (default: 300)")


class Bench:
    """What a benchmark needs: the implementation, the device, and which exercises passed."""

    def __init__(self, config):
        self.config = config
        self.impl_name = config.getoption("impl")
        self.impl_folder = implementation(config)
        self.device = torch.device(config.getoption("device"))
        self.shapes = SHAPES[self.device.type]
        self._verdicts: dict[str, Verdict] | None = None
        self.ungraded = ""  # why the run gave no verdicts, when it gave none
        self._implementation = None
        self.not_timed: dict[tuple[str, str], str] = {}  # (exercise, size) -> its verdict

    # -- correct before fast -----------------------------------------------------------
    def verdicts(self) -> dict[str, Verdict]:
        if self._verdicts is None:
            from .engine.session import grade

            exercises = [c.exercise for c in self.config.stash[CASES]]
            run = grade(self.impl_folder, exercises, timeout=self.config.getoption("bench_grade_timeout"),
                        device=self.device.type)
            self.ungraded = ("grading timed out" if run.timed_out else run.crashed or run.grading_error) or ""
            self._verdicts = {e: run.verdicts[e].verdict if e in run.verdicts else GRADING_ERROR for e in exercises}
        return self._verdicts

    def learner_function(self, exercise: str):
        if self._implementation is None:
            self._implementation = Implementation(self.impl_folder)
        return self._implementation.function(exercise)

    # -- timing ----------------------------------------------------------------------------
    def measure(self, benchmark, case: Case, size: str, side: str):
        exercise = case.exercise
        if side == "impl":
            verdict = self.verdicts()[exercise]
            if verdict != DONE:
                self.not_timed[(exercise, size)] = str(verdict)
                if verdict == GRADING_ERROR:
                    pytest.skip(f"{exercise} could not be graded ({self.ungraded or 'no verdict'}): it is not timed")
                pytest.skip(f"{exercise} is {verdict}: it is timed once it passes its tests "
                            f"(torchkata check {exercise})")
            fn = self.learner_function(exercise)
        else:
            fn = case.builtin
        shape = self.shapes[size]
        generator = torch.Generator().manual_seed(0)
        args, kwargs = case.inputs(shape, self.device, generator)
        benchmark.group = exercise  # both sides and both sizes in one of pytest-benchmark's tables
        benchmark.extra_info.update(exercise=exercise, size=size, side=side, input=case.describe(shape),
                                    device=self.device.type, builtin=case.builtin_name,
                                    bytes_moved=case.bytes_moved(shape) if case.bytes_moved else None)
        run = timed(fn, args, kwargs, self.device)
        for _ in range(3):  # warm-up: first-call allocations, lazy kernels, caches
            run()
        benchmark(run)


def timed(fn, args, kwargs, device: torch.device):
    """The call pytest-benchmark times. On cuda a call only queues kernels; waiting for
    them inside the call makes the time the kernels' own."""
    if device.type == "cuda":
        def run():
            result = fn(*args, **kwargs)
            torch.cuda.synchronize(device)
            return result
        return run
    return lambda: fn(*args, **kwargs)


def timing_test(cases: list[Case], sides=("impl", "torch")):
    """The one benchmark test of a bench_<module>.py: every case, at every size, both sides."""

    @pytest.mark.parametrize("side", sides)
    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize("case", cases, ids=str)
    def test_speed(benchmark, bench, case, size, side):
        bench.measure(benchmark, case, size, side)

    return test_speed


BENCH = pytest.StashKey[Bench]()
CASES = pytest.StashKey[list]()  # the exercises this run times, one Case each


@pytest.fixture(scope="session")
def bench(pytestconfig) -> Bench:
    return pytestconfig.stash[BENCH]


@pytest.hookimpl(trylast=True)  # after torchkata.engine.plugin has resolved --impl
def pytest_configure(config):
    config.stash[CASES] = []
    if IMPLEMENTATION in config.stash:
        config.stash[BENCH] = Bench(config)


def pytest_collection_modifyitems(config, items):
    known = {e.id for e in load()}
    seen = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec else None
        if isinstance(case, Case) and case.exercise in known:  # the roofline is no exercise
            seen.setdefault(case.exercise, case)
    config.stash[CASES][:] = list(seen.values())


# -- the table ------------------------------------------------------------------------------
def _results(config) -> dict[tuple[str, str], dict[str, float]]:
    """(exercise, size) -> {"impl": seconds, "torch": seconds, "bytes": n} from this run."""
    session = getattr(config, "_benchmarksession", None)
    found: dict[tuple[str, str], dict] = {}
    for metadata in getattr(session, "benchmarks", []):
        info = metadata.extra_info
        if "exercise" in info and metadata.stats:
            row = found.setdefault((info["exercise"], info["size"]), {})
            row[info["side"]] = metadata.stats.median
            row["bytes"] = info.get("bytes_moved")
            row["input"] = info.get("input")
    return found


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _bandwidth(moved: int, seconds: float | None, copy_bandwidth: float | None) -> str:
    if not seconds:
        return "—"
    share = f" ({100 * moved / seconds / copy_bandwidth:.0f}% of copy)" if copy_bandwidth else ""
    return f"{moved / seconds / 1e9:.1f}{share}"


def table(bench: Bench, measured: dict[tuple[str, str], dict]) -> list[str]:
    copy = measured.get((COPY, "large"), {}).get("torch")
    copy_bandwidth = None
    if copy:
        copy_bandwidth = measured[(COPY, "large")]["bytes"] / copy
    lines = ["| exercise | size | yours (median) | torch (median) | yours / torch | yours GB/s | torch GB/s |",
             "|---|---|---|---|---|---|---|"]
    order = {e.id: i for i, e in enumerate(load())}
    keys = sorted({*measured, *bench.not_timed}, key=lambda k: (order.get(k[0], len(order)), SIZES.index(k[1])))
    for exercise, size in keys:
        if exercise == COPY:
            continue
        row = measured.get((exercise, size), {})
        described = row.get("input") or shape_text(bench.shapes[size])
        mine, theirs = row.get("impl"), row.get("torch")
        yours = _time(mine) if mine else bench.not_timed.get((exercise, size), "not timed")
        ratio = f"{mine / theirs:.2f}x" if mine and theirs else "—"
        if size == "large" and row.get("bytes"):
            mine_bw, theirs_bw = (_bandwidth(row["bytes"], t, copy_bandwidth) for t in (mine, theirs))
        else:
            mine_bw = theirs_bw = "—"
        lines.append(f"| {exercise} | {size} {described} | {yours} | {_time(theirs) if theirs else '—'} "
                     f"| {ratio} | {mine_bw} | {theirs_bw} |")
    if copy_bandwidth:
        lines.append("")
        lines.append(f"Roofline: a plain copy of a {shape_text(bench.shapes['large'])} float32 "
                     f"tensor moves {copy_bandwidth / 1e9:.1f} GB/s on this machine ({_time(copy)} median).")
    return lines


def machine() -> str:
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name()
    else:
        gpu = "no GPU"
    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"{gpu}, Python {platform.python_version()}")


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables
def pytest_terminal_summary(terminalreporter, config):
    bench = config.stash.get(BENCH, None)
    measured = _results(config)
    if bench is None or not (bench.not_timed or measured):
        return
    lines = table(bench, measured)
    header = [f"# torchkata benchmarks: {bench.impl_name} against torch on {bench.device.type}", "",
              f"{datetime.date.today().isoformat()}; {machine()}.", "",
              "Medians of pytest-benchmark's rounds, both sides measured in this run. Bandwidth: the "
              "least bytes the exercise must read and write, divided by the median time.", ""]
    terminalreporter.section(f"torchkata benchmarks ({bench.impl_name} vs torch, {bench.device.type})")
    for line in header[2:] + lines:
        terminalreporter.write_line(line)
    if bench.device.type != "cuda":
        terminalreporter.write_line("cuda was NOT benchmarked in this session (pass --device=cuda on a machine with a GPU)")
    out = Path(config.getoption("bench_out"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench-{bench.device.type}.md"
    path.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    terminalreporter.write_line(f"table written to {path}")
