"""`torchkata grade`: the instructor's face of the class grader (classroom.py, reports.py)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..core.i18n import _, language, ngettext, use
from ..core.manifest import load
from ..core.terminal import Parser
from ..core.verdicts import EXIT_GRADING_ERROR, Verdict
from . import grader, reports, sample_class


def merge_parser() -> argparse.ArgumentParser:
    merge = Parser(prog="torchkata grade merge",
                                    description="Combine the grades.json of every shard into the reports one run "
                                    "would have written (grades.json of format 1 is read too).")
    merge.add_argument("shards", nargs="+", type=Path, metavar="GRADES_JSON")
    merge.add_argument("--out", type=Path, default=Path("grades"), help="folder for the reports (default: grades/)")
    merge.add_argument("--lang", choices=("en", "zh"), default=None,
                       help="language of the reports: en or zh (default: TORCHKATA_LANG, else the locale)")
    return merge


def merge_command(argv: list[str], console: Console) -> int:
    args = merge_parser().parse_args(argv)
    use(language(args.lang))
    _refuse_file_as_folder(args.out)
    return _finish(reports.merge(args.shards), args.out, console, None)


def grade_command(args, console: Console) -> int:
    _refuse_file_as_folder(args.out)
    if args.jobs is not None and args.jobs < 1:
        raise grader.IntakeError(_("--jobs must be at least 1, got {jobs}", jobs=args.jobs))
    if not 0 < args.call_timeout < float("inf"):  # also refuses nan
        raise grader.IntakeError(_("--call-timeout must be a number of seconds above 0, got {seconds}",
                                      seconds=args.call_timeout))
    known = [e.id for e in load()]
    unknown = [e for e in args.only if e not in known]
    if unknown:
        raise grader.IntakeError(_("--only {exercise}: no such exercise; known: {known}", exercise=unknown[0],
                                      known=", ".join(known)))
    with tempfile.TemporaryDirectory(prefix="torchkata-sample-") as sample:
        paths = args.paths
        if not paths:
            paths = [sample_class.build(Path(sample) / "sample-class")]
            console.print(_("No submissions given: grading the sample class (a perfect student, one with typical "
                            "mistakes, one who never started, one hostile)."))
        skipped: list[grader.Skipped] = []
        everyone = grader.discover(paths, skipped, newest_wins=args.several_hand_ins == "newest",
                                   deadline=args.deadline)
        for entry in skipped:
            console.print(_("not taken in: {path} ({why})", path=entry.path, why=entry.why), style="yellow")
        if not everyone:
            raise grader.IntakeError(_("no submission found in {paths}", paths=", ".join(map(str, paths))))
        submissions = grader.shard(everyone, args.shard)
        if not submissions:  # a shard of a small class may be empty: its (empty) reports still merge
            console.print(_("shard {shard} of {n} students is empty.", shard=args.shard, n=len(everyone)))
            return _finish([], args.out, console, None, args.shard)
        start = time.perf_counter()
        with Progress(TextColumn(_("grading")), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console, auto_refresh=False) as bar:
            task = bar.add_task("", total=len(submissions))

            def done(student):
                bar.update(task, advance=1, description=student)
                bar.refresh()

            bar.refresh()
            results = grader.grade_class(submissions, args.out, jobs=args.jobs, call_seconds=args.call_timeout,
                                            exercises=tuple(args.only), progress=done, device=args.device,
                                            allow_unconfined=args.allow_unconfined)
        return _finish(results, args.out, console, time.perf_counter() - start, args.shard)


def _refuse_file_as_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise grader.IntakeError(_("--out must be a folder for the reports; {out} is a file", out=out))


def _finish(results, out: Path, console: Console, seconds: float | None, shard: str | None = None) -> int:
    notes: list[str] = []
    written = reports.write_all(results, out, shard, notes)
    table = Table(_("student"), _("score"), _("flags"))
    for result in results:
        table.add_row(result.student, str(result.score), reports.flags_text(result.flags))
    console.print(table)
    if seconds is not None:
        each = seconds / max(1, len(results))
        console.print(ngettext("{n} student in {seconds:.1f} s ({each:.2f} s per student)",
                               "{n} students in {seconds:.1f} s ({each:.2f} s per student)", len(results),
                               seconds=seconds, each=each))
    console.print(_("Reports in {out}/: grades.csv, grades.json, report.md, pass_rate.png, scores.png, "
                    "feedback/<student>.md, gradescope/<student>/results.json ({n} files)", out=out, n=len(written)))
    for note in notes:
        console.print(note, style="yellow")
    late = [r.student for r in results if r.late]
    several = [r.student for r in results if r.hand_ins]
    if late or several:
        console.print(_("Hand-ins: {late} late, {several} handed in more than once (report.md says which)",
                        late=len(late), several=len(several)))
    unloaded = [r.student for r in results if any(e.verdict == Verdict.NOT_LOADED for e in r.exercises.values())]
    if unloaded:
        console.print(_("Action needed: the work of {n} student(s) could not be loaded, in part or whole "
                        "(report.md says why; they scored 0 there without being wrong): {students}", n=len(unloaded),
                        students=reports.listed(unloaded)), style="bold yellow")
    regrade = [r.student for r in results if r.needs_regrading]
    if regrade:
        console.print(_("grading error: {n} student(s) could not be graded fully and must be regraded "
                        "(report.md says why): {students}", n=len(regrade), students=reports.listed(regrade)),
                      style="bold red")
        return EXIT_GRADING_ERROR
    return 0
