"""The verdict of an exercise from its tests' outcomes, and the verdict record as data.

`combine`'s precedence is what protects grades: a run the grader could not trust gives no
points and takes none, a module that never loaded is not "wrong", a stub is not "wrong".
"""

import pytest

from torchkata.core.failures import Failure, Rule
from torchkata.core.i18n import M_, Message
from torchkata.core.verdicts import ExerciseResult, Flag, Verdict, combine

DONE, WRONG, NOT_ATTEMPTED, NOT_LOADED, GRADING_ERROR = (Verdict.DONE, Verdict.WRONG, Verdict.NOT_ATTEMPTED,
                                                         Verdict.NOT_LOADED, Verdict.GRADING_ERROR)


@pytest.mark.parametrize(("outcomes", "verdict"), [
    (["passed"], DONE),
    (["passed", "passed"], DONE),
    (["passed", "failed"], WRONG),
    (["failed", NOT_ATTEMPTED], NOT_ATTEMPTED),          # a stub reached: not attempted, never wrong
    ([NOT_ATTEMPTED, "passed"], NOT_ATTEMPTED),
    (["failed", NOT_LOADED], NOT_LOADED),                # the module never ran
    ([NOT_ATTEMPTED, NOT_LOADED], NOT_LOADED),
    (["failed", GRADING_ERROR], GRADING_ERROR),          # the grader failed: no point given or taken
    ([NOT_ATTEMPTED, GRADING_ERROR], GRADING_ERROR),
    ([NOT_LOADED, GRADING_ERROR, "passed"], GRADING_ERROR),
])
def test_a_verdict_takes_the_outcome_that_ranks_highest(outcomes, verdict):
    assert combine(outcomes) == verdict
    assert combine(list(reversed(outcomes))) == verdict, "the order the tests ran in does not matter"


def test_a_verdict_record_survives_json_with_its_failures():
    failure = Failure(Rule.VALUES, M_("{call}: {count} of {total} values are wrong; the largest difference is "
                                      "{difference:.3g} at index {index}{where}: got {got:.6g}, expected {expected:.6g} "
                                      "(tolerance atol={atol:g}, rtol={rtol:g}).", call=Message.verbatim("relu(x)"),
                                      count=3, total=10, difference=0.5, index=(1, 2), where="", got=1.0,
                                      expected=0.5, atol=1e-5, rtol=1e-4), count=4, output="hello\n")
    result = ExerciseResult(WRONG, 0, [failure], [Flag.TIMED_OUT], "hello\n", 2, ["activations.relu"])
    again = ExerciseResult.from_json(result.to_json())
    assert again == result
    assert again.failures[0].render("en") == failure.render("en")
    assert "(1, 2)" in again.failures[0].render("en"), "a tuple field is kept as it reads"


def test_a_verdict_of_format_2_is_read_with_its_sentences_and_counts():
    old = {"verdict": "wrong", "points": 0, "messages": ["relu(x) returned x", "relu(y) returned y"],
           "counts": [3, 1], "flags": ["timed out"]}
    result = ExerciseResult.from_json(old)
    assert [f.render("zh") for f in result.failures] == old["messages"], "said as it was, in any language"
    assert [f.count for f in result.failures] == [3, 1]
    assert result.flags == [Flag.TIMED_OUT]
