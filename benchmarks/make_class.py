"""Write a synthetic class for timing `torchkata grade` (see docs/measured.md).

    python benchmarks/make_class.py OUT [--students 40]

Deterministic. Per student, each module is one of: the reference solution, the second
implementation written differently (tests/harness/alternatives), the reference with a
typical learner mistake appended (torchkata/classroom/sample_class.py), or the untouched stub.
Two students in five hand in everything correct, two in five make one or two typical
mistakes, one in five stops halfway (the later modules are stubs). Nobody is hostile: a
hostile student's timed-out calls would measure the time limit, not the grader.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

from torchkata.classroom.sample_class import TYPICAL
from torchkata.core.manifest import load

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"reference": ROOT / "solutions", "alternative": ROOT / "tests" / "harness" / "alternatives",
           "stub": ROOT / "exercises"}


def build(folder: Path, students: int = 40, seed: int = 0, complete_only: bool = False) -> Path:
    """`students` folders in `folder`, the usual mix, or (complete_only) every one complete."""
    rng = random.Random(seed)
    modules = load().modules
    for i in range(students):
        kind = "complete" if complete_only else ("complete", "complete", "mistakes", "mistakes", "halfway")[i % 5]
        target = Path(folder) / f"student-{i + 1:02d}"
        target.mkdir(parents=True)
        wrong = set(rng.sample(sorted(TYPICAL), rng.choice([1, 2]))) if kind == "mistakes" else set()
        for position, module in enumerate(modules):
            if kind == "halfway" and position >= len(modules) // 2:
                source = "stub"
            else:
                source = rng.choice(["reference", "alternative"]) if module not in wrong else "reference"
            text = (SOURCES[source] / f"{module}.py").read_text(encoding="utf-8")
            if module in wrong:
                text += "\n" + TYPICAL[module]
            (target / f"{module}.py").write_text(text, encoding="utf-8")
    return Path(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--students", type=int, default=40)
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    build(args.out, args.students)
    print(f"wrote {args.students} students to {args.out}")


if __name__ == "__main__":
    main()
