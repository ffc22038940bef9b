"""The suite checks itself: stubs fail everything, correct code written differently passes."""

from pathlib import Path

from torchkata.core.manifest import load

from .grading import EXERCISES, grade

ALTERNATIVES = Path(__file__).with_name("alternatives")


def test_untouched_stubs_fail_every_exercise_as_not_attempted(tmp_path):
    """rustlings' self-check: if a stub passed a test, that test could not catch anything."""
    verdicts = grade(EXERCISES, tmp_path, (), "--junitxml", str(tmp_path / "stubs.xml"))
    assert list(verdicts) == [e.id for e in load()], "every exercise of the manifest must have been graded"
    not_failing = {e: v["verdict"] for e, v in verdicts.items() if v["verdict"] != "not attempted"}
    assert not not_failing, f"exercises/ stubs should all be 'not attempted' (did you edit exercises/?): {not_failing}"
    xml = (tmp_path / "stubs.xml").read_text()
    assert 'failures="0"' not in xml
    import xml.etree.ElementTree as ElementTree

    cases = ElementTree.fromstring(xml).iter("testcase")
    passed = [c.get("classname") + "::" + c.get("name") for c in cases if not list(c)]
    assert not passed, f"these tests pass on the untouched stubs, so they check nothing: {passed[:10]}"


def test_correct_alternatives_pass_every_exercise(tmp_path):
    """Correct code written differently from solutions/ (other formulas, other torch calls)."""
    verdicts = grade(ALTERNATIVES, tmp_path)
    wrong = {e: v["messages"][:1] for e, v in verdicts.items() if v["verdict"] != "done"}
    assert not wrong, f"correct alternative implementations were rejected: {wrong}"
    assert len(verdicts) == len(load())
