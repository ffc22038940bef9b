"""Every word a learner reads, in English and in Chinese (the course's language).

The English text in the code is the message id; the Chinese lives in the gettext catalog
`torchkata/locale/zh_CN/LC_MESSAGES/torchkata.po`, read directly with Babel. A message is
written once, whole, with named placeholders:

    _("{call} returned what {label} gives", call=call, label=suspect.label)

so a translation may put the fields in its own order; `ngettext(singular, plural, n, ...)`
picks the form a count takes (English has two, Chinese one). `N_` marks a text for the catalog
where it is defined (a table of words) and translates nothing; `_` translates at the call.
`nox -s messages` regenerates the template `torchkata/locale/torchkata.pot` from the code
and brings the catalog up to date with it; `tests/harness/test_messages.py` fails while any
message has no Chinese, or a Chinese with other placeholders.

The language, first match wins: `--lang`, then the environment variable TORCHKATA_LANG,
then the last `--lang` this checkout was given (remembered in its progress file), then the
locale (LC_ALL, LC_MESSAGES, LANG). The command line settles it once and puts it in
TORCHKATA_LANG, so the graders it starts speak the same language.
"""

from __future__ import annotations

import contextlib
import gettext
import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "zh")
VARIABLE = "TORCHKATA_LANG"
LOCALE = Path(__file__).resolve().parent / "locale"
CATALOG = LOCALE / "zh_CN" / "LC_MESSAGES" / "torchkata.po"
TEMPLATE = LOCALE / "torchkata.pot"


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, do not translate yet"
    return message


def _normal(value: str | None) -> str | None:
    if not value:
        return None
    return "zh" if value.lower().startswith("zh") else "en"


def language(requested: str | None = None, remembered: str | None = None) -> str:
    """The language to speak: the first of --lang, TORCHKATA_LANG, the remembered choice, the locale."""
    for choice in (requested, os.environ.get(VARIABLE), remembered):
        if _normal(choice):
            return _normal(choice)
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(variable):
            return _normal(os.environ[variable])
    return "en"


def use(lang: str) -> None:
    """Speak `lang` from now on, here and in every process started from here."""
    os.environ[VARIABLE] = lang


def current() -> str:
    return _normal(os.environ.get(VARIABLE)) or "en"


@cache
def _catalog(lang: str) -> tuple[dict, Callable[[int], int]]:
    """The catalog of `lang`: English message -> translation (a (singular, plural) pair ->
    the translation's forms), and which form a count takes."""
    if lang == "en":
        return {}, lambda n: int(n != 1)
    from babel.messages.pofile import read_po

    with open(CATALOG, "rb") as handle:
        catalog = read_po(handle)
    messages = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    return messages, gettext.c2py(catalog.plural_expr)


def translations(lang: str) -> dict:
    """English message -> its translation, for the messages the catalog translates."""
    return _catalog(lang)[0]


# Chinese puts no space between characters; a translation may keep one around a placeholder
# (readable beside code), which a Chinese value filled in there must not keep.
CHINESE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\u201c\u201d"  # a regex class: characters and punctuation
_SPACE_IN_CHINESE = re.compile(rf"(?<=[{CHINESE}]) (?=[{CHINESE}])")


def _filled(text: str, lang: str, fields: dict) -> str:
    if not fields:
        return text
    text = text.format(**fields)
    return _SPACE_IN_CHINESE.sub("", text) if lang == "zh" else text


def _(message: str, /, lang: str | None = None, **fields) -> str:
    """`message` in the current language (or `lang`), its {placeholders} filled from `fields`."""
    lang = lang or current()
    return _filled(translations(lang).get(message, message), lang, fields)


def ngettext(singular: str, plural: str, n: int, /, lang: str | None = None, **fields) -> str:
    """gettext's ngettext: the form of the message that a count of `n` takes in the current
    language (English has two, Chinese one), with {n} and `fields` filled in."""
    lang = lang or current()
    messages, form = _catalog(lang)
    forms = messages.get((singular, plural)) or (singular, plural)
    return _filled(forms[min(form(n), len(forms) - 1)], lang, {"n": n, **fields})


WORDS = {
    "title": N_("torchkata: {done}/{total} exercises done, {points}/{max_points} points"),
    "done": N_("done"),
    "wrong": N_("wrong"),
    "not attempted": N_("not attempted"),
    "grading error": N_("grading error"),
    "could not load": N_("could not load"),
    "not_loaded": N_("{id} could not be loaded, so none of it ran: fix this first, then check again:"),
    "next": N_("Next: {id}, open {path}:{line}"),
    "next_help": N_("`torchkata check` grades it, `torchkata hint` gives a hint, `torchkata watch` regrades on every save."),
    "all_done": N_("Every exercise is done. Compare yours with the reference: torchkata solution EXERCISE"),
    "grading": N_("Grading {what} ..."),
    "passed": N_("{id} passes every test. Well done!"),
    "failed": N_("{id} is not right yet:"),
    "in_tests": N_(" (in {n} tests)"),
    "also_graded": N_("{id} changed too: {verdict} (torchkata check {id} says more)"),
    "more_failures": N_("... and {n} more failing tests; fix these first, then check again."),
    "printed": N_("  Your code printed (in the first failing test):"),
    "tests_changed": N_("Your verdicts come from modified tests: {files} differ from the published suite, so a pass here may not be a pass in the kata (git checkout tests/ restores them)."),
    "grading_error": N_("{id} could not be graded: a grading error (the grader failed, not your code). Fix the cause below and check again:"),
    "not_attempted": N_("{id} is not attempted yet: open {path}:{line} and replace the `raise NotImplementedError`."),
    "timed_out": N_("your code did not finish in {seconds:g} s (an infinite loop, or a sleep?)"),
    "hint": N_("Hint {n} of {total} for {id}:"),
    "lesson": N_("What {id} teaches:"),
    "lesson_next": N_("torchkata check {id} grades yours; torchkata hint {id} gives a hint."),
    "last_hint": N_("(that was the last hint)"),
    "solution_locked": N_("{id} is not done yet: the reference solution unlocks once your version passes (torchkata check {id})."),
    "solution": N_("The reference solution of {id} (solutions/{module}.py), to compare with yours:"),
    "reset_done": N_("{id} is back to its original stub in {path}. Your version was saved to {backup}."),
    "reset_stub": N_("{id} is already the untouched stub; nothing to reset."),
    "watching": N_("Watching {folder} for saves (Ctrl-C to stop). Working on: {id}"),
    "moving_on": N_("On to the next exercise: {id}, in {path}:{line}"),
    "saved": N_("[{time:%H:%M:%S}] {files} saved: grading {id}"),
    "plots_written": N_("Wrote {files}"),
    "section": {
        "activations": N_("1 Activations"),
        "initialization": N_("2.1-2.7 Initialisation"),
        "regularization": N_("2.8 Dropout"),
        "networks": N_("3 Building networks"),
        "losses": N_("4 Losses"),
        "training": N_("4.4 One training step"),
        "capstone": N_("3-4 Capstone: train the whole network"),
    },
}


@cache
def words(lang: str) -> dict:
    """The command line's words (WORDS), in `lang` (built once: reports look a verdict up per student)."""
    known = translations(lang)
    return {key: ({k: known.get(v, v) for k, v in value.items()} if isinstance(value, dict) else known.get(value, value))
            for key, value in WORDS.items()}


# Fonts that draw Chinese, most common first (Linux, then macOS and Windows).
CHINESE_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                 "Droid Sans Fallback", "PingFang SC", "Hiragino Sans GB", "Heiti SC", "Microsoft YaHei", "SimHei",
                 "Arial Unicode MS")


@contextlib.contextmanager
def figure_language():
    """Inside: matplotlib draws the current language. For Chinese, an installed font that has
    its characters goes first; where there is none, the figures inside are labelled in English
    (boxes are worse than English). Yields the reason to tell the user, or None."""
    if current() != "zh":
        yield None
        return
    from matplotlib import font_manager, rc_context, rcParams

    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = [name for name in CHINESE_FONTS if name in installed]
    if found:
        with rc_context({"font.sans-serif": [*found, *rcParams["font.sans-serif"]],
                         "axes.unicode_minus": False}):  # CJK fonts lack the minus sign
            yield None
        return
    reason = _("No font here draws Chinese, so the figures are labelled in English (install one, e.g. Noto Sans CJK "
               "SC: fonts-noto-cjk on Debian and Ubuntu).")
    use("en")
    try:
        yield reason
    finally:
        use("zh")
