"""Each mistake said once and rightly, graded for real: one bug is one item with its count
and one diagnosis, and the blame lands on the exercise at fault.

The code graded is the reference with one definition replaced, as a learner would write it.
"""

import re

from torchkata.core.failures import Rule
from torchkata.core.verdicts import ExerciseResult

from .grading import EXERCISES, grade, submission_with, torchkata

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def graded(tmp_path, module, code, exercise, base=None) -> ExerciseResult:
    options = {"base": base} if base else {}
    folder = submission_with(tmp_path, module, code, **options)
    return ExerciseResult.from_json(grade(folder, tmp_path, (exercise,))[exercise])


def test_sqrt2_counted_twice_in_kaiming_normal_is_one_item_naming_it(tmp_path):
    """On the mode='fan_out' inputs 'the other fan' fits the wrong std as well; the one diagnosis
    that explains every input is the one said, once, with its count."""
    result = graded(tmp_path, "initialization", """
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    std = calculate_gain(nonlinearity, a) * math.sqrt(2.0 / fan)
    with torch.no_grad():
        return tensor.normal_(0.0, std)""", "initialization.kaiming_normal_")
    assert result.verdict == "wrong"
    scale = [f for f in result.failures if f.rule == Rule.DISTRIBUTION]
    assert len(scale) == 1, [f.render("en") for f in scale]
    assert scale[0].suspect == "sqrt(2) counted twice" and scale[0].count == 10
    assert "sqrt(2) counted twice" in scale[0].render("en") and "other fan" not in scale[0].render("en")
    assert CHINESE.search(scale[0].render("zh")) and "sqrt(2)" in scale[0].render("zh")


def test_swapped_fans_in_kaiming_uniform_are_one_item(tmp_path):
    result = graded(tmp_path, "initialization", """
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    fan = fan_out if mode == "fan_in" else fan_in
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)""", "initialization.kaiming_uniform_")
    assert result.verdict == "wrong" and result.more == 0
    assert [(f.suspect, f.count) for f in result.failures] == [("the other fan", 10)], \
        [f.render("en") for f in result.failures]


def test_a_correct_tanh_derivative_over_a_wrong_tanh_names_tanh_first(tmp_path):
    folder = submission_with(tmp_path, "activations", """
def tanh(x):
    return 2 * torch.sigmoid(x) - 1


def tanh_derivative(x):
    return 1 - tanh(x) ** 2""")
    verdicts = grade(folder, tmp_path, ("activations.tanh", "activations.tanh_derivative"))
    derivative = ExerciseResult.from_json(verdicts["activations.tanh_derivative"])
    assert "activations.tanh" in derivative.ran, "the record of what ran knows tanh_derivative called tanh"
    first = derivative.failures[0]
    assert first.rule == Rule.DEPENDENCY and first.blames == "activations.tanh"
    assert first.render("en").startswith("activations.tanh_derivative calls your activations.tanh, which is not "
                                         "right yet: fix activations.tanh first")
    assert "activations.tanh" in first.render("zh") and CHINESE.search(first.render("zh"))
    assert not any("exp() overflowed" in said for said in derivative.said("en")), "no advice about an exp it has not"


def test_a_finished_kaiming_normal_over_a_stub_fan_names_the_stub_and_its_line(tmp_path):
    code = """
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    with torch.no_grad():
        return tensor.normal_(0.0, math.sqrt(2.0) / math.sqrt(fan))"""
    folder = submission_with(tmp_path, "initialization", code, base=EXERCISES)
    stub_line = next(i for i, line in enumerate((folder / "initialization.py").read_text().splitlines(), 1)
                     if "raise NotImplementedError" in line)  # the first stub is calculate_fan_in_and_fan_out's
    result = ExerciseResult.from_json(grade(folder, tmp_path, ("initialization.kaiming_normal_",))
                                      ["initialization.kaiming_normal_"])
    assert result.verdict == "not attempted"
    assert result.first.blames == "initialization.calculate_fan_in_and_fan_out"
    assert (result.first.where.file, result.first.where.line) == ("initialization.py", stub_line)
    checkout = tmp_path / "checkout" / "exercises"
    checkout.parent.mkdir()
    folder.rename(checkout)
    run = torchkata("check", "initialization.kaiming_normal_", "--exercises", str(checkout), "--lang", "en",
                    cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "calculate_fan_in_and_fan_out" in run.stdout and "which is still a stub" in run.stdout
    assert f"initialization.py:{stub_line}" in run.stdout, run.stdout
    assert "replace the `raise NotImplementedError`" not in run.stdout, "not told to open its own finished code"
    assert "calculate_fan_in_and_fan_out" in result.first.render("zh") and CHINESE.search(result.first.render("zh"))


def test_the_same_mistake_on_many_inputs_is_said_once(tmp_path):
    """softmax over dim 0, found on twenty inputs of other shapes and dtypes: one item, its count,
    said in either language from the same record."""
    folder = submission_with(tmp_path, "activations", """
def softmax(x, dim):
    e = torch.exp(x - x.amax(dim=0, keepdim=True))
    return e / e.sum(dim=0, keepdim=True)""")
    result = ExerciseResult.from_json(grade(folder, tmp_path, ("activations.softmax",))["activations.softmax"])
    over_dim_0 = [f for f in result.failures if f.suspect]
    assert len(over_dim_0) == 1 and over_dim_0[0].count >= 10
    for lang in ("en", "zh"):
        said = over_dim_0[0].render(lang)
        assert "dim 0" in said and bool(CHINESE.search(said)) == (lang == "zh")


def test_a_remembered_verdict_follows_the_code_that_ran_for_it(tmp_path):
    """capstone.fit trains the learner's own networks.Model, which fit's source never names:
    the record of what ran does, so breaking Model makes fit's remembered pass stale (and,
    the fingerprint being the same function of the code, a failure remembered on a broken
    Model goes stale when it is mended: tests/core/test_remembered_verdicts.py)."""
    import shutil

    from torchkata.learn.kata import Kata

    from .grading import SOLUTIONS

    folder = tmp_path / "exercises"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    kata = Kata(folder)
    fit, model = kata.pick("capstone.fit"), kata.pick("networks.Model")
    assert kata.grade([fit])[fit.id].verdict == "done"
    assert "networks.Model" in kata.known_state(fit).ran
    mended = (folder / "networks.py").read_text()
    broken = mended.replace("dim=1)", "dim=0)")
    assert broken != mended
    (folder / "networks.py").write_text(broken)
    assert kata.known_state(fit) is None, "a pass graded on the old Model is not shown"
    assert fit in kata.changed() and model in kata.changed()
    (folder / "networks.py").write_text(mended)
    assert kata.known_state(fit).verdict == "done", "the code it ran on is back: so is its verdict"
    # The other way: fit graded on the broken Model is wrong; once Model is mended, that is not shown.
    (folder / "networks.py").write_text(broken)
    assert kata.grade([fit])[fit.id].verdict == "wrong"
    (folder / "networks.py").write_text(mended)
    assert kata.known_state(fit) is None or kata.known_state(fit).verdict == "done", \
        "a failure graded on the broken Model is not shown once Model is mended"


def test_a_count_without_the_biases_is_one_item_on_every_model(tmp_path):
    result = graded(tmp_path, "networks", """
def count_parameters(model, trainable_only=False):
    return sum(p.numel() for name, p in model.named_parameters()
               if name.endswith("weight") and (p.requires_grad or not trainable_only))""", "networks.count_parameters")
    assert [(f.suspect, f.count) for f in result.failures] == [("the weights alone", 7)], result.said("en")
    assert "every bias is a parameter too" in result.said("en")[0] and CHINESE.search(result.said("zh")[0])
