"""The statistical checks are calibrated: correct samples pass whatever the seed, and the
mistakes they exist for fail, at the smallest sample sizes the suite uses.

A test's seed is fixed, so the reference always draws the same numbers; a correct learner
who draws differently gets other numbers. These tests draw many times with other seeds to
show the tolerances leave no such learner at the edge.
"""

import math

import pytest
import torch

from torchkata.engine.checks import assert_normal, assert_uniform

SEEDS = range(300)
# The smallest pooled samples in the suite: Model().linear1 (12 weights x 100 models) and
# the last layer of build_sequential (8 weights x 100 models).
SMALL_NORMAL, SMALL_UNIFORM = 1200, 800
FAILED = pytest.fail.Exception


def draws(seed: int, n: int, kind: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if kind == "normal":
        return torch.randn(n, generator=generator, dtype=torch.float64)
    return torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1  # U(-1, 1)


def test_normal_samples_pass_for_every_seed():
    for seed in SEEDS:
        assert_normal(draws(seed, SMALL_NORMAL, "normal") * 0.5, mean=0.0, std=0.5, call=f"seed {seed}")


def test_uniform_samples_pass_for_every_seed():
    for seed in SEEDS:
        assert_uniform(draws(seed, SMALL_UNIFORM, "uniform") * 0.9, low=-0.9, high=0.9, call=f"seed {seed}")


def test_a_uniform_of_the_right_std_never_passes_as_normal():
    for seed in SEEDS:
        sample = draws(seed, SMALL_NORMAL, "uniform") * math.sqrt(3) * 0.5  # std 0.5, but flat
        with pytest.raises(FAILED, match="looks uniform"):
            assert_normal(sample, mean=0.0, std=0.5, call=f"seed {seed}")


def test_a_normal_of_the_right_std_never_passes_as_uniform():
    for seed in SEEDS:
        sample = draws(seed, SMALL_UNIFORM, "normal") * 0.9 / math.sqrt(3)  # the std of U(-0.9, 0.9)
        with pytest.raises(FAILED):
            assert_uniform(sample, low=-0.9, high=0.9, call=f"seed {seed}")


@pytest.mark.parametrize("ratio", [0.7, 1.3])
def test_a_scale_off_by_30_percent_never_passes(ratio):
    # The closest wrong scale the pooled tests must tell: Xavier where Kaiming belongs, 0.71.
    for seed in SEEDS:
        with pytest.raises(FAILED, match="standard deviation"):
            assert_normal(draws(seed, SMALL_NORMAL, "normal") * 0.5 * ratio, mean=0.0, std=0.5, call=f"seed {seed}")


def test_the_check_leaves_the_sample_as_it_was():
    sample = draws(0, SMALL_NORMAL, "normal")
    before = sample.clone()
    assert_normal(sample, mean=0.0, std=1.0, call="x")
    assert torch.equal(sample, before)


def test_a_failure_says_the_rule_of_the_contract_first_and_once():
    from torchkata.engine.checks import assert_tensor

    with pytest.raises(FAILED) as failure:
        assert_tensor(torch.full((3,), 0.01), torch.full((3,), 0.1), call="init_params(layer): the bias",
                      rule="After init_params, every nn.Linear bias must be 0.1.")
    assert failure.value.msg.startswith("After init_params, every nn.Linear bias must be 0.1. init_params(layer): "
                                        "the bias: 3 of 3 values are wrong")
    assert failure.value.__context__ is None, "the rule's failure must not chain the plain one (shown twice)"
    assert_tensor(torch.ones(2), torch.ones(2), call="f(x)", rule="never said")  # a pass says nothing
