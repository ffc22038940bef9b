"""Assertions that explain themselves to a learner.

Each check names the call, what was expected and what came back, in words: shapes,
dtypes, devices, where the largest difference is and what the input was there. When
the wrong answer matches a known mistake (a "suspect": softmax over the wrong dim, a
missing max-shift, a swapped fan), the message names the mistake and how to fix it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch

from .devices import same_device
from .i18n import _
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
    """A known wrong answer: if the learner's result equals `value`, say `advice`."""

    label: str
    value: object
    advice: str


def fail(message: str):
    pytest.fail(message, pytrace=False)


def tolerance(dtype: torch.dtype, atol=None, rtol=None) -> tuple[float, float]:
    default_atol, default_rtol = TOLERANCES.get(dtype, (1e-5, 1e-4))
    return (default_atol if atol is None else atol, default_rtol if rtol is None else rtol)


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _close(got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float) -> bool:
    if got.shape != expected.shape:
        return False
    return bool(torch.isclose(got.double().cpu(), expected.double().cpu(), atol=atol, rtol=rtol, equal_nan=True).all())


def _matching_suspect(got, suspects, atol, rtol) -> Suspect | None:
    for suspect in suspects:
        value = suspect.value
        if isinstance(value, torch.Tensor) and isinstance(got, torch.Tensor) and _close(got, value, atol, rtol):
            return suspect
    return None


def _index(flat_index: int, shape) -> tuple:
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(index))


def check_suspects(got, expected: torch.Tensor, suspects, *, call: str, atol=None, rtol=None):
    """Fail naming the mistake when `got` is wrong and equals a known wrong answer."""
    atol, rtol = tolerance(expected.dtype, atol, rtol)
    if got is None:
        fail(_("{call} returned None; expected a tensor of shape {shape}. Did you forget the `return`?", call=call,
               shape=tuple(expected.shape)))
    if not isinstance(got, torch.Tensor):
        kind = _("a {type} object", type=got.type_name) if isinstance(got, Handle) else f"{type(got).__name__} {show(got)}"
        fail(_("{call} returned {kind}; expected a tensor of shape {shape}.", call=call, kind=kind,
               shape=tuple(expected.shape)))
    if not suspects or _close(got, expected, atol, rtol):
        return
    suspect = _matching_suspect(got, suspects, atol, rtol)
    if suspect is not None:
        fail(_("{call} returned what {label} gives, not the right answer: {advice}", call=call, label=suspect.label,
               advice=suspect.advice))


def assert_tensor(got, expected: torch.Tensor, *, call: str, atol=None, rtol=None, suspects=(), input=None,
                  check_dtype: bool = True, check_device: bool = True, rule: str = ""):
    """`got` must be a tensor equal to `expected` (torch's answer) in shape, dtype, device and values.

    `rule` is the contract's rule in words ("after init_params every bias is 0.1."): a failure
    no suspect explains says it first, so the learner reads what was broken, then the numbers
    (a suspect's own message names the mistake, and is said alone).
    """
    check_suspects(got, expected, suspects, call=call, atol=atol, rtol=rtol)  # a known mistake says itself
    try:
        _assert_tensor(got, expected, call=call, atol=atol, rtol=rtol, input=input,
                       check_dtype=check_dtype, check_device=check_device)
        return
    except pytest.fail.Exception as failure:
        if not rule:
            raise
        message = _("{rule} {details}", rule=rule, details=failure.msg)
    fail(message)  # outside the except: one failure, not one chained to another


def _assert_tensor(got, expected, *, call, atol, rtol, input, check_dtype, check_device):
    atol, rtol = tolerance(expected.dtype, atol, rtol)
    if got.shape != expected.shape:
        given = _(" (the input has shape {shape})", shape=tuple(input.shape)) if isinstance(input, torch.Tensor) else ""
        fail(_("{call} returned shape {got}, expected {expected}{given}. Check which dim you reduce over, and use "
               "keepdim=True where the result must broadcast back.", call=call, got=tuple(got.shape),
               expected=tuple(expected.shape), given=given))
    if check_dtype and got.dtype != expected.dtype:
        fail(_("{call} returned {got}, expected {expected}: keep the input's dtype (build new tensors with "
               "torch.zeros_like / x.new_tensor / .to(x.dtype), not a fixed dtype).", call=call,
               got=_dtype_name(got.dtype), expected=_dtype_name(expected.dtype)))
    if check_device and not same_device(got.device, expected.device):
        fail(_("{call} returned a tensor on {got}, expected {expected}: create new tensors on the input's device "
               "(torch.zeros_like(x), or device=x.device).", call=call, got=got.device, expected=expected.device))
    g, e = got.detach().double().cpu(), expected.detach().double().cpu()
    bad_finite = torch.isfinite(e) & ~torch.isfinite(g)
    if bad_finite.any():
        i = _index(int(bad_finite.flatten().nonzero()[0]), g.shape)
        where = _input_there(input, g, i)
        fail(_("{call} returned {got} at index {index}{where} where torch gives {expected:g}; {count} of {total} "
               "elements are not finite. If the inputs are large, exp() overflowed: rearrange the formula so exp() "
               "only sees numbers <= 0. Otherwise look for a division by zero.", call=call, got=g[i].item(),
               index=i, where=where, expected=e[i].item(), count=int(bad_finite.sum()), total=g.numel()))
    mismatch = ~torch.isclose(g, e, atol=atol, rtol=rtol, equal_nan=True)
    if mismatch.any():
        diff = torch.where(mismatch, (g - e).abs().nan_to_num(math.inf), torch.zeros_like(g))
        i = _index(int(diff.flatten().argmax()), g.shape)
        fail(_("{call}: {count} of {total} values are wrong; the largest difference is {difference:.3g} at index "
               "{index}{where}: got {got:.6g}, expected {expected:.6g} (tolerance atol={atol:g}, rtol={rtol:g}).",
               call=call, count=int(mismatch.sum()), total=g.numel(), difference=diff[i].item(), index=i,
               where=_input_there(input, g, i), got=g[i].item(), expected=e[i].item(), atol=atol, rtol=rtol))


def _input_there(input, g: torch.Tensor, i: tuple) -> str:
    """" (input there: x)", when the input lines up with the result element for element."""
    if isinstance(input, torch.Tensor) and input.shape == g.shape:
        return _(" (input there: {value:g})", value=input.detach().double().cpu()[i].item())
    return ""


def assert_unchanged(before: torch.Tensor, after: torch.Tensor, *, call: str, what: str = ""):
    if not torch.equal(before.cpu(), after.cpu()):
        n = int((before.cpu() != after.cpu()).sum())
        fail(_("{call} modified {what} ({count} of {total} values changed): compute a new tensor instead of writing "
               "into the input (avoid in-place ops such as x -= ..., x.exp_()).", call=call,
               what=what or _("its input"), count=n, total=before.numel()))


def assert_raises(outcome: Outcome, exc_type: type[BaseException], *, call: str, mentions=(), why: str = ""):
    """The call must have raised `exc_type` (or a subclass) with a message naming `mentions`."""
    reason = _(" ({why})", why=why) if why else ""
    if not outcome.raised:
        fail(_("{call} returned {value}; it should raise {error}{reason}.", call=call, value=show(outcome.value),
               error=exc_type.__name__, reason=reason))
    if not outcome.raised_a(exc_type):
        fail(_("{call} raised {raised}: {message!r}; it should raise {error}{reason}.", call=call,
               raised=outcome.error_type, message=outcome.message, error=exc_type.__name__, reason=reason))
    missing = [m for m in mentions if str(m).lower() not in outcome.message.lower()]
    if missing:
        fail(_("{call} raised {error}, but its message {message!r} does not mention {missing}: name the argument "
               "and the value received, so the caller knows what to fix.", call=call, error=exc_type.__name__,
               message=outcome.message, missing=", ".join(repr(str(m)) for m in missing)))


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


def assert_normal(sample: torch.Tensor, *, mean: float, std: float, call: str, suspects=(), std_tol=None, ks_tol=None):
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
        _fail_scale(call, _("standard deviation"), got_std, std, suspects, match=std_tol)
    if abs(got_mean - mean) > std_tol * std + 1e-12:
        fail(_("{call}: the values have mean {got:.4g}, expected {expected:.4g} (std {std:.4g}).", call=call,
               got=got_mean, expected=mean, std=std))
    z = s.sub_(got_mean).div_(got_std)  # s is a private copy: standardise it in place
    beyond = (z.abs() > TAIL_EDGE).double().mean().item()
    if abs(beyond - NORMAL_BEYOND_EDGE) > 6 * math.sqrt(NORMAL_BEYOND_EDGE * (1 - NORMAL_BEYOND_EDGE) / n):
        looks = _(" It looks uniform (a uniform has none there): draw from a normal distribution.") \
            if beyond < 0.01 else ""
        fail(_("{call}: the values do not look normally distributed: {percent:.2f}% of them lie more than 2 standard "
               "deviations from the mean, where a normal sample has 4.55%.{looks}", call=call, percent=100 * beyond,
               looks=looks))
    kurtosis = z.square_().square_().mean().item()  # the mean 4th power
    if abs(kurtosis - 3) > max(0.3, 8 * math.sqrt(24 / n)):
        looks = _(" It looks uniform (kurtosis 1.8): draw from a normal distribution.") if kurtosis < 2.2 else ""
        fail(_("{call}: the values do not look normally distributed: their kurtosis (mean fourth power of the "
               "standardised values) is {kurtosis:.3f}, and a normal sample's is 3.{looks}", call=call,
               kurtosis=kurtosis, looks=looks))
    ks = ks_distance(sample, lambda x: _normal_cdf((x - mean) / std))
    if ks > ks_tol:
        fail(_("{call}: the values do not look normally distributed (Kolmogorov-Smirnov distance {ks:.3f} from "
               "N({mean:.4g}, {std:.4g}^2), allowed {allowed}). Did you draw from a uniform distribution?", call=call,
               ks=ks, mean=mean, std=std, allowed=ks_tol))


def assert_uniform(sample: torch.Tensor, *, low: float, high: float, call: str, suspects=(), ks_tol=None):
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
            _fail_scale(call, _("bound"), scale, expected, suspects)
        fail(_("{call}: the values range over [{got_low:.4g}, {got_high:.4g}], expected [{low:.4g}, {high:.4g}).",
               call=call, got_low=got_low, got_high=got_high, low=low, high=high))
    ks = ks_distance(s, lambda x: ((x - low) / width).clamp(0, 1))
    if ks > ks_tol:
        fail(_("{call}: the values do not look uniformly distributed over [{low:.4g}, {high:.4g}) "
               "(Kolmogorov-Smirnov distance {ks:.3f}, allowed {allowed}). Did you draw from a normal distribution?",
               call=call, low=low, high=high, ks=ks, allowed=ks_tol))


def _fail_scale(call, what, got, expected, suspects, match=0.01):
    """Fail on a wrong scale, naming the suspect it matches (within `match`, relative)."""
    ratio = got / expected if expected else math.inf
    for suspect in suspects:
        if isinstance(suspect.value, (int, float)) and abs(got - suspect.value) <= match * abs(suspect.value):
            fail(_("{call}: the {what} is {got:.4g} (expected {expected:.4g}), which is what {label} gives: {advice}",
                   call=call, what=what, got=got, expected=expected, label=suspect.label, advice=suspect.advice))
    fail(_("{call}: the {what} is {got:.4g}, expected {expected:.4g} ({ratio:.3f} times the target). Check the "
           "formula: the fans, the gain, and the square root.", call=call, what=what, got=got, expected=expected,
           ratio=ratio))
