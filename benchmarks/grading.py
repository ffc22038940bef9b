"""How fast a class is graded, and what a class of 1000 would take: `torchkata grade` on
synthetic classes (make_class.py), measured from outside, as an instructor runs it.

    python benchmarks/grading.py [--students 40] [--jobs N]

Three runs of `python -m torchkata grade`, each in a fresh process: one complete student
(what every run pays once, plus one student), N complete students, and N students of the
usual mix (two in five complete, two with mistakes, one halfway). For each: the wall time,
the CPU time of the whole process tree (the grader, its judges and their sandboxes, from
`getrusage(RUSAGE_CHILDREN)`), and the peak resident memory of its largest process.

From them: the CPU seconds a complete student costs, `(CPU(N complete) - CPU(1)) / (N - 1)`,
and a projection for 1000 students on 16 cores, `wall(1) + 1000 * that / 16`: the fixed
cost once, then the students spread over the cores (it assumes the judges keep 16 cores
busy, so it is a floor; measure on the machine itself when you have one).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # make_class beside this file

from make_class import build  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROJECTED_STUDENTS, PROJECTED_CORES = 1000, 16


@dataclass
class Run:
    students: int
    wall: float  # seconds
    cpu: float  # seconds of CPU, the whole process tree
    peak_mb: float  # resident memory of its largest process

    @property
    def per_second(self) -> float:
        return self.students / self.wall


def grade(folder: Path, jobs: int, out: Path) -> Run:
    """`torchkata grade folder` in a fresh process; fails loudly unless it graded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    ran = subprocess.run([sys.executable, "-m", "torchkata", "grade", str(folder), "--out", str(out),
                          "--jobs", str(jobs), "--lang", "en"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if ran.returncode != 0:
        raise SystemExit(f"grading {folder} failed ({ran.returncode}):\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(len([p for p in folder.iterdir() if p.is_dir()]), wall, cpu, after.ru_maxrss / 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40, help="students in each class (default: 40)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="students graded at once (default: one per core)")
    args = parser.parse_args(argv)
    if args.students < 2:
        parser.error(f"--students must be at least 2 (one complete student is measured apart), got {args.students}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    with tempfile.TemporaryDirectory(prefix="torchkata-grading-bench-") as scratch:
        scratch = Path(scratch)
        one = grade(build(scratch / "one", 1, complete_only=True), args.jobs, scratch / "out-one")
        complete = grade(build(scratch / "complete", args.students, complete_only=True), args.jobs,
                         scratch / "out-complete")
        mixed = grade(build(scratch / "mixed", args.students), args.jobs, scratch / "out-mixed")
    per_student = (complete.cpu - one.cpu) / (complete.students - 1)
    projected = one.wall + PROJECTED_STUDENTS * per_student / PROJECTED_CORES
    print(f"grading on {os.cpu_count()} cores, --jobs {args.jobs}")
    print(f"{'class':<22}{'students':>9}{'wall s':>9}{'CPU s':>9}{'students/s':>12}{'peak MB':>9}")
    for name, run in (("one complete", one), ("complete", complete), ("usual mix", mixed)):
        print(f"{name:<22}{run.students:>9}{run.wall:>9.1f}{run.cpu:>9.1f}{run.per_second:>12.2f}{run.peak_mb:>9.0f}")
    print(f"a complete student: {per_student:.2f} CPU s; paid once: {one.wall:.1f} s wall "
          f"(one student's run, that student included)")
    print(f"projected for {PROJECTED_STUDENTS} complete students on {PROJECTED_CORES} cores: {projected:.0f} s "
          "(a floor: the judges kept busy on every core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
