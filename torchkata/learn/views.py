"""What the learner sees: the status screen, a verdict, a hint, a solution, in their language.

`View` prints what `Kata` (kata.py) returns to a rich console, and turns a verdict into the
command's exit status. It decides nothing about grading.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ..core.i18n import CHINESE, _, words
from ..core.manifest import DONE, GRADING_ERROR, NOT_ATTEMPTED, NOT_LOADED, WRONG, Curriculum, Exercise
from ..core.verdicts import EXIT_GRADING_ERROR, ExerciseResult

MAX_PRINTED_LINES = 20
MARKS = {DONE: "[green]✔[/]", WRONG: "[red]✘[/]", NOT_ATTEMPTED: "[dim]·[/]", NOT_LOADED: "[red]?[/]",
         GRADING_ERROR: "[magenta]![/]"}
SAID = (WRONG, NOT_LOADED, GRADING_ERROR)  # verdicts whose first message is shown on the status screen


# Chinese is written without spaces: a line may break after any character, except before the
# punctuation that closes a phrase or after one that opens it. A run of other text (a word, a
# number, code) stays whole.
_OPENING, _CLOSING = "（“《「【", "，。：；、！？）》」”】"
_UNITS = re.compile(rf"\s+|[{_OPENING}]*(?:[{CHINESE}]|[^\s{CHINESE}]+)[{_CLOSING}]*")
_IS_CHINESE = re.compile(rf"[{CHINESE}]")


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` terminal cells (a Chinese character takes two),
    broken at spaces and between Chinese characters; a word longer than a line is cut."""
    lines, line = [], ""
    for unit in _UNITS.findall(text):
        if unit.isspace():
            line += " " if line else ""
            continue
        while cell_len(unit) > width:  # a path or a long expression: cut it where the line ends
            room = width - cell_len(line)
            lines.append(line + unit[:room]) if room > 0 else lines.append(line.rstrip())
            unit, line = unit[max(room, 0):], ""
        if cell_len(line) + cell_len(unit) > width and line.strip():
            lines.append(line.rstrip())
            line = ""
        line += unit
    lines.append(line.rstrip())
    return lines


def _cjk(char: str) -> bool:
    return bool(_IS_CHINESE.fullmatch(char))


def reflow(text: str) -> list[str]:
    """A docstring's paragraphs as whole lines, to be wrapped to the terminal: the lines of
    a paragraph joined (with a space, except between Chinese characters), a blank line kept
    between paragraphs, and code (`>>>` or indented) and list items each on their own line."""
    out: list[str] = []
    joining = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            out.append("")
            joining = False
        elif line.startswith((">>>", "...", " ")) or stripped.startswith(("- ", "* ", ">>>")) or \
                re.match(r"\d+[.)] ", stripped):
            out.append(line if line.startswith((">>>", " ")) else stripped)
            joining = not line.startswith((">>>", " "))
        elif joining and out:
            glue = "" if _cjk(out[-1][-1:]) and _cjk(stripped[:1]) or out[-1][-1:] in "，。：；、！？（）" else " "
            out[-1] += glue + stripped
        else:
            out.append(stripped)
            joining = True
    return out


class View:
    # Below this many columns for the message beside an id, the message moves under its row.
    NARROW_MESSAGE = 16

    def __init__(self, console: Console, lang: str = "en"):
        self.console = console
        self.lang = lang
        self.w = words(lang)

    def busy(self, ids: list[str]):
        """A spinner while `ids` are graded."""
        what = ", ".join(ids) if len(ids) < 4 else f"{len(ids)} exercises"
        return self.console.status(self.w["grading"].format(what=what))

    # -- the status screen ---------------------------------------------------------------
    def status(self, curriculum: Curriculum, states: dict[str, ExerciseResult], where) -> int:
        """The whole course: a title with points, one row per exercise, and what to do next
        (`where(exercise)` gives the file and line to open)."""
        done = [e for e in curriculum if states[e.id].verdict == DONE]
        points = sum(e.points for e in done)
        max_points = sum(e.points for e in curriculum)
        out = self.console
        out.print(self.w["title"].format(done=len(done), total=len(curriculum), points=points, max_points=max_points),
                  style="bold")
        out.print(ProgressBar(total=max_points, completed=points, width=min(60, out.width)))
        out.print()
        out.print(self.progress_table(curriculum, states))
        upcoming = next((e for e in curriculum if states[e.id].verdict != DONE), None)
        if upcoming is None:
            self.all_done()
        else:
            path, line = where(upcoming)
            out.print(self.w["next"].format(id=upcoming.id, path=path, line=line), style="bold")
            out.print(self.w["next_help"], style="dim")
        return 0

    def progress_table(self, curriculum: Curriculum, states: dict[str, ExerciseResult]) -> Table:
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
            said = state.verdict in SAID or (state.first is not None and state.first.blames)
            first = state.first.headline(self.lang, brief=True) if said and state.first else "" if state.verdict in SAID else ""
            message = f"[dim]{escape(self.w[state.verdict])}[/] {escape(first)}".rstrip()
            table.add_row(MARKS[state.verdict], exercise.id, f"{exercise.points}", *([message] if beside else []))
            if not beside and first:
                shown = Text(first, style="dim")
                shown.truncate(id_width, overflow="ellipsis")  # by display cells: a Chinese character takes two
                table.add_row("", shown, "")
        return table

    # -- one exercise ----------------------------------------------------------------------
    def verdict(self, exercise: Exercise, state: ExerciseResult, where: tuple[str, int]) -> int:
        """The verdict of one exercise, every distinct failure once with its count, what the
        code printed; returns the exit status (0 done, 1 not right yet, 3 a grading error)."""
        path, line = where
        out = self.console
        first = state.first
        if state.verdict == DONE:
            out.print(self.w["passed"].format(id=exercise.id), style="bold green")
            return 0
        if state.verdict == NOT_ATTEMPTED and first is not None and first.blames:
            # written, but it calls another exercise's stub: that stub, and its line, are where to go
            out.print(self.w["blocked"].format(id=exercise.id, other=first.blames), style="yellow")
            self.bullet(first.render(self.lang))
            stub = first.where
            if stub is not None:
                out.print(f"  [dim]{escape(str(Path(path).with_name(stub.file)))}:{stub.line}[/]")
            return 1
        if state.verdict == NOT_ATTEMPTED:
            out.print(self.w["not_attempted"].format(id=exercise.id, path=path, line=line), style="yellow")
            return 1
        if state.verdict == GRADING_ERROR:
            out.print(self.w["grading_error"].format(id=exercise.id), style="bold magenta")
            if first is not None:
                out.print(f"  {escape(first.render(self.lang))}", highlight=False)
            return EXIT_GRADING_ERROR
        heading = "not_loaded" if state.verdict == NOT_LOADED else "failed"
        out.print(self.w[heading].format(id=exercise.id), style="bold red")
        if state.verdict == NOT_LOADED:  # one cause, whatever the number of tests it stopped
            self.bullet(first.render(self.lang) if first else "")
            if first is not None and first.where is not None:
                path, line = str(Path(path).with_name(first.where.file)), first.where.line
        else:
            for failure in state.failures:
                times = self.w["in_tests"].format(n=failure.count) if failure.count > 1 else ""
                self.bullet(failure.render(self.lang) + times)
        if state.more:
            out.print(f"  {self.w['more_failures'].format(n=state.more)}", style="dim")
        printed = state.output.strip().splitlines()
        if printed:
            out.print(self.w["printed"], style="bold")
            shown = printed[:MAX_PRINTED_LINES] + ([_("... ({n} more lines)", n=len(printed) - MAX_PRINTED_LINES)]
                                                   if len(printed) > MAX_PRINTED_LINES else [])
            for text in shown:
                out.print(f"    {escape(text)}", highlight=False)
        out.print(f"  [dim]{path}:{line}[/]")
        return 1

    def _say(self, text: str, first: str = "", rest: str = "", style: str = "", width: int | None = None) -> None:
        """`text` wrapped to the terminal (or to `width`), `first` before its first line and
        `rest` before the others, no line padded or ending in spaces."""
        width = self.console.width - 1 - cell_len(rest) if width is None else width
        for j, line in enumerate(wrap(text, width)):
            self.console.print(Text(((rest if j else first) + line).rstrip(), style=style), highlight=False,
                               soft_wrap=True)

    def bullet(self, text: str) -> None:
        """A bullet whose wrapped lines stay under its text (and no line padded to the width)."""
        width = max(40, self.console.width - 1) - 4  # the bullet's indent
        for i, paragraph in enumerate(text.splitlines() or [""]):
            self._say(paragraph, "  • " if i == 0 else "    ", "    ", width=width)

    def explain(self, exercise: Exercise, lesson: str) -> int:
        """The exercise's lesson, then where to go from it."""
        self.console.print(self.w["lesson"].format(id=exercise.id), style="bold")
        for paragraph in reflow(lesson):
            if paragraph.startswith((">>>", " ")):  # code: as written
                self.console.print(Text(("  " + paragraph).rstrip()), highlight=False, soft_wrap=True)
            else:
                self._say(paragraph, "  ", "  ")
        self._say(self.w["lesson_next"].format(id=exercise.id), style="dim")
        return 0

    def hint(self, hint) -> int:
        self.console.print(self.w["hint"].format(n=hint.number, total=hint.total, id=hint.exercise.id), style="bold")
        self._say(hint.text, "  ", "  ")
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

    def plots(self, files: list[str], problem: str, notes: list[str] = ()) -> int:
        if problem:
            self.console.print(escape(problem), style="red")
            return 1
        for note in notes:
            self.console.print(escape(note), style="yellow")
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

    def also_graded(self, exercise_id: str, state: ExerciseResult) -> None:
        """An exercise regraded beside the one shown (its code changed in the same save)."""
        self.console.print(f"{MARKS[state.verdict]} " + escape(self.w["also_graded"].format(
            id=exercise_id, verdict=self.w[state.verdict])), highlight=False)

    def moving_on(self, exercise: Exercise, where: tuple[str, int]) -> None:
        path, line = where
        self.console.print(self.w["moving_on"].format(id=exercise.id, path=path, line=line), style="bold")

