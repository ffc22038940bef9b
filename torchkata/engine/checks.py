"""Assertions that explain themselves to a learner.

Each check names the call, what was expected and what came back: shapes, dtypes, devices,
where the largest difference is and what the input was there. When the wrong answer
matches a known mistake (a "suspect": softmax over the wrong dim, a missing max-shift, a
swapped fan), the failure names the mistake and how to fix it.

A check that fails raises `Failed`, which carries a `Failure` record (failures.py): the
rule broken, the call, the numbers, every suspect the answer matches. The words are chosen
later, by whoever shows it, in the reader's language.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import pytest
import torch

from ..core.devices import same_device
from ..core.failures import Failure, Rule, Suspicion
from ..core.i18n import M_, Message
from .learner import Handle, Outcome, show

# (atol, rtol) per dtype: tight for float64, loose enough for the rounding of half types.
TOLERANCES = {
    torch.float64: (1e-10, 1e-7),
    torch.float32: (1e-5, 1e-4),
    torch.float16: (2e-3, 1e-2),
    torch.bfloat16: (1e-2, 4e-2),
}


@dataclass(frozen=True)
class Suspect:
    """A known wrong answer: if the learner's result equals `value`, it is the mistake
    `label` ("softmax over dim 0"), and `advice` says how to mend it."""

    label: Message | str
    value: object
    advice: Message | str

    @property
    def id(self) -> str:
        """The mistake, whatever input it was found on: the label's message id (its English)."""
        return self.label.id or self.label.render("en") if isinstance(self.label, Message) else str(self.label)


class Failed(pytest.fail.Exception):
    """A failed check: pytest's own failure (the test fails, with no traceback of the
    grader), carrying the record of what failed."""

    def __init__(self, failure: Failure):
        super().__init__(failure.render(), pytrace=False)
        self.failure = failure


def _message(text) -> Message:
    return text if isinstance(text, Message) else Message.verbatim(text)


def fail(text: Message | str, rule: Rule = Rule.CONTRACT, **record):
    """Fail the test with a Failure that breaks `rule` (by default the exercise's own rule,
    which `text` says); `record` fills the Failure's other fields (call, facts, suspects)."""
    raise Failed(Failure(rule, _message(text), **record))


def tolerance(dtype: torch.dtype, atol=None, rtol=None) -> tuple[float, float]:
    default_atol, default_rtol = TOLERANCES.get(dtype, (1e-5, 1e-4))
    return (default_atol if atol is None else atol, default_rtol if rtol is None else rtol)


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _close(got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float) -> bool:
    if got.shape != expected.shape:
        return False
    return bool(torch.isclose(got.double().cpu(), expected.double().cpu(), atol=atol, rtol=rtol, equal_nan=True).all())


def _suspicions(got, suspects, atol, rtol, said) -> tuple[Suspicion, ...]:
    """Every suspect whose value `got` equals, each with the failure said its way (`said(suspect)`)."""
    return tuple(Suspicion(suspect.id, said(suspect)) for suspect in suspects
                 if isinstance(suspect.value, torch.Tensor) and isinstance(got, torch.Tensor)
                 and _close(got, suspect.value, atol, rtol))


def _index(flat_index: int, shape) -> tuple:
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(index))


def _said_as(call):
    def said(suspect: Suspect) -> Message:
        return M_("{call} returned what {label} gives, not the right answer: {advice}", call=call,
                  label=_message(suspect.label), advice=_message(suspect.advice))
    return said


def _returned_a_tensor(got, expected: torch.Tensor, call) -> None:
    if got is None:
        fail(M_("{call} returned None; expected a tensor of shape {shape}. Did you forget the `return`?", call=call,
                shape=tuple(expected.shape)), Rule.RETURN_TYPE, call=call)
    if isinstance(got, Handle) and got.type_name in ("max", "min") and got.is_a("tuple"):
        fail(M_("{call} returned torch.return_types.{type}, the (values, indices) pair of a reduction: "
                "torch.{type}(x, 0) takes the {type} of x along dim 0; it does not compare each element with 0. "
                "For an elementwise comparison use torch.{type}imum(x, torch.zeros_like(x)) or x.clamp(...).",
                call=call, type=got.type_name), Rule.RETURN_TYPE, call=call)
    if not isinstance(got, torch.Tensor):
        kind = M_("a {type} object", type=got.type_name) if isinstance(got, Handle) else \
            Message.join(" ", [type(got).__name__, show(got)])
        fail(M_("{call} returned {kind}; expected a tensor of shape {shape}.", call=call, kind=kind,
                shape=tuple(expected.shape)), Rule.RETURN_TYPE, call=call)


def check_suspects(got, expected: torch.Tensor, suspects, *, call, atol=None, rtol=None):
    """Fail naming the mistake when `got` is wrong and equals a known wrong answer."""
    atol, rtol = tolerance(expected.dtype, atol, rtol)
    _returned_a_tensor(got, expected, call)
    if not suspects or _close(got, expected, atol, rtol):
        return
    matched = _suspicions(got, suspects, atol, rtol, _said_as(call))
    if matched:
        raise Failed(Failure(Rule.VALUES, matched[0].text, call=_message(call), suspects=matched))


def assert_tensor(got, expected: torch.Tensor, *, call, atol=None, rtol=None, suspects=(), input=None,
                  check_dtype: bool = True, check_device: bool = True, rule: Message | str = ""):
    """`got` must be a tensor equal to `expected` (torch's answer) in shape, dtype, device and values.

    `rule` is the contract's rule in words ("after init_params every bias is 0.1."): a failure
    no suspect explains says it first, so the learner reads what was broken, then the numbers
    (a suspect's own message names the mistake, and is said alone).
    """
    _returned_a_tensor(got, expected, call)
    try:
        _assert_tensor(got, expected, call=call, atol=atol, rtol=rtol, input=input,
                       check_dtype=check_dtype, check_device=check_device)
        return
    except Failed as failed:
        found = failed.failure
    atol, rtol = tolerance(expected.dtype, atol, rtol)
    matched = _suspicions(got, suspects, atol, rtol, _said_as(call)) if not _close(got, expected, atol, rtol) else ()
    text = M_("{rule} {details}", rule=_message(rule), details=found.text) if rule else found.text
    raise Failed(replace(found, text=text, suspects=matched)) from None  # one failure, not one chained to another


def _assert_tensor(got, expected, *, call, atol, rtol, input, check_dtype, check_device):
    atol, rtol = tolerance(expected.dtype, atol, rtol)
    if got.shape != expected.shape:
        given = M_(" (the input has shape {shape})", shape=tuple(input.shape)) if isinstance(input, torch.Tensor) else ""
        fail(M_("{call} returned shape {got}, expected {expected}{given}. Check which dim you reduce over, and use "
               "keepdim=True where the result must broadcast back.", call=call, got=tuple(got.shape),
               expected=tuple(expected.shape), given=given), Rule.SHAPE, call=call)
    if check_dtype and got.dtype != expected.dtype:
        fail(M_("{call} returned {got}, expected {expected}: keep the input's dtype (build new tensors with "
               "torch.zeros_like / x.new_tensor / .to(x.dtype), not a fixed dtype).", call=call,
               got=Message.value(_dtype_name(got.dtype)), expected=Message.value(_dtype_name(expected.dtype))),
             Rule.DTYPE, call=call)
    if check_device and not same_device(got.device, expected.device):
        fail(M_("{call} returned a tensor on {got}, expected {expected}: create new tensors on the input's device "
               "(torch.zeros_like(x), or device=x.device).", call=call, got=got.device, expected=expected.device),
             Rule.DEVICE, call=call)
    g, e = got.detach().double().cpu(), expected.detach().double().cpu()
    bad_finite = torch.isfinite(e) & ~torch.isfinite(g)
    if bad_finite.any():
        i = _index(int(bad_finite.flatten().nonzero()[0]), g.shape)
        where = _input_there(input, g, i)
        there = input.detach().double().cpu()[i].item() if isinstance(input, torch.Tensor) and \
            input.shape == g.shape else None
        # Only a large input makes exp() overflow; elsewhere the cause is a division or a log.
        cause = M_("If the inputs are large, exp() overflowed: rearrange the formula so exp() only sees numbers <= 0. "
                   "Otherwise look for a division by zero.") if there is None or abs(there) > 20 else \
            M_("The input there is small, so no exp() overflowed: look for a division by zero or the log of a "
               "number <= 0.")
        fail(M_("{call} returned {got} at index {index}{where} where torch gives {expected:g}; {count} of {total} "
                "elements are not finite. {cause}", call=call, got=g[i].item(), index=i, where=where,
                expected=e[i].item(), count=int(bad_finite.sum()), total=g.numel(), cause=cause),
             Rule.NOT_FINITE, call=call, facts=(("index", str(i)), ("got", g[i].item()), ("expected", e[i].item())))
    mismatch = ~torch.isclose(g, e, atol=atol, rtol=rtol, equal_nan=True)
    if mismatch.any():
        diff = torch.where(mismatch, (g - e).abs().nan_to_num(math.inf), torch.zeros_like(g))
        i = _index(int(diff.flatten().argmax()), g.shape)
        fail(M_("{call}: {count} of {total} values are wrong; the largest difference is {difference:.3g} at index "
               "{index}{where}: got {got:.6g}, expected {expected:.6g} (tolerance atol={atol:g}, rtol={rtol:g}).",
               call=call, count=int(mismatch.sum()), total=g.numel(), difference=diff[i].item(), index=i,
               where=_input_there(input, g, i), got=g[i].item(), expected=e[i].item(), atol=atol, rtol=rtol),
             Rule.VALUES, call=call, facts=(("index", str(i)), ("got", g[i].item()), ("expected", e[i].item()),
                                            ("atol", atol), ("rtol", rtol)))


def _input_there(input, g: torch.Tensor, i: tuple) -> str:
    """" (input there: x)", when the input lines up with the result element for element."""
    if isinstance(input, torch.Tensor) and input.shape == g.shape:
        return M_(" (input there: {value:g})", value=input.detach().double().cpu()[i].item())
    return ""


def assert_unchanged(before: torch.Tensor, after: torch.Tensor, *, call, what: str = ""):
    if not torch.equal(before.cpu(), after.cpu()):
        n = int((before.cpu() != after.cpu()).sum())
        fail(M_("{call} modified {what} ({count} of {total} values changed): compute a new tensor instead of writing "
               "into the input (avoid in-place ops such as x -= ..., x.exp_()).", call=call,
               what=what or M_("its input"), count=n, total=before.numel()), Rule.INPUT_MODIFIED, call=call)


def check_error_message(message: str, mentions, *, call, error: str) -> None:
    """The rule for every exercise that must raise: its message names the argument and the
    value received. Each of `mentions` is a text the message must contain (any case), or a
    tuple of texts any one of which will do (a shape said as (6,), [6] or 1 dim)."""
    lowered = message.lower()
    alternatives = [m if isinstance(m, tuple) else (m,) for m in mentions]
    missing = [alts for alts in alternatives if not any(str(alt).lower() in lowered for alt in alts)]
    if missing:
        named = functools.reduce(lambda first, second: M_("{first} or {second}", first=first, second=second),
                                 [repr(str(alt)) for alt in missing[0]])
        fail(M_("{call} raised {error}, but its message {message!r} does not mention {missing}: name the argument "
               "and the value received, so the caller knows what to fix.", call=call, error=error,
               message=Message.value(message), missing=named), Rule.ERROR_MESSAGE, call=call)


def assert_raises(outcome: Outcome, exc_type: type[BaseException], *, call, mentions=(), why: str = ""):
    """The call must have raised `exc_type` (or a subclass) with a message naming `mentions`
    (check_error_message)."""
    reason = M_(" ({why})", why=why) if why else ""
    if not outcome.raised:
        fail(M_("{call} returned {value}; it should raise {error}{reason}.", call=call, value=show(outcome.value),
               error=exc_type.__name__, reason=reason), Rule.MUST_RAISE, call=call)
    if not outcome.raised_a(exc_type):
        fail(M_("{call} raised {raised}: {message!r}; it should raise {error}{reason}.", call=call,
               raised=outcome.error_type, message=Message.value(outcome.message), error=exc_type.__name__, reason=reason),
             Rule.MUST_RAISE, call=call)
    check_error_message(outcome.message, mentions, call=call, error=exc_type.__name__)


# -- distributions -------------------------------------------------------------------
def _normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


KS_MAX_SAMPLES = 10_000
# A uniform of standard deviation s lives inside +-sqrt(3) s = +-1.73 s; a normal puts 4.55%
# of its values beyond +-2 s. Counting them tells the two apart on a few hundred values.
TAIL_EDGE = 2.0
NORMAL_BEYOND_EDGE = math.erfc(TAIL_EDGE / math.sqrt(2.0))


def ks_distance(sample: torch.Tensor, cdf) -> float:
    """Kolmogorov-Smirnov distance between a sample and a CDF, on at most KS_MAX_SAMPLES
    evenly strided values (the shape test needs far fewer than the scale test)."""
    x = sample.detach().flatten().cpu()
    x = x[:: max(1, x.numel() // KS_MAX_SAMPLES)].double().sort().values
    n = x.numel()
    f = cdf(x)
    upper = torch.arange(1, n + 1, dtype=torch.float64) / n - f
    lower = f - torch.arange(0, n, dtype=torch.float64) / n
    return float(torch.maximum(upper, lower).max())


def _ks_tolerance(n: int) -> float:
    # A correct sample of n values stays below 1.95/sqrt(n) with probability 0.999.
    return 2.5 / math.sqrt(n) + 0.001


def assert_normal(sample: torch.Tensor, *, mean: float, std: float, call, suspects=(), std_tol=None, ks_tol=None):
    """The sample must look like N(mean, std^2).

    Scale: with 160 000 values a 5% error in std is ~28 standard errors away, while the 1%
    tolerance is ~5.7: strict, and (seeds are fixed) never flaky. Smaller samples get
    tolerances scaled by 1/sqrt(n). Shape, three ways: the share of values beyond 2 std
    (4.55% for a normal, none for a uniform of the same std; allowed: 6 binomial standard
    errors), the kurtosis (3 for a normal, 1.8 for a uniform; its
    standard error is sqrt(24/n), the tolerance 8 of those and at least 0.3), and the
    Kolmogorov-Smirnov distance of at most KS_MAX_SAMPLES evenly strided values from the
    normal CDF."""
    s = sample.detach().to("cpu", torch.float64, copy=True).flatten()
    n = s.numel()
    std_tol = std_tol if std_tol is not None else max(0.01, 5 / math.sqrt(2 * n))
    ks_tol = ks_tol if ks_tol is not None else _ks_tolerance(min(n, KS_MAX_SAMPLES))
    got_mean, got_std = s.mean().item(), s.std().item()
    if abs(got_std - std) > std_tol * std:
        _fail_scale(call, M_("standard deviation"), got_std, std, suspects, match=std_tol)
    if abs(got_mean - mean) > std_tol * std + 1e-12:
        _off_distribution(call, M_("{call}: the values have mean {got:.4g}, expected {expected:.4g} (std {std:.4g}).", call=call,
               got=got_mean, expected=mean, std=std))
    z = s.sub_(got_mean).div_(got_std)  # s is a private copy: standardise it in place
    beyond = (z.abs() > TAIL_EDGE).double().mean().item()
    if abs(beyond - NORMAL_BEYOND_EDGE) > 6 * math.sqrt(NORMAL_BEYOND_EDGE * (1 - NORMAL_BEYOND_EDGE) / n):
        looks = M_(" It looks uniform (a uniform has none there): draw from a normal distribution.") \
            if beyond < 0.01 else ""
        _off_distribution(call, M_("{call}: the values do not look normally distributed: {percent:.2f}% of them lie more than 2 standard "
               "deviations from the mean, where a normal sample has 4.55%.{looks}", call=call, percent=100 * beyond,
               looks=looks))
    kurtosis = z.square_().square_().mean().item()  # the mean 4th power
    if abs(kurtosis - 3) > max(0.3, 8 * math.sqrt(24 / n)):
        looks = M_(" It looks uniform (kurtosis 1.8): draw from a normal distribution.") if kurtosis < 2.2 else ""
        _off_distribution(call, M_("{call}: the values do not look normally distributed: their kurtosis (mean fourth power of the "
               "standardised values) is {kurtosis:.3f}, and a normal sample's is 3.{looks}", call=call,
               kurtosis=kurtosis, looks=looks))
    ks = ks_distance(sample, lambda x: _normal_cdf((x - mean) / std))
    if ks > ks_tol:
        _off_distribution(call, M_("{call}: the values do not look normally distributed (Kolmogorov-Smirnov distance {ks:.3f} from "
               "N({mean:.4g}, {std:.4g}^2), allowed {allowed}). Did you draw from a uniform distribution?", call=call,
               ks=ks, mean=mean, std=std, allowed=ks_tol))


def assert_uniform(sample: torch.Tensor, *, low: float, high: float, call, suspects=(), ks_tol=None):
    """The sample must look like U(low, high): inside the bounds, reaching both ends (within 1%
    of the width, or 12/n of it for small samples: a correct sample misses that with
    probability e^-12), flat (Kolmogorov-Smirnov)."""
    s = sample.detach().double().cpu().flatten()
    ks_tol = ks_tol if ks_tol is not None else _ks_tolerance(min(s.numel(), KS_MAX_SAMPLES))
    width = high - low
    reach = max(0.01, 12 / s.numel()) * width
    got_low, got_high = s.min().item(), s.max().item()
    slack = 1e-6 * max(abs(low), abs(high), width)
    if got_low < low - slack or got_high > high + slack or got_low > low + reach or got_high < high - reach:
        scale = max(abs(got_low), abs(got_high))
        expected = max(abs(low), abs(high))
        if low == -high and abs(got_low + got_high) < 0.02 * width:
            _fail_scale(call, M_("bound"), scale, expected, suspects)
        _off_distribution(call, M_("{call}: the values range over [{got_low:.4g}, {got_high:.4g}], expected [{low:.4g}, {high:.4g}).",
               call=call, got_low=got_low, got_high=got_high, low=low, high=high))
    ks = ks_distance(s, lambda x: ((x - low) / width).clamp(0, 1))
    if ks > ks_tol:
        _off_distribution(call, M_("{call}: the values do not look uniformly distributed over [{low:.4g}, {high:.4g}) "
               "(Kolmogorov-Smirnov distance {ks:.3f}, allowed {allowed}). Did you draw from a normal distribution?",
               call=call, low=low, high=high, ks=ks, allowed=ks_tol))


def _off_distribution(call, text: Message, **record):
    fail(text, Rule.DISTRIBUTION, call=_message(call), **record)


def _fail_scale(call, what, got, expected, suspects, match=0.01):
    """Fail on a wrong scale, naming every suspect it matches (within `match`, relative):
    `failures.said_once` names the one that explains the most of the exercise's failures."""
    ratio = got / expected if expected else math.inf
    matched = tuple(
        Suspicion(suspect.id, M_("{call}: the {what} is {got:.4g} (expected {expected:.4g}), which is what {label} "
                                 "gives: {advice}", call=call, what=what, got=got, expected=expected,
                                 label=_message(suspect.label), advice=_message(suspect.advice)))
        for suspect in suspects
        if isinstance(suspect.value, (int, float)) and abs(got - suspect.value) <= match * abs(suspect.value))
    _off_distribution(call, M_("{call}: the {what} is {got:.4g}, expected {expected:.4g} ({ratio:.3f} times the "
                               "target). Check the formula: the fans, the gain, and the square root.", call=call,
                               what=what, got=got, expected=expected, ratio=ratio),
                      suspects=matched, facts=(("got", got), ("expected", expected)))
