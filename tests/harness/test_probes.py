"""The probes' own arithmetic: what they report is what torch's API would report."""

import pytest
import torch

from torchkata.engine.probes import backpropagate


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16], ids=str)
def test_backpropagate_gives_exactly_what_backward_with_a_gradient_gives(dtype):
    torch.manual_seed(0)
    x = torch.randn(5, 7, dtype=torch.float64).to(dtype)
    upstream = torch.randn(5, 7, dtype=torch.float64).to(dtype)
    ours, theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    backpropagate(torch.softmax(ours, 1) * ours.tanh(), upstream)
    (torch.softmax(theirs, 1) * theirs.tanh()).backward(upstream)
    assert torch.equal(ours.grad, theirs.grad)


def test_backpropagate_refuses_a_result_of_another_shape_as_backward_does():
    x = torch.randn(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: the result has shape \(4, 1\)"):
        backpropagate(x.sum(1, keepdim=True), torch.ones(4, 3))


def test_probe_build_on_meta_builds_on_meta_and_leaves_the_random_state_as_it_was():
    from torchkata.engine.probes import probe_build_on_meta
    from torchkata.engine.worker import Scene

    calls = []
    torch.manual_seed(3)
    state = torch.get_rng_state()
    built = probe_build_on_meta(Scene(lambda *a, **k: calls.append((a, k)) or "built", torch.device("cpu")), 2, x=1)
    assert built == "built" and calls == [((2,), {"x": 1, "device": torch.device("meta")})]
    assert torch.equal(torch.get_rng_state(), state)  # the warm-up drew nothing the learner's build would have
