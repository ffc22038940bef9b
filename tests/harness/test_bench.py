"""The benchmarks: correct before fast, a row for every exercise, honest cuda timing."""

import pytest
import torch

from torchkata import bench

from .grading import EXERCISES, ROOT, SOLUTIONS, submission_with

FAST = ["--benchmark-max-time=0.001", "--benchmark-min-rounds=1", "--benchmark-warmup=off", "-q",
        "-p", "no:cacheprovider", "-p", "no:xdist", f"--rootdir={ROOT}"]


def run_benchmarks(impl, tmp_path, files, selection) -> str:
    """Run benchmarks/<files> on `impl`; return the Markdown table it wrote."""
    code = pytest.main([*(str(ROOT / "benchmarks" / f) for f in files), f"--impl={impl}", "-k", selection,
                        f"--bench-out={tmp_path}", *FAST])
    assert code == 0, f"the benchmarks ended with exit code {code}"
    return (tmp_path / "bench-cpu.md").read_text()


def rows(table: str, exercise: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in table.splitlines()
            if line.startswith(f"| {exercise} |")]


def test_stubs_are_not_timed_and_their_rows_say_so(tmp_path):
    table = run_benchmarks(EXERCISES, tmp_path, ["bench_activations.py"], "relu")
    for exercise in ("activations.relu", "activations.relu_derivative"):
        found = rows(table, exercise)
        assert len(found) == 2, f"{exercise}: one row per size expected:\n{table}"
        for row in found:
            assert row[2] == "not attempted" and row[3].endswith("s"), row  # torch is still timed


def test_a_wrong_answer_is_not_timed(tmp_path):
    wrong = submission_with(tmp_path, "activations", "def softmax(x, dim):\n    return torch.exp(x) / torch.exp(x).sum()")
    (tmp_path / "out").mkdir()
    table = run_benchmarks(wrong, tmp_path / "out", ["bench_activations.py"], "softmax")
    assert [row[2] for row in rows(table, "activations.softmax")] == ["wrong", "wrong"]


def test_a_passing_solution_is_timed_beside_torch_with_bandwidth_against_a_copy(tmp_path):
    table = run_benchmarks(SOLUTIONS, tmp_path, ["bench_activations.py", "bench_roofline.py"],
                           "(relu and not derivative) or copy")
    small, large = rows(table, "activations.relu")
    assert small[1] == "small 64x64" and large[1] == "large 4096x4096"
    for row in (small, large):
        assert row[2].endswith("s") and row[3].endswith("s") and row[4].endswith("x"), row
    assert "% of copy" in large[5] and "% of copy" in large[6], large
    assert "Roofline: a plain copy" in table


def test_cuda_timing_waits_for_the_kernels(monkeypatch):
    waited = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: waited.append(device))
    run = bench.timed(lambda x: x + 1, (torch.ones(2),), {}, torch.device("cuda"))
    assert torch.equal(run(), torch.full((2,), 2.0)) and waited == [torch.device("cuda")]
    bench.timed(lambda x: x, (1,), {}, torch.device("cpu"))()
    assert len(waited) == 1, "cpu timing must not synchronise cuda"
