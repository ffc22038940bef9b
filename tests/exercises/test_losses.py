"""Specification of exercises/losses.py, graded against torch.nn's loss modules."""

import pytest
import torch
from torch import nn

from torchkata.core.i18n import M_
from torchkata.engine.checks import Suspect, assert_raises, assert_tensor, assert_unchanged, check_suspects, fail
from torchkata.engine.probes import probe_gradient_two, probe_inputs_after_call

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
REDUCTIONS = ["mean", "sum", "none"]
REDUCED = {"mean": M_("reduction='mean' averages them into one number"),
           "sum": M_("reduction='sum' adds them into one number"),
           "none": M_("reduction='none' returns them all, in the input's shape")}
# What reduction=asked says when the learner's result is what reduction=returned gives.
WRONG_REDUCTION = {
    ("mean", "sum"): M_("reduction='mean' asks for the mean (you returned the sum)."),
    ("mean", "none"): M_("reduction='mean' asks for the mean (you returned the none)."),
    ("sum", "mean"): M_("reduction='sum' asks for the sum (you returned the mean)."),
    ("sum", "none"): M_("reduction='sum' asks for the sum (you returned the none)."),
    ("none", "mean"): M_("reduction='none' asks for the per-element losses (you returned the mean)."),
    ("none", "sum"): M_("reduction='none' asks for the per-element losses (you returned the sum)."),
}
SHAPES = [(8,), (4, 5), (2, 3, 4)]


def reduction_of(per_element, reduction):
    return {"mean": per_element.mean, "sum": per_element.sum, "none": lambda: per_element}[reduction]()


def reduction_suspects(per_element, reduction):
    """What a wrong reduction gives, for the reduction asked."""
    return [Suspect(f"reduction={name!r}", reduction_of(per_element, name), WRONG_REDUCTION[reduction, name])
            for name in REDUCTIONS if name != reduction]


class LossContract:
    """Rules every elementwise loss follows. Subclasses give `oracle`, `formula` (the loss of
    one element, in words) and the inputs."""

    names = ("input", "target")
    formula = ""

    def rule(self, reduction: str) -> str:
        return M_("{formula}; {reduced}.", formula=self.formula, reduced=REDUCED[reduction])

    def oracle(self, a, b, reduction):
        raise NotImplementedError

    def inputs(self, rand, shape, dtype):
        return rand(*shape, dtype=dtype), rand(*shape, dtype=dtype)

    def suspects(self, a, b, reduction):
        return reduction_suspects(self.oracle(a, b, "none"), reduction)

    def call(self, learner, a, b, **kwargs):
        return learner.call_text(a, b, **kwargs)

    @pytest.mark.parametrize("shape", SHAPES, ids=str)
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_matches_torch(self, learner, rand, shape, reduction):
        a, b = self.inputs(rand, shape, torch.float32)
        assert_tensor(learner(a, b, reduction=reduction), self.oracle(a, b, reduction),
                      call=self.call(learner, a, b, reduction=reduction), suspects=self.suspects(a, b, reduction),
                      rule=self.rule(reduction))

    @pytest.mark.parametrize("dtype", DTYPES, ids=str)
    def test_keeps_dtype_and_device(self, learner, rand, dtype):
        a, b = self.inputs(rand, (4, 5), dtype)
        assert_tensor(learner(a, b, reduction="none"), self.oracle(a, b, "none"),
                      call=self.call(learner, a, b, reduction="none"))

    def test_default_reduction_is_mean(self, learner, rand):
        a, b = self.inputs(rand, (4, 5), torch.float32)
        assert_tensor(learner(a, b), self.oracle(a, b, "mean"), call=self.call(learner, a, b),
                      suspects=self.suspects(a, b, "mean"),
                      rule=M_("Without a reduction argument the loss is the mean. {rule}", rule=self.rule("mean")))

    def test_gradients_match_torch(self, learner, rand):
        a, b = self.inputs(rand, (4, 5), torch.float64)
        report = learner.run(probe_gradient_two, a, b, torch.tensor(1.0, dtype=torch.float64, device=a.device),
                             reduction="mean")
        call = self.call(learner, a, b)
        if not report["connected"]:
            fail(M_("{call} returned a loss that autograd cannot differentiate: build it from torch operations on "
                   "the inputs (no .item(), .detach() or torch.tensor(...) on them).", call=call))
        ac, bc = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
        self.oracle(ac, bc, "mean").backward()
        assert_tensor(report["grad_a"], ac.grad,
                      call=M_("the gradient of {call} with respect to {name}", call=call, name=self.names[0]))
        assert_tensor(report["grad_b"], bc.grad,
                      call=M_("the gradient of {call} with respect to {name}", call=call, name=self.names[1]))

    def test_inputs_not_modified(self, learner, rand):
        a, b = self.inputs(rand, (4, 5), torch.float32)
        report = learner.run(probe_inputs_after_call, a, b)
        assert_unchanged(a, report["args_after"][0], call=self.call(learner, a, b), what=self.names[0])
        assert_unchanged(b, report["args_after"][1], call=self.call(learner, a, b), what=self.names[1])

    def test_unknown_reduction_is_a_value_error(self, learner, rand):
        a, b = self.inputs(rand, (4,), torch.float32)
        assert_raises(learner.attempt(a, b, reduction="avg"), ValueError, call=self.call(learner, a, b, reduction="avg"),
                      mentions=["reduction", "avg"], why=M_("reduction must be 'mean', 'sum' or 'none'"))

    @pytest.mark.parametrize("shapes", [((4, 1), (4,)), ((4,), (4, 1)), ((3, 5), (5,))], ids=str)
    def test_shape_mismatch_is_a_value_error_not_broadcast(self, learner, rand, shapes):
        a, b = self.inputs(rand, shapes[0], torch.float32)[0], self.inputs(rand, shapes[1], torch.float32)[1]
        outcome = learner.attempt(a, b)
        assert_raises(outcome, ValueError, call=self.call(learner, a, b),
                      why=M_("shapes {first} and {second} differ; broadcasting them would compare every prediction "
                            "with every target", first=shapes[0], second=shapes[1]))
        unnamed = [s for s in shapes if not any(form in outcome.message for form in (str(s), str(list(s))))]
        if unnamed:
            fail(M_("{call} raised ValueError({message!r}): name both shapes, {first} and {second}, so the caller sees "
                   "the mismatch.", call=self.call(learner, a, b), message=outcome.message, first=shapes[0],
                   second=shapes[1]))


@pytest.mark.exercise("losses.binary_cross_entropy")
class TestBinaryCrossEntropy(LossContract):
    formula = M_("Each element's loss is -(y * log(p) + (1 - y) * log(1 - p)), each log clamped at -100")
    names = ("probs", "target")

    def oracle(self, p, y, reduction):
        return nn.BCELoss(reduction=reduction)(p, y)

    def inputs(self, rand, shape, dtype):
        probs = torch.sigmoid(rand(*shape, dtype=torch.float64, scale=2.0)).to(dtype)
        target = (rand(*shape, dtype=torch.float64) > 0).to(dtype)
        return probs, target

    def suspects(self, p, y, reduction):
        return reduction_suspects(self.oracle(p, y, "none"), reduction) + [
            Suspect(M_("the loss without the minus sign"), -self.oracle(p, y, reduction),
                    M_("BCE is -(y log p + (1 - y) log(1 - p)).")),
            Suspect(M_("only the y * log(p) term"), reduction_of(-(y * torch.log(p)), reduction),
                    M_("add the (1 - y) * log(1 - p) term for the negatives.")),
        ]

    def test_soft_targets(self, learner, rand):
        p = self.inputs(rand, (6, 3), torch.float32)[0]
        y = torch.sigmoid(rand(6, 3))
        assert_tensor(learner(p, y), self.oracle(p, y, "mean"), call=self.call(learner, p, y))

    @pytest.mark.lesson
    def test_certain_and_wrong_is_clamped_at_100(self, learner, device):
        p = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], device=device)
        y = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0], device=device)
        got = learner(p, y, reduction="none")
        call = self.call(learner, p, y, reduction="none")
        if isinstance(got, torch.Tensor) and got.shape == p.shape and not torch.isfinite(got).all():
            fail(M_("{call} returned inf or NaN where a prediction is certain and wrong (log 0 = -inf): clamp each "
                   "log at -100 (torch.clamp(torch.log(p), min=-100)), as torch does.", call=call))
        assert_tensor(got, self.oracle(p, y, "none"), call=call)


@pytest.mark.exercise("losses.binary_cross_entropy_with_logits")
class TestBinaryCrossEntropyWithLogits(LossContract):
    formula = M_("Each element's loss is binary_cross_entropy(sigmoid(z), y), computed so that no exp() overflows")
    names = ("logits", "target")

    def oracle(self, z, y, reduction):
        return nn.BCEWithLogitsLoss(reduction=reduction)(z, y)

    def inputs(self, rand, shape, dtype):
        return rand(*shape, dtype=dtype, scale=3.0), (rand(*shape, dtype=torch.float64) > 0).to(dtype)

    @pytest.mark.lesson
    def test_large_logits_stay_finite_and_exact(self, learner, device):
        z = torch.tensor([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4] * 2, device=device)
        y = torch.tensor([0.0] * 7 + [1.0] * 7, device=device)
        got = learner(z, y, reduction="none")
        call = self.call(learner, z, y, reduction="none")
        expected = self.oracle(z, y, "none")
        if isinstance(got, torch.Tensor) and got.shape == z.shape and not torch.isfinite(got).all():
            fail(M_("{call} returned inf or NaN for logits of magnitude 1e4: e^1e4 overflows. Use the stable form "
                   "max(z, 0) - z * y + log(1 + e^(-|z|)).", call=call))
        assert_tensor(got, expected, call=call, input=z, suspects=[
            Suspect(M_("BCE of sigmoid(z) with logs clamped at -100"), nn.BCELoss(reduction="none")(torch.sigmoid(z), y),
                    M_("sigmoid(1e4) rounds to exactly 1 and the loss is lost; compute from the logits: "
                      "max(z, 0) - z * y + log(1 + e^(-|z|))."))])


def ce_oracle(z, t, reduction="mean"):
    return nn.CrossEntropyLoss(reduction=reduction)(z, t)


def ce_suspects(z, t, reduction):
    per_row = ce_oracle(z, t, "none")
    found = reduction_suspects(per_row, reduction)
    found.append(Suspect(M_("the logits taken as probabilities"), reduction_of(_nll_of_raw_logits(z, t), reduction),
                         M_("the input is logits, not probabilities: take log_softmax(z) = z - logsumexp(z, dim=1, "
                            "keepdim=True) first, then pick or weight its entries by the target.")))
    if z.dtype in (torch.float32, torch.float64):
        found.append(Suspect(M_("cross entropy of softmax(logits)"), ce_oracle(torch.softmax(z, 1), t, reduction),
                             M_("the logits go in raw: applying softmax first applies it twice. Use "
                               "log_softmax(z) = z - logsumexp(z, dim=1, keepdim=True).")))
        found.append(Suspect(M_("log_softmax over dim 0"),
                             reduction_of(-(torch.log_softmax(z, 0) * _as_probs(t, z)).sum(1), reduction),
                             M_("normalise over the classes, dim 1.")))
    return found


def _nll_of_raw_logits(z, t):
    """-log z[target] (or -sum t log z): the log taken of the logits themselves, as if they were probabilities."""
    with torch.no_grad():
        if t.is_floating_point():
            return -(t * torch.log(z)).sum(1)
        return -torch.log(z).gather(1, t[:, None]).squeeze(1)


def _as_probs(t, z):
    return t if t.is_floating_point() else torch.nn.functional.one_hot(t, z.shape[1]).to(z.dtype)


@pytest.mark.exercise("losses.cross_entropy")
class TestCrossEntropy:
    @staticmethod
    def indices(rand, n, c):
        return (rand(n, dtype=torch.float64).abs() * 1000).long() % c

    @pytest.mark.parametrize("kind", ["indices", "probabilities"])
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    @pytest.mark.parametrize("n,c", [(6, 8), (1, 3), (10, 2)], ids=str)
    def test_matches_torch(self, learner, rand, kind, reduction, n, c):
        z = rand(n, c, scale=2.0)
        t = self.indices(rand, n, c) if kind == "indices" else torch.softmax(rand(n, c), 1)
        assert_tensor(learner(z, t, reduction=reduction), ce_oracle(z, t, reduction),
                      call=learner.call_text(z, t, reduction=reduction), suspects=ce_suspects(z, t, reduction),
                      rule=M_("Each row's loss is -(target_probs * log_softmax(logits, dim=1)).sum(dim=1) (for class "
                             "indices: -log_softmax(logits, dim=1)[i, target[i]]); {reduced}.",
                             reduced=REDUCED[reduction]))

    @pytest.mark.parametrize("dtype", DTYPES, ids=str)
    @pytest.mark.parametrize("kind", ["indices", "probabilities"])
    def test_keeps_dtype_and_device(self, learner, rand, dtype, kind):
        z = rand(6, 8, dtype=dtype)
        t = self.indices(rand, 6, 8) if kind == "indices" else torch.softmax(rand(6, 8), 1).to(dtype)
        assert_tensor(learner(z, t, reduction="none"), ce_oracle(z, t, "none"), call=learner.call_text(z, t, reduction="none"),
                      suspects=ce_suspects(z, t, "none"))

    def test_default_reduction_is_mean(self, learner, rand):
        z, t = rand(6, 8), self.indices(rand, 6, 8)
        assert_tensor(learner(z, t), ce_oracle(z, t), call=learner.call_text(z, t), suspects=ce_suspects(z, t, "mean"))

    @pytest.mark.lesson
    @pytest.mark.parametrize("kind", ["indices", "probabilities"])
    def test_large_logits_stay_finite(self, learner, rand, kind):
        z = rand(5, 4, dtype=torch.float64, scale=1e4).clamp(-1e4, 1e4).float()
        t = self.indices(rand, 5, 4) if kind == "indices" else torch.softmax(rand(5, 4), 1)
        got = learner(z, t, reduction="none")
        call = learner.call_text(z, t, reduction="none")
        check_suspects(got, ce_oracle(z, t, "none"), ce_suspects(z, t, "none"), call=call)  # a known mistake first
        if isinstance(got, torch.Tensor) and got.shape == (5,) and not torch.isfinite(got).all():
            fail(M_("{call} returned inf or NaN for logits of magnitude 1e4: exp overflows. Use torch.logsumexp "
                   "(or subtract the row max before exp).", call=call))
        assert_tensor(got, ce_oracle(z, t, "none"), call=call)

    @pytest.mark.parametrize("kind", ["indices", "probabilities"])
    def test_gradient_matches_torch(self, learner, rand, kind):
        z = rand(6, 8, dtype=torch.float64)
        t = self.indices(rand, 6, 8) if kind == "indices" else torch.softmax(rand(6, 8, dtype=torch.float64), 1)
        report = learner.run(probe_gradient_two, z, t, torch.tensor(1.0, dtype=torch.float64, device=z.device), grad_b=False)
        call = learner.call_text(z, t)
        if not report["connected"]:
            fail(M_("{call} returned a loss that autograd cannot differentiate.", call=call))
        zc = z.clone().requires_grad_(True)
        ce_oracle(zc, t).backward()
        assert_tensor(report["grad_a"], zc.grad,
                      call=M_("the gradient of {call} with respect to {name}", call=call, name="logits"))

    def test_inputs_not_modified(self, learner, rand):
        z, t = rand(6, 8), torch.softmax(rand(6, 8), 1)
        report = learner.run(probe_inputs_after_call, z, t)
        assert_unchanged(z, report["args_after"][0], call=learner.call_text(z, t), what="logits")
        assert_unchanged(t, report["args_after"][1], call=learner.call_text(z, t), what="target")

    def test_unknown_reduction_is_a_value_error(self, learner, rand):
        z, t = rand(6, 8), self.indices(rand, 6, 8)
        assert_raises(learner.attempt(z, t, reduction="avg"), ValueError, call=learner.call_text(z, t, reduction="avg"),
                      mentions=["reduction", "avg"], why=M_("reduction must be 'mean', 'sum' or 'none'"))

    @pytest.mark.parametrize("target_shape", [(7,), (6, 1), (6, 9)], ids=str)
    def test_target_that_does_not_fit_is_a_value_error(self, learner, rand, target_shape):
        z = rand(6, 8)
        t = (self.indices(rand, 42, 8)[: target_shape[0] * (target_shape[1] if len(target_shape) > 1 else 1)]
             .reshape(target_shape) if target_shape != (6, 9) else torch.softmax(rand(6, 9), 1))
        outcome = learner.attempt(z, t)
        assert_raises(outcome, ValueError, call=learner.call_text(z, t),
                      why=M_("a target of shape {shape} does not fit logits of shape (6, 8)", shape=target_shape))
        if not any(form in outcome.message for form in (str(target_shape), str(list(target_shape)))):
            fail(M_("{call} raised ValueError({message!r}): name the target's shape {shape} (and the logits' shape) in "
                   "the message.", call=learner.call_text(z, t), message=outcome.message, shape=target_shape))


@pytest.mark.exercise("losses.mse_loss")
class TestMseLoss(LossContract):
    formula = M_("Each element's loss is (input - target)**2")
    def oracle(self, a, b, reduction):
        return nn.MSELoss(reduction=reduction)(a, b)

    def suspects(self, a, b, reduction):
        return reduction_suspects(self.oracle(a, b, "none"), reduction) + [
            Suspect(M_("the absolute differences (the L1 loss)"), nn.L1Loss(reduction=reduction)(a, b),
                    M_("square the differences; that is L1.")),
            Suspect(M_("the square root of the MSE"), self.oracle(a, b, reduction).sqrt(),
                    M_("no square root: that is RMSE.")),
        ]


@pytest.mark.exercise("losses.l1_loss")
class TestL1Loss(LossContract):
    formula = M_("Each element's loss is |input - target|")
    def oracle(self, a, b, reduction):
        return nn.L1Loss(reduction=reduction)(a, b)

    def suspects(self, a, b, reduction):
        return reduction_suspects(self.oracle(a, b, "none"), reduction) + [
            Suspect(M_("the signed differences"), reduction_of(a - b, reduction),
                    M_("take the absolute value of each difference before reducing.")),
        ]


@pytest.mark.exercise("losses.smooth_l1_loss")
class TestSmoothL1Loss(LossContract):
    formula = M_("With d = input - target, each element's loss is 0.5 * d**2 / beta where |d| < beta, "
                "else |d| - 0.5 * beta")
    def oracle(self, a, b, reduction, beta=1.0):
        return nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b)

    def inputs(self, rand, shape, dtype):
        return rand(*shape, dtype=dtype, scale=2.0), rand(*shape, dtype=dtype)

    def suspects(self, a, b, reduction):
        return reduction_suspects(self.oracle(a, b, "none"), reduction) + [
            Suspect(M_("the L1 loss"), nn.L1Loss(reduction=reduction)(a, b), M_("below beta the loss is 0.5 * d^2 / beta.")),
            Suspect(M_("the MSE loss"), nn.MSELoss(reduction=reduction)(a, b), M_("above beta the loss is |d| - 0.5 * beta.")),
        ]

    @pytest.mark.parametrize("beta", [0.5, 2.0, 0.0], ids=str)
    def test_beta(self, learner, rand, beta):
        a, b = self.inputs(rand, (6, 5), torch.float32)
        got = learner(a, b, beta=beta, reduction="none")
        call = learner.call_text(a, b, beta=beta, reduction="none")
        if beta == 0 and isinstance(got, torch.Tensor) and got.shape == a.shape and not torch.isfinite(got).all():
            fail(M_("{call} returned NaN or inf: with beta = 0 the quadratic piece divides by 0. Smooth L1 with "
                   "beta = 0 is plain L1; handle it separately.", call=call))
        assert_tensor(got, self.oracle(a, b, "none", beta=beta), call=call, suspects=[
            Suspect(M_("smooth L1 with beta = 1"), self.oracle(a, b, "none"), M_("use the beta argument, not 1."))]
            if beta != 1 else [])

    @pytest.mark.parametrize("beta", [0.5, 0.0], ids=str)
    def test_beta_gradients(self, learner, rand, beta):
        a, b = self.inputs(rand, (6, 5), torch.float64)
        report = learner.run(probe_gradient_two, a, b, torch.tensor(1.0, dtype=torch.float64, device=a.device), beta=beta)
        call = learner.call_text(a, b, beta=beta)
        if not report["connected"]:
            fail(M_("{call} returned a loss that autograd cannot differentiate.", call=call))
        if not torch.isfinite(report["grad_a"]).all():
            fail(M_("the gradient of {call} has NaN or inf: torch.where still differentiates the branch it does not "
                   "select, and 0.5 * d^2 / beta divides by zero at beta = 0. Handle beta = 0 as plain L1.", call=call))
        ac = a.clone().requires_grad_(True)
        self.oracle(ac, b, "mean", beta=beta).backward()
        assert_tensor(report["grad_a"], ac.grad,
                      call=M_("the gradient of {call} with respect to {name}", call=call, name="input"))
