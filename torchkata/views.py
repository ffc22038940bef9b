"""What the learner sees: the status screen, a verdict, a hint, a solution, in their language.

`View` prints what `Kata` (kata.py) returns to a rich console, and turns a verdict into the
command's exit status. It decides nothing about grading.
"""

from __future__ import annotations

import datetime
import re
import textwrap

from rich.console import Console
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.syntax import Syntax
from rich.table import Table

from .i18n import words
from .manifest import DONE, GRADING_ERROR, NOT_ATTEMPTED, NOT_LOADED, WRONG, Curriculum, Exercise
from .verdicts import EXIT_GRADING_ERROR, LOAD_FAILED

MAX_PRINTED_LINES = 20
MARKS = {DONE: "[green]✔[/]", WRONG: "[red]✘[/]", NOT_ATTEMPTED: "[dim]·[/]", NOT_LOADED: "[red]?[/]",
         GRADING_ERROR: "[magenta]![/]"}
SAID = (WRONG, NOT_LOADED, GRADING_ERROR)  # verdicts whose first message is shown on the status screen


class View:
    # Below this many columns for the message beside an id, the message moves under its row.
    NARROW_MESSAGE = 16

    def __init__(self, console: Console, lang: str = "en"):
        self.console = console
        self.w = words(lang)

    def busy(self, ids: list[str]):
        """A spinner while `ids` are graded."""
        what = ", ".join(ids) if len(ids) < 4 else f"{len(ids)} exercises"
        return self.console.status(self.w["grading"].format(what=what))

    # -- the status screen ---------------------------------------------------------------
    def status(self, curriculum: Curriculum, states: dict[str, dict], where) -> int:
        """The whole course: a title with points, one row per exercise, and what to do next
        (`where(exercise)` gives the file and line to open)."""
        done = [e for e in curriculum if states[e.id]["verdict"] == DONE]
        points = sum(e.points for e in done)
        max_points = sum(e.points for e in curriculum)
        out = self.console
        out.print(self.w["title"].format(done=len(done), total=len(curriculum), points=points, max_points=max_points),
                  style="bold")
        out.print(ProgressBar(total=max_points, completed=points, width=min(60, out.width)))
        out.print()
        out.print(self.progress_table(curriculum, states))
        upcoming = next((e for e in curriculum if states[e.id]["verdict"] != DONE), None)
        if upcoming is None:
            self.all_done()
        else:
            path, line = where(upcoming)
            out.print(self.w["next"].format(id=upcoming.id, path=path, line=line), style="bold")
            out.print(self.w["next_help"], style="dim")
        return 0

    def progress_table(self, curriculum: Curriculum, states: dict[str, dict]) -> Table:
        """Every exercise on one row, its id always whole: the id column is as wide as the
        longest id, and the verdict with the first line of a failure gets what is left of the
        terminal, or, where that is too little, a line of its own under the row."""
        id_width = max(len(e.id) for e in curriculum)
        room = self.console.width - (2 + id_width + 3 + 3)  # mark, id, points, and the gaps between
        beside = room >= self.NARROW_MESSAGE
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(width=2, no_wrap=True)
        table.add_column(min_width=id_width, no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        if beside:
            table.add_column(overflow="ellipsis", no_wrap=True, max_width=room)
        module = None
        for exercise in curriculum:
            if exercise.module != module:
                module = exercise.module
                section = f"[bold]§{escape(self.w['section'][module])}[/]"
                table.add_row("", section, "", *([f"[dim]exercises/{module}.py[/]"] if beside else []))
            state = states[exercise.id]
            first = state["messages"][0].splitlines()[0] if state["verdict"] in SAID and state["messages"] else ""
            if state["verdict"] == NOT_LOADED:  # the verdict says it: keep the why ("SyntaxError at line 3: ...")
                first = first.split(LOAD_FAILED, 1)[-1]
            message = f"[dim]{escape(self.w[state['verdict']])}[/] {escape(first)}".rstrip()
            table.add_row(MARKS[state["verdict"]], exercise.id, f"{exercise.points}", *([message] if beside else []))
            if not beside and first:
                shown = first if len(first) <= id_width else first[: id_width - 1] + "…"
                table.add_row("", f"[dim]{escape(shown)}[/]", "")
        return table

    # -- one exercise ----------------------------------------------------------------------
    def verdict(self, exercise: Exercise, state: dict, where: tuple[str, int]) -> int:
        """The verdict of one exercise, every distinct failure once with its count, what the
        code printed; returns the exit status (0 done, 1 not right yet, 3 a grading error)."""
        path, line = where
        out = self.console
        if state["verdict"] == DONE:
            out.print(self.w["passed"].format(id=exercise.id), style="bold green")
            return 0
        if state["verdict"] == NOT_ATTEMPTED:
            out.print(self.w["not_attempted"].format(id=exercise.id, path=path, line=line), style="yellow")
            return 1
        if state["verdict"] == GRADING_ERROR:
            out.print(self.w["grading_error"].format(id=exercise.id), style="bold magenta")
            for message in state["messages"][:1]:
                out.print(f"  {escape(message)}", highlight=False)
            return EXIT_GRADING_ERROR
        heading = "not_loaded" if state["verdict"] == NOT_LOADED else "failed"
        out.print(self.w[heading].format(id=exercise.id), style="bold red")
        counts = state.get("counts") or [1] * len(state["messages"])
        if state["verdict"] == NOT_LOADED:  # one cause, whatever the number of tests it stopped
            counts = [1] * len(counts)
            line = int(m.group(1)) if (m := re.search(r"\bat line (\d+)", state["messages"][0])) else line
        for message, count in zip(state["messages"], counts):
            times = self.w["in_tests"].format(n=count) if count > 1 else ""
            self.bullet(message + times)
        if state.get("more"):
            out.print(f"  {self.w['more_failures'].format(n=state['more'])}", style="dim")
        printed = state.get("output", "").strip().splitlines()
        if printed:
            out.print(self.w["printed"], style="bold")
            shown = printed[:MAX_PRINTED_LINES] + ([f"... ({len(printed) - MAX_PRINTED_LINES} more lines)"]
                                                   if len(printed) > MAX_PRINTED_LINES else [])
            for text in shown:
                out.print(f"    {escape(text)}", highlight=False)
        out.print(f"  [dim]{path}:{line}[/]")
        return 1

    def bullet(self, text: str) -> None:
        """A bullet whose wrapped lines stay under its text (and no line padded to the width)."""
        width = max(40, self.console.width - 1)
        for i, paragraph in enumerate(text.splitlines() or [""]):
            first = "  • " if i == 0 else "    "
            lines = textwrap.wrap(paragraph, width, initial_indent=first, subsequent_indent="    ",
                                  break_long_words=False, break_on_hyphens=False) or [first]
            for line in lines:
                self.console.print(escape(line), highlight=False, soft_wrap=True)

    def hint(self, hint) -> int:
        self.console.print(self.w["hint"].format(n=hint.number, total=hint.total, id=hint.exercise.id), style="bold")
        self.console.print(f"  {escape(hint.text)}", highlight=False)
        if hint.last:
            self.console.print(self.w["last_hint"], style="dim")
        return 0

    def solution(self, exercise: Exercise, definition: str | None) -> int:
        if definition is None:
            self.console.print(self.w["solution_locked"].format(id=exercise.id), style="yellow")
            return 1
        self.console.print(self.w["solution"].format(id=exercise.id, module=exercise.module), style="bold")
        self.console.print(Syntax(definition, "python", word_wrap=True))
        return 0

    def reset(self, exercise: Exercise, done) -> int:
        if done is None:
            self.console.print(self.w["reset_stub"].format(id=exercise.id))
        else:
            path, backup = done
            self.console.print(self.w["reset_done"].format(id=exercise.id, path=path, backup=backup))
        return 0

    def plots(self, files: list[str], problem: str) -> int:
        if problem:
            self.console.print(escape(problem), style="red")
            return 1
        self.console.print(self.w["plots_written"].format(files=", ".join(files)))
        return 0

    # -- news --------------------------------------------------------------------------------
    def tests_changed(self, files: list[str]) -> None:
        if files:
            self.console.print(self.w["tests_changed"].format(files=", ".join(files)), style="bold yellow")

    def all_done(self) -> int:
        self.console.print(self.w["all_done"], style="bold green")
        return 0

    def watching(self, folder, exercise: Exercise) -> None:
        self.console.print(self.w["watching"].format(folder=folder, id=exercise.id), style="bold")

    def saved(self, files: list[str], exercise: Exercise) -> None:
        self.console.print(self.w["saved"].format(files=", ".join(files), time=datetime.datetime.now(), id=exercise.id),
                           style="dim")

    def also_graded(self, exercise_id: str, state: dict) -> None:
        """An exercise regraded beside the one shown (its code changed in the same save)."""
        self.console.print(f"{MARKS[state['verdict']]} " + escape(self.w["also_graded"].format(
            id=exercise_id, verdict=self.w[state["verdict"]])), highlight=False)

    def moving_on(self, exercise: Exercise, where: tuple[str, int]) -> None:
        path, line = where
        self.console.print(self.w["moving_on"].format(id=exercise.id, path=path, line=line), style="bold")

