"""Specification of exercises/initialization.py, graded against torch.nn.init."""

import math

import pytest
import torch

from torchkata.core.devices import same_device
from torchkata.core.i18n import M_, Message
from torchkata.engine.checks import (
    Suspect,
    assert_normal,
    assert_raises,
    assert_tensor,
    assert_uniform,
    check_error_message,
    fail,
)

HALF_AND_FULL = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
LINEAR = (200, 800)           # fan_in 800, fan_out 200: a swapped fan is a factor of 4 in variance
CONV = (128, 64, 5, 5)        # fan_in 64*25 = 1600, fan_out 128*25 = 3200


def probe_fill(scene, shape, kwargs, dtype=torch.float32, parameter=True):
    """Fill a tensor of `shape` (a Parameter that requires grad, by default) and report."""
    data = torch.full(shape, 7.0, dtype=dtype, device=scene.device)
    tensor = torch.nn.Parameter(data) if parameter else data
    out = scene.fn(tensor, **kwargs)
    return {
        "same_object": out is tensor,
        "returned": type(out).__name__,
        "grad_fn": None if tensor.grad_fn is None else type(tensor.grad_fn).__name__,
        "requires_grad": tensor.requires_grad,
        "values": tensor.detach(),
    }


def probe_linear_weight(scene, kwargs):
    """The course's case: initialise nn.Linear(5, 2).weight."""
    layer = torch.nn.Linear(5, 2, device=scene.device)
    out = scene.fn(layer.weight, **kwargs)
    return {"same_object": out is layer.weight, "is_parameter": isinstance(layer.weight, torch.nn.Parameter),
            "grad_fn": layer.weight.grad_fn is not None, "values": layer.weight.detach()}


def probe_error_leaves_tensor(scene, shape, kwargs):
    """A call that must raise: report the error and the tensor afterwards."""
    tensor = torch.full(shape, 7.0, device=scene.device)
    outcome = scene.attempt(scene.fn, tensor, **kwargs)
    return {"outcome": outcome, "after": tensor}


def fill(learner, shape, kwargs=None, **options):
    """Run probe_fill and check the in-place contract; return the filled values."""
    kwargs = kwargs or {}
    report = learner.run(probe_fill, shape, kwargs, **options)
    call = learner.call_text(M_("<tensor of shape {shape}>", shape=shape), **kwargs)
    if not report["same_object"]:
        fail(M_("{call} returned a new {type}; fill the given tensor in place and return that same "
               "tensor object (as torch.nn.init does), e.g. tensor.uniform_(a, b) and `return tensor`.",
               call=call, type=report["returned"]))
    if report["grad_fn"] is not None:
        fail(M_("{call} was recorded by autograd (grad_fn {grad_fn}): do the fill inside "
               "`with torch.no_grad():` so the parameter stays a leaf with no history.",
               call=call, grad_fn=report["grad_fn"]))
    if not report["requires_grad"] and options.get("parameter", True):
        fail(M_("{call} switched off requires_grad on the parameter: fill it under torch.no_grad() instead.",
               call=call))
    return report["values"], call


def check_error(learner, shape, kwargs, exc_type, mentions, why):
    report = learner.run(probe_error_leaves_tensor, shape, kwargs)
    call = learner.call_text(M_("<tensor of shape {shape}>", shape=shape), **kwargs)
    outcome = report["outcome"]
    if outcome["status"] != "raised":
        fail(M_("{call} returned normally; it should raise {error} ({why}).", call=call, error=exc_type.__name__,
               why=why))
    if exc_type.__name__ not in outcome["mro"]:
        fail(M_("{call} raised {raised}: {message!r}; it should raise {error} ({why}).", call=call,
               raised=outcome["type"], message=outcome["message"], error=exc_type.__name__, why=why))
    check_error_message(outcome["message"], mentions, call=call, error=exc_type.__name__)
    if not torch.equal(report["after"].cpu(), torch.full(shape, 7.0)):
        fail(M_("{call} raised, but only after changing the tensor: check the arguments before filling, so a bad "
               "call leaves the tensor as it was.", call=call))


class InPlaceContract:
    """What every initialiser promises: in place, same object, no history, dtype kept."""

    KWARGS: dict = {}

    def test_fills_a_linear_weight_in_place(self, learner):
        report = learner.run(probe_linear_weight, self.KWARGS)
        call = learner.call_text(Message.verbatim("nn.Linear(5, 2).weight"), **self.KWARGS)
        if not report["same_object"]:
            fail(M_("{call} did not return the weight itself: fill it in place and return it.", call=call))
        if report["grad_fn"] or not report["is_parameter"]:
            fail(M_("{call} left autograd history on the weight: fill it under `with torch.no_grad():`.", call=call))

    @pytest.mark.parametrize("dtype", HALF_AND_FULL, ids=str)
    def test_keeps_dtype_and_device(self, learner, device, dtype):
        values, call = fill(learner, (40, 30), self.KWARGS, dtype=dtype)
        if values.dtype != dtype or not same_device(values.device, device):
            fail(M_("{call} turned a {dtype} tensor on {device} into {got_dtype} on {got_device}.", call=call,
                   dtype=dtype, device=device, got_dtype=values.dtype, got_device=values.device))
        if not torch.isfinite(values.float()).all() or torch.equal(values.cpu(), torch.full((40, 30), 7.0, dtype=dtype)):
            fail(M_("{call} on a {dtype} tensor left it unfilled or non-finite.", call=call, dtype=dtype))

    def test_plain_tensor_without_grad(self, learner):
        values, call = fill(learner, (40, 30), self.KWARGS, parameter=False)
        if torch.equal(values.cpu(), torch.full((40, 30), 7.0)):
            fail(M_("{call} did not change a plain tensor.", call=call))


class FanBasedContract(InPlaceContract):
    """Initialisers built on the fans: a tensor below 2 dims has none."""

    def test_one_dim_is_a_value_error(self, learner):
        check_error(learner, (6,), {}, ValueError, ["tensor"], M_("fans need at least 2 dims"))


class KaimingContract(FanBasedContract):
    """Kaiming's mode must be checked before the tensor is touched."""

    def test_bad_mode_is_a_value_error_and_leaves_tensor(self, learner):
        check_error(learner, (20, 30), {"mode": "fan_avg"}, ValueError, ["mode", "fan_avg"],
                    M_("mode must be 'fan_in' or 'fan_out'"))


# A weight as the course meets it: a layer's Parameter (requires grad), in bfloat16, on the
# meta device (built without memory, as the network exercises do). Built where the
# learner's code runs: a meta tensor has no values to send anywhere.
WEIGHTS = {
    "Linear(5, 3).weight": lambda device: torch.nn.Linear(5, 3, device=device).weight,
    "Conv2d(3, 8, 5).weight": lambda device: torch.nn.Conv2d(3, 8, 5, device=device).weight,
    "bfloat16": lambda device: torch.empty(6, 4, 3, dtype=torch.bfloat16, device=device),
    "meta": lambda device: torch.empty(16, 8, 3, 3, device="meta"),
}


def probe_fans_of(scene, kind):
    """The learner's fans of a WEIGHTS weight, with the type of each number as returned (a
    NumPy number would cross back to the test as a plain int) and any error raised."""
    weight = WEIGHTS[kind](scene.device)
    report = {"shape": tuple(weight.shape), "expected": torch.nn.init._calculate_fan_in_and_fan_out(weight),
              "error": "", "message": "", "fans": None, "types": []}
    try:
        got = scene.fn(weight)
    except Exception as error:  # what the learner's code raised is the finding
        return report | {"error": type(error).__name__, "message": str(error)}
    try:
        fans = tuple(int(v) for v in got)
    except (TypeError, ValueError):
        fans = got
    types = [type(v).__name__ if type(v).__module__ == "builtins" else f"{type(v).__module__}.{type(v).__name__}"
             for v in got] if isinstance(got, (tuple, list)) else [type(got).__name__]
    return report | {"fans": fans, "types": types}


@pytest.mark.exercise("initialization.calculate_fan_in_and_fan_out")
class TestCalculateFanInAndFanOut:
    @pytest.mark.parametrize("shape", [(3, 5), (5, 3), (16, 8, 3, 3), (4, 5, 6), (2, 3, 4, 5, 6), (7, 1)], ids=str)
    def test_matches_torch(self, learner, device, shape):
        tensor = torch.empty(shape, device=device)
        got = learner(tensor)
        expected = torch.nn.init._calculate_fan_in_and_fan_out(tensor)
        call = "calculate_fan_in_and_fan_out({})".format(M_("<tensor of shape {shape}>", shape=shape))
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(M_("{call} returned {got!r}; expected a pair (fan_in, fan_out) = {expected}.", call=call, got=got,
                   expected=expected))
        if tuple(got) == expected[::-1] and expected[0] != expected[1]:
            fail(M_("{call} returned {got}: fan_in and fan_out are swapped. A weight is (out, in, *kernel): "
                   "fan_in comes from shape[1], fan_out from shape[0].", call=call, got=tuple(got)))
        if len(shape) > 2 and tuple(got) == (shape[1], shape[0]):
            fail(M_("{call} returned {got}: multiply both fans by the receptive field "
                   "(the product of the kernel dims {kernel}).", call=call, got=tuple(got), kernel=shape[2:]))
        check_fans(got, expected, call)

    @pytest.mark.parametrize("kind", WEIGHTS)
    def test_any_weight_works_and_gives_plain_ints(self, learner, device, kind):
        report = learner.run(probe_fans_of, kind)
        call = "calculate_fan_in_and_fan_out({})".format(M_("<{kind} of shape {shape}>", kind=kind,
                                                           shape=report["shape"]))
        if report["error"]:
            fail(M_("{call} raised {error}: {message!r}. The fans come from the shape alone: read weight.shape "
                    "(plain ints), not the values (no .numpy(), no arithmetic on the tensor), so a weight that "
                    "requires grad, a bfloat16 one or one on the meta device works too.", call=call,
                    error=report["error"], message=Message.value(report["message"])))
        check_fans(report["fans"], report["expected"], call)
        if report["types"] != ["int", "int"]:
            fail(M_("{call} returned {got} as {types}: return plain Python ints (int(...), or the numbers of "
                    "tensor.shape, which are ints already).", call=call, got=report["fans"],
                    types=", ".join(report["types"])))

    @pytest.mark.parametrize("shape", [(5,), ()], ids=str)
    def test_fewer_than_two_dims_is_a_value_error(self, learner, device, shape):
        tensor = torch.empty(shape, device=device)
        outcome = learner.attempt(tensor)
        assert_raises(outcome, ValueError, call="calculate_fan_in_and_fan_out({})".format(M_("<tensor of shape {shape}>", shape=shape)),
                      mentions=["tensor", (str(len(shape)), str(shape), str(list(shape)))],  # as for eye_
                      why=M_("fans need at least 2 dims"))


def check_fans(got, expected: tuple[int, int], call) -> None:
    """Two ints equal to torch's."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(M_("{call} returned {got!r}; expected a pair (fan_in, fan_out) = {expected}.", call=call, got=got,
               expected=expected))
    if tuple(got) != tuple(expected):
        fail(M_("{call} returned {got}, expected {expected} as two ints.", call=call, got=tuple(got),
               expected=tuple(expected)))


@pytest.mark.exercise("initialization.calculate_gain")
class TestCalculateGain:
    CASES = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
             ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
             ("relu", None), ("selu", None), ("leaky_relu", None), ("leaky_relu", 0), ("leaky_relu", 0.2),
             ("leaky_relu", 1.0)]

    @pytest.mark.parametrize("nonlinearity,param", CASES, ids=str)
    def test_matches_torch(self, learner, nonlinearity, param):
        got = learner(nonlinearity, param)
        expected = torch.nn.init.calculate_gain(nonlinearity, param)
        call = learner.call_text(nonlinearity, param)
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            fail(M_("{call} returned {got!r}; expected the number {expected:.6g}.", call=call, got=got,
                   expected=expected))
        if nonlinearity == "leaky_relu" and param == 0 and math.isclose(got, math.sqrt(2 / (1 + 0.01**2)), rel_tol=1e-9):
            fail(M_("{call} used the default slope 0.01: param=0 means a slope of 0 (gain sqrt(2)). "
                   "Test `param is None`, not `not param` or `param or 0.01`.", call=call))
        if not math.isclose(got, expected, rel_tol=1e-9):
            fail(M_("{call} returned {got:.6g}, expected {expected:.6g}.", call=call, got=got, expected=expected))

    def test_unknown_nonlinearity_is_a_value_error(self, learner):
        outcome = learner.attempt("swish")
        assert_raises(outcome, ValueError, call="calculate_gain('swish')", mentions=["swish"],
                      why=M_("there is no gain for an unknown nonlinearity"))


@pytest.mark.exercise("initialization.constant_")
class TestConstant(InPlaceContract):
    KWARGS = {"val": 0.3}

    @pytest.mark.parametrize("val", [0.3, -2.0, 0.0], ids=str)
    def test_fills_with_the_value(self, learner, device, val):
        values, call = fill(learner, (4, 6), {"val": val})
        assert_tensor(values, torch.full((4, 6), val, device=device), call=call,
                      rule=M_("constant_ must set every element to val={val}.", val=val))


@pytest.mark.exercise("initialization.zeros_")
class TestZeros(InPlaceContract):
    def test_fills_with_zeros(self, learner, device):
        values, call = fill(learner, (4, 6))
        assert_tensor(values, torch.zeros(4, 6, device=device), call=call,
                      rule=M_("zeros_ must set every element to 0."))


@pytest.mark.exercise("initialization.ones_")
class TestOnes(InPlaceContract):
    def test_fills_with_ones(self, learner, device):
        values, call = fill(learner, (4, 6))
        assert_tensor(values, torch.ones(4, 6, device=device), call=call,
                      rule=M_("ones_ must set every element to 1."))


@pytest.mark.exercise("initialization.eye_")
class TestEye(InPlaceContract):
    @pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3), (1, 1)], ids=str)
    def test_identity_also_when_not_square(self, learner, device, shape):
        values, call = fill(learner, shape)
        assert_tensor(values, torch.eye(*shape, device=device), call=call,
                      suspects=[Suspect(M_("an all-ones tensor"), torch.ones(shape, device=device),
                                        M_("only the main diagonal is 1; zero the rest first (the tensor starts with "
                                          "arbitrary values)."))])

    @pytest.mark.parametrize("shape", [(6,), (2, 2, 2)], ids=str)
    def test_not_2d_is_a_value_error_and_leaves_tensor(self, learner, shape):
        check_error(learner, shape, {}, ValueError, ["tensor", (str(len(shape)), str(shape), str(list(shape)))],
                    M_("eye_ needs a 2-D tensor"))


@pytest.mark.exercise("initialization.normal_")
class TestNormal(InPlaceContract):
    @pytest.mark.parametrize("mean,std", [(0.0, 1.0), (2.0, 0.5), (-1.0, 3.0)], ids=str)
    def test_distribution(self, learner, mean, std):
        kwargs = {"mean": mean, "std": std}
        values, call = fill(learner, (400, 500), kwargs)
        assert_normal(values, mean=mean, std=std, call=call,
                      suspects=[Suspect(M_("a std of std^2"), std**2,
                                        M_("std is the standard deviation; do not square it."))])

    def test_default_is_standard_normal(self, learner):
        values, call = fill(learner, (400, 500))
        assert_normal(values, mean=0.0, std=1.0, call=call)


@pytest.mark.exercise("initialization.uniform_")
class TestUniform(InPlaceContract):
    @pytest.mark.parametrize("a,b", [(0.0, 1.0), (-2.0, 3.0), (-1.0, 1.0)], ids=str)
    def test_distribution(self, learner, a, b):
        values, call = fill(learner, (400, 500), {"a": a, "b": b})
        assert_uniform(values, low=a, high=b, call=call)

    def test_default_is_zero_to_one(self, learner):
        values, call = fill(learner, (400, 500))
        assert_uniform(values, low=0.0, high=1.0, call=call)


def fans(shape):
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape, device="meta"))


@pytest.mark.exercise("initialization.xavier_uniform_")
class TestXavierUniform(FanBasedContract):
    @pytest.mark.parametrize("shape", [LINEAR, CONV], ids=str)
    @pytest.mark.parametrize("gain", [1.0, 5.0 / 3], ids=["gain1", "gain_tanh"])
    def test_distribution(self, learner, shape, gain):
        fan_in, fan_out = fans(shape)
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        values, call = fill(learner, shape, {"gain": gain})
        assert_uniform(values, low=-bound, high=bound, call=call, suspects=[
            Suspect(M_("the normal formula sqrt(2 / (fan_in + fan_out))"), gain * math.sqrt(2.0 / (fan_in + fan_out)),
                    M_("the uniform bound uses 6, not 2: b = gain * sqrt(6 / (fan_in + fan_out)).")),
            Suspect(M_("a missing square root"), gain * 6.0 / (fan_in + fan_out),
                    M_("take the square root of 6 / (fan_in + fan_out).")),
            Suspect("gain^2", gain**2 * math.sqrt(6.0 / (fan_in + fan_out)),
                    M_("multiply by gain once, not gain squared.")),
            Suspect(M_("only fan_in"), gain * math.sqrt(6.0 / fan_in), M_("Xavier uses both fans: fan_in + fan_out.")),
        ])


@pytest.mark.exercise("initialization.xavier_normal_")
class TestXavierNormal(FanBasedContract):
    @pytest.mark.parametrize("shape", [LINEAR, CONV], ids=str)
    @pytest.mark.parametrize("gain", [1.0, 5.0 / 3], ids=["gain1", "gain_tanh"])
    def test_distribution(self, learner, shape, gain):
        fan_in, fan_out = fans(shape)
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
        values, call = fill(learner, shape, {"gain": gain})
        assert_normal(values, mean=0.0, std=std, call=call, suspects=[
            Suspect(M_("the uniform formula sqrt(6 / (fan_in + fan_out))"), gain * math.sqrt(6.0 / (fan_in + fan_out)),
                    M_("the normal std uses 2, not 6: std = gain * sqrt(2 / (fan_in + fan_out)).")),
            Suspect(M_("the variance instead of the std"), gain * 2.0 / (fan_in + fan_out),
                    M_("take the square root: that is the variance.")),
            Suspect(M_("only fan_in"), gain * math.sqrt(2.0 / fan_in), M_("Xavier uses both fans: fan_in + fan_out.")),
        ])


KAIMING_CASES = [
    ({}, "default: a=0, fan_in, leaky_relu"),
    ({"mode": "fan_out"}, "fan_out"),
    ({"nonlinearity": "relu"}, "relu"),
    ({"a": 0.2}, "leaky slope 0.2"),
    ({"nonlinearity": "tanh", "mode": "fan_out"}, "tanh, fan_out"),
]


def kaiming_std(shape, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fan_in, fan_out = fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan), fan_in, fan_out, fan


def kaiming_suspects(shape, kwargs, scale):
    """Known Kaiming mistakes, as the std (times `scale`: sqrt(3) for the uniform bound) they produce."""
    std, fan_in, fan_out, fan = kaiming_std(shape, **kwargs)
    other = fan_out if fan == fan_in else fan_in
    gain = std * math.sqrt(fan)
    return [
        Suspect(M_("the other fan"), scale * gain / math.sqrt(other),
                M_("mode={mode!r} selects {fan}; "
                  "fan_in is shape[1] * receptive field, fan_out is shape[0] * receptive field.",
                  mode=kwargs.get("mode", "fan_in"), fan="fan_in" if fan == fan_in else "fan_out")),
        Suspect(M_("gain / fan (no square root)"), scale * gain / fan, M_("the std is gain / sqrt(fan).")),
        Suspect(M_("sqrt(2) counted twice"), scale * gain * math.sqrt(2.0 / fan),
                M_("the gain already holds the sqrt(2): std = gain / sqrt(fan).")),
        Suspect(M_("a gain of 1"), scale / math.sqrt(fan), M_("multiply by calculate_gain(nonlinearity, a).")),
    ]


@pytest.mark.exercise("initialization.kaiming_uniform_")
class TestKaimingUniform(KaimingContract):
    @pytest.mark.parametrize("shape", [LINEAR, CONV], ids=str)
    @pytest.mark.parametrize("kwargs,label", KAIMING_CASES, ids=[c[1] for c in KAIMING_CASES])
    def test_distribution(self, learner, shape, kwargs, label):
        bound = math.sqrt(3.0) * kaiming_std(shape, **kwargs)[0]
        values, call = fill(learner, shape, kwargs)
        assert_uniform(values, low=-bound, high=bound, call=call, suspects=kaiming_suspects(shape, kwargs, math.sqrt(3.0)))


@pytest.mark.exercise("initialization.kaiming_normal_")
class TestKaimingNormal(KaimingContract):
    @pytest.mark.parametrize("shape", [LINEAR, CONV], ids=str)
    @pytest.mark.parametrize("kwargs,label", KAIMING_CASES, ids=[c[1] for c in KAIMING_CASES])
    def test_distribution(self, learner, shape, kwargs, label):
        std = kaiming_std(shape, **kwargs)[0]
        values, call = fill(learner, shape, kwargs)
        assert_normal(values, mean=0.0, std=std, call=call, suspects=kaiming_suspects(shape, kwargs, 1.0))
