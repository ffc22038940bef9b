"""Specification of exercises/networks.py: the course's network, inspected and moved.

The oracle is torch itself and the reference `solutions.networks`, always run here, on
the test's side; the learner's objects stay with the learner's code and answer through
handles in plain data.
"""

import ast
import io
import re
from collections import OrderedDict
from contextlib import redirect_stdout

import pytest
import torch
from torch import nn

import solutions.networks as reference
from torchkata.core.devices import same_device
from torchkata.core.failures import Rule, Suspicion
from torchkata.core.i18n import M_
from torchkata.engine.checks import Suspect, assert_normal, assert_tensor, assert_uniform, fail
from torchkata.engine.probes import probe_build_on_meta

COURSE_PARAMETERS = [("linear1.weight", (4, 3)), ("linear1.bias", (4,)), ("linear2.weight", (4, 4)),
                     ("linear2.bias", (4,)), ("out.weight", (2, 4)), ("out.bias", (2,))]


# -- models built the same way on both sides of the boundary --------------------------
def course_net(device=None):
    """The course's architecture from torch's own layers (default initialisation)."""
    return nn.Sequential(OrderedDict(linear1=nn.Linear(3, 4, device=device), tanh=nn.Tanh(),
                                     linear2=nn.Linear(4, 4, device=device), relu=nn.ReLU(),
                                     out=nn.Linear(4, 2, device=device), softmax=nn.Softmax(dim=1)))


def course_net_frozen_first_layer(device=None):
    model = course_net(device)
    model.linear1.requires_grad_(False)
    return model


class Nested(nn.Module):
    """Nested containers and a bare nn.Parameter, to check names and order."""

    def __init__(self, device=None):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3, device=device))
        self.body = nn.Sequential(nn.Linear(3, 5, device=device), nn.ReLU(), nn.Sequential(nn.Linear(5, 2, device=device)))
        self.head = nn.Linear(2, 1, bias=False, device=device)


def wide_net(device=None):
    return nn.Sequential(nn.Linear(3, 20, device=device), nn.ReLU(), nn.Linear(20, 7, device=device))


FACTORIES = {"course": course_net, "course_frozen_first_layer": course_net_frozen_first_layer,
             "nested": Nested, "wide": wide_net, "no_parameters": lambda device=None: nn.ReLU()}


def probe_build(scene, factory: str):
    """Build one of FACTORIES beside the learner's code; it comes back as a handle."""
    return FACTORIES[factory](scene.device)


def torchsummary_totals(model) -> tuple[int, int]:
    """(Total params, Trainable params) as torchsummary prints them: the course's tool."""
    from torchsummary import summary

    printed = io.StringIO()
    with redirect_stdout(printed):
        summary(model.cpu(), input_size=(3,), batch_size=10, device="cpu")
    text = printed.getvalue()
    total = int(re.search(r"Total params: ([\d,]+)", text).group(1).replace(",", ""))
    trainable = int(re.search(r"Trainable params: ([\d,]+)", text).group(1).replace(",", ""))
    return total, trainable


# -- Model -------------------------------------------------------------------------------
def check_parameters(state, call, device):
    if not isinstance(state, dict):
        fail(M_("{call}.state_dict() returned {type}; is it an nn.Module?", call=call, type=type(state).__name__))
    got = [(name, tuple(t.shape)) for name, t in state.items()]
    if not got:
        fail(M_("{call} has no parameters once it is built: create the layers in __init__ (self.linear1 = "
                "nn.Linear(3, 4, device=device), and so on) and only use them in forward. A layer made inside forward "
                "is a new one, with new random weights, on every call, and no optimiser ever sees it.", call=call))
    if [n for n, _shape in got] != [n for n, _shape in COURSE_PARAMETERS]:
        fail(M_("{call} has parameters {got}, expected {expected}: create self.linear1, self.linear2 and self.out, "
               "in that order, as nn.Linear attributes.", call=call, got=[n for n, _shape in got],
               expected=[n for n, _shape in COURSE_PARAMETERS]))
    for (name, shape), (_name, expected) in zip(got, COURSE_PARAMETERS):
        if shape != expected:
            fail(M_("{call}: {name} has shape {shape}, expected {expected} (nn.Linear(in, out).weight is (out, in)).",
                   call=call, name=name, shape=shape, expected=expected))
    check_devices(state, call, device)


def check_devices(state, call, device):
    """Every tensor of `state` is on `device`; the message teaches the course's §3.4."""
    for name, tensor in state.items():
        if not same_device(tensor.device, device):
            why = (M_(" (The meta device keeps shapes without values, so this check runs on every machine, with or "
                     "without a GPU.)") if device.type == "meta" else "")
            fail(M_("{call}: {name} is on {got}, expected {expected}: your code ignores `device`. Pass "
                   "device=device to every nn.Linear (nn.Linear(3, 4, device=device)).{why}", call=call, name=name,
                   got=tensor.device, expected=device, why=why))


def reference_output(reference_model, state, x):
    reference_model.load_state_dict(state)
    with torch.no_grad():
        return reference_model(x)


def forward_suspects(state, x):
    """Outputs of the course's network with common mistakes, for the same parameters."""
    def run(act1, act2, final):
        h = act1(x @ state["linear1.weight"].T + state["linear1.bias"])
        h = act2(h @ state["linear2.weight"].T + state["linear2.bias"])
        return final(h @ state["out.weight"].T + state["out.bias"])

    return [
        Suspect(M_("softmax over dim 0"), run(torch.tanh, torch.relu, lambda z: torch.softmax(z, 0)),
                M_("softmax must run over dim 1, the classes of each sample; dim 0 mixes different samples.")),
        Suspect(M_("no softmax at the end"), run(torch.tanh, torch.relu, lambda z: z),
                M_("finish with torch.softmax(x, dim=1).")),
        Suspect(M_("relu then tanh"), run(torch.relu, torch.tanh, lambda z: torch.softmax(z, 1)),
                M_("the order is linear1 -> tanh -> linear2 -> relu -> out -> softmax.")),
        Suspect(M_("no activations between layers"), run(lambda z: z, lambda z: z, lambda z: torch.softmax(z, 1)),
                M_("apply tanh after linear1 and relu after linear2.")),
    ]


MODELS_POOLED = 100  # models built per statistics test: their weights are pooled


def probe_many_models(scene, count):
    """Build `count` models and pool each layer's weights, for the statistics of the init."""
    pooled = {"linear1.weight": [], "linear2.weight": [], "out.weight": []}
    for _repeat in range(count):
        state = scene.fn(device=scene.device).state_dict()
        for name in pooled:
            pooled[name].append(state[name].detach().flatten())
    return {name: torch.cat(parts) for name, parts in pooled.items()}


@pytest.mark.exercise("networks.Model")
class TestModel:
    def test_is_a_module_with_the_course_parameters_on_the_device(self, learner, device):
        model = learner(device=device)
        call = f"Model(device={device.type!r})"
        if not model.is_a("Module"):
            fail(M_("{call} built a {type}: subclass nn.Module.", call=call, type=model.type_name))
        check_parameters(model.state_dict(), call, device)

    def test_default_device_is_the_cpu(self, learner):
        check_parameters(learner().state_dict(), "Model()", torch.device("cpu"))

    def test_builds_on_the_meta_device_too(self, learner):
        """On every run, GPU or not: a Model that ignores `device` fails here."""
        check_parameters(learner.run(probe_build_on_meta).state_dict(), "Model(device='meta')", torch.device("meta"))

    def test_forward_matches_the_reference_for_equal_parameters(self, learner, rand, device):
        model = learner(device=device)
        state = model.state_dict()
        check_parameters(state, f"Model(device={device.type!r})", device)
        x = rand(10, 3)
        expected = reference_output(reference.Model(device=device), state, x)
        assert_tensor(model(x), expected, call=f"Model(device={device.type!r})(x)", input=x,
                      suspects=forward_suspects(state, x),
                      rule=M_("forward must compute softmax(out(relu(linear2(tanh(linear1(x))))), dim=1), with those "
                             "layers and nothing else."))

    def test_initialisation_statistics(self, learner):
        """100 models pool 1200 values for linear1: enough to tell Xavier from the default init
        and Kaiming from Xavier (scales 1.5 apart; the tolerance is 10%), and a normal from a
        uniform of the same std (a normal puts ~55 of them beyond 2 std, a uniform none).
        tests/harness/test_checks.py shows these sizes hold for any seed."""
        pooled = learner.run(probe_many_models, MODELS_POOLED)
        assert_normal(pooled["linear1.weight"], mean=0.0, std=(2 / 7) ** 0.5,
                      call=M_("{weight} over {count} models", weight="Model().linear1.weight", count=MODELS_POOLED),
                      suspects=[Suspect(M_("torch's default init"), 1 / 3,
                                        M_("initialise linear1.weight with nn.init.xavier_normal_.")),
                                Suspect(M_("Kaiming normal"), (2 / 3) ** 0.5,
                                        M_("linear1 uses Xavier normal; Kaiming is for linear2."))])
        assert_normal(pooled["linear2.weight"], mean=0.0, std=(2 / 4) ** 0.5,
                      call=M_("{weight} over {count} models", weight="Model().linear2.weight", count=MODELS_POOLED),
                      suspects=[Suspect(M_("torch's default init"), 0.5 / 3**0.5,
                                        M_("initialise linear2.weight with nn.init.kaiming_normal_.")),
                                Suspect(M_("Xavier normal"), (2 / 8) ** 0.5,
                                        M_("linear2 uses Kaiming normal (it feeds a relu)."))])
        assert_uniform(pooled["out.weight"], low=-0.5, high=0.5,
                       call=M_("{weight} over {count} models", weight="Model().out.weight", count=MODELS_POOLED))


# -- init_params ---------------------------------------------------------------------------
def probe_init_linear(scene, fan_in, fan_out):
    layer = nn.Linear(fan_in, fan_out, device=scene.device)
    scene.fn(layer)
    return {"weight": layer.weight.detach(), "bias": layer.bias.detach(),
            "still_parameters": isinstance(layer.weight, nn.Parameter) and isinstance(layer.bias, nn.Parameter),
            "history": layer.weight.grad_fn is not None or layer.bias.grad_fn is not None}


def probe_init_other_layers(scene):
    layers = [nn.Conv1d(2, 3, 3, device=scene.device), nn.BatchNorm1d(4, device=scene.device), nn.Tanh(),
              nn.Bilinear(2, 2, 3, device=scene.device)]
    before = [{k: v.clone() for k, v in layer.state_dict().items()} for layer in layers]
    for layer in layers:
        scene.fn(layer)
    changed = [type(layer).__name__ for layer, old in zip(layers, before)
               if any(not torch.equal(old[k], v) for k, v in layer.state_dict().items())]
    return changed


def probe_apply(scene):
    model = nn.Sequential(nn.Linear(3, 4, device=scene.device), nn.ReLU(), nn.Linear(4, 2, device=scene.device))
    model.apply(scene.fn)
    return [model[0].bias.detach(), model[2].bias.detach()]


@pytest.mark.exercise("networks.init_params")
class TestInitParams:
    def test_linear_gets_xavier_uniform_weight_and_bias_0_1(self, learner, device):
        report = learner.run(probe_init_linear, 300, 200)
        bound = (6 / 500) ** 0.5
        if report["history"] or not report["still_parameters"]:
            fail(M_("init_params(nn.Linear(300, 200)) replaced the parameters or left autograd history: use the "
                   "in-place nn.init functions (or work under torch.no_grad())."))
        assert_tensor(report["bias"], torch.full((200,), 0.1, device=device), call=M_("init_params(layer): the bias"),
                      rule=M_("After init_params, every nn.Linear bias must be 0.1."),
                      suspects=[Suspect(M_("zeros"), torch.zeros(200, device=device), M_("fill the bias with 0.1, not 0."))])
        assert_uniform(report["weight"], low=-bound, high=bound, call=M_("init_params(nn.Linear(300, 200)): the weight"),
                       suspects=[Suspect(M_("Xavier normal"), (2 / 500) ** 0.5 * 3**0.5,
                                         M_("use xavier_uniform_, not xavier_normal_."))])

    def test_other_layers_are_left_alone(self, learner):
        changed = learner.run(probe_init_other_layers)
        if changed:
            fail(M_("init_params changed {layers}: act on nn.Linear only (isinstance(layer, nn.Linear)).",
                   layers=", ".join(changed)))

    def test_works_with_model_apply(self, learner, device):
        biases = learner.run(probe_apply)
        for bias in biases:
            assert_tensor(bias, torch.full_like(bias, 0.1), call=M_("model.apply(init_params): a Linear bias"),
                          rule=M_("model.apply(init_params) must leave every nn.Linear bias at 0.1."))


# -- build_sequential --------------------------------------------------------------------
def probe_sequential_structure(scene):
    model = scene.fn(device=scene.device)
    layers = list(model) if isinstance(model, nn.Sequential) else []
    return {"type": type(model).__name__,
            "layers": [type(layer).__name__ for layer in layers],
            "linear_shapes": [(layer.in_features, layer.out_features) for layer in layers if isinstance(layer, nn.Linear)],
            "softmax_dims": [layer.dim for layer in layers if isinstance(layer, nn.Softmax)]}


def probe_many_sequentials(scene, count):
    """Pool the weights of the 1st, 2nd and 3rd nn.Linear of `count` Sequentials, and every
    bias. Layers are found by position: the contract names no parameter (an OrderedDict
    with names of one's own is as right as the default 0, 2, 4)."""
    pooled = {"linear 1": [], "linear 2": [], "linear 3": [], "biases": []}
    for _repeat in range(count):
        linears = [layer for layer in scene.fn(device=scene.device) if isinstance(layer, nn.Linear)]
        for name, layer in zip(("linear 1", "linear 2", "linear 3"), linears):
            pooled[name].append(layer.weight.detach().flatten())
            pooled["biases"].append(layer.bias.detach())
    return {name: torch.cat(parts) for name, parts in pooled.items()}


def in_reference_names(state: dict, reference_model: nn.Module, call: str) -> dict:
    """The learner's parameters under the reference's names, matched by position (the
    contract fixes the layers and their order, not their names)."""
    names = list(reference_model.state_dict())
    shapes = [tuple(t.shape) for t in reference_model.state_dict().values()]
    if [tuple(t.shape) for t in state.values()] != shapes:
        fail(M_("{call}: parameters of shapes {got}, expected {expected} (Linear(3, 4), Linear(4, 4), Linear(4, 2), "
               "each a weight then a bias).", call=call, got=[tuple(t.shape) for t in state.values()], expected=shapes))
    return dict(zip(names, state.values()))


@pytest.mark.exercise("networks.build_sequential")
class TestBuildSequential:
    def test_layers_in_order(self, learner):
        report = learner.run(probe_sequential_structure)
        expected = ["Linear", "Tanh", "Linear", "ReLU", "Linear", "Softmax"]
        if report["type"] != "Sequential":
            fail(M_("build_sequential() returned a {type}; expected an nn.Sequential.", type=report["type"]))
        if report["layers"] != expected:
            fail(M_("build_sequential() has layers {got}, expected {expected}: activations are layers of the "
                   "Sequential too.", got=report["layers"], expected=expected))
        if report["linear_shapes"] != [(3, 4), (4, 4), (4, 2)]:
            fail(M_("build_sequential(): Linear sizes {got}, expected [(3, 4), (4, 4), (4, 2)].",
                   got=report["linear_shapes"]))
        if report["softmax_dims"] not in ([1], [-1]):  # the same dim of this network's (batch, 2) output
            fail(M_("build_sequential(): Softmax(dim={dim}), expected Softmax(dim=1), over the classes of each row.",
                   dim=report["softmax_dims"][0]))

    def test_forward_matches_the_reference_for_equal_parameters(self, learner, rand, device):
        model = learner(device=device)
        state = model.state_dict()
        check_devices(state, f"build_sequential(device={device.type!r})", device)
        x = rand(10, 3)
        built = reference.build_sequential(device=device)
        call = f"build_sequential(device={device.type!r})"
        expected = reference_output(built, in_reference_names(state, built, call), x)
        assert_tensor(model(x), expected, call=f"{call}(x)", input=x)

    def test_builds_on_the_meta_device_too(self, learner):
        """On every run, GPU or not: a build_sequential that ignores `device` fails here."""
        check_devices(learner.run(probe_build_on_meta).state_dict(), "build_sequential(device='meta')",
                      torch.device("meta"))

    def test_initialised_with_init_params(self, learner):
        pooled = learner.run(probe_many_sequentials, MODELS_POOLED)
        assert_tensor(pooled["biases"], torch.full_like(pooled["biases"], 0.1), call=M_("build_sequential(): the biases"),
                      rule=M_("build_sequential must initialise its layers with init_params: every bias 0.1."))
        for name, fan_in, fan_out in [("linear 1", 3, 4), ("linear 2", 4, 4), ("linear 3", 4, 2)]:
            bound = (6 / (fan_in + fan_out)) ** 0.5
            assert_uniform(pooled[name], low=-bound, high=bound,
                           call=M_("build_sequential(): the weight of {name} over {count} models (apply init_params)",
                                  name=name, count=MODELS_POOLED))


# -- parameter_shapes ---------------------------------------------------------------------
@pytest.mark.exercise("networks.parameter_shapes")
class TestParameterShapes:
    @pytest.mark.parametrize("factory", ["course", "nested", "no_parameters"])
    def test_names_shapes_and_order(self, learner, device, factory):
        model = learner.run(probe_build, factory)
        got = learner(model)
        expected = {name: tuple(p.shape) for name, p in FACTORIES[factory]("meta").named_parameters()}
        call = f"parameter_shapes(<{factory} model>)"
        if not isinstance(got, dict):
            fail(M_("{call} returned {type}; expected a dict {{name: shape tuple}}.", call=call, type=type(got).__name__))
        if list(got) != list(expected):
            fail(M_("{call} has keys {got}, expected {expected} (named_parameters order).", call=call, got=list(got),
                   expected=list(expected)))
        for name, shape in got.items():
            if not isinstance(shape, tuple) or tuple(shape) != expected[name]:
                fail(M_("{call}[{name!r}] is {shape!r}, expected the tuple {expected}.", call=call, name=name,
                       shape=shape, expected=expected[name]))


# -- count_parameters ------------------------------------------------------------------------
WEIGHTS_ONLY = M_(" That is the weights alone: every bias is a parameter too (model.parameters() yields both, and "
                  "torchsummary counts both).")


def weights_alone(got, model: nn.Module, trainable_only: bool, said) -> tuple[Suspicion, ...]:
    """The known mistake of a count that skips the biases (36 for the course's Model, not 46),
    when `got` is that count: one diagnosis for every model it was found on."""
    weights = sum(p.numel() for name, p in model.named_parameters()
                  if not name.endswith("bias") and (p.requires_grad or not trainable_only))
    if got != weights:
        return ()
    return (Suspicion("the weights alone", M_("{said}{hint}", said=said, hint=WEIGHTS_ONLY)),)


@pytest.mark.exercise("networks.count_parameters")
class TestCountParameters:
    @pytest.mark.parametrize("factory", ["course", "course_frozen_first_layer", "wide"])
    @pytest.mark.parametrize("trainable_only", [False, True], ids=["total", "trainable"])
    def test_matches_torchsummary(self, learner, factory, trainable_only):
        total, trainable = torchsummary_totals(FACTORIES[factory]())
        expected = trainable if trainable_only else total
        got = learner(learner.run(probe_build, factory), trainable_only=trainable_only)
        call = f"count_parameters(<{factory} model>, trainable_only={trainable_only})"
        kind = "Trainable" if trainable_only else "Total"  # torchsummary's own words, as it prints them
        if isinstance(got, bool) or not isinstance(got, int):
            fail(M_("{call} returned {got!r}; expected the int {expected} (torchsummary prints {kind} params: "
                   "{expected}).", call=call, got=got, expected=expected, kind=kind))
        if got != expected:
            hint = (M_(" Did you count tensors instead of their elements (p.numel())?") if got < 10 else
                    M_(" Only parameters with requires_grad count as trainable.") if trainable_only else "")
            said = M_("{call} returned {got}; torchsummary says {kind} params: {expected}.{hint}", call=call, got=got,
                      kind=kind, expected=expected, hint=hint)
            fail(said, Rule.VALUES, suspects=weights_alone(got, FACTORIES[factory](), trainable_only, said))

    def test_course_model_has_46(self, learner):
        got = learner(learner.run(probe_build, "course"))
        if got != 46:
            said = M_("count_parameters(Model) returned {got!r}; the course's Model has 16 + 20 + 10 = 46 parameters.",
                      got=got)
            fail(said, Rule.VALUES, suspects=weights_alone(got, FACTORIES["course"](), False, said))


# -- default_device -------------------------------------------------------------------------
def probe_default_device(scene, cuda_available):
    """Ask default_device() while torch.cuda reports `cuda_available` (and, if so, one GPU,
    the current one: index 0)."""
    saved = torch.cuda.is_available, torch.cuda.device_count, torch.cuda.current_device
    torch.cuda.is_available = lambda: cuda_available
    torch.cuda.device_count = lambda: 1 if cuda_available else 0
    if cuda_available:
        torch.cuda.current_device = lambda: 0
    try:
        return scene.fn()
    finally:
        torch.cuda.is_available, torch.cuda.device_count, torch.cuda.current_device = saved


@pytest.mark.exercise("networks.default_device")
class TestDefaultDevice:
    @pytest.mark.parametrize("cuda_available,expected", [(True, "cuda"), (False, "cpu")], ids=["with_cuda", "without_cuda"])
    def test_follows_cuda_availability(self, learner, cuda_available, expected):
        got = learner.run(probe_default_device, cuda_available)
        call = M_("default_device() when torch.cuda.is_available() is {available}", available=cuda_available)
        if isinstance(got, str):
            fail(M_("{call} returned the string {got!r}; return torch.device({expected!r}).", call=call, got=got,
                   expected=expected))
        # `cuda` and `cuda:0` (the current GPU of the scenario) are both right.
        if not isinstance(got, torch.device) or not same_device(got, expected, current=0):
            fail(M_("{call} returned {got!r}, expected torch.device({expected!r}).", call=call, got=got,
                   expected=expected))

    def test_on_this_machine(self, learner):
        expected = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        got = learner()
        if not isinstance(got, torch.device) or not same_device(got, expected):
            fail(M_("default_device() returned {got!r} on this machine, expected {expected!r}.", got=got,
                   expected=expected))


# -- to_device ---------------------------------------------------------------------------------
def nested_batch():
    g = torch.Generator().manual_seed(0)
    return {"x": [torch.randn(2, 3, generator=g), (torch.randn(4, generator=g), 3)], "name": "batch",
            "mask": torch.tensor([True, False]), "nothing": None, "ids": (torch.arange(3),)}


def check_moved(got, original, device, path="obj"):
    if isinstance(original, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            fail(M_("to_device: {path} became {type}, expected a tensor.", path=path, type=type(got).__name__))
        if not same_device(got.device, device):
            fail(M_("to_device(..., {device!r}): {path} is on {got}, expected {expected}: move every tensor, however "
                   "deeply nested.", device=str(device), path=path, got=got.device, expected=device))
        if got.device.type != "meta":
            assert_tensor(got, original.to(device), call=f"to_device: {path}",
                          rule=M_("to_device moves every tensor and keeps its values."))
        return
    if type(got) is not type(original):
        fail(M_("to_device: {path} became a {got}, expected a {expected}: keep each container's type (a tuple stays "
               "a tuple).", path=path, got=type(got).__name__, expected=type(original).__name__))
    if isinstance(original, dict):
        if list(got) != list(original):
            fail(M_("to_device: {path} has keys {got}, expected {expected}.", path=path, got=list(got),
                   expected=list(original)))
        for key in original:
            check_moved(got[key], original[key], device, f"{path}[{key!r}]")
    elif isinstance(original, (list, tuple)):
        if len(got) != len(original):
            fail(M_("to_device: {path} has {got} items, expected {expected}.", path=path, got=len(got),
                   expected=len(original)))
        for i, (g, o) in enumerate(zip(got, original)):
            check_moved(g, o, device, f"{path}[{i}]")
    elif got != original:
        fail(M_("to_device: {path} is {got!r}, expected it unchanged: {expected!r}.", path=path, got=got,
               expected=original))


@pytest.mark.exercise("networks.to_device")
class TestToDevice:
    @pytest.mark.parametrize("target", ["meta", "run_device", "meta_as_string"])
    def test_moves_nested_tensors_and_keeps_containers(self, learner, device, target):
        destination = {"meta": torch.device("meta"), "run_device": device, "meta_as_string": "meta"}[target]
        batch = nested_batch()
        check_moved(learner(batch, destination), batch, destination)

    def test_a_bare_tensor(self, learner):
        x = torch.arange(6.0)
        check_moved(learner(x, torch.device("meta")), x, "meta", M_("the tensor"))

    def test_callers_containers_not_modified(self, learner):
        from torchkata.engine.probes import probe_inputs_after_call

        batch = nested_batch()
        report = learner.run(probe_inputs_after_call, batch, torch.device("meta"))
        check_moved(report["args_after"][0], batch, "cpu", M_("the caller's obj after the call"))


# -- layer_summary -----------------------------------------------------------------------
class FunctionalCourseModel(nn.Module):
    """The course's Model as the course writes it: activations as functions, not layers."""

    def __init__(self, device=None):
        super().__init__()
        self.linear1 = nn.Linear(3, 4, device=device)
        self.linear2 = nn.Linear(4, 4, device=device)
        self.out = nn.Linear(4, 2, device=device)

    def forward(self, x):
        return torch.softmax(self.out(torch.relu(self.linear2(torch.tanh(self.linear1(x))))), dim=1)


class Branches(nn.Module):
    """A Sequential inside, layers without parameters, a layer without bias, one layer called twice."""

    def __init__(self, device=None):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(3, 5, device=device), nn.ReLU())
        self.drop = nn.Dropout(0.0)
        self.mix = nn.Linear(5, 5, bias=False, device=device)
        self.head = nn.Linear(5, 2, device=device)

    def forward(self, x):
        return self.head(self.mix(self.mix(self.drop(self.stem(x)))))


SUMMARISED = {"model": FunctionalCourseModel, "sequential": course_net, "branches": Branches}


def torchsummary_rows(model, input_size, batch_size) -> list[tuple]:
    """The rows torchsummary prints for `model`, parsed: [(layer, output_shape, params)]."""
    from torchsummary import summary

    printed = io.StringIO()
    with redirect_stdout(printed):
        summary(model.cpu(), input_size=input_size, batch_size=batch_size, device="cpu")
    found = re.findall(r"^\s+(\w+-\d+)\s+(\[[-\d, ]*\])\s+([\d,]+)$", printed.getvalue(), re.M)
    return [(layer, ast.literal_eval(shape), int(params.replace(",", ""))) for layer, shape, params in found]


def probe_layer_summary(scene, factory, input_size, batch_size, training=True, wrong_input=False):
    """layer_summary on one of SUMMARISED, and what it left behind: hooks, modes, values."""
    model = SUMMARISED[factory](scene.device)
    model.train(training)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    raised = None
    try:
        rows = scene.fn(model, (4,) if wrong_input else input_size, batch_size)
    except Exception as error:  # the forward of a wrong input size raises inside layer_summary
        if not wrong_input:
            raise
        rows, raised = None, type(error).__name__
    return {"rows": rows, "raised": raised,
            "hooks_left": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()),
            "modes": sorted({m.training for m in model.modules()}),
            "values_kept": all(torch.equal(before[name], value) for name, value in model.state_dict().items())}


def layer_summary_suspects(got: list, expected: list, batch_size: int) -> str | None:
    """What a wrong table most likely did, or None."""
    names = [row[0] for row in got if isinstance(row, (list, tuple)) and row]
    if any(str(name).startswith(("Sequential-", "ModuleList-")) for name in names):
        return M_("it has a row for a container (nn.Sequential): torchsummary lists the layers inside, not the "
                 "container.")
    if len(names) == len(expected) + 1:
        return M_("it has one row too many: is the model itself hooked? torchsummary lists its layers only.")
    if [n.split("-")[0] for n in names] == [row[0].split("-")[0] for row in expected] and names != [r[0] for r in expected]:
        return M_("the layers are right but numbered wrong: one running count over all layers (Linear-1, Tanh-2, "
                 "Linear-3), not one count per class.")
    shapes = [row[1] for row in got if isinstance(row, (list, tuple)) and len(row) > 1]
    if shapes and all(isinstance(s, list) and s and s[0] != batch_size for s in shapes):
        return M_("the output shapes do not start with batch_size ({batch_size}): [batch_size, *output.shape[1:]].",
                 batch_size=batch_size)
    return None


@pytest.mark.exercise("networks.layer_summary")
class TestLayerSummary:
    @pytest.mark.parametrize("factory", list(SUMMARISED))
    @pytest.mark.parametrize("batch_size", [-1, 8])
    def test_rows_match_torchsummary(self, learner, factory, batch_size):
        expected = torchsummary_rows(SUMMARISED[factory](), (3,), batch_size)
        report = learner.run(probe_layer_summary, factory, (3,), batch_size)
        got = [tuple(row) if isinstance(row, (list, tuple)) else row for row in report["rows"] or []]
        call = f"layer_summary(<{factory} model>, (3,), batch_size={batch_size})"
        if got != expected:
            why = layer_summary_suspects(got, expected, batch_size)
            if why:
                fail(M_("{call} returned {got}, torchsummary lists {expected}: {why}", call=call, got=got,
                       expected=expected, why=why))
            fail(M_("{call} returned {got}, torchsummary lists {expected}.", call=call, got=got, expected=expected))
        if any(type(row[2]) is not int for row in got):
            fail(M_("{call}: the parameter counts must be ints, got {types}.", call=call,
                   types=[type(row[2]).__name__ for row in got]))

    def test_removes_its_hooks_and_leaves_the_model_as_it_was(self, learner):
        for training in (True, False):
            report = learner.run(probe_layer_summary, "branches", (3,), -1, training)
            if report["hooks_left"]:
                fail(M_("layer_summary left {count} hook(s) on the model: keep each handle that register_forward_hook "
                       "returns and call handle.remove() before returning.", count=report["hooks_left"]))
            if report["modes"] != [training]:
                fail(M_("layer_summary changed the model's mode (it was {mode}): leave model.train()/.eval() as you "
                       "found them.", mode="training" if training else "eval"))
            if not report["values_kept"]:
                fail(M_("layer_summary changed the model's parameters or buffers: only run one forward pass."))

    def test_removes_its_hooks_when_forward_raises(self, learner):
        report = learner.run(probe_layer_summary, "model", (3,), -1, wrong_input=True)
        if report["hooks_left"]:
            fail(M_("when the model's forward raised ({raised}), layer_summary left {count} hook(s) on it: remove them "
                   "in a finally: block.", raised=report["raised"] or M_("an error"), count=report["hooks_left"]))
