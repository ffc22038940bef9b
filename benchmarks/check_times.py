"""What a learner waits for: `torchkata check EXERCISE` for every exercise, beside a bare
`python -c "import torch"`, timed by hyperfine in one run (Debian: apt-get install hyperfine).

    python benchmarks/check_times.py [--runs 2] [--only EXERCISE ...] [--json FILE]

The checks grade a learner's checkout holding the reference solutions (so every exercise
runs all its tests), in a scratch copy of this project. Prints a markdown table: each
exercise's median, and its ratio to the import's median from the same run (the machine is
shared: only ratios measured side by side mean anything).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORT = "import torch"


def learner_checkout(scratch: Path) -> Path:
    """A copy of the project whose exercises/ holds the reference solutions."""
    checkout = scratch / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".git", ".nox", ".venv", "__pycache__", ".torchkata",
                                                                  "grades", "plots", "benchmark-results"))
    for solution in (ROOT / "solutions").glob("*.py"):
        shutil.copy2(solution, checkout / "exercises" / solution.name)
    return checkout


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from torchkata.core.manifest import load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each command (default: 2)")
    parser.add_argument("--only", action="append", default=[], metavar="EXERCISE", help="time only these")
    parser.add_argument("--json", type=Path, help="keep hyperfine's own results here")
    args = parser.parse_args(argv)
    known = [e.id for e in load()]
    unknown = [e for e in args.only if e not in known]
    if unknown:
        parser.error(f"--only {unknown[0]}: no such exercise")
    if shutil.which("hyperfine") is None:
        parser.error("hyperfine is not installed (Debian: apt-get install hyperfine)")
    exercises = args.only or known
    with tempfile.TemporaryDirectory(prefix="torchkata-check-times-") as scratch:
        checkout = learner_checkout(Path(scratch))
        results = Path(scratch) / "hyperfine.json"
        commands = [f'{sys.executable} -c "{IMPORT}"',
                    *(f"{sys.executable} -m torchkata check {e} --lang en" for e in exercises)]
        subprocess.run(["hyperfine", "-N", "-i", "--style", "none", "--runs", str(args.runs), "--export-json",
                        str(results), *commands], cwd=checkout, check=True, stdout=subprocess.DEVNULL)
        timings = json.loads(results.read_text())["results"]
        if args.json:
            shutil.copy2(results, args.json)
    baseline = statistics.median(timings[0]["times"])
    print(f"| exercise | check (median of {args.runs}) | check / import |")
    print("|---|---|---|")
    print(f"| `python -c \"{IMPORT}\"` | {baseline:.2f} s | 1.00x |")
    failed = []
    for exercise, timing in zip(exercises, timings[1:]):
        median = statistics.median(timing["times"])
        if any(code != 0 for code in timing.get("exit_codes", [])):
            failed.append(exercise)
        print(f"| `{exercise}` | {median:.2f} s | {median / baseline:.2f}x |")
    if failed:
        print(f"these checks did not pass on the reference solutions, so their times mean little: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
