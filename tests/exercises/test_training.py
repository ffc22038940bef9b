"""Specification of exercises/training.py, graded against torch.optim.SGD and the course's worked example."""

import inspect

import pytest
import torch
from torch import nn
from torch.optim.sgd import sgd

from torchkata.core.i18n import M_
from torchkata.engine.checks import assert_tensor, fail

COURSE_LOSS = 839.4167  # the course's printed loss for its worked example (section 4.4)


def make_params(values, grads, device):
    params = [nn.Parameter(v.clone().to(device)) for v in values]
    for p, g in zip(params, grads):
        p.grad = None if g is None else g.clone().to(device)
    return params


def probe_optimizer_step(scene, values, grads, as_generator, *args):
    """Call sgd_step / zero_grad on real parameters and report what became of them."""
    params = make_params(values, grads, scene.device)
    originals = list(params)
    scene.fn((p for p in params) if as_generator else params, *args)
    return {
        "values": [p.detach() for p in originals],
        "grads": [p.grad for p in originals],
        "history": [p.grad_fn is not None for p in originals],
        "requires_grad": [p.requires_grad for p in originals],
    }


def example_params(rand):
    values = [rand(3, 4), rand(4), rand(2, 2)]
    grads = [rand(3, 4), None, rand(2, 2)]
    return values, grads


def torch_sgd_step(params, lr: float) -> None:
    """The oracle: what `torch.optim.SGD(params, lr).step()` does, through the functional form
    the class calls (`torch.optim.sgd.sgd`): the same arithmetic, without the class's first
    call importing torch._dynamo (about a second of every check)."""
    with_grad = [p for p in params if p.grad is not None]
    with torch.no_grad():
        sgd(with_grad, [p.grad for p in with_grad], [None] * len(with_grad), weight_decay=0.0, momentum=0.0, lr=lr,
            dampening=0.0, nesterov=False, maximize=False)


@pytest.mark.exercise("training.sgd_step")
class TestSgdStep:
    @pytest.mark.parametrize("as_generator", [False, True], ids=["list", "generator"])
    @pytest.mark.parametrize("lr", [0.1, 0.01])
    def test_matches_torch_optim_sgd(self, learner, rand, device, as_generator, lr):
        values, grads = example_params(rand)
        report = learner.run(probe_optimizer_step, values, grads, as_generator, lr)
        expected = make_params(values, grads, device)
        torch_sgd_step(expected, lr)
        call = (M_("sgd_step(a generator of 3 parameters, lr={lr})", lr=lr) if as_generator else
                M_("sgd_step(a list of 3 parameters, lr={lr})", lr=lr))
        if any(report["history"]):
            fail(M_("{call} was recorded by autograd: update the parameters under torch.no_grad().", call=call))
        if not all(report["requires_grad"]):
            fail(M_("{call} switched off requires_grad on a parameter: update p in place under torch.no_grad().",
                   call=call))
        for i, (got, want, before) in enumerate(zip(report["values"], expected, values)):
            if grads[i] is not None and torch.equal(got.cpu(), before.cpu()):
                fail(M_("{call} left parameter {i} unchanged. `p = p - lr * p.grad` only rebinds a local name: "
                       "change p in place (p -= lr * p.grad, or p.sub_(...)) under torch.no_grad().", call=call, i=i))
            if grads[i] is None and not torch.equal(got.cpu(), before.cpu()):
                fail(M_("{call} changed parameter {i}, whose grad is None: skip parameters without a gradient.",
                       call=call, i=i))
            if grads[i] is not None and torch.allclose(got.cpu(), (before + lr * grads[i]).cpu()):
                fail(M_("{call} moved parameter {i} along its gradient: descent goes against it, p - lr * grad.",
                       call=call, i=i))
            assert_tensor(got, want.detach(), call=M_("{call}: parameter {i}", call=call, i=i),
                          rule=M_("After sgd_step every parameter with a gradient is p - lr * p.grad, exactly as "
                                 "torch.optim.SGD(params, lr).step() leaves it."))


@pytest.mark.exercise("training.zero_grad")
class TestZeroGrad:
    @pytest.mark.parametrize("as_generator", [False, True], ids=["list", "generator"])
    def test_sets_every_grad_to_none(self, learner, rand, as_generator):
        values, grads = example_params(rand)
        report = learner.run(probe_optimizer_step, values, grads, as_generator)
        for i, grad in enumerate(report["grads"]):
            if isinstance(grad, torch.Tensor) and not grad.any():
                fail(M_("zero_grad left parameter {i} with a grad of zeros: set p.grad = None instead "
                       "(as optimizer.zero_grad() does by default; it frees the memory too).", i=i))
            if grad is not None:
                fail(M_("zero_grad left parameter {i} with its gradient: set p.grad = None for every parameter.", i=i))

    def test_values_untouched(self, learner, rand):
        values, grads = example_params(rand)
        report = learner.run(probe_optimizer_step, values, grads, False)
        for i, (got, before) in enumerate(zip(report["values"], values)):
            assert_tensor(got, before, call=M_("zero_grad: parameter {i}'s values", i=i),
                          rule=M_("zero_grad clears gradients only: the parameters' values must not change."))


class CourseModel(nn.Module):
    """The course's worked example: one Linear(5, 3) with fixed weights."""

    def __init__(self, device=None):
        super().__init__()
        self.linear = nn.Linear(5, 3, device=device)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9],
                                                   [1.0, 1.1, 1.2], [1.3, 1.4, 1.5]]).T)
            self.linear.bias.copy_(torch.tensor([1.0, 2.0, 3.0]))

    def forward(self, x):
        return self.linear(x)


class CourseSGD(torch.optim.SGD):
    """torch.optim.SGD, each step running SGD's own code (`inspect.unwrap`) inside the one
    thing its wrapper does outside torch.compile: gradient tracking off. The wrapper also
    imports torch._dynamo on every step, about a second on the first, which a learner would
    wait for in every check of train_step."""

    def step(self, closure=None):
        with torch.no_grad():
            return inspect.unwrap(torch.optim.SGD.step)(self, closure)


class RecordingSGD(CourseSGD):
    """torch's SGD that notes, in `calls`, each zero_grad and each step (with whether any
    parameter had a gradient then): what a wrong train_step did, in order."""

    def __init__(self, params, lr, calls):
        super().__init__(params, lr=lr)
        self.calls = calls

    def zero_grad(self, set_to_none=True):
        self.calls.append("zero_grad")
        super().zero_grad(set_to_none)

    def step(self, closure=None):
        had = any(p.grad is not None and bool(p.grad.any()) for g in self.param_groups for p in g["params"])
        self.calls.append("step with gradients" if had else "step without gradients")
        return super().step(closure)


def course_setup(device, calls=None):
    model = CourseModel(device)
    inputs = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], dtype=torch.float32, device=device)
    target = torch.zeros(2, 3, device=device)
    optimizer = CourseSGD(model.parameters(), lr=0.1) if calls is None else \
        RecordingSGD(model.parameters(), 0.1, calls)
    return model, inputs, target, nn.MSELoss(), optimizer


def probe_course_steps(scene, steps):
    calls = []
    model, inputs, target, loss_fn, optimizer = course_setup(scene.device, calls)
    losses = [scene.fn(model, inputs, target, loss_fn, optimizer) for _ in range(steps)]
    return {"losses": losses, "loss_types": [type(v).__name__ for v in losses], "calls": calls,
            "state": model.state_dict(), "grads": [p.grad for p in model.parameters()]}


class OrderedLoss(nn.Module):
    """An MSE that notes which argument came where: the prediction has a graph, the target not."""

    def __init__(self, order: list[str]):
        super().__init__()
        self.order = order

    def forward(self, first, second):
        self.order.append("prediction, target" if first.requires_grad and not second.requires_grad else
                          "target, prediction" if second.requires_grad and not first.requires_grad else
                          "two tensors that are not (prediction, target)")
        return ((first - second) ** 2).mean()


def probe_ordered_loss(scene):
    model, inputs, target, _, optimizer = course_setup(scene.device)
    order = []
    scene.fn(model, inputs, target, OrderedLoss(order), optimizer)
    return {"order": order}


def why_nothing_changed(calls, grads_after) -> str:
    """What a train_step that left the weights as they were did wrong, from its optimizer
    calls and the gradients it left behind."""
    if not any(call.startswith("step") for call in calls):
        return M_("it never called optimizer.step(), which is what updates the weights.")
    if any(g is not None for g in grads_after):  # backward did run, after the step
        return M_("it called optimizer.step() before loss.backward(), so step() found no gradients yet. The order is: "
                 "forward, loss, loss.backward(), optimizer.step(), optimizer.zero_grad().")
    if "step with gradients" not in calls and "zero_grad" in calls[:calls.index("step without gradients")]:
        return M_("it called optimizer.zero_grad() between loss.backward() and optimizer.step(), so step() found no "
                 "gradients to apply: zero them after the step.")
    return M_("optimizer.step() found no gradients: call loss.backward() before optimizer.step().")


def torch_course_steps(device, steps):
    model, inputs, target, loss_fn, optimizer = course_setup(device)
    losses = []
    for _step in range(steps):
        loss = loss_fn(model(inputs), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses, model.state_dict()


@pytest.mark.exercise("training.train_step")
class TestTrainStep:
    def test_course_example_loss(self, learner):
        report = learner.run(probe_course_steps, 1)
        loss = report["losses"][0]
        if report["loss_types"][0] != "float":
            fail(M_("train_step returned a {type}; return the loss as a Python float (loss.item()).",
                   type=report["loss_types"][0]))
        if abs(loss - COURSE_LOSS) > 1e-3:
            fail(M_("train_step on the course's example returned the loss {got:.4f}, expected {expected}: "
                   "return the loss computed in this step, before the update.", got=loss, expected=COURSE_LOSS))

    def test_course_example_weights_after_one_step(self, learner, device):
        report = learner.run(probe_course_steps, 1)
        expected = torch_course_steps(device, 1)[1]
        start = CourseModel(device).state_dict()
        for name, want in expected.items():
            got = report["state"][name]
            if torch.equal(got.cpu(), start[name].cpu()):
                fail(M_("train_step did not change {name}: {why}", name=name,
                       why=why_nothing_changed(report["calls"], report["grads"])))
            assert_tensor(got, want, call=M_("train_step on the course's example: {name} after one step", name=name))

    def test_gradients_cleared_after_the_step(self, learner):
        report = learner.run(probe_course_steps, 1)
        leftover = [g for g in report["grads"] if g is not None and g.any()]
        if leftover:
            calls = report["calls"]
            zeroed_first = "zero_grad" in calls and "step with gradients" in calls and \
                calls.index("zero_grad") < calls.index("step with gradients")
            fail(M_("train_step left gradients on the parameters when it returned; its contract is that no gradient "
                    "is left after the step: call optimizer.zero_grad() after optimizer.step().{likely}",
                    likely=M_(" You zeroed them before the forward pass, the order of PyTorch's tutorials: it trains "
                              "the same, but this exercise follows the course's order, which leaves nothing behind.")
                    if zeroed_first else ""))

    def test_the_loss_is_called_with_the_prediction_first(self, learner, device):
        """loss_fn(prediction, target), in that order: nn.MSELoss cannot tell, most losses can."""
        report = learner.run(probe_ordered_loss)
        if report["order"] != ["prediction, target"]:
            fail(M_("train_step called loss_fn with {order}: call loss_fn(prediction, target), the order of every "
                    "torch loss (nn.MSELoss is symmetric, so the course's example cannot tell; nn.BCELoss, "
                    "nn.CrossEntropyLoss and most others are not).", order=" / ".join(report["order"]) or "nothing"))

    def test_three_steps_match_torch(self, learner, device):
        report = learner.run(probe_course_steps, 3)
        losses, expected = torch_course_steps(device, 3)
        for i, (got, want) in enumerate(zip(report["losses"], losses)):
            if not isinstance(got, float):
                fail(M_("train_step, step {step} of 3: returned a {type}; return the loss as a Python "
                       "float (loss.item()).", step=i + 1, type=type(got).__name__))
            if abs(got - want) > 1e-3 * max(1.0, abs(want)):
                why = (M_("gradients are accumulating: zero them after every step (optimizer.zero_grad()).")
                       if "zero_grad" not in report["calls"] else
                       M_("the weights did not move as torch's SGD moves them: {why}",
                         why=why_nothing_changed(report["calls"], report["grads"]))
                       if "step with gradients" not in report["calls"] else
                       M_("check that each step does forward, loss, backward, step, then zero_grad, in that order."))
                fail(M_("train_step, step {step} of 3: returned loss {got!r}, expected {expected:.4f}: {why}",
                       step=i + 1, got=got, expected=want, why=why))
        for name, want in expected.items():
            assert_tensor(report["state"][name], want, call=M_("train_step: {name} after three steps", name=name))
