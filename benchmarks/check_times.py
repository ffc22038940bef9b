"""What a learner waits for: `torchkata check EXERCISE` for every exercise, beside a bare
`python -c "import torch"`, timed by hyperfine (Debian: apt-get install hyperfine).

    python benchmarks/check_times.py [--runs 2] [--only EXERCISE ...] [--before REV] [--json FILE]

The checks grade a learner's checkout holding the reference solutions (so every exercise
runs all its tests), in a scratch copy of this project. Each exercise's check is timed right
after an import of torch, and its ratio is to that import's median: the machine is shared,
its speed drifts over the minutes a run takes, and only figures measured side by side mean
anything. With `--before REV` (a git revision of this repository), that revision's check of
each exercise runs beside this tree's, in the same run, and the table has both.
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


def learner_checkout(scratch: Path, revision: str | None = None) -> Path:
    """A copy of the project (this tree, or `revision` from git) whose exercises/ holds the
    reference solutions."""
    checkout = scratch / (f"checkout-{revision}" if revision else "checkout")
    if revision is None:
        shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".git", ".nox", ".venv", "__pycache__",
                                                                      ".torchkata", "grades", "plots",
                                                                      "benchmark-results"))
    else:
        checkout.mkdir()
        archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive, check=True)
    for solution in (checkout / "solutions").glob("*.py"):
        shutil.copy2(solution, checkout / "exercises" / solution.name)
    return checkout


def check(checkout: Path, exercise: str) -> str:
    """The learner's command, run in `checkout` (python -m finds that checkout's torchkata first)."""
    return f"cd {checkout} && {sys.executable} -m torchkata check {exercise} --lang en"


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from torchkata.core.manifest import load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each command, one a round (default: 2)")
    parser.add_argument("--only", action="append", default=[], metavar="EXERCISE", help="time only these")
    parser.add_argument("--before", metavar="REV", help="also time this git revision's checks, in the same run")
    parser.add_argument("--json", type=Path, help="keep every run's time here (JSON)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give at least 1")
    if args.before and subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{args.before}^{{commit}}"],
                                      cwd=ROOT, capture_output=True).returncode != 0:
        parser.error(f"--before {args.before}: not a git revision of {ROOT}")
    known = [e.id for e in load()]
    unknown = [e for e in args.only if e not in known]
    if unknown:
        parser.error(f"--only {unknown[0]}: no such exercise")
    if shutil.which("hyperfine") is None:
        parser.error("hyperfine is not installed (Debian: apt-get install hyperfine)")
    exercises = args.only or known
    with tempfile.TemporaryDirectory(prefix="torchkata-check-times-") as scratch:
        after = learner_checkout(Path(scratch))
        before = learner_checkout(Path(scratch), args.before) if args.before else None
        commands = []
        for exercise in exercises:  # side by side: a drift of the machine's speed hits all three alike
            commands.append(f'{sys.executable} -c "{IMPORT}"')
            commands += [check(before, exercise)] if before else []
            commands.append(check(after, exercise))
        timings = rounds(commands, args.runs, Path(scratch))
    if args.json:
        args.json.write_text(json.dumps({"results": timings}, indent=1))
    return report(exercises, timings, args.runs, args.before)


def rounds(commands: list[str], count: int, scratch: Path) -> list[dict]:
    """Each command timed `count` times, in `count` rounds of one run of every command: a burst
    of load from elsewhere then spoils one sample of a few commands, not every sample of one.
    Returns hyperfine's results with the samples of all rounds in "times" and "exit_codes"."""
    merged: list[dict] = []
    for number in range(count):
        results = scratch / f"round-{number}.json"
        # Through a shell (each check's `cd` needs one): hyperfine subtracts the shell's own start-up.
        subprocess.run(["hyperfine", "-i", "--style", "none", "--runs", "1", "--export-json", str(results),
                        *commands], check=True, stdout=subprocess.DEVNULL)
        for index, result in enumerate(json.loads(results.read_text())["results"]):
            if number == 0:
                merged.append({"command": result["command"], "times": [], "exit_codes": []})
            merged[index]["times"] += result["times"]
            merged[index]["exit_codes"] += result.get("exit_codes", [])
    return merged


def report(exercises: list[str], timings: list[dict], runs: int, before: str | None) -> int:
    """The markdown table; 1 when a check did not pass on the reference solutions."""
    columns = [f"`{IMPORT}`"] + ([f"{before}", f"{before} / import"] if before else []) + ["check", "check / import"]
    print(f"| exercise (median of {runs}) | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    group = 3 if before else 2
    failed = []
    for index, exercise in enumerate(exercises):
        baseline, *checks = timings[group * index:group * (index + 1)]
        imported = statistics.median(baseline["times"])
        cells = [f"{imported:.2f} s"]
        for timing in checks:
            median = statistics.median(timing["times"])
            if any(code != 0 for code in timing.get("exit_codes", [])):
                failed.append(exercise)
            cells += [f"{median:.2f} s", f"{median / imported:.2f}x"]
        print(f"| `{exercise}` | " + " | ".join(cells) + " |")
    if failed:
        print(f"these checks did not pass on the reference solutions, so their times mean little: "
              f"{', '.join(sorted(set(failed)))}")
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
