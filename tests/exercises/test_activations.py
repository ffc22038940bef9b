"""Specification of exercises/activations.py, graded against torch's own functions."""

import pytest
import torch

from torchkata.core.i18n import M_
from torchkata.engine.checks import Suspect, assert_tensor, assert_unchanged, check_suspects, fail
from torchkata.engine.probes import backpropagate, probe_gradient, probe_inputs_after_call, probe_step_gradient

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
SHAPES = [(), (7,), (4, 5), (2, 3, 4)]
LARGE = torch.tensor([-1e4, -1e3, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1e3, 1e4])


def autograd_of(fn, x):
    """The oracle for a derivative: what autograd says f'(x) is."""
    xc = x.detach().clone().requires_grad_(True)
    fn(xc).sum().backward()
    return xc.grad


def second_derivative(fn, x, upstream):
    """d/dx of (f'(x) . upstream), via autograd of autograd."""
    xc = x.detach().clone().requires_grad_(True)
    (first,) = torch.autograd.grad(fn(xc).sum(), xc, create_graph=True)
    backpropagate(first, upstream)
    return xc.grad


class ElementwiseContract:
    """The rules every elementwise activation (and derivative) follows.

    A subclass sets `oracle` (torch's answer) and `formula` (the rule in words, said first
    when the values are wrong), and may add `suspects` (known mistakes).
    """

    formula = ""
    differentiable = True
    # Closed-form derivatives such as 1 - tanh(x)^2 cancel near saturation: in half types
    # the rounding of tanh(x) alone moves the result by ~2 eps, so allow 4 eps there.
    half_atol_in_eps = None

    @staticmethod
    def oracle(x):
        raise NotImplementedError

    def suspects(self, x):
        return []

    @pytest.mark.parametrize("shape", SHAPES, ids=str)
    @pytest.mark.parametrize("dtype", DTYPES, ids=str)
    def test_matches_torch(self, learner, rand, shape, dtype):
        x = rand(*shape, dtype=dtype, scale=3.0)
        atol = None
        if self.half_atol_in_eps and dtype in (torch.float16, torch.bfloat16):
            atol = self.half_atol_in_eps * torch.finfo(dtype).eps
        assert_tensor(learner(x), self.oracle(x), call=learner.call_text(x), input=x, suspects=self.suspects(x), atol=atol,
                      rule=self.formula)

    @pytest.mark.lesson
    def test_large_inputs_stay_finite(self, learner, device):
        x = LARGE.to(device)
        assert_tensor(learner(x), self.oracle(x), call=learner.call_text(x), input=x, suspects=self.suspects(x),
                      rule=M_("{formula} This holds for large |x| too.", formula=self.formula))

    def test_input_not_modified(self, learner, rand):
        x = rand(4, 5)
        report = learner.run(probe_inputs_after_call, x)
        assert_unchanged(x, report["args_after"][0], call=learner.call_text(x))

    def test_gradient_matches_torch(self, learner, rand):
        x, upstream = rand(3, 4, dtype=torch.float64, scale=2.0), rand(3, 4, dtype=torch.float64)
        report = learner.run(probe_gradient if self.differentiable else probe_step_gradient, x, upstream)
        expected = self.expected_gradient(x, upstream)
        if "out" in report:  # not a tensor at all: said as every other test says it, not as a gradient problem
            check_suspects(report["out"], self.oracle(x), (), call=learner.call_text(x))
        if not report["connected"]:
            if self.differentiable:
                fail(M_("{call} returned a tensor that autograd cannot differentiate: build it from torch operations "
                       "on x (no .detach(), .item(), .numpy() or torch.tensor(...) on x).", call=learner.call_text(x)))
            return
        assert_tensor(report["grad"], expected, call=M_("the gradient of {call}", call=learner.call_text(x)), input=x)

    def expected_gradient(self, x, upstream):
        xc = x.detach().clone().requires_grad_(True)
        backpropagate(self.oracle(xc), upstream)
        return xc.grad


class FiniteGradientAtLargeInputs:
    """The course differentiates sigmoid and tanh with autograd (section 1), so their
    gradient is part of the contract: finite, and torch's, at |x| up to 1e4. Autograd
    differentiates every operation written, a branch that torch.where drops included."""

    @pytest.mark.lesson
    def test_gradient_at_large_inputs_is_finite(self, learner, device):
        x = LARGE[LARGE != 0].to(device)  # the slope at exactly 0 is not part of this lesson
        upstream = torch.ones_like(x)
        report = learner.run(probe_gradient, x, upstream)
        if not report["connected"]:
            return  # not a tensor, or no graph: test_gradient_matches_torch says so
        expected = self.expected_gradient(x, upstream)
        call = M_("the gradient of {call}", call=learner.call_text(x))
        grad = report["grad"]
        if isinstance(grad, torch.Tensor) and grad.shape == x.shape and not torch.isfinite(grad).all():
            bad = x[~torch.isfinite(grad)].tolist()
            fail(M_("{call} is NaN or inf at x = {where}, where torch's is finite (about 0). Autograd differentiates "
                    "every operation you wrote, and one of them overflows there: exp() of a large number gives inf, "
                    "and inf times the 0 that follows it is NaN. torch.where does not help: it still differentiates "
                    "the branch it drops, and 0 x NaN is NaN. Make every intermediate finite for every input, e.g. "
                    "take exp() only of -|x|, and pick the formula by the sign of x.",
                    call=call, where=", ".join(f"{v:g}" for v in bad[:4])))
        assert_tensor(grad, expected, call=call, input=x)


@pytest.mark.exercise("activations.sigmoid")
class TestSigmoid(ElementwiseContract, FiniteGradientAtLargeInputs):
    formula = M_("sigmoid(x) = 1 / (1 + exp(-x)), for every element.")
    oracle = staticmethod(torch.sigmoid)

    def suspects(self, x):
        return [Suspect("1 / (1 + e^x)", torch.sigmoid(-x),
                        M_("the sign in the exponent is flipped; s(x) = 1 / (1 + e^(-x)).")),
                Suspect("e^(-x) / (1 + e^(-x))", 1 - torch.sigmoid(x), M_("that is 1 - s(x); s(x) = 1 / (1 + e^(-x))."))]


@pytest.mark.exercise("activations.sigmoid_derivative")
class TestSigmoidDerivative(ElementwiseContract):
    formula = M_("sigmoid_derivative(x) = sigmoid(x) * (1 - sigmoid(x)), for every element.")
    half_atol_in_eps = 4
    @staticmethod
    def oracle(x):
        return autograd_of(torch.sigmoid, x.double()).to(x.dtype)

    def expected_gradient(self, x, upstream):
        return second_derivative(torch.sigmoid, x, upstream)

    def suspects(self, x):
        s = torch.sigmoid(x)
        return [Suspect(M_("sigmoid(x) itself"), s, M_("that is the function, not its slope: s'(x) = s(x) * (1 - s(x)).")),
                Suspect("s(x) * (1 + s(x))", s * (1 + s), M_("the sign is wrong: s'(x) = s(x) * (1 - s(x)).")),
                Suspect("x * (1 - x)", x * (1 - x),
                        M_("apply the formula to s(x), not to x: s = sigmoid(x); s * (1 - s)."))]


@pytest.mark.exercise("activations.tanh")
class TestTanh(ElementwiseContract, FiniteGradientAtLargeInputs):
    formula = M_("tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), for every element.")
    oracle = staticmethod(torch.tanh)

    def suspects(self, x):
        return [Suspect("sigmoid(x)", torch.sigmoid(x), M_("tanh is centred on 0: tanh(x) = 2 * sigmoid(2x) - 1.")),
                Suspect("2 * sigmoid(x) - 1", 2 * torch.sigmoid(x) - 1,
                        M_("the argument must be doubled too: 2 * sigmoid(2x) - 1."))]


@pytest.mark.exercise("activations.tanh_derivative")
class TestTanhDerivative(ElementwiseContract):
    formula = M_("tanh_derivative(x) = 1 - tanh(x)**2, for every element.")
    half_atol_in_eps = 4
    @staticmethod
    def oracle(x):
        return autograd_of(torch.tanh, x.double()).to(x.dtype)

    def expected_gradient(self, x, upstream):
        return second_derivative(torch.tanh, x, upstream)

    def suspects(self, x):
        t = torch.tanh(x)
        return [Suspect("1 - tanh(x)", 1 - t, M_("the tanh must be squared: 1 - tanh(x)^2.")),
                Suspect("tanh(x)^2", t * t, M_("that is tanh^2 itself; the slope is 1 - tanh(x)^2.")),
                Suspect("1 - x^2", 1 - x * x, M_("apply the formula to tanh(x), not to x."))]


@pytest.mark.exercise("activations.relu")
class TestRelu(ElementwiseContract):
    formula = M_("relu(x) = max(x, 0), for every element.")
    oracle = staticmethod(torch.relu)

    def suspects(self, x):
        return [Suspect("min(0, x)", torch.clamp(x, max=0), M_("relu keeps the positive part: max(0, x).")),
                Suspect("|x|", x.abs(), M_("negative inputs must become 0, not positive."))]


@pytest.mark.exercise("activations.relu_derivative")
class TestReluDerivative(ElementwiseContract):
    formula = M_("relu_derivative(x) is 1 where x > 0 and 0 elsewhere (0 at x = 0 too).")
    differentiable = False  # a step function: autograd gives 0 or no graph, both are right

    @staticmethod
    def oracle(x):
        return autograd_of(torch.relu, x.double()).to(x.dtype)

    def expected_gradient(self, x, upstream):
        return torch.zeros_like(x)

    def suspects(self, x):
        return [Suspect(M_("1 where x >= 0"), (x >= 0).to(x.dtype),
                        M_("at exactly x = 0 the slope is 0, as autograd has it: use x > 0.")),
                Suspect("relu(x)", torch.relu(x), M_("that is the function, not its slope: 1 where x > 0, else 0."))]

    def test_zero_has_slope_zero(self, learner, device):
        x = torch.tensor([-2.0, -0.0, 0.0, 3.0], device=device)
        assert_tensor(learner(x), self.oracle(x), call=learner.call_text(x), input=x, suspects=self.suspects(x),
                      rule=M_("At x = 0 relu's slope is 0, as torch takes it."))


@pytest.mark.exercise("activations.softmax")
class TestSoftmax:
    FORMULA = M_("softmax(x, dim) = exp(x) / exp(x).sum(dim, keepdim=True), slice by slice along dim.")
    CASES = [((5,), 0), ((5,), -1), ((4, 5), 1), ((4, 5), 0), ((4, 5), -1), ((4, 5), -2),
             ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), -1)]

    @staticmethod
    def suspects(x, dim):
        found = [Suspect(M_("softmax over dim {d}", d=d), torch.softmax(x, d),
                         M_("you normalised over the wrong dim; use the `dim` argument ({dim}) for the max and the sum.",
                           dim=dim))
                 for d in range(x.dim()) if d != dim % x.dim()]
        if x.dim() > 1:
            found.append(Suspect(M_("exp(x) / exp(x).sum() over all elements"), torch.exp(x) / torch.exp(x).sum(),
                                 M_("sum along `dim` only (dim={dim}, keepdim=True), not over the whole tensor.", dim=dim)))
        found.append(Suspect("x / x.sum(dim)", x / x.sum(dim, keepdim=True), M_("exponentiate first: e^x / sum(e^x).")))
        return found

    @staticmethod
    def check_sums_to_one(got, x, dim, call):
        """Each slice along dim must sum to 1, up to the rounding of its dtype."""
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            return
        sums = got.double().sum(dim=dim).flatten()
        tolerance = max(1e-3, 2 * torch.finfo(x.dtype).eps * x.shape[dim])
        bad = (sums - 1).abs() > tolerance
        if bad.any():
            i = int(bad.nonzero()[0])
            fail(M_("{call}: slice {i} along dim {dim} sums to {total:.4g}, expected 1; did you normalise over the "
                   "wrong dim, or forget to divide by the sum?", call=call, i=i, dim=dim, total=sums[i].item()))

    @pytest.mark.parametrize("shape,dim", CASES, ids=str)
    @pytest.mark.parametrize("dtype", DTYPES, ids=str)
    def test_matches_torch(self, learner, rand, shape, dim, dtype):
        x = rand(*shape, dtype=dtype, scale=3.0)
        got = learner(x, dim=dim)
        call = learner.call_text(x, dim=dim)
        expected = torch.softmax(x, dim)
        check_suspects(got, expected, self.suspects(x, dim), call=call)
        self.check_sums_to_one(got, x, dim, call)
        assert_tensor(got, expected, call=call, input=x, rule=self.FORMULA)

    @staticmethod
    def shifted_by_the_global_max(got, x, dim):
        """Whether `got` is NaN exactly where softmax with x - x.max() (one max for the whole
        tensor, not one per slice) gives 0/0."""
        e = (x - x.max()).exp()
        global_shift = e / e.sum(dim, keepdim=True)
        return bool(global_shift.isnan().any()) and torch.equal(got.isnan().cpu(), global_shift.isnan().cpu())

    @pytest.mark.lesson
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=str)
    def test_large_inputs_stay_finite_and_sum_to_one(self, learner, rand, dtype):
        x = rand(4, 6, dtype=torch.float64, scale=1e4).clamp(-1e4, 1e4).to(dtype)
        got = learner(x, dim=1)
        call = learner.call_text(x, dim=1)
        if isinstance(got, torch.Tensor) and got.shape == x.shape and not torch.isfinite(got).all():
            if self.shifted_by_the_global_max(got, x, dim=1):
                fail(M_("{call} returned NaN in the rows whose largest value is far below the tensor's largest: you "
                       "subtracted the max of the whole tensor, so every exp() of such a row underflows to 0 and the "
                       "row divides 0 by 0. Subtract each slice's own max, x.amax(dim, keepdim=True), instead.",
                       call=call))
            fail(M_("{call} returned NaN or inf for inputs of magnitude 1e4: exp(1e4) overflows. Subtract "
                   "x.amax(dim, keepdim=True) before exp(); the result does not change, and exp() sees only numbers "
                   "<= 0.", call=call))
        self.check_sums_to_one(got, x, 1, call)
        assert_tensor(got, torch.softmax(x, 1), call=call, input=x)

    def test_input_not_modified(self, learner, rand):
        x = rand(4, 5)
        report = learner.run(probe_inputs_after_call, x, dim=1)
        assert_unchanged(x, report["args_after"][0], call=learner.call_text(x, dim=1))

    @pytest.mark.parametrize("dim", [0, 1])
    def test_gradient_matches_torch(self, learner, rand, dim):
        x, upstream = rand(3, 4, dtype=torch.float64), rand(3, 4, dtype=torch.float64)
        report = learner.run(probe_gradient, x, upstream, dim=dim)
        if not report["connected"]:
            fail(M_("{call} returned a tensor that autograd cannot differentiate.", call=learner.call_text(x, dim=dim)))
        xc = x.clone().requires_grad_(True)
        backpropagate(torch.softmax(xc, dim), upstream)
        assert_tensor(report["grad"], xc.grad, call=M_("the gradient of {call}", call=learner.call_text(x, dim=dim)),
                      input=x)


# Functions handed to autograd_derivative, with their derivatives in closed form.
FUNCTIONS = {
    "sigmoid": (torch.sigmoid, lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
    "tanh": (torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
    "relu": (torch.relu, lambda x: (x > 0).to(x.dtype)),
    "cube": (lambda x: x**3, lambda x: 3 * x**2),
    "sin": (torch.sin, torch.cos),
}


def probe_autograd_derivative(scene, name, x, x_requires_grad):
    """Call autograd_derivative(fn, x) on a caller's x, and report what happened to x."""
    x = x.clone().requires_grad_(x_requires_grad)
    result = scene.fn(FUNCTIONS[name][0], x)
    is_tensor = isinstance(result, torch.Tensor)
    return {
        "result": result,
        "result_has_graph": is_tensor and (result.requires_grad or result.grad_fn is not None),
        "x_requires_grad": x.requires_grad,
        "x_grad": x.grad,
        "x_after": x.detach(),
    }


@pytest.mark.exercise("activations.autograd_derivative")
class TestAutogradDerivative:
    @pytest.mark.parametrize("name", sorted(FUNCTIONS))
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
    def test_matches_closed_form(self, learner, rand, name, dtype):
        x = rand(4, 5, dtype=dtype, scale=2.0)
        report = learner.run(probe_autograd_derivative, name, x, False)
        call = f"autograd_derivative({name}, x)"
        assert_tensor(report["result"], FUNCTIONS[name][1](x), call=call, input=x,
                      suspects=[Suspect(M_("{name}(x) itself", name=name), FUNCTIONS[name][0](x),
                                        M_("return the gradient (the copy's .grad after backward), not fn(x)."))])

    @pytest.mark.parametrize("x_requires_grad", [False, True], ids=["plain_x", "x_requires_grad"])
    def test_leaves_callers_x_untouched(self, learner, rand, x_requires_grad):
        x = rand(6)
        report = learner.run(probe_autograd_derivative, "cube", x, x_requires_grad)
        call = M_("autograd_derivative(cube, x) with x.requires_grad={requires_grad}", requires_grad=x_requires_grad)
        if report["x_requires_grad"] != x_requires_grad:
            fail(M_("{call} changed x.requires_grad to {got}: work on a copy, "
                   "xc = x.detach().clone().requires_grad_(True), and leave the caller's x alone.", call=call,
                   got=report["x_requires_grad"]))
        if report["x_grad"] is not None:
            fail(M_("{call} left a .grad on the caller's x: backpropagate through a detached copy instead, "
                   "so the caller's gradients are not polluted.", call=call))
        assert_unchanged(x, report["x_after"], call=call, what="x")

    def test_result_has_no_graph(self, learner, rand):
        x = rand(6)
        report = learner.run(probe_autograd_derivative, "sin", x, False)
        if report["result_has_graph"]:
            fail(M_("autograd_derivative(sin, x) returned a tensor that is still part of an autograd graph: "
                   "return the .grad of your copy, detached (.detach())."))
        assert_tensor(report["result"], torch.cos(x), call="autograd_derivative(sin, x)", input=x)
