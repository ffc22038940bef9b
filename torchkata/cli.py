"""The learner's command line: `torchkata [status|check|hint|watch|reset|solution|plot]`.

Every verdict comes from the pytest suite, run by `session.grade` in a child process with
a time limit; this module decides what to grade and how to show it. It imports no torch,
so `torchkata status` answers at once when nothing needs grading.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.syntax import Syntax
from rich.table import Table

from . import digests, session, source
from .i18n import language, words
from .intake import IntakeError, looks_like_exercises
from .manifest import DONE, GRADING_ERROR, NOT_ATTEMPTED, WRONG, Exercise, load
from .processes import GradingError, Unconfined
from .progress import Progress
from .verdicts import EXIT_GRADING_ERROR, EXIT_USAGE

MAX_PRINTED_LINES = 20
MARKS = {DONE: "[green]✔[/]", WRONG: "[red]✘[/]", NOT_ATTEMPTED: "[dim]·[/]", GRADING_ERROR: "[magenta]![/]"}


class Kata:
    """One learner's checkout: the exercises folder, its progress, and how to talk."""

    def __init__(self, exercises: Path, lang: str, timeout: float, console: Console, device: str = "cpu"):
        self.exercises = Path(exercises).resolve()
        self.device = device
        self.curriculum = load()
        self.progress = Progress.load(self.exercises)
        self.w = words(lang)
        self.lang = lang
        self.timeout = timeout
        self.console = console
        self.grader = session  # anything with grade(); watch swaps in a WarmGrader

    # -- state -------------------------------------------------------------------------
    def _text(self, module: str) -> str | None:
        try:
            return (self.exercises / f"{module}.py").read_text(encoding="utf-8")
        except OSError:
            return None

    def known_state(self, exercise: Exercise) -> dict | None:
        """The state without grading: not attempted (the stub), a fresh stored verdict, or None."""
        text = self._text(exercise.module)
        if text is not None and source.is_stub(text, exercise.name):
            return {"verdict": NOT_ATTEMPTED, "messages": []}
        return self.progress.verdict(exercise.id, source.exercise_hash(self.exercises, exercise))

    def grade(self, exercises: list[Exercise]) -> dict[str, dict]:
        """Grade these exercises (one child process; one each if that one fails) and record."""
        if not exercises:
            return {}
        ids = [e.id for e in exercises]
        with self.console.status(self.w["grading"].format(what=", ".join(ids) if len(ids) < 4 else f"{len(ids)} exercises")):
            run = self.grader.grade(self.exercises, ids, timeout=self.timeout, device=self.device)
        if (run.timed_out or run.crashed) and len(ids) > 1:
            results = {}
            for exercise in exercises:
                results.update(self.grade([exercise]))
            return results
        results = {}
        for exercise in exercises:
            if run.timed_out:
                state = {"verdict": WRONG, "messages": [self.w["timed_out"].format(seconds=self.timeout)]}
            elif run.crashed:
                state = {"verdict": WRONG, "messages": [run.crashed]}
            elif run.grading_error:
                results[exercise.id] = {"verdict": GRADING_ERROR, "messages": [run.grading_error]}
                continue  # says nothing about the learner's code: not recorded
            else:
                state = run.verdicts.get(exercise.id, {"verdict": WRONG, "messages": ["no test ran:\n" + run.output[-2000:]]})
            self.progress.record(exercise.id, state["verdict"], source.exercise_hash(self.exercises, exercise),
                                 state["messages"])
            results[exercise.id] = state
        self.progress.save()
        return results

    def states(self) -> dict[str, dict]:
        """Every exercise's state; grades (in one run) those whose stored verdict is stale."""
        states = {e.id: self.known_state(e) for e in self.curriculum}
        stale = [e for e in self.curriculum if states[e.id] is None]
        states.update(self.grade(stale))
        return states

    def next_exercise(self) -> Exercise | None:
        """The first exercise in course order not known to be done."""
        for exercise in self.curriculum:
            state = self.known_state(exercise)
            if state is None or state["verdict"] != DONE:
                return exercise
        return None

    def pick(self, exercise_id: str | None) -> Exercise | None:
        if exercise_id is None:
            return self.next_exercise()
        matches = [e for e in self.curriculum if exercise_id in (e.id, e.name)]
        if len(matches) != 1:
            known = ", ".join(e.id for e in self.curriculum)
            raise SystemExit(f"torchkata: no exercise {exercise_id!r}; known: {known}")
        return matches[0]

    def where(self, exercise: Exercise) -> tuple[str, int]:
        location = source.locate(self.exercises, exercise)
        path = self.exercises / f"{exercise.module}.py"
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        return str(shown), (location.line if location else 1)

    # -- commands ----------------------------------------------------------------------
    def status(self) -> int:
        states = self.states()
        done = [e for e in self.curriculum if states[e.id]["verdict"] == DONE]
        points = sum(e.points for e in done)
        max_points = sum(e.points for e in self.curriculum)
        out = self.console
        out.print(self.w["title"].format(done=len(done), total=len(self.curriculum), points=points, max_points=max_points),
                  style="bold")
        out.print(ProgressBar(total=max_points, completed=points, width=60))
        out.print()
        out.print(self.progress_table(states))
        upcoming = next((e for e in self.curriculum if states[e.id]["verdict"] != DONE), None)
        if upcoming is None:
            out.print(self.w["all_done"], style="bold green")
        else:
            path, line = self.where(upcoming)
            out.print(self.w["next"].format(id=upcoming.id, path=path, line=line), style="bold")
            out.print(self.w["next_help"], style="dim")
        return 0

    # Below this many columns for the message beside an id, the message moves under its row.
    NARROW_MESSAGE = 16

    def progress_table(self, states: dict[str, dict]) -> Table:
        """Every exercise on one row, its id always whole: the id column is as wide as the
        longest id, and the verdict with the first line of a failure gets what is left of the
        terminal, or, where that is too little, a line of its own under the row."""
        id_width = max(len(e.id) for e in self.curriculum)
        room = self.console.width - (2 + id_width + 3 + 3)  # mark, id, points, and the gaps between
        beside = room >= self.NARROW_MESSAGE
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(width=2, no_wrap=True)
        table.add_column(min_width=id_width, no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        if beside:
            table.add_column(overflow="ellipsis", no_wrap=True, max_width=room)
        module = None
        for exercise in self.curriculum:
            if exercise.module != module:
                module = exercise.module
                section = f"[bold]§{escape(self.w['section'][module])}[/]"
                table.add_row("", section, "", *([f"[dim]exercises/{module}.py[/]"] if beside else []))
            state = states[exercise.id]
            first = state["messages"][0].splitlines()[0] if state["verdict"] in (WRONG, GRADING_ERROR) \
                and state["messages"] else ""
            message = f"[dim]{escape(self.w[state['verdict']])}[/] {escape(first)}".rstrip()
            table.add_row(MARKS[state["verdict"]], exercise.id, f"{exercise.points}", *([message] if beside else []))
            if not beside and first:
                shown = first if len(first) <= id_width else first[: id_width - 1] + "…"
                table.add_row("", f"[dim]{escape(shown)}[/]", "")
        return table

    def warn_if_tests_changed(self) -> None:
        """Say, on every run, when the checkout's tests are not the published ones."""
        changed = digests.changed_tests()
        if changed:
            self.console.print(self.w["tests_changed"].format(files=", ".join(changed)), style="bold yellow")

    def _pick_or_celebrate(self, exercise_id: str | None) -> Exercise | None:
        """The exercise asked for, or the next unfinished one; None (said aloud) when all are done."""
        exercise = self.pick(exercise_id)
        if exercise is None:
            self.console.print(self.w["all_done"], style="bold green")
        return exercise

    def check(self, exercise_id: str | None) -> int:
        exercise = self._pick_or_celebrate(exercise_id)
        if exercise is None:
            return 0
        state = self.grade([exercise])[exercise.id]
        return self.show(exercise, state)

    def show(self, exercise: Exercise, state: dict) -> int:
        path, line = self.where(exercise)
        if state["verdict"] == DONE:
            self.console.print(self.w["passed"].format(id=exercise.id), style="bold green")
            return 0
        if state["verdict"] == NOT_ATTEMPTED:
            self.console.print(self.w["not_attempted"].format(id=exercise.id, path=path, line=line), style="yellow")
            return 1
        if state["verdict"] == GRADING_ERROR:
            self.console.print(self.w["grading_error"].format(id=exercise.id), style="bold magenta")
            for message in state["messages"][:1]:
                self.console.print(f"  {escape(message)}", highlight=False)
            return EXIT_GRADING_ERROR
        self.console.print(self.w["failed"].format(id=exercise.id), style="bold red")
        counts = state.get("counts") or [1] * len(state["messages"])
        for message, count in zip(state["messages"], counts):
            times = self.w["in_tests"].format(n=count) if count > 1 else ""
            self.console.print(f"  • {escape(message)}{escape(times)}", highlight=False)
        printed = state.get("output", "").strip().splitlines()
        if printed:
            self.console.print(self.w["printed"], style="bold")
            shown = printed[:MAX_PRINTED_LINES] + ([f"... ({len(printed) - MAX_PRINTED_LINES} more lines)"]
                                                   if len(printed) > MAX_PRINTED_LINES else [])
            for text in shown:
                self.console.print(f"    {escape(text)}", highlight=False)
        self.console.print(f"  [dim]{path}:{line}[/]")
        return 1

    def hint(self, exercise_id: str | None) -> int:
        exercise = self._pick_or_celebrate(exercise_id)
        if exercise is None:
            return 0
        hints = exercise.hints_in(self.lang)
        shown = min(self.progress.hints_shown.get(exercise.id, 0) + 1, len(hints))
        self.progress.hints_shown[exercise.id] = shown
        self.progress.save()
        self.console.print(self.w["hint"].format(n=shown, total=len(hints), id=exercise.id), style="bold")
        self.console.print(f"  {escape(hints[shown - 1])}", highlight=False)
        if shown == len(hints):
            self.console.print(self.w["last_hint"], style="dim")
        return 0

    def solution(self, exercise_id: str) -> int:
        exercise = self.pick(exercise_id)
        state = self.known_state(exercise)
        if state is None:
            state = self.grade([exercise])[exercise.id]
        if state["verdict"] != DONE:
            self.console.print(self.w["solution_locked"].format(id=exercise.id), style="yellow")
            return 1
        text = (session.ROOT / "solutions" / f"{exercise.module}.py").read_text(encoding="utf-8")
        self.console.print(self.w["solution"].format(id=exercise.id, module=exercise.module), style="bold")
        self.console.print(Syntax(source.definition_text(text, exercise.name), "python"))
        return 0

    def reset(self, exercise_id: str) -> int:
        exercise = self.pick(exercise_id)
        path = self.exercises / f"{exercise.module}.py"
        current = path.read_text(encoding="utf-8")
        if source.is_stub(current, exercise.name):
            self.console.print(self.w["reset_stub"].format(id=exercise.id))
            return 0
        original = original_stub(exercise)
        backup = path.resolve().parent.parent / ".torchkata" / "backups" / \
            f"{exercise.id}-{datetime.datetime.now():%Y%m%d-%H%M%S}.py"
        backup.parent.mkdir(parents=True, exist_ok=True)
        backup.write_text(source.definition_text(current, exercise.name) + "\n", encoding="utf-8")
        path.write_text(source.replace_definition(current, exercise.name, original), encoding="utf-8")
        self.progress.verdicts.pop(exercise.id, None)
        self.progress.save()
        self.console.print(self.w["reset_done"].format(id=exercise.id, path=path, backup=backup))
        return 0

    def watch(self, max_checks: int | None = None) -> int:
        from watchfiles import watch

        current = self.next_exercise()
        if current is None:
            self.console.print(self.w["all_done"], style="bold green")
            return 0
        if hasattr(os, "fork"):
            self.grader = session.WarmGrader(self.device)  # import torch once, fork per check
        self.console.print(self.w["watching"].format(folder=self.exercises, id=current.id), style="bold")
        checks = 0
        for changes in watch(self.exercises, debounce=50, step=20, rust_timeout=0,
                             watch_filter=lambda change, path: path.endswith(".py")):
            current = self.on_save(current, sorted({Path(path).name for _, path in changes}))
            checks += 1
            if current is None or (max_checks is not None and checks >= max_checks):
                return 0
        return 0

    def on_save(self, current: Exercise, saved: list[str]) -> Exercise | None:
        """One save seen by watch: regrade the exercises whose code changed (in one run), the
        one being edited first, and show it; after a pass, move to the next unfinished exercise
        in course order. Exercises whose code did not change keep their verdicts. Returns the
        exercise to work on now (None: every exercise is done)."""
        changed = [e for e in self.curriculum if self.known_state(e) is None]
        if changed and current not in changed:  # the learner is editing another exercise
            saved_modules = {name.removesuffix(".py") for name in saved}
            current = next((e for e in changed if e.module in saved_modules), changed[0])
        self.console.print(self.w["saved"].format(files=", ".join(saved), time=datetime.datetime.now(), id=current.id),
                           style="dim")
        if changed:
            state = self.grade([current, *(e for e in changed if e != current)])[current.id]
        else:
            state = self.known_state(current)
        if self.show(current, state) != 0 or state["verdict"] != DONE:
            return current
        upcoming = self.next_exercise()
        if upcoming is None:
            self.console.print(self.w["all_done"], style="bold green")
            return None
        path, line = self.where(upcoming)
        self.console.print(self.w["moving_on"].format(id=upcoming.id, path=path, line=line), style="bold")
        return upcoming

    def plot(self, kind: str, out: Path) -> int:
        command = [sys.executable, "-m", "torchkata.plots", kind, str(self.exercises), str(out)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout + 60)
        except subprocess.TimeoutExpired:
            self.console.print(self.w["timed_out"].format(seconds=self.timeout + 60), style="red")
            return 1
        if result.returncode != 0:
            self.console.print(escape(result.stdout + result.stderr), style="red")
            return 1
        files = [line for line in result.stdout.splitlines() if line.endswith(".png")]
        self.console.print(self.w["plots_written"].format(files=", ".join(files)))
        return 0


def original_stub(exercise: Exercise) -> str:
    """The stub as it was published, from the copy that ships with the package
    (torchkata/stubs/): reset needs no git history, and works on a downloaded zip or after
    the stubs were committed over."""
    text = (Path(__file__).with_name("stubs") / f"{exercise.module}.py").read_text(encoding="utf-8")
    definition = source.definition_text(text, exercise.name)
    if definition is None or not source.is_stub(text, exercise.name):
        raise SystemExit(f"torchkata: the published stub of {exercise.id} is missing from torchkata/stubs/")
    return definition


def _shared_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name: the top-level parser sets
    the defaults, a subcommand's copy only overrides what is given after the command
    (argparse would otherwise put its own defaults over what came before)."""
    def default(value):
        return value if defaults else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--exercises", type=Path, default=default(session.ROOT / "exercises"),
                        help="the folder you work in (default: exercises/ of this checkout)")
    common.add_argument("--lang", choices=("en", "zh"), default=default(None),
                        help="language of hints and the status screen (default: locale)")
    common.add_argument("--timeout", type=float, default=default(60.0),
                        help="seconds a grading run may take (default: 60)")
    return common


def parser() -> argparse.ArgumentParser:
    common = _shared_options(defaults=False)
    top = argparse.ArgumentParser(prog="torchkata", parents=[_shared_options(defaults=True)],
                                  description="Learn the fundamentals of neural networks in PyTorch, one exercise at a time.")
    commands = top.add_subparsers(dest="command")
    commands.add_parser("status", parents=[common], help="progress through the course (the default)")
    device = argparse.ArgumentParser(add_help=False)
    device.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where your code runs while graded (default: cpu; cuda needs an NVIDIA GPU)")
    commands.add_parser("check", parents=[common, device], help="grade one exercise (default: the next unfinished)") \
        .add_argument("exercise", nargs="?")
    commands.add_parser("hint", parents=[common], help="the next hint for an exercise (default: the next unfinished)") \
        .add_argument("exercise", nargs="?")
    watch = commands.add_parser("watch", parents=[common, device], help="regrade the current exercise on every save")
    watch.add_argument("--max-checks", type=int, help=argparse.SUPPRESS)
    for name, help_text in [("reset", "restore one exercise to its original stub (your version is backed up)"),
                            ("solution", "show the reference solution of an exercise you have passed")]:
        commands.add_parser(name, parents=[common], help=help_text).add_argument("exercise")
    grade = commands.add_parser("grade", parents=[common, device], help="grade a whole class (instructors)",
                                description="Grade submissions: folders laid out like exercises/, zips of them, or "
                                "folders of those (one per student). With none, a sample class. "
                                "`torchkata grade merge SHARD/grades.json ... --out DIR` combines shards "
                                "(see `torchkata grade merge --help`).")
    grade.add_argument("paths", nargs="*", type=Path, metavar="SUBMISSION")
    grade.add_argument("--out", type=Path, default=Path("grades"), help="folder for the reports (default: grades/)")
    grade.add_argument("--jobs", type=int, help="students graded at once (default: one per core)")
    grade.add_argument("--shard", metavar="K/N", help="grade only the K-th of N slices of the class")
    grade.add_argument("--call-timeout", type=float, default=20.0, help="seconds one call into student code may take")
    grade.add_argument("--allow-unconfined", action="store_true",
                       help="where student code cannot be confined (not root, no user namespaces), grade anyway: "
                       "it then runs with your uid, files and network; students are graded one at a time and "
                       "your tests, solutions and the submissions are put back after each")
    grade.add_argument("--only", action="append", default=[], metavar="EXERCISE", help=argparse.SUPPRESS)
    plot = commands.add_parser("plot", parents=[common], help="draw your functions beside torch's, as PNG files")
    plot.add_argument("kind", choices=("activations", "init", "dropout"))
    plot.add_argument("--out", type=Path, default=Path("plots"), help="folder for the PNG files (default: plots/)")
    return top


def cuda_refusal(device: str) -> str | None:
    """Why `--device cuda` cannot work here, or None. Asks NVML, so CUDA stays untouched in
    this process (its children set CUDA up themselves: processes.py)."""
    if device != "cuda":
        return None
    from .processes import prepare_parent

    prepare_parent("cuda")
    import torch

    if torch.cuda.is_available():
        return None
    build = "was built without CUDA" if torch.version.cuda is None else f"(CUDA {torch.version.cuda}) finds no usable GPU"
    return f"--device cuda: CUDA is not available here: torch {torch.__version__} {build}. Use --device cpu."


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["grade", "merge"]:
        from .grading_cli import merge_command

        return _guarded(lambda: merge_command(argv[2:], Console(highlight=False)))
    args = parser().parse_args(argv)
    lang = language(args.lang)
    device = getattr(args, "device", "cpu")
    refusal = cuda_refusal(device)
    if refusal:
        print(f"torchkata: {refusal}", file=sys.stderr)
        return EXIT_USAGE
    command = args.command or "status"
    if command != "grade":
        problem = kata_folder_problem(args.exercises)
        if problem:
            print(f"torchkata: --exercises {args.exercises}: {problem}", file=sys.stderr)
            return EXIT_USAGE
    kata = Kata(args.exercises, lang, args.timeout, Console(highlight=False), device)
    return _guarded(lambda: run_command(kata, command, args))


def kata_folder_problem(folder: Path) -> str | None:
    """Why `folder` is not a folder of exercises to work in, or None."""
    if not folder.exists():
        return "no such folder"
    if not folder.is_dir():
        return "not a folder"
    if not looks_like_exercises(folder):
        return f"not a kata folder: none of {', '.join(f'{m}.py' for m in load().modules)} is in it"
    return None


def _guarded(command) -> int:
    """Run a command; turn the library's exceptions into a message and an exit status."""
    from .reports import MergeError

    try:
        return command()
    except GradingError as error:
        print(f"torchkata: grading error: {error}", file=sys.stderr)
        return EXIT_GRADING_ERROR
    except (IntakeError, MergeError, Unconfined) as error:
        print(f"torchkata grade: {error}", file=sys.stderr)
        return EXIT_USAGE


def run_command(kata: Kata, command: str, args) -> int:
    if command in ("status", "check", "watch"):
        kata.warn_if_tests_changed()
    if command == "status":
        return kata.status()
    if command in ("check", "hint", "reset", "solution"):
        return getattr(kata, command)(args.exercise)
    if command == "grade":
        from .grading_cli import grade_command

        return grade_command(args, Console(highlight=False))
    if command == "watch":
        try:
            return kata.watch(args.max_checks)
        except KeyboardInterrupt:
            return 0
    return kata.plot(args.kind, args.out)


if __name__ == "__main__":
    sys.exit(main())
