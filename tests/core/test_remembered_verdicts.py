"""What a remembered verdict depends on: the code it was graded on, and nothing else.

`source.exercise_hash` is the fingerprint a stored verdict is kept under; a verdict is shown
again only while the fingerprint is the same. These tests write small modules and compare
fingerprints: no grading, no torch.
"""

import pytest

from torchkata.core.manifest import load
from torchkata.core.source import exercise_hash

KAIMING = load().get("initialization.kaiming_normal_")
TANH_DERIVATIVE = load().get("activations.tanh_derivative")

INITIALIZATION = '''\
import math

SCALE = 2.0


def _helper(n):
    return n * SCALE


def calculate_fan_in_and_fan_out(tensor):
    return tensor.shape[1], tensor.shape[0]


def kaiming_normal_(tensor):
    fan_in, _ = calculate_fan_in_and_fan_out(tensor)
    return tensor.normal_(0, math.sqrt(_helper(1) / fan_in))


def xavier_normal_(tensor):
    return tensor
'''


def fingerprint(folder, text, exercise=KAIMING, ran=(), module="initialization"):
    (folder / f"{module}.py").write_text(text)
    return exercise_hash(folder, exercise, ran)


@pytest.mark.parametrize(("edit", "stale"), [
    (("return tensor.shape[1], tensor.shape[0]", "return tensor.shape[0], tensor.shape[1]"), True),  # a function it calls
    (("return n * SCALE", "return n * SCALE * 2"), True),          # a module-level helper it calls
    (("SCALE = 2.0", "SCALE = 3.0"), True),                         # a constant
    (("import math", "import math as m\nmath = m"), True),          # the imports
    (("def xavier_normal_(tensor):\n    return tensor", "def xavier_normal_(tensor):\n    return None"), False),
    (("    return tensor.normal_(", "    # a comment\n    return tensor.normal_("), True),  # its own text
])
def test_a_verdict_is_stale_exactly_when_code_it_uses_changes(tmp_path, edit, stale):
    before = fingerprint(tmp_path, INITIALIZATION)
    after = fingerprint(tmp_path, INITIALIZATION.replace(*edit))
    assert INITIALIZATION.replace(*edit) != INITIALIZATION
    assert (before != after) == stale


def test_what_ran_while_grading_counts_however_it_was_reached(tmp_path):
    """capstone.fit trains networks.Model, which its source never names: the record of what ran does."""
    activations = "def tanh(x):\n    return x\n\n\ndef tanh_derivative(x):\n    return 1 - globals()['tanh'](x) ** 2\n"
    plain = fingerprint(tmp_path, activations, TANH_DERIVATIVE, module="activations")
    tracked = fingerprint(tmp_path, activations, TANH_DERIVATIVE, ran=["activations.tanh"], module="activations")
    edited = activations.replace("return x\n", "return -x\n", 1)
    assert fingerprint(tmp_path, edited, TANH_DERIVATIVE, module="activations") == plain, \
        "the source alone does not show the call"
    assert fingerprint(tmp_path, edited, TANH_DERIVATIVE, ran=["activations.tanh"], module="activations") != tracked


def test_a_function_in_another_module_that_ran_counts(tmp_path):
    (tmp_path / "networks.py").write_text("class Model:\n    pass\n")
    before = fingerprint(tmp_path, INITIALIZATION, ran=["networks.Model"])
    (tmp_path / "networks.py").write_text("class Model:\n    x = 1\n")
    assert fingerprint(tmp_path, INITIALIZATION, ran=["networks.Model"]) != before
