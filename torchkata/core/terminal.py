"""Text for a terminal: lines no wider than it, counted in cells (a Chinese character takes
two), for everything torchkata prints, argparse's usage and errors included.

A line breaks at a space or between Chinese characters, never inside backticked code
(`x.amax(dim, keepdim=True)`), never inside a command to type (torchkata check
activations.relu) and never beside an operator standing between spaces, so a formula such
as `2 s(2x) - 1` is not left as "2 s(2x) -" over "1".
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys

from rich.cells import cell_len

from .i18n import CHINESE

# Chinese is written without spaces: a line may break after any character, except before the
# punctuation that closes a phrase or after one that opens it. A run of other text (a word, a
# number, code) stays whole, and so does a backticked span with the punctuation after it.
_OPENING, _CLOSING = "（“《「【", "，。：；、！？）》」”】"
_UNITS = re.compile(rf"`[^`\n]+`[^\s{CHINESE}`]*|\s+|[{_OPENING}]*(?:[{CHINESE}]|[^\s{CHINESE}]+)[{_CLOSING}]*")
_OPERATOR = re.compile(r"[-+*/=<>×÷−]{1,2}|\*\*|==|<=|>=|!=")


def columns() -> int:
    """The terminal's width (COLUMNS where it is set; 80 when there is no terminal)."""
    return shutil.get_terminal_size((80, 24)).columns


# A command to type stays on one line: `torchkata check activations.relu`.
_COMMANDS_WITH_AN_ARGUMENT = {"check", "explain", "hint", "reset", "solution", "plot"}


def _pieces(text: str) -> list[tuple[str, bool]]:
    """The pieces a line may not break inside, each with whether a space came before it."""
    pieces: list[list] = []
    space, glue_next = False, False
    for unit in _UNITS.findall(text):
        if unit.isspace():
            space = True
            continue
        operator = bool(_OPERATOR.fullmatch(unit)) and space
        if pieces and (glue_next or operator):
            pieces[-1][0] += (" " if space else "") + unit
        else:
            pieces.append([unit, space])
        command = unit.lstrip("(`'\"“（") == "torchkata" or (glue_next and unit in _COMMANDS_WITH_AN_ARGUMENT)
        space, glue_next = False, command or operator
    return [(unit, space) for unit, space in pieces]


def wrap(text: str, width: int, later: int | None = None) -> list[str]:
    """`text` in lines of at most `width` cells (`later` for the lines after the first); a
    piece longer than a line is cut."""
    lines, line = [], ""

    def limit() -> int:
        return max(width if not lines or later is None else later, 1)

    for unit, space in _pieces(text):
        gap = " " if space and line else ""
        while cell_len(unit) > limit():  # a path or a long expression: cut it where the line ends
            room = limit() - cell_len(line + gap)
            if room > 0:
                lines.append(line + gap + unit[:room])
                unit = unit[room:]
            else:
                lines.append(line.rstrip())
            line, gap = "", ""
        if line.strip() and cell_len(line + gap + unit) > limit():
            lines.append(line.rstrip())
            line, gap = "", ""
        line += gap + unit
    lines.append(line.rstrip())
    return lines


def wrapped(text: str, width: int | None = None, indent: str = "  ") -> str:
    """Every paragraph of `text` wrapped to `width` cells (the terminal's, less one), the
    lines after a paragraph's first indented by `indent`."""
    width = (width or columns()) - 1
    return "\n".join(line if j == 0 else indent + line for paragraph in text.splitlines() or [""]
                     for j, line in enumerate(wrap(paragraph, width, width - cell_len(indent))))


def complain(text: str) -> None:
    """An error or refusal on stderr, wrapped to the terminal."""
    print(wrapped(text), file=sys.stderr)


class Parser(argparse.ArgumentParser):
    """argparse, with its errors wrapped to the terminal like everything else said here."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        complain(f"{self.prog}: error: {message}")
        self.exit(2)
