"""Specification of exercises/regularization.py: inverted dropout, as torch.nn.Dropout does it."""

import pytest
import torch

from torchkata.core.devices import same_device
from torchkata.core.i18n import M_, Message
from torchkata.engine.checks import Suspect, assert_raises, assert_tensor, assert_unchanged, fail
from torchkata.engine.probes import probe_inputs_after_call

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def check_dropout_output(got, x, p, call):
    """Every element is either 0 or x / (1 - p); on 10 000 values or more, the zeroed fraction
    is p within 6 standard errors (0.012 on 250 x 250 values), or 0.005 on large tensors."""
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        assert_tensor(got, x, call=call)
    if got.dtype != x.dtype or not same_device(got.device, x.device):
        fail(M_("{call} returned {dtype} on {device}; keep the input's dtype ({expected_dtype}) and device "
               "({expected_device}).", call=call, dtype=got.dtype, device=got.device, expected_dtype=x.dtype,
               expected_device=x.device))
    g, xs = got.double().cpu(), x.double().cpu()
    if not torch.isfinite(g).all():
        fail(M_("{call} returned NaN or inf values.", call=call))
    zeroed = g == 0
    frac = zeroed.double().mean().item()
    scale = 1 / (1 - p)
    tol = 2e-2 if x.dtype in (torch.float16, torch.bfloat16) else 1e-5
    survivors_off = ((g - xs * scale).abs() > tol * scale * xs.abs() + 1e-8) & ~zeroed
    if survivors_off.any():
        typical = (g[~zeroed] / xs[~zeroed]).median().item()
        hint = (M_("you did not scale the survivors: multiply them by 1 / (1 - p)") if abs(typical - 1) < tol else
                M_("you scaled by 1 / p instead of 1 / (1 - p)") if abs(typical - 1 / p) < tol * 10 else
                M_("you scaled by (1 - p) instead of dividing by it") if abs(typical - (1 - p)) < tol * 10 else
                M_("survivors must be x / (1 - p)"))
        fail(M_("{call}: kept elements are x times {typical:.4g}, expected x times 1/(1-p) = {scale:.4g}: {hint}.",
               call=call, typical=typical, scale=scale, hint=hint))
    allowed = max(0.005, 6 * (p * (1 - p) / x.numel()) ** 0.5)
    if x.numel() >= 10_000 and abs(frac - p) > allowed:
        hint = (M_(" It looks like you zeroed with probability 1 - p: p is the probability of DROPPING.")
                if abs(frac - (1 - p)) < allowed else "")
        fail(M_("{call} zeroed a fraction {frac:.4f} of the elements, expected p = {p}.{hint}", call=call, frac=frac,
               p=p, hint=hint))
    return zeroed


@pytest.mark.exercise("regularization.dropout")
class TestDropout:
    @pytest.mark.lesson
    @pytest.mark.parametrize("p", [0.5, 0.2, 0.8], ids=str)
    def test_zeroes_fraction_p_and_scales_the_rest(self, learner, rand, p):
        x = rand(250, 250).abs() + 0.5  # no zeros of its own
        check_dropout_output(learner(x, p=p), x, p, learner.call_text(x, p=p))

    def test_default_p_is_one_half(self, learner, rand):
        x = rand(250, 250).abs() + 0.5
        check_dropout_output(learner(x), x, 0.5, learner.call_text(x))

    @pytest.mark.parametrize("dtype", DTYPES, ids=str)
    def test_keeps_dtype_device_and_shape(self, learner, rand, dtype):
        x = rand(3, 50, 20, dtype=dtype) + 10
        check_dropout_output(learner(x, p=0.3), x, 0.3, learner.call_text(x, p=0.3))

    def test_mask_is_random_everywhere(self, learner, device):
        """Not a fixed pattern: each block of the tensor loses about p of its elements."""
        x = torch.ones(500, 500, device=device)
        zeroed = (learner(x, p=0.5).cpu() == 0).double()
        call = learner.call_text(x, p=0.5)
        for name, block in [(M_("first rows"), zeroed[:50]), (M_("last rows"), zeroed[-50:]),
                            (M_("first columns"), zeroed[:, :50]), (M_("last columns"), zeroed[:, -50:]),
                            (M_("even positions"), zeroed.flatten()[::2]),
                            (M_("odd positions"), zeroed.flatten()[1::2])]:
            if abs(block.mean().item() - 0.5) > 0.02:
                fail(M_("{call}: the {name} lose a fraction {frac:.3f} of their elements, not about 0.5: draw an "
                       "independent random mask for every element (torch.rand_like(x) >= p).", call=call, name=name,
                       frac=block.mean().item()))

    def test_each_call_draws_a_new_mask(self, learner, device):
        report = learner.run(probe_two_calls, torch.ones(200, 200, device=device), 0.5)
        if torch.equal(report["first"].cpu() == 0, report["second"].cpu() == 0):
            fail(M_("dropout(x, p=0.5) zeroed exactly the same elements on two calls: draw a fresh mask on every call "
                   "(do not re-seed, cache or store the mask)."))

    def test_evaluation_mode_returns_x_unchanged(self, learner, rand):
        x = rand(4, 5)
        assert_tensor(learner(x, p=0.5, training=False), x, call=learner.call_text(x, p=0.5, training=False),
                      rule=M_("With training=False, dropout must return its input unchanged (no mask, no scaling)."))

    def test_p_zero_returns_x(self, learner, rand):
        x = rand(4, 5)
        assert_tensor(learner(x, p=0.0), x, call=learner.call_text(x, p=0.0),
                      rule=M_("With p=0 nothing is dropped and the scale 1/(1-p) is 1: dropout must return its input."))

    def test_p_one_returns_zeros_not_nan(self, learner, rand):
        x = rand(4, 5)
        got = learner(x, p=1.0)
        call = learner.call_text(x, p=1.0)
        if isinstance(got, torch.Tensor) and got.shape == x.shape and not torch.isfinite(got).all():
            fail(M_("{call} returned NaN: with p = 1 every element is dropped, and x * 0 / (1 - 1) is 0/0. "
                   "Return torch.zeros_like(x) for p = 1.", call=call))
        assert_tensor(got, torch.zeros_like(x), call=call,
                      rule=M_("With p=1 every element is dropped: the result is all zeros (never 0 * 1/0 = NaN)."))

    def test_input_not_modified(self, learner, rand):
        x = rand(40, 50)
        report = learner.run(probe_inputs_after_call, x, p=0.5)
        assert_unchanged(x, report["args_after"][0], call=learner.call_text(x, p=0.5))

    def test_gradient_is_the_mask_scaled(self, learner, rand):
        report = learner.run(probe_dropout_gradient, rand(30, 40, dtype=torch.float64) + 5, 0.25)
        call = "dropout(x, p=0.25)"
        if report["grad"] is None:
            fail(M_("{call}: autograd cannot differentiate your result; build it from torch ops on x.", call=call))
        mask = (report["out"] != 0).double().to(report["grad"].device)
        assert_tensor(report["grad"], mask / 0.75, call=M_("the gradient of {call}", call=call),
                      suspects=[Suspect(M_("the mask alone"), mask,
                                        M_("the survivors are not scaled: multiply them by 1/(1-p), so the expected "
                                           "value of each element stays x."))],
                      rule=M_("The gradient of dropout is its mask times 1/(1-p): autograd must flow through the "
                             "multiplication, not through a mask built with a non-differentiable op."))

    @pytest.mark.parametrize("p", [-0.1, 1.5], ids=str)
    def test_p_outside_0_1_is_a_value_error(self, learner, rand, p):
        x = rand(5)
        assert_raises(learner.attempt(x, p=p), ValueError, call=learner.call_text(x, p=p), mentions=["p", str(p)],
                      why=M_("p is a probability, between 0 and 1"))

    def test_integer_tensor_is_a_type_error_that_explains(self, learner, device):
        x = torch.randint(1, 10, (10,), device=device)
        outcome = learner.attempt(x)
        assert_raises(outcome, TypeError, call=learner.call_text(x), why=M_("dropout needs a floating-point dtype"),
                      mentions=[("int64", "long")])
        if not any(word in outcome.message.lower() for word in ("float", "floating")):
            fail(M_("{call} raised TypeError({message!r}): say that dropout needs a floating-point tensor "
                   "(e.g. x.float()), the pitfall the course ran into with torch.randint.", call=learner.call_text(x),
                   message=outcome.message))


def probe_two_calls(scene, x, p):
    return {"first": scene.fn(x, p=p), "second": scene.fn(x, p=p)}


def probe_dropout_gradient(scene, x, p):
    x = x.clone().requires_grad_(True)
    out = scene.fn(x, p=p)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return {"grad": None, "out": None}
    out.sum().backward()
    return {"grad": x.grad, "out": out}


def probe_module(scene, p, x):
    """Build Dropout(p), apply it in training mode, then after .eval()."""
    module = scene.fn(p)
    is_module = isinstance(module, torch.nn.Module)
    training_out = module(x) if is_module else None
    if is_module:
        module.eval()
    eval_out = module(x) if is_module else None
    if is_module:
        module.train()
    return {"is_module": is_module, "type": type(module).__name__, "training_out": training_out,
            "eval_out": eval_out, "retrained_out": module(x) if is_module else None}


@pytest.mark.exercise("regularization.Dropout")
class TestDropoutModule:
    @pytest.mark.parametrize("p", [0.5, 0.3], ids=str)
    def test_drops_in_training_and_not_in_eval(self, learner, rand, p):
        x = rand(250, 250).abs() + 0.5
        report = learner.run(probe_module, p, x)
        if not report["is_module"]:
            fail(M_("Dropout({p}) built a {type}, not an nn.Module: subclass nn.Module.", p=p, type=report["type"]))
        check_dropout_output(report["training_out"], x, p, M_("Dropout({p})(x) in training mode", p=p))
        assert_tensor(report["eval_out"], x, call=M_("Dropout({p})(x) after .eval()", p=p),
                      rule=M_("After .eval(), Dropout must be the identity: forward should pass self.training on "
                             "(nn.Module.eval() sets it to False) and return x unchanged then."))
        check_dropout_output(report["retrained_out"], x, p, M_("Dropout({p})(x) after .eval() then .train()", p=p))

    def test_is_a_module_with_p(self, learner):
        module = learner(0.25)
        if not module.is_a("Module"):
            fail(M_("Dropout(0.25) built a {type}: it must subclass nn.Module.", type=module.type_name))
        if module.training is not True:
            fail(M_("Dropout(0.25).training should be True for a new module: call super().__init__() first."))

    @pytest.mark.parametrize("p", [0.0, 1.0], ids=str)
    def test_p_zero_and_one_are_allowed(self, learner, rand, p):
        """The ends of [0, 1] are valid: p = 0 keeps everything, p = 1 drops everything."""
        x = rand(4, 5)
        outcome = learner.attempt(p)
        if outcome.raised:
            fail(M_("Dropout({p}) raised {error}: {message!r}; p may be anything in [0, 1], ends included "
                    "(p = 0 keeps every element, p = 1 drops every one).", p=p, error=outcome.error_type,
                    message=Message.value(outcome.message)))
        report = learner.run(probe_module, p, x)
        assert_tensor(report["training_out"], x if p == 0 else torch.zeros_like(x),
                      call=M_("Dropout({p})(x) in training mode", p=p),
                      rule=M_("Dropout(0) returns its input; Dropout(1) returns zeros (never NaN)."))

    @pytest.mark.parametrize("p", [-0.5, 2.0], ids=str)
    def test_bad_p_is_a_value_error_at_construction(self, learner, p):
        assert_raises(learner.attempt(p), ValueError, call=f"Dropout({p})", mentions=["p", str(p)],
                      why=M_("check p when the module is built, not on the first forward"))
