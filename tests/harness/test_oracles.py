"""The exercise tests' stand-ins for torch.optim.SGD give exactly what torch.optim.SGD gives.

The tests grade with SGD's functional form (`torch_sgd_step`) and with `CourseSGD`, an SGD
whose step skips the wrapper that imports torch._dynamo: a learner does not wait a second
for an import no check needs. What they stand in for is the class itself, so each is
compared here with the class, bit for bit.
"""

import pytest
import torch
from torch import nn

from tests.exercises.test_training import CourseSGD, RecordingSGD, course_setup, torch_sgd_step

from .test_dynamo_marks import dynamo_imported_after


def params_with_grads(seed: int):
    torch.manual_seed(seed)
    params = [nn.Parameter(torch.randn(4, 3)), nn.Parameter(torch.randn(3)), nn.Parameter(torch.randn(2))]
    for p in params[:2]:  # the last has no gradient: SGD leaves it alone
        p.grad = torch.randn_like(p)
    return params


@pytest.mark.parametrize("lr", [0.5, 1e-3])
def test_torch_sgd_step_is_what_sgd_step_does(lr):
    ours, theirs = params_with_grads(0), params_with_grads(0)
    torch_sgd_step(ours, lr)
    torch.optim.SGD(theirs, lr=lr).step()
    for mine, torchs in zip(ours, theirs):
        assert torch.equal(mine, torchs)


@pytest.mark.parametrize("make", [lambda p: CourseSGD(p, lr=0.1), lambda p: RecordingSGD(p, 0.1, [])],
                         ids=["CourseSGD", "RecordingSGD"])
def test_course_sgd_trains_as_torch_sgd_trains(make):
    model, inputs, target, loss_fn, _ = course_setup("cpu")
    twin, *_ = course_setup("cpu")
    optimisers = [make(model.parameters()), torch.optim.SGD(twin.parameters(), lr=0.1)]
    for _step in range(3):
        for network, optimiser in zip([model, twin], optimisers):
            loss_fn(network(inputs), target).backward()
            optimiser.step()
            optimiser.zero_grad()
    for (name, mine), torchs in zip(model.state_dict().items(), twin.state_dict().values()):
        assert torch.equal(mine, torchs), name
    assert all(p.grad is None for p in model.parameters())


def test_course_sgd_steps_without_recording_a_graph_and_runs_a_closure():
    model, inputs, target, loss_fn, optimiser = course_setup("cpu")
    loss = optimiser.step(lambda: loss_fn(model(inputs), target).backward() or torch.tensor(1.0))
    assert loss.item() == 1.0
    assert all(p.grad_fn is None and p.requires_grad for p in model.parameters())


def test_course_sgd_keeps_torch_dynamo_out_of_a_fresh_process():
    """Why CourseSGD exists: in a process where nothing imported torch._dynamo, a training step
    with it imports none (torch.optim.SGD's step would)."""
    code = ("from tests.exercises.test_training import course_setup\n"
            "model, inputs, target, loss_fn, optimiser = course_setup('cpu')\n"
            "loss_fn(model(inputs), target).backward(); optimiser.step(); optimiser.zero_grad()\n")
    assert not dynamo_imported_after(code, settle=True)
