"""Specification of exercises/capstone.py: fit, the course's training loop with the learner's own pieces.

The oracle is torch itself: the same network from the same parameters, trained by
torch.optim.SGD with F.nll_loss(torch.log(probs), y), must give the same losses and the same
final parameters; and the loop must really teach the course's network a task that is not
linearly separable.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from torchkata.core.devices import same_device
from torchkata.core.failures import Failure, Rule
from torchkata.core.i18n import M_
from torchkata.engine.checks import assert_tensor, fail
from torchkata.engine.learner import NotAttempted

# The course's Model (3 -> 4 -> 4 -> 2, tanh, relu, softmax), built by the test.
from .test_networks import FunctionalCourseModel as CourseNet
from .test_training import torch_sgd_step


def task(n: int, seed: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard-normal points; class 1 where |x0| + 0.5 x1 > 0.8: not linearly separable."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x.to(device), ((x[:, 0].abs() + 0.5 * x[:, 1]) > 0.8).long().to(device)


def start(seed: int, device) -> dict:
    torch.manual_seed(seed)
    return {k: v.detach().clone() for k, v in CourseNet(device).state_dict().items()}


def probe_fit(scene, state, x, y, epochs, lr):
    """fit on a CourseNet with the given parameters: the losses, and the parameters after."""
    model = CourseNet(scene.device)
    model.load_state_dict(state)
    losses = scene.fn(model, x, y, epochs=epochs, lr=lr)
    return {"losses": losses, "types": sorted({type(v).__name__ for v in losses}) if isinstance(losses, list) else [],
            "state": {k: v.detach() for k, v in model.state_dict().items()}}


def probe_fit_own_model(scene, seed, x, y, epochs, lr):
    """fit on the learner's own networks.Model (from the same implementation), from a seeded start."""
    scene.fn(CourseNet(scene.device), x[:4], y[:4], epochs=1, lr=0.0)  # a fit that is a stub says so first
    try:
        build = scene.sibling("networks").Model
        torch.manual_seed(seed)
        model = build(device=scene.device)
    except NotImplementedError:
        return {"model": "stub"}
    except Exception as error:  # noqa: BLE001 - the learner's Model, broken: said, not a grading error
        return {"model": "raised", "error": f"{type(error).__name__}: {error}"}
    scene.fn(model, x, y, epochs=epochs, lr=lr)
    return {"model": None, "state": {k: v.detach() for k, v in model.state_dict().items()}}


def probe_pieces(scene) -> list[str]:
    """Which of fit's pieces (the learner's own, from the same implementation) are wrong, on
    one small case each; a stub is left to fit's own run, which names it. Only the learner's
    call is guarded: the test's own comparison raising is a grading error, not a wrong piece."""
    training, losses = scene.sibling("training"), scene.sibling("losses")
    z = torch.tensor([[0.5, -1.0], [2.0, 0.1]], device=scene.device)
    t = torch.tensor([0, 1], device=scene.device)
    expected_loss = F.cross_entropy(z, t)
    pieces = {  # name: (the learner's call on a parameter p, what must hold afterwards)
        "training.sgd_step": (lambda p: training.sgd_step([p], 0.5),
                              lambda p, _: torch.equal(p.detach(), torch.zeros_like(p))),
        "training.zero_grad": (lambda p: training.zero_grad([p]), lambda p, _: p.grad is None),
        "losses.cross_entropy": (lambda p: losses.cross_entropy(z, t),
                                 lambda p, got: isinstance(got, torch.Tensor) and got.shape == expected_loss.shape
                                 and same_device(got.device, expected_loss.device) and torch.allclose(got, expected_loss)),
    }
    wrong = []
    for name, (call, holds) in pieces.items():
        p = nn.Parameter(torch.ones(3, device=scene.device))
        p.grad = torch.full((3,), 2.0, device=scene.device)
        try:
            got = call(p)
        except NotImplementedError:
            continue
        except Exception:  # noqa: BLE001 - a piece that raises is a wrong piece
            wrong.append(name)
            continue
        if not holds(p, got):
            wrong.append(name)
    return wrong


def torch_fit(state, x, y, epochs, lr, device, zero_grad=True) -> tuple[list[float], dict]:
    """The oracle: the losses and final parameters of torch's SGD from `state`; with
    zero_grad=False, those of a loop that never zeroes its gradients (they add up)."""
    model = CourseNet(device)
    model.load_state_dict(state)
    params = list(model.parameters())
    history = []
    for _epoch in range(epochs):
        loss = F.nll_loss(torch.log(model(x)), y)
        loss.backward()
        torch_sgd_step(params, lr)  # torch.optim.SGD(params, lr).step()
        if zero_grad:
            for p in params:  # torch.optim.SGD's zero_grad()
                p.grad = None
        history.append(loss.item())
    return history, model.state_dict()


def double_softmax_loss(state, x, y, device) -> float:
    """The first loss of a fit that hands cross_entropy the probabilities themselves."""
    model = CourseNet(device)
    model.load_state_dict(state)
    with torch.no_grad():
        return F.cross_entropy(model(x), y).item()


@pytest.mark.exercise("capstone.fit")
class TestFit:
    def test_trajectory_matches_torch_sgd(self, learner, device):
        wrong = learner.run(probe_pieces)
        if wrong:
            fail(M_("fit uses your {pieces}, not right yet: fix {first} first (torchkata check {first}); fit cannot be "
                    "right before the pieces it is built from are.", pieces=", ".join(wrong), first=wrong[0]),
                 Rule.DEPENDENCY, blames=wrong[0])
        state, (x, y) = start(0, device), task(256, 1, device)
        report = learner.run(probe_fit, state, x, y, 100, 0.5)
        expected, final = torch_fit(state, x, y, 100, 0.5, device)
        losses = report["losses"]
        if not isinstance(losses, list) or report["types"] != ["float"]:
            fail(M_("fit returned {type} of {types}: return a list of Python floats (loss.item() at each epoch).",
                   type=type(losses).__name__, types=report["types"]))
        if len(losses) != 100:
            fail(M_("fit(..., epochs=100) returned {count} losses: one per epoch, recorded before the update.",
                   count=len(losses)))
        if abs(losses[0] - expected[0]) > 1e-4:
            why = (M_(" That is the loss of a softmax applied twice: the model already ends in softmax, so pass "
                     "torch.log(probs) to cross_entropy, not probs.")
                   if abs(losses[0] - double_softmax_loss(state, x, y, device)) < 1e-4 else
                   M_(" Compute the loss as losses.cross_entropy(torch.log(model(x)), y), before the update."))
            fail(M_("fit's first loss is {got:.5f}, expected {expected:.5f}.{why}", got=losses[0], expected=expected[0],
                   why=why))
        # zero_grad after the step (the course) or before the forward (PyTorch's tutorials) train the same:
        # only the losses and the parameters are graded, not the gradients left at the end.
        for epoch, (got, want) in enumerate(zip(losses, expected)):
            if abs(got - want) > 1e-4 * max(1.0, abs(want)):
                never_zeroed = torch_fit(state, x, y, epoch + 1, 0.5, device, zero_grad=False)[0][epoch]
                why = M_("the gradients add up from epoch to epoch: call training.zero_grad(model.parameters()) once "
                         "per epoch, after sgd_step or before the forward pass.") \
                    if abs(got - never_zeroed) <= 1e-4 * max(1.0, abs(want)) else \
                    M_("each epoch is forward, loss, backward, sgd_step, and zero_grad once (after the step or before "
                       "the forward).")
                fail(M_("fit's loss at epoch {epoch} is {got:.6f}, torch.optim.SGD's is {want:.6f} (the first "
                       "{agree} agree): {why}", epoch=epoch + 1, got=got, want=want, agree=epoch, why=why))
        for name, want in final.items():
            assert_tensor(report["state"][name], want, call=M_("fit: {name} after 100 epochs", name=name), atol=1e-5,
                          rtol=1e-4,
                          rule=M_("After fit, the parameters are those torch.optim.SGD reaches from the same start."))

    def test_learns_a_task_that_is_not_linearly_separable(self, learner, device):
        """End to end, with the learner's own Model: the pieces of the whole course together."""
        x, y = task(512, 4, device)
        report = learner.run(probe_fit_own_model, 3, x, y, 300, 0.5)
        if report["model"] == "stub":  # not fit's fault: fit is not attempted until Model is
            raise NotAttempted(Failure(Rule.NOT_ATTEMPTED, M_(
                "fit is tested end to end on your own networks.Model, which is still a stub: finish networks.Model "
                "first (torchkata check networks.Model)."), blames="networks.Model"))
        if report["model"] == "raised":
            fail(M_("fit is tested end to end on your own networks.Model, which raised {error}: finish "
                    "networks.Model first (torchkata check networks.Model).", error=report["error"]),
                 Rule.DEPENDENCY, blames="networks.Model")
        model = CourseNet(device)
        model.load_state_dict(report["state"])
        held_out_x, held_out_y = task(2048, 5, device)
        with torch.no_grad():
            accuracy = (model(held_out_x).argmax(1) == held_out_y).double().mean().item()
        if accuracy < 0.95:
            fail(M_("after fit (300 epochs, lr 0.5) your networks.Model classifies {accuracy:.1%} of 2048 held-out "
                   "points right, expected at least 95%: check that each epoch runs forward, loss, backward, "
                   "sgd_step and zero_grad, and check networks.Model's layers and initialisation against its own "
                   "exercise.", accuracy=accuracy))

    def test_same_start_same_losses(self, learner, device):
        state, (x, y) = start(6, device), task(128, 7, device)
        first = learner.run(probe_fit, state, x, y, 20, 0.5)["losses"]
        again = learner.run(probe_fit, state, x, y, 20, 0.5)["losses"]
        # On cuda some backward kernels add in a varying order, so the repeat agrees to rounding only.
        tolerance = 0.0 if device.type == "cpu" else 1e-5
        if len(first) != len(again) or any(abs(a - b) > tolerance * max(1.0, abs(b)) for a, b in zip(first, again)):
            fail(M_("fit gave different losses from the same start on the same data: nothing in it may be random."))
