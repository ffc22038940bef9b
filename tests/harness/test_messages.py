"""Every text a learner or an instructor reads has its Chinese, with the same placeholders.

The English in the code is the message id (torchkata/core/i18n.py). These tests extract the ids
from the code as `nox -s messages` does, and fail when the template is out of date, when a
message has no Chinese, or when a translation's {placeholders} differ from the English.
"""

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from torchkata.core import i18n

from .grading import ROOT

CJK = re.compile(r"[\u3400-\u9fff]")
# Texts that read the same in Chinese: names of things, not words.
SAME_IN_CHINESE = {"Dropout"}


def extracted() -> set:
    """The message ids in the code, found as `pybabel extract -F babel.cfg` finds them (an
    ngettext's id is its (singular, plural) pair)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as handle:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "M_": None}  # M_: a message said later (i18n.Message), as nox -s messages
    return {message for _, _, message, *_ in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
            if message}


def catalog(path: Path) -> dict:
    """Message id -> its translation (a tuple of forms for an ngettext)."""
    with open(path, "rb") as handle:
        return {m.id: ("" if m.fuzzy else m.string) for m in read_po(handle) if m.id}


def forms(translation) -> tuple:
    return translation if isinstance(translation, tuple) else (translation,)


def english(message) -> str:
    """What a message says in English: itself, or an ngettext's plural (it has every placeholder)."""
    return message[-1] if isinstance(message, tuple) else message


def has_words(text: str) -> bool:
    """Whether a message says anything besides its placeholders ("{rule} {details}" does not)."""
    return bool(re.search(r"[A-Za-z]", re.sub(r"\{[^{}]*\}", "", text)))


def placeholders(text: str) -> list[tuple[str, str]]:
    """The {fields} of a format string, with their format specs, in sorted order."""
    return sorted((name, spec or "") for _, name, spec, _ in string.Formatter().parse(text) if name is not None)


def test_the_template_is_up_to_date_with_the_code():
    in_code, in_template = extracted(), set(catalog(i18n.TEMPLATE))
    assert in_code == in_template, (
        f"the template is out of date: run `nox -s messages`. New in the code: {sorted(in_code - in_template)[:5]}; "
        f"gone from the code: {sorted(in_template - in_code)[:5]}")


def test_every_message_has_chinese_with_the_same_placeholders():
    translated = catalog(i18n.CATALOG)
    missing = sorted((m for m in catalog(i18n.TEMPLATE) if not all(forms(translated.get(m)))), key=str)
    assert not missing, f"{len(missing)} messages have no Chinese in {i18n.CATALOG.name}, e.g. {missing[:3]}"
    different = {m: t for m, t in translated.items() if any(placeholders(english(m)) != placeholders(f) for f in forms(t))}
    assert not different, f"translations whose placeholders differ from the English: {different}"
    untranslated = {m: t for m, t in translated.items() if not any(CJK.search(f) for f in forms(t))
                    and has_words(english(m)) and m not in SAME_IN_CHINESE}
    assert not untranslated, f"translations with no Chinese in them: {untranslated}"


def marked_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MARKERS:
            yield node


MARKERS = {"_": 1, "N_": 1, "M_": 1, "ngettext": 2}  # how many leading arguments are the message


@pytest.mark.parametrize("path", sorted([*(ROOT / "torchkata").rglob("*.py"), *(ROOT / "tests" / "exercises").glob("*.py")]),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_marked_message_is_a_plain_string(path):
    """An f-string or a variable inside _() cannot be extracted, so it would never be translated."""
    bad = [f"{path.name}:{call.lineno}" for call in marked_calls(ast.parse(path.read_text(encoding="utf-8")))
           if len(call.args) < MARKERS[call.func.id] or not all(
               isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in call.args[:MARKERS[call.func.id]])]
    assert not bad, f"_() or N_() around something other than a plain string literal at {bad}: write " \
                    "_('... {name} ...', name=value) instead"


def test_a_translation_fills_its_placeholders_in_its_own_order():
    translated = catalog(i18n.CATALOG)
    message = "torchkata: {done}/{total} exercises done, {points}/{max_points} points"
    assert translated[message] != message
    shown = i18n._(message, lang="zh", done=3, total=40, points=5, max_points=62)
    assert "3/40" in shown and "5/62" in shown and CJK.search(shown)
    assert i18n._(message, lang="en", done=3, total=40, points=5, max_points=62).startswith("torchkata: 3/40")


def test_the_language_is_the_first_of_flag_environment_remembered_locale(monkeypatch):
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", i18n.VARIABLE):
        monkeypatch.delenv(variable, raising=False)
    assert i18n.language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.language() == "zh"
    assert i18n.language(remembered="en") == "en"
    monkeypatch.setenv(i18n.VARIABLE, "zh")
    assert i18n.language(remembered="en") == "zh"
    assert i18n.language("en", remembered="zh") == "en"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_one_mistake_found_on_different_inputs_is_one_mistake_in_either_language(lang):
    """Two failures that differ only in their inputs are the same mistake: their records have
    one key, whichever language they are said in, and each is said in the reader's language."""
    import torch

    from torchkata.core.failures import Failure, Rule
    from torchkata.engine.learner import call_said

    def failure(x):
        return Failure(Rule.VALUES, i18n.M_("{call} returned what {label} gives, not the right answer: {advice}",
                                            call=call_said("softmax", [x], {"dim": 1}), label="softmax over dim 0",
                                            advice="..."))

    first, second = failure(torch.zeros(4, 5)), failure(torch.zeros(3, 2, 2, dtype=torch.float64))
    assert ("张量" in first.render(lang)) == (lang == "zh")
    assert first.render(lang) != second.render(lang) and first.key() == second.key()


def test_figures_are_drawn_in_chinese_only_with_a_font_that_has_its_characters(monkeypatch):
    from types import SimpleNamespace

    from matplotlib import font_manager, rcParams

    monkeypatch.setenv(i18n.VARIABLE, "zh")
    before = list(rcParams["font.sans-serif"])
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [SimpleNamespace(name="DejaVu Sans")])
    with i18n.figure_language() as note:
        assert CJK.search(note) and i18n.current() == "en", "no Chinese font: the figure's labels are English"
        assert i18n._("yours") == "yours"
    assert i18n.current() == "zh", "and only the figure's"
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [SimpleNamespace(name="Noto Sans CJK SC")])
    with i18n.figure_language() as note:
        assert note is None and i18n.current() == "zh"
        assert rcParams["font.sans-serif"][0] == "Noto Sans CJK SC"
    assert list(rcParams["font.sans-serif"]) == before
