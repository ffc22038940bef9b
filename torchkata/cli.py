"""The command line: `torchkata [status|check|explain|hint|watch|reset|solution|plot|grade]`.

It parses and dispatches, nothing more: the learner's checkout and its grading rules are
kata.py, what the learner sees is views.py, the watch loop is watching.py, and class
grading is grading_cli.py. It imports no torch, so `torchkata status` answers at once
when nothing needs grading.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from rich.console import Console

from .classroom.intake import ARCHIVES_SAID, IntakeError, looks_like_exercises
from .core import digests
from .core.i18n import _, language, remembered_decides, use
from .core.manifest import load
from .core.paths import EXERCISES
from .core.terminal import Parser, complain, wrapped
from .core.verdicts import EXIT_GRADING_ERROR, EXIT_USAGE
from .engine.processes import GradingError, Unconfined, end_on_signals, signal_name
from .learn.kata import Kata, UnknownExercise
from .learn.progress import Progress
from .learn.views import View


def positive(kind):
    """An argparse type: a number of `kind` above zero ("--timeout 0" would blame every
    learner's code for the grader's own limit; `grade` checks its own limits, grading_cli.py)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            raise argparse.ArgumentTypeError(_("must be a positive number, got {value!r}", value=text))
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


def _shared_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name: the top-level parser sets
    the defaults, a subcommand's copy only overrides what is given after the command
    (argparse would otherwise put its own defaults over what came before)."""
    def default(value):
        return value if defaults else argparse.SUPPRESS

    common = Parser(add_help=False)
    common.add_argument("--exercises", type=Path, default=default(EXERCISES),
                        help="the folder you work in (default: exercises/ of this checkout)")
    common.add_argument("--lang", choices=("en", "zh"), default=default(None),
                        help="language of everything torchkata says: en or zh (default: TORCHKATA_LANG, "
                        "else the last --lang given here, else the locale)")
    common.add_argument("--timeout", type=positive(float), default=default(60.0),
                        help="seconds the tests of your code may take, counted from when they are ready to "
                        "call it: the grader's own start is not counted (default: 60)")
    return common


def parser() -> argparse.ArgumentParser:
    common = _shared_options(defaults=False)
    top = Parser(prog="torchkata", parents=[_shared_options(defaults=True)],
                                  description="Learn the fundamentals of neural networks in PyTorch, one exercise at a time.")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.add_parser("status", parents=[common], help="progress through the course (the default)")
    device = Parser(add_help=False)
    device.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where your code runs while graded (default: cpu; cuda needs an NVIDIA GPU)")
    commands.add_parser("check", parents=[common, device], help="grade one exercise (default: the next unfinished)") \
        .add_argument("exercise", nargs="?")
    commands.add_parser("explain", parents=[common],
                        help="what an exercise teaches: its lesson (default: the next unfinished)") \
        .add_argument("exercise", nargs="?")
    commands.add_parser("hint", parents=[common], help="the next hint for an exercise (default: the next unfinished)") \
        .add_argument("exercise", nargs="?")
    watch = commands.add_parser("watch", parents=[common, device], help="regrade the current exercise on every save")
    watch.add_argument("--max-checks", type=int, help=argparse.SUPPRESS)
    for name, help_text in [("reset", "restore one exercise to its original stub (your version is backed up)"),
                            ("solution", "show the reference solution of an exercise you have passed")]:
        commands.add_parser(name, parents=[common], help=help_text).add_argument("exercise")
    # Only what grading uses: the learner's --exercises and --timeout mean nothing here.
    grade = commands.add_parser("grade", parents=[device], help="grade a whole class (instructors)",
                                description="Grade submissions: folders laid out like exercises/ (or with the "
                                f"files a folder or two down), archives of them ({ARCHIVES_SAID}), or a class "
                                "folder of those, one per student (a learning platform's download too). With none, "
                                "a sample class. "
                                "`torchkata grade merge SHARD/grades.json ... --out DIR` combines shards "
                                "(see `torchkata grade merge --help`).")
    grade.add_argument("paths", nargs="*", type=Path, metavar="SUBMISSION")
    grade.add_argument("--out", type=Path, default=Path("grades"), help="folder for the reports (default: grades/)")
    grade.add_argument("--jobs", type=int, help="students graded at once (default: one per core)")
    grade.add_argument("--lang", choices=("en", "zh"), default=argparse.SUPPRESS,  # or the one given before `grade`
                       help="language of the grader's messages and reports: en or zh (default: TORCHKATA_LANG, "
                       "else the locale)")
    grade.add_argument("--shard", metavar="K/N", help="grade only the K-th of N slices of the class")
    grade.add_argument("--call-timeout", type=float, default=20.0, help="seconds one call into student code may take")
    grade.add_argument("--allow-unconfined", action="store_true",
                       help="where student code cannot be confined (not root, no user namespaces), grade anyway: "
                       "it then runs with your uid, files and network; students are graded one at a time and "
                       "your tests, solutions and the submissions are put back after each")
    grade.add_argument("--deadline", type=deadline, metavar="WHEN",
                       help="mark hand-ins made after this time late (ISO 8601: 2026-12-01T23:59, local time unless "
                       "it says +HH:MM); the time is that of the hand-in's newest file, as the platform's download "
                       "gives it; Canvas's _LATE_ marks a hand-in late whatever the deadline")
    grade.add_argument("--several-hand-ins", choices=("newest", "refuse"), default="newest",
                       help="a student with more than one hand-in: grade the newest and say so in report.md "
                       "(default), or grade none and ask the student to keep one")
    grade.add_argument("--only", action="append", default=[], metavar="EXERCISE",
                       help="grade only this exercise (repeatable); the reports then hold only these")
    bundle = commands.add_parser("gradescope-autograder", help="write a Gradescope autograder bundle (instructors)",
                                 description="Write setup.sh, run_autograder and this project into OUT, and "
                                 "OUT/autograder.zip to upload as a Gradescope assignment's autograder.")
    bundle.add_argument("out", type=Path, metavar="OUT")
    bundle.add_argument("--lang", choices=("en", "zh"), default=argparse.SUPPRESS,  # or the one given before
                        help="language of the feedback students read on Gradescope: en or zh (default: "
                        "TORCHKATA_LANG, else the locale)")
    bundle.add_argument("--torch-index", metavar="URL",
                        help="the package index setup.sh installs torch from: PyTorch's CPU-only index (its "
                        "website's install selector: Linux, Pip, CPU) keeps the image light; default: pip's "
                        "default index, which gives the CUDA build (about 4.6 GB) on Linux x86-64")
    plot = commands.add_parser("plot", parents=[common], help="draw your functions beside torch's, as PNG files")
    plot.add_argument("kind", choices=("activations", "init", "dropout", "training"))
    plot.add_argument("--out", type=Path, default=Path("plots"), help="folder for the PNG files (default: plots/)")
    return top


def deadline(text: str) -> datetime:
    """--deadline's value: an ISO 8601 date and time; a time without an offset is local time."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date and time such as 2026-12-01T23:59: {text!r}") from None
    return when if when.tzinfo else when.astimezone()


def cuda_refusal(device: str) -> str | None:
    """Why `--device cuda` cannot work here, or None. Asks NVML, so CUDA stays untouched in
    this process (its children set CUDA up themselves: processes.py)."""
    if device != "cuda":
        return None
    from .engine.processes import prepare_parent

    prepare_parent("cuda")
    import torch

    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return _("--device cuda: CUDA is not available here: torch {version} was built without CUDA. Use --device cpu.",
                 version=torch.__version__)
    return _("--device cuda: CUDA is not available here: torch {version} (CUDA {cuda}) finds no usable GPU. Use "
             "--device cpu.", version=torch.__version__, cuda=torch.version.cuda)


def use_language(args) -> tuple[str, Progress | None]:
    """Settle the language (i18n.language says the order), speak it from here on, and
    remember an explicit --lang in the learner's progress file (returned, read once)."""
    progress = Progress.load(args.exercises) if getattr(args, "exercises", None) else None
    lang = language(args.lang, progress.lang if progress else None)
    learners = args.command not in ("grade", "gradescope-autograder")  # an instructor's --lang is not the learner's
    remembered = learners and progress is not None and remembered_decides(args.lang, progress.lang)
    use(lang)  # from here on TORCHKATA_LANG is set: ask remembered_decides before
    if remembered:
        other = "zh" if lang == "en" else "en"
        print(wrapped(_("(in English, as last chosen here; --lang {other} to switch)", other=other)), file=sys.stderr)
    if learners and progress and args.lang and progress.lang != lang and not kata_folder_problem(args.exercises):
        progress.lang = lang
        progress.save()
    return lang, progress


def farewell(number: int) -> str:
    """The one line a command says when a signal stops it (processes.end_on_signals)."""
    name = "Ctrl-C" if number == signal.SIGINT else signal_name(number)
    return _("torchkata: stopped by {signal}; nothing it started is left running.", signal=name)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Under `nox -s learn`, nox is the parent: stopped by a signal, it does not pass it on.
    end_on_signals(farewell, with_parent="NOX_CURRENT_SESSION" in os.environ)
    at = argv.index("grade") if "grade" in argv else -1
    if at >= 0 and argv[at + 1:at + 2] == ["merge"]:  # its own parser; options before `grade` go to it too
        from .classroom.cli import merge_command

        return _guarded(lambda: merge_command(argv[:at] + argv[at + 2:], Console(highlight=False)))
    args = parser().parse_args(argv)
    lang, progress = use_language(args)
    device = getattr(args, "device", "cpu")
    refusal = cuda_refusal(device)
    if refusal:
        complain(f"torchkata: {refusal}")
        return EXIT_USAGE
    command = args.command or "status"
    if command == "gradescope-autograder":
        from .classroom.gradescope import write_bundle

        try:
            archive = write_bundle(args.out, torch_index=args.torch_index, lang=lang)
        except ValueError as error:
            complain(f"torchkata gradescope-autograder: {error}")
            return EXIT_USAGE
        print(wrapped(f"Upload {archive} as the assignment's autograder (Gradescope: Configure Autograder, zip "
                      "file upload; Ubuntu 22.04 base image or newer)."))
        if args.torch_index is None:
            print(wrapped("setup.sh installs torch from pip's default index: on Gradescope's Linux x86-64 images "
                          "that is the CUDA build (about 4.6 GB, of no use there); give --torch-index with PyTorch's "
                          "CPU-only index for a light image."))
        return 0
    if command != "grade":
        problem = kata_folder_problem(args.exercises)
        if problem:
            complain(f"torchkata: --exercises {args.exercises}: {problem}")
            return EXIT_USAGE
    kata = Kata(args.exercises, lang, args.timeout, device, progress)
    return _guarded(lambda: run_command(kata, View(Console(highlight=False), lang), command, args))


def kata_folder_problem(folder: Path) -> str | None:
    """Why `folder` is not a folder of exercises to work in, or None."""
    if not folder.exists():
        return _("no such folder")
    if not folder.is_dir():
        return _("not a folder")
    if not looks_like_exercises(folder):
        return _("not a kata folder: none of {files} is in it", files=", ".join(f"{m}.py" for m in load().modules))
    return None


def _guarded(command) -> int:
    """Run a command; turn the library's exceptions into a message and an exit status."""
    from .classroom.reports import MergeError

    try:
        return command()
    except GradingError as error:
        complain(_("torchkata: grading error: {error}", error=error))
        return EXIT_GRADING_ERROR
    except UnknownExercise as error:
        complain(f"torchkata: {error}")
        return EXIT_USAGE
    except (IntakeError, MergeError, Unconfined) as error:
        complain(f"torchkata grade: {error}")
        return EXIT_USAGE


def run_command(kata: Kata, view: View, command: str, args) -> int:
    """One learner command: ask the kata, show the answer, return the exit status."""
    if command in ("status", "check", "watch"):
        view.tests_changed(digests.changed_tests())
    if command == "status":
        return view.status(kata.curriculum, kata.states(busy=view.busy), kata.where)
    if command == "grade":
        from .classroom.cli import grade_command

        return grade_command(args, Console(highlight=False))
    if command == "watch":
        from .learn.watching import watch

        return watch(kata, view, args.max_checks)
    if command == "plot":
        return view.plots(*kata.plot(args.kind, args.out))
    exercise = kata.pick(args.exercise)
    if exercise is None:  # check or hint with no exercise named, and every one is done
        return view.all_done()
    if command == "check":
        state = kata.grade([exercise], busy=view.busy)[exercise.id]
        return view.verdict(exercise, state, kata.where_to_look(exercise, state))
    if command == "hint":
        return view.hint(kata.next_hint(exercise))
    if command == "explain":
        return view.explain(exercise, kata.lesson(exercise))
    if command == "solution":
        return view.solution(exercise, kata.solution(exercise, busy=view.busy))
    return view.reset(exercise, kata.reset(exercise))


if __name__ == "__main__":
    sys.exit(main())
