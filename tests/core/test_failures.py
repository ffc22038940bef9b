"""Failures as records: said once, by the suspect that explains the most, in either language.

The records here are built by hand, as the checks build them; nothing is graded.
"""

import pytest

from torchkata.core.failures import Failure, Frame, Rule, Suspicion, said_once, stub_reached
from torchkata.core.i18n import M_, Message
from torchkata.engine.learner import call_said, show

SCALE = ("{call}: the {what} is {got:.4g}, expected {expected:.4g} ({ratio:.3f} times the target). Check the "
         "formula: the fans, the gain, and the square root.")
SUSPECTED = "{call}: the {what} is {got:.4g} (expected {expected:.4g}), which is what {label} gives: {advice}"


def scale_failure(shape, got, expected, *suspects):
    """kaiming_normal_ on a tensor of `shape` drew the wrong std; `suspects` are the labels it matches."""
    call = call_said("kaiming_normal_", [M_("<tensor of shape {shape}>", shape=shape)])
    return Failure(Rule.DISTRIBUTION, M_(SCALE, call=call, what=M_("standard deviation"), got=got, expected=expected,
                                         ratio=got / expected), call=call,
                   suspects=tuple(Suspicion(label, M_(SUSPECTED, call=call, what=M_("standard deviation"), got=got,
                                                      expected=expected, label=label, advice="fix it"))
                                  for label in suspects))


def test_one_bug_gets_one_diagnosis_the_one_that_explains_most_inputs():
    """sqrt(2) counted twice in kaiming_normal_: on nine inputs only 'sqrt(2) twice' fits, on one
    (mode='fan_out') 'the other fan' fits as well. One item, naming sqrt(2), with all ten."""
    failures = [scale_failure((20, 30 + i), 0.5, 0.35, "sqrt(2) counted twice") for i in range(9)]
    failures.insert(4, scale_failure((30, 30), 0.5, 0.35, "the other fan", "sqrt(2) counted twice"))
    grouped, more = said_once(failures)
    assert more == 0
    assert len(grouped) == 1 and grouped[0].count == 10
    assert grouped[0].suspect == "sqrt(2) counted twice"
    assert "sqrt(2) counted twice" in grouped[0].render("en") and "other fan" not in grouped[0].render("en")


def test_another_diagnosis_is_named_only_for_inputs_the_first_does_not_explain():
    failures = [scale_failure((20, 30), 0.5, 0.35, "sqrt(2) counted twice", "the other fan"),
                scale_failure((20, 31), 0.5, 0.35, "sqrt(2) counted twice"),
                scale_failure((20, 32), 0.9, 0.35, "the other fan")]
    grouped, _ = said_once(failures)
    assert [(f.suspect, f.count) for f in grouped] == [("sqrt(2) counted twice", 2), ("the other fan", 1)]


def test_the_same_message_on_other_inputs_is_one_item_with_its_count():
    failures = [scale_failure(shape, got, 0.35) for shape, got in [((3, 4), 0.1), ((5, 6, 7), 0.2), ((8, 9), 0.3)]]
    grouped, _ = said_once(failures)
    assert len(grouped) == 1 and grouped[0].count == 3
    assert "(3, 4)" in grouped[0].render("en"), "the first input found is the example shown"


def test_different_rules_stay_apart_and_the_lesson_comes_first():
    call = call_said("softmax", [Message.verbatim("x")])
    values = Failure(Rule.VALUES, M_("{call} returned what {label} gives, not the right answer: {advice}", call=call,
                                     label="a", advice="b"))
    shape = Failure(Rule.SHAPE, values.text)
    lesson = Failure(Rule.NOT_FINITE, M_("{call}: {count} of {total} values are wrong; the largest difference is "
                                         "{difference:.3g} at index {index}{where}: got {got:.6g}, expected "
                                         "{expected:.6g} (tolerance atol={atol:g}, rtol={rtol:g}).", call=call,
                                         count=1, total=2, difference=1, index=0, where="", got=1, expected=2,
                                         atol=0, rtol=0), lesson=True)
    grouped, _ = said_once([values, shape, values, lesson])
    assert [(f.rule, f.count) for f in grouped] == [(Rule.NOT_FINITE, 1), (Rule.VALUES, 2), (Rule.SHAPE, 1)]


def test_beyond_the_most_kept_the_rest_are_counted():
    failures = [Failure(Rule.CONTRACT, Message.verbatim(f"rule {i}"), count=2) for i in range(5)]
    grouped, more = said_once(failures, most=3)
    assert len(grouped) == 3 and more == 4


@pytest.mark.parametrize(("lang", "words"), [("en", "standard deviation"), ("zh", "标准差")])
def test_a_record_is_said_in_the_language_of_whoever_reads_it(lang, words):
    failure = Failure.from_json(scale_failure((20, 30), 0.5, 0.35).to_json())
    said = failure.render(lang)
    assert words in said and "kaiming_normal_(" in said and "0.5" in said


def test_a_big_tensor_is_described_in_the_readers_language_and_a_0d_tensor_as_a_scalar():
    import torch

    big = call_said("softmax", [torch.zeros(4, 5)], {"dim": 1})
    assert big.render("en") == "softmax(float32 tensor of shape (4, 5) on cpu, dim=1)"
    assert "张量" in big.render("zh")
    assert show(torch.tensor(4.25)).render("en") == "tensor(4.25, float32, cpu)", "0-d: no brackets, no shape (1,)"
    assert show(torch.tensor([1.0, 2.0])).render("en") == "tensor([1, 2], float32, shape (2,), cpu)"


def test_a_status_row_names_the_call_without_its_arguments():
    failure = scale_failure((20, 30), 0.5, 0.35)
    assert failure.headline("en", brief=True).startswith("kaiming_normal_(…): the standard deviation is 0.5")
    assert failure.headline("en").startswith("kaiming_normal_(<tensor of shape (20, 30)>)")


def test_a_stub_reached_through_another_exercise_blames_that_stub_and_its_line():
    frame = Frame("initialization.py", 12, "calculate_fan_in_and_fan_out", "raise NotImplementedError")
    failure = stub_reached("initialization.kaiming_normal_", frame, "initialization.calculate_fan_in_and_fan_out")
    assert failure.blames == "initialization.calculate_fan_in_and_fan_out"
    assert failure.where.line == 12
    said = failure.render("en")
    assert "calculate_fan_in_and_fan_out" in said and "initialization.py:12" in said
    assert "calculate_fan_in_and_fan_out" in failure.render("zh")


def test_a_time_out_is_one_item_however_it_was_worded():
    first = Failure(Rule.TIMED_OUT, M_("{call}: your code did not finish in {seconds:g} s{again} (an infinite loop, or "
                                       "a sleep?) and was stopped.", call="tanh(x)", seconds=3, again=""))
    again = Failure(Rule.TIMED_OUT, M_("{call}: your code did not finish in {seconds:g} s{again} (an infinite loop, "
                                       "or a sleep?) and was stopped.", call="tanh(y)", seconds=3,
                                       again=M_(" (in an earlier test of this exercise; not run again)")))
    grouped, _ = said_once([first, again, again])
    assert len(grouped) == 1 and grouped[0].count == 3 and "earlier test" not in grouped[0].render("en")


@pytest.mark.parametrize(("rule", "said"), [(Rule.DEPENDENCY, "fix activations.tanh first"),
                                            (Rule.NOT_ATTEMPTED, "finish activations.tanh first (a stub)")])
def test_a_status_row_names_the_exercise_to_go_to_when_another_is_to_blame(rule, said):
    failure = Failure(rule, Message.verbatim("a long sentence that would be cut to nothing at 80 columns"),
                      blames="activations.tanh")
    assert failure.headline("en", brief=True) == said
    assert "activations.tanh" in failure.headline("zh", brief=True)


def test_the_main_failure_is_the_exercise_to_blame_then_a_known_mistake_then_the_most_found():
    from torchkata.core.verdicts import ExerciseResult

    plain = Failure(Rule.VALUES, Message.verbatim("values"), count=9)
    known = Failure(Rule.VALUES, Message.verbatim("x"), suspects=(Suspicion("dim 0", Message.verbatim("dim 0")),),
                    suspect="dim 0", count=2)
    blamed = Failure(Rule.DEPENDENCY, Message.verbatim("fix tanh"), blames="activations.tanh")
    assert ExerciseResult("wrong", failures=[plain, known]).main is known
    assert ExerciseResult("wrong", failures=[plain, known, blamed]).main is blamed
    assert ExerciseResult("wrong", failures=[Failure(Rule.SHAPE, Message.verbatim("s")), plain]).main is plain
