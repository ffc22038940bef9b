"""Every word a learner reads, in English and in Chinese (the course's language).

The English text in the code is the message id; the Chinese lives in the gettext catalog
`torchkata/locale/zh_CN/LC_MESSAGES/torchkata.po`, read directly with Babel. A message is
written once, whole, with named placeholders:

    _("{call} returned what {label} gives", call=call, label=suspect.label)

so a translation may put the fields in its own order; `ngettext(singular, plural, n, ...)`
picks the form a count takes (English has two, Chinese one). `N_` marks a text for the catalog
where it is defined (a table of words) and translates nothing; `_` translates at the call;
`M_` keeps the message as a `Message` (its id and fields) to be said later, in whatever
language its reader has: a failure is graded in one process and read in another, maybe in
the other language, so what a check finds is kept as a Message, never as a sentence.
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "zh")
VARIABLE = "TORCHKATA_LANG"
LOCALE = Path(__file__).resolve().parents[1] / "locale"  # torchkata/locale (i18n imports nothing of torchkata)
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


def remembered_decides(requested: str | None, remembered: str | None) -> bool:
    """Whether `language` answers with the remembered choice (neither --lang nor TORCHKATA_LANG given)."""
    return not _normal(requested) and not _normal(os.environ.get(VARIABLE)) and bool(_normal(remembered))


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


# -- messages said later ------------------------------------------------------------------------
Field = "str | int | float | bool | None | Message"
_PLAIN = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Message:
    """A text to be said later, in the reader's language: a catalog message and its fields
    (`M_("{call} returned {got}", call=..., got=3)`), a text said as it is in every language
    (`Message.verbatim`: a name, an exception's own words), a value found on one input
    (`Message.value`: a shape, a small tensor, a device), or messages joined by a separator
    (`Message.join`: a call's arguments).

    Fields are plain values (numbers keep their format specs: `{got:.4g}`) or Messages;
    anything else (a tuple, a device, a dtype) is kept as a value, its str(), which reads the
    same in every language. `str(message)` says it in the current language.
    """

    id: str | None                               # the English message id; None for verbatim or joined text
    fields: tuple[tuple[str, object], ...] = ()
    parts: tuple[Message, ...] = ()              # when joined: the parts, with fields (("sep", ...),)

    @staticmethod
    def verbatim(text: str) -> Message:
        return Message(None, (("text", str(text)),))

    @staticmethod
    def value(text: str) -> Message:
        """A value found on one input: said as it is, and not part of what the message says
        (`shape`), so one mistake found on other inputs is the same mistake."""
        return Message(None, (("value", str(text)),))

    @staticmethod
    def join(sep: str, parts: Iterable) -> Message:
        return Message(None, (("sep", sep),), tuple(p if isinstance(p, Message) else Message.verbatim(p) for p in parts))

    def field(self, name: str, default=None):
        return dict(self.fields).get(name, default)

    def find(self, name: str):
        """The first field called `name`, at any depth (None if there is none)."""
        for part in self.parts:
            found = part.find(name)
            if found is not None:
                return found
        for key, value in self.fields:
            if key == name:
                return value
            found = value.find(name) if isinstance(value, Message) else None
            if found is not None:
                return found
        return None

    def replacing(self, name: str, value: Message) -> Message:
        """This message with every field called `name`, at any depth, said as `value`."""
        if self.parts:
            return Message(None, self.fields, tuple(part.replacing(name, value) for part in self.parts))
        return Message(self.id, tuple((key, value if key == name else
                                       field.replacing(name, value) if isinstance(field, Message) else field)
                                      for key, field in self.fields))

    def render(self, lang: str | None = None) -> str:
        lang = lang or current()
        if self.parts:
            return self.field("sep", "").join(part.render(lang) for part in self.parts)
        if self.id is None:
            return self.field("text", self.field("value", ""))
        fields = {name: value.render(lang) if isinstance(value, Message) else value for name, value in self.fields}
        return _filled(translations(lang).get(self.id, self.id), lang, fields)

    def __str__(self) -> str:
        return self.render()

    def shape(self) -> tuple:
        """What the message says, without the values found on one input: its id, its text
        fields and the shape of its Message fields; no number and no `value`."""
        if self.parts:
            return ("join", tuple(part.shape() for part in self.parts))
        if self.id is None:
            return ("value",) if self.field("value") is not None else ("text", self.field("text", ""))
        return (self.id, tuple((name, value.shape() if isinstance(value, Message) else value)
                               for name, value in self.fields if isinstance(value, (Message, str))))

    def to_json(self) -> dict:
        if self.parts:
            return {"join": self.field("sep", ""), "parts": [part.to_json() for part in self.parts]}
        if self.id is None:
            return {"value": self.field("value")} if self.field("value") is not None else {"text": self.field("text", "")}
        return {"id": self.id, "fields": {name: value.to_json() if isinstance(value, Message) else value
                                          for name, value in self.fields}}

    @classmethod
    def from_json(cls, data) -> Message:
        if isinstance(data, str):  # a message kept as text by an older format
            return cls.verbatim(data)
        if "parts" in data:
            return cls.join(data.get("join", ""), [cls.from_json(part) for part in data["parts"]])
        if "text" in data:
            return cls.verbatim(data["text"])
        if "value" in data:
            return cls.value(data["value"])
        return cls(data["id"], tuple((name, cls.from_json(value) if isinstance(value, dict) else value)
                                     for name, value in data.get("fields", {}).items()))


def _kept(value):
    return value if isinstance(value, (*_PLAIN, Message)) else Message.value(value)


def M_(message: str, /, **fields) -> Message:  # noqa: N802 - gettext-style marker, extracted like _
    """`message` with its fields, to be said later in the reader's language (`Message.render`)."""
    return Message(message, tuple((name, _kept(value)) for name, value in fields.items()))


def said(text, lang: str | None = None) -> str:
    """A Message in `lang` (or the current language); a plain str as it is."""
    return text.render(lang) if isinstance(text, Message) else str(text)


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
    "blocked": N_("{id} is written, but cannot be graded before {other}, which it calls, is:"),
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
