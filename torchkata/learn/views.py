"""What the learner sees: the status screen, a verdict, a hint, a solution, in their language.

`View` prints what `Kata` (kata.py) returns to a rich console, and turns a verdict into the
command's exit status. It decides nothing about grading.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console, Group
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.syntax import Syntax
from rich.text import Text

from ..core.i18n import CHINESE, _, words
from ..core.manifest import DONE, GRADING_ERROR, NOT_ATTEMPTED, NOT_LOADED, WRONG, Curriculum, Exercise
from ..core.terminal import wrap
from ..core.verdicts import EXIT_GRADING_ERROR, ExerciseResult

MAX_PRINTED_LINES = 20
MARKS = {DONE: "[green]✔[/]", WRONG: "[red]✘[/]", NOT_ATTEMPTED: "[dim]·[/]", NOT_LOADED: "[red]?[/]",
         GRADING_ERROR: "[magenta]![/]"}
SAID = (WRONG, NOT_LOADED, GRADING_ERROR)  # verdicts whose first message is shown on the status screen


_IS_CHINESE = re.compile(rf"[{CHINESE}]")


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

    def progress_table(self, curriculum: Curriculum, states: dict[str, ExerciseResult]) -> Group:
        """Every exercise on one row, its id always whole (the id column is as wide as the
        longest id). A failure's first line goes beside its row where it fits whole in what
        is left of the terminal, else under the row, wrapped (two lines at most: `check`
        gives it all)."""
        id_width = max(cell_len(e.id) for e in curriculum)
        width = self.console.width - 1
        left = 1 + 1 + id_width + 1 + 3 + 1  # the mark, the id, the points, and the gaps between
        room = width - left
        rows: list[Text] = []
        module = None
        for exercise in curriculum:
            if exercise.module != module:
                module = exercise.module
                section = Text("  ") + Text(f"§{self.w['section'][module]}", style="bold")
                file = f"exercises/{module}.py"
                if cell_len(section.plain) < left and cell_len(file) < room:
                    section.append(" " * (left + 1 - cell_len(section.plain)) + file, style="dim")
                rows.append(section)
            state = states[exercise.id]
            said = state.verdict in SAID or (state.first is not None and state.first.blames)
            first = state.first.headline(self.lang, brief=True) if said and state.first else ""
            row = Text.from_markup(MARKS[state.verdict]) + Text(f" {exercise.id:<{id_width}} {exercise.points:>3} ")
            row.append(f" {self.w[state.verdict]}", style="dim")
            if first and cell_len(f" {self.w[state.verdict]} {first}") <= room:
                row.append(f" {first}")
                first = ""
            rows.append(row)
            if first:
                under = wrap(first, width - 4)
                if len(under) > 2:
                    under = [*under[:1], under[1][: max(width - 5, 1)].rstrip() + "…"]
                rows += [Text(f"    {line}", style="dim") for line in under]
        return Group(*rows)

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
            for text in shown:  # as printed, cut (not reflowed) to stay under its heading
                self.verbatim(text, "    ")
        out.print(f"  [dim]{path}:{line}[/]")
        return 1

    def _say(self, text: str, first: str = "", rest: str = "", style: str = "", width: int | None = None) -> None:
        """`text` wrapped to the terminal (or to `width`), `first` before its first line and
        `rest` before the others, no line padded or ending in spaces."""
        width = self.console.width - 1 - cell_len(rest) if width is None else width
        for j, line in enumerate(wrap(text, width)):
            self.console.print(Text(((rest if j else first) + line).rstrip(), style=style), highlight=False,
                               soft_wrap=True)

    def verbatim(self, text: str, indent: str) -> None:
        """A line as written (spaces and all) after `indent`, in pieces that fit the terminal;
        the pieces after the first start under the text, two cells further in."""
        text = text.rstrip()
        lead = indent + " " * (len(text) - len(text.lstrip(" "))) + "  "
        start, piece = indent, ""
        for char in text or " ":
            if cell_len(start + piece + char) > max(self.console.width - 1, cell_len(lead) + 10):
                self.console.print(Text(start + piece), highlight=False, soft_wrap=True)
                start, piece = lead, ""
            piece += char
        self.console.print(Text((start + piece).rstrip()), highlight=False, soft_wrap=True)

    def bullet(self, text: str) -> None:
        """A bullet whose wrapped lines stay under its text (and no line padded to the width)."""
        width = max(40, self.console.width - 1) - 4  # the bullet's indent
        for i, paragraph in enumerate(text.splitlines() or [""]):
            self._say(paragraph, "  • " if i == 0 else "    ", "    ", width=width)

    def explain(self, exercise: Exercise, lesson: str) -> int:
        """The exercise's lesson, then where to go from it."""
        self.console.print(self.w["lesson"].format(id=exercise.id), style="bold")
        for paragraph in reflow(lesson):
            if paragraph.startswith((">>>", " ")):  # code: as written, its comment under it if too wide
                code, hash_, comment = paragraph.partition("  # ")
                if hash_ and cell_len("  " + paragraph) >= self.console.width:
                    self.verbatim(code, "  ")
                    indent = len(code) - len(code.lstrip(">. "))
                    self.verbatim("# " + comment, "  " + " " * indent)
                else:
                    self.verbatim(paragraph, "  ")
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
        # Highlighted, but neither padded to the width nor broken by rich: a long docstring line
        # is left to the terminal, whole.
        for line in Syntax(definition, "python").highlight(definition).split("\n"):
            line.rstrip()
            self.console.print(line, soft_wrap=True)
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
        text = self.w["also_graded"].format(id=exercise_id, verdict=self.w[state.verdict])
        for j, line in enumerate(wrap(text, self.console.width - 3)):
            start = Text.from_markup(MARKS[state.verdict] + " ") if j == 0 else Text("  ")
            self.console.print(start + Text(line), highlight=False, soft_wrap=True)

    def moving_on(self, exercise: Exercise, where: tuple[str, int]) -> None:
        path, line = where
        self.console.print(self.w["moving_on"].format(id=exercise.id, path=path, line=line), style="bold")

