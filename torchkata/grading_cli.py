"""`torchkata grade`: the instructor's face of the class grader (classroom.py, reports.py)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import classroom, reports, sample_class


def grade_command(args, console: Console) -> int:
    if args.paths and str(args.paths[0]) == "merge":
        results = reports.merge(args.paths[1:])
        return _finish(results, args.out, console, None)
    with tempfile.TemporaryDirectory(prefix="torchkata-sample-") as sample:
        paths = args.paths
        if not paths:
            paths = [sample_class.build(Path(sample) / "sample-class")]
            console.print("No submissions given: grading the sample class (a perfect student, one with typical "
                          "mistakes, one who never started, one hostile).")
        submissions = classroom.shard(classroom.discover(paths), args.shard)
        if not submissions:
            console.print("No submissions found.", style="yellow")
            return 1
        start = time.perf_counter()
        with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console, auto_refresh=False) as bar:
            task = bar.add_task("", total=len(submissions))

            def done(student):
                bar.update(task, advance=1, description=student)
                bar.refresh()

            bar.refresh()
            results = classroom.grade_class(submissions, args.out, jobs=args.jobs, call_seconds=args.call_timeout,
                                            exercises=tuple(args.only), progress=done, device=args.device)
        return _finish(results, args.out, console, time.perf_counter() - start)


def _finish(results, out: Path, console: Console, seconds: float | None) -> int:
    written = reports.write_all(results, out)
    table = Table("student", "score", "flags")
    for result in results:
        table.add_row(result.student, str(result.score), ", ".join(result.flags))
    console.print(table)
    if seconds is not None:
        console.print(f"{len(results)} students in {seconds:.1f} s ({seconds / max(1, len(results)):.2f} s per student)")
    console.print(f"Reports in {out}/: grades.csv, grades.json, report.md, pass_rate.png, scores.png, "
                  f"gradescope/<student>/results.json ({len(written)} files)")
    regrade = [r.student for r in results if classroom.REGRADE in r.flags]
    if regrade:
        console.print(f"grading error: {len(regrade)} student(s) could not be graded fully and must be regraded "
                      f"(report.md says why): {', '.join(regrade)}", style="bold red")
        return 2
    return 0
