"""Building networks (course section 3): nn.Module, parameters, devices, nn.Sequential.

Here torch is yours to use freely (nn.Linear, nn.init, torch.tanh, ...): the lesson is how
a network is put together, inspected and moved between devices.
"""

import torch
from torch import nn


class Model(nn.Module):
    """The course's network: 3 inputs -> 4 -> 4 -> 2 class probabilities.

    In __init__(self, device=None), after super().__init__(), create in this order:
      linear1 = Linear(3, 4), weight initialised with Xavier normal (suits tanh);
      linear2 = Linear(4, 4), weight initialised with Kaiming normal (suits relu);
      out     = Linear(4, 2), left with torch's default initialisation.
    Every layer is created with device=device, so every parameter lives there.

    forward(x): linear1 -> tanh -> linear2 -> relu -> out -> softmax over dim 1 (the
    classes of each row; dim 0 would mix different samples).

    Check yourself: Model()(torch.randn(10, 3)) has shape (10, 2) and rows summing to 1;
    [n for n, _ in Model().named_parameters()] starts with 'linear1.weight'.
    """

    def __init__(self, device=None):
        super().__init__()
        raise NotImplementedError("Model.__init__: replace this line with your code")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Model.forward: replace this line with your code")


def init_params(layer: nn.Module) -> None:
    """Initialise one layer, for use as model.apply(init_params).

    For an nn.Linear: Xavier-uniform weight and every bias entry 0.1. Any other layer
    (activations, convolutions, ...) is left exactly as it is. Returns nothing.
    """
    raise NotImplementedError("init_params: replace this line with your code")


def build_sequential(device=None) -> nn.Sequential:
    """The same network as Model, as an nn.Sequential, initialised with init_params.

    Layers, in order: Linear(3, 4), Tanh(), Linear(4, 4), ReLU(), Linear(4, 2),
    Softmax(dim=1); the Linear layers on `device`.
    """
    raise NotImplementedError("build_sequential: replace this line with your code")


def parameter_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    """{parameter name: shape as a tuple}, in registration order (as named_parameters gives).

    For Model: {'linear1.weight': (4, 3), 'linear1.bias': (4,), ...}. Note the weight is
    (out, in): nn.Linear stores it transposed.
    """
    raise NotImplementedError("parameter_shapes: replace this line with your code")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of scalar parameters: 46 for Model (16 + 20 + 10).

    With trainable_only=True, count only parameters with requires_grad=True. Compare with
    torchsummary: summary(model, input_size=(3,), device="cpu") prints "Total params" and
    "Trainable params".
    """
    raise NotImplementedError("count_parameters: replace this line with your code")


def default_device() -> torch.device:
    """torch.device("cuda") when CUDA is available, else torch.device("cpu").

    Return a torch.device, not the string "cuda" or "cpu".
    """
    raise NotImplementedError("default_device: replace this line with your code")


def to_device(obj, device):
    """Move every tensor in `obj` to `device`, however deeply nested in lists, tuples, dicts.

    Containers keep their type (a tuple stays a tuple, a dict keeps its keys), and leaves
    that are not tensors (numbers, strings, None) come back unchanged.
    Example: to_device({"x": [t1, (t2, 3)], "name": "batch"}, "cuda").
    """
    raise NotImplementedError("to_device: replace this line with your code")


def layer_summary(model: nn.Module, input_size: tuple, batch_size: int = -1) -> list:
    """torchsummary's table, by hand: one (layer, output_shape, params) row per layer, in call order.

    A row for every module that runs during one forward pass, except the model itself and
    the containers (nn.Sequential, nn.ModuleList): "Linear-1", "Tanh-2", ... (the class
    name and one running count over all layers), the output shape with batch_size first
    ([-1, 4]), and the elements of the layer's weight and bias (0 for a layer without them).
    For Model: [("Linear-1", [-1, 4], 16), ("Linear-2", [-1, 4], 20), ("Linear-3", [-1, 2], 10)].

    How: a forward hook on each layer (module.register_forward_hook) records its row when the
    layer finishes; run the model once on torch.rand(2, *input_size) on the device of its
    first parameter (cpu when it has none). Pitfalls: remove every hook before returning,
    also when forward raises (try/finally), and leave the model's parameters and training
    mode as they were. Check yourself: torchsummary.summary(model, (3,), device="cpu")
    prints the same rows.
    """
    raise NotImplementedError("layer_summary: replace this line with your code")
