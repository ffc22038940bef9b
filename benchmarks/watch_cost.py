"""What the off-limits watch costs: each exercise's tests on the reference solutions, with the
tripwire watching (today's route, `sys.setprofile` on every call) and with it off.

    python benchmarks/watch_cost.py [--rounds 5] [--only EXERCISE ...]

Each mode runs in a fresh process of its own, which grades the chosen exercises once, as a
check does (cold: torch's first calls, lazy imports), then `--rounds` more times (warm); per
exercise it keeps the time its tests spent in their call phase (set-up, imports and
collection are not the watch's): the cold grading's, and the median of the warm ones. A
fresh process per exercise would be a check's true cold start; one process for all measures
the first exercise of each module cold and the rest lukewarm. Prints a markdown table with
both modes and their ratios. Only a measurement: with the watch off, no off-limits call is seen.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class CallTimes:
    """A pytest plugin: the seconds each exercise's tests spent in their call phase."""

    def __init__(self):
        self.seconds = defaultdict(float)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            marker = item.get_closest_marker("exercise")
            self.seconds[marker.args[0] if marker else item.nodeid] += time.perf_counter() - start


def measure(watched: bool, exercises: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """In this process: each exercise's call-phase seconds, {"cold": the first grading's,
    "warm": the median of the `rounds` after it}."""
    from torchkata.core.manifest import load
    from torchkata.engine import tripwire

    if not watched:
        tripwire.Tripwire.watching = property(lambda self: False)
    modules = sorted({e.module for e in load() if e.id in exercises})
    args = [*(str(ROOT / "tests" / "exercises" / f"test_{m}.py") for m in modules), "--impl=solutions", "-q",
            "-p", "no:cacheprovider", *(f"--exercise={e}" for e in exercises)]
    per_round = []
    for _ in range(rounds + 1):
        times = CallTimes()
        if pytest.main(args, plugins=[times]) != 0:
            raise SystemExit(f"the tests failed on the reference solutions ({'watched' if watched else 'unwatched'})")
        per_round.append(times.seconds)
    return {e: {"cold": per_round[0].get(e, 0.0), "warm": statistics.median(r.get(e, 0.0) for r in per_round[1:])}
            for e in exercises}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from torchkata.core.manifest import load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured gradings in each mode (default: 5)")
    parser.add_argument("--only", action="append", default=[], metavar="EXERCISE", help="measure only these")
    parser.add_argument("--mode", choices=("watched", "unwatched"), help=argparse.SUPPRESS)  # the child's side
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: give at least 1")
    known = [e.id for e in load()]
    unknown = [e for e in args.only if e not in known]
    if unknown:
        parser.error(f"--only {unknown[0]}: no such exercise")
    exercises = args.only or known
    if args.mode:
        print(json.dumps(measure(args.mode == "watched", exercises, args.rounds)))
        return 0
    results = {}
    for mode in ("watched", "unwatched"):
        child = subprocess.run([sys.executable, __file__, "--mode", mode, "--rounds", str(args.rounds),
                                *(f"--only={e}" for e in exercises)], cwd=ROOT, capture_output=True, text=True)
        if child.returncode != 0:
            print(child.stdout[-2000:] + child.stderr[-2000:], file=sys.stderr)
            return 1
        results[mode] = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"| exercise | cold, watched | cold, unwatched | cold ratio | warm, watched (median of {args.rounds}) "
          "| warm, unwatched | warm ratio |")
    print("|---|---|---|---|---|---|---|")
    rows = [(e, results["watched"][e], results["unwatched"][e]) for e in exercises]
    totals = {mode: {phase: sum(results[mode][e][phase] for e in exercises) for phase in ("cold", "warm")}
              for mode in results}
    for name, on, off in [*((f"`{e}`", on, off) for e, on, off in rows),
                          ("all", totals["watched"], totals["unwatched"])]:
        cells = []
        for phase in ("cold", "warm"):
            ratio = f"{on[phase] / off[phase]:.2f}x" if off[phase] > 0 else "-"
            cells += [f"{on[phase] * 1000:.0f} ms", f"{off[phase] * 1000:.0f} ms", ratio]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
