"""Plausible learner mistakes fail, each with a message that points at the mistake.

Each case replaces one function of the reference solutions with a mistake real learners
make, grades that exercise, and checks the verdict is "wrong" (not "done") and that one of
the first failure messages names the problem.
"""

import re

import pytest

from torchkata.classroom.sample_class import TYPICAL

from .grading import grade, submission_with

MISTAKES = [
    # (exercise, label, replacement code, a phrase the first failure message must contain)
    ("activations.softmax", "wrong dim", """
def softmax(x, dim):
    e = torch.exp(x - x.amax(dim=0, keepdim=True))
    return e / e.sum(dim=0, keepdim=True)""", "wrong dim"),
    ("activations.softmax", "missing max-shift", """
def softmax(x, dim):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)""", "x.amax(dim, keepdim=True) before exp"),
    ("activations.softmax", "sums over the whole tensor", """
def softmax(x, dim):
    e = torch.exp(x - x.max())
    return e / e.sum()""", "sum along `dim` only"),
    ("activations.softmax", "subtracts the max of the whole tensor", """
def softmax(x, dim):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=dim, keepdim=True)""", "max of the whole tensor"),
    ("activations.softmax", "forgets the return", """
def softmax(x, dim):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    e / e.sum(dim=dim, keepdim=True)""", "Did you forget the `return`?"),
    ("activations.sigmoid", "the one-line form: NaN gradient below -100", """
def sigmoid(x):
    return 1 / (1 + torch.exp(-x))""", "0 x NaN is NaN"),
    ("activations.sigmoid", "torch.where over two overflowing branches", """
def sigmoid(x):
    return torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))""",
     "torch.where does not help"),
    ("activations.tanh", "the sign trick on an overflowing exp", """
def tanh(x):
    return torch.where(x >= 0, 1 - 2 / (torch.exp(2 * x) + 1), 2 / (torch.exp(-2 * x) + 1) - 1)""",
     "is NaN or inf at x = "),
    ("initialization.calculate_fan_in_and_fan_out", "NumPy numbers, not ints", """
def calculate_fan_in_and_fan_out(tensor):
    import numpy as np
    if tensor.dim() < 2:
        raise ValueError(f"tensor has {tensor.dim()} dims, fewer than 2")
    field = np.prod(tensor.shape[2:]) if tensor.dim() > 2 else np.int64(1)
    return tensor.shape[1] * field, tensor.shape[0] * field""", "return plain Python ints"),
    ("initialization.calculate_fan_in_and_fan_out", "counts through the values (numpy())", """
def calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError(f"tensor has {tensor.dim()} dims, fewer than 2")
    field = tensor[0, 0].numpy().size
    return int(tensor.shape[1] * field), int(tensor.shape[0] * field)""", "The fans come from the shape alone"),
    ("initialization.calculate_fan_in_and_fan_out", "an error that names neither argument nor value", """
def calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed")
    field = 1
    for size in tensor.shape[2:]:
        field *= size
    return tensor.shape[1] * field, tensor.shape[0] * field""", "name the argument and the value received"),
    ("regularization.Dropout", "refuses p = 1", """
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)""", "Dropout(1.0)"),
    ("activations.relu", "writes into its input", """
def relu(x):
    x[x < 0] = 0
    return x""", "wrote into its input in place"),
    ("networks.init_params", "a bias of 0.01 (no known mistake: the rule is said)", """
def init_params(layer):
    if isinstance(layer, nn.Linear):
        nn.init.xavier_uniform_(layer.weight)
        nn.init.constant_(layer.bias, 0.01)""", "every nn.Linear bias must be 0.1"),
    ("losses.mse_loss", "a sum off by 1% (no known mistake: the rule is said)", """
def mse_loss(input, target, reduction='mean'):
    d = (input - target) ** 2
    return d.mean() if reduction == 'mean' else d.sum() * 1.01 if reduction == 'sum' else d""",
     "reduction='sum' adds them into one number"),
    ("activations.softmax", "x.max(dim) used as a tensor", """
def softmax(x, dim):
    e = torch.exp(x - x.max(dim=dim))
    return e / e.sum(dim=dim, keepdim=True)""", "use x.amax(dim, keepdim=True)"),
    ("activations.softmax", "sum without keepdim", """
def softmax(x, dim):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim)""", "Pass keepdim=True"),
    ("activations.softmax", "calls the built-in", """
def softmax(x, dim):
    return torch.softmax(x, dim)""", "calls torch.softmax"),
    ("activations.softmax", "calls the built-in through an alias", """
from torch.nn.functional import softmax as _sm
def softmax(x, dim):
    return _sm(x, dim=dim)""", "torch.nn.functional.softmax"),
    ("activations.softmax", "calls the built-in as a method", """
def softmax(x, dim):
    return x.softmax(dim)""", "torch.Tensor.softmax"),
    ("activations.softmax", "calls the built-in through a module", """
def softmax(x, dim):
    return torch.nn.Softmax(dim=dim)(x)""", "torch.nn.Softmax"),
    ("activations.sigmoid", "unstable form", """
def sigmoid(x):
    return torch.exp(x) / (1 + torch.exp(x))""", "overflow"),
    ("activations.sigmoid", "sign flipped", """
def sigmoid(x):
    return 1 / (1 + torch.exp(x))""", "sign in the exponent"),
    ("activations.sigmoid", "dtype not kept", """
def sigmoid(x):
    return 1 / (1 + torch.exp(-x.float()))""", "keep the input's dtype"),
    ("activations.sigmoid", "the special alias", """
def sigmoid(x):
    return torch.special.expit(x)""", "torch.special.expit"),
    ("activations.tanh", "textbook formula", """
def tanh(x):
    return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))""", "overflow"),
    ("activations.tanh_derivative", "forgot the square", """
def tanh_derivative(x):
    return 1 - tanh(x)""", "must be squared"),
    ("activations.sigmoid_derivative", "uses autograd", """
def sigmoid_derivative(x):
    xc = x.detach().clone().requires_grad_(True)
    sigmoid(xc).sum().backward()
    return xc.grad""", "torch.Tensor.backward"),
    ("activations.relu_derivative", "returns bool", """
def relu_derivative(x):
    return x > 0""", "keep the input's dtype"),
    ("activations.relu_derivative", "slope 1 at zero", """
def relu_derivative(x):
    return (x >= 0).to(x.dtype)""", "use x > 0"),
    ("activations.autograd_derivative", "touches the caller's x", """
def autograd_derivative(fn, x):
    x.requires_grad_(True)
    fn(x).sum().backward()
    return x.grad.detach()""", "x.requires_grad"),
    ("initialization.calculate_fan_in_and_fan_out", "swapped fans", """
def calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError(f"tensor: needs 2 dims, got {tensor.dim()}")
    k = math.prod(tensor.shape[2:])
    return tensor.shape[0] * k, tensor.shape[1] * k""", "swapped"),
    ("initialization.calculate_gain", "param or default", """
def calculate_gain(nonlinearity, param=None):
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + (param or 0.01) ** 2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"nonlinearity: unknown {nonlinearity!r}")
    return _GAINS[nonlinearity]""", "param is None"),
    ("initialization.constant_", "returns a new tensor", """
def constant_(tensor, val):
    return torch.full_like(tensor, val)""", "in place"),
    ("initialization.normal_", "forgot no_grad", """
def normal_(tensor, mean=0.0, std=1.0):
    return tensor.normal_(mean, std)""", "torch.no_grad()"),
    ("initialization.normal_", "variance for std", """
def normal_(tensor, mean=0.0, std=1.0):
    with torch.no_grad():
        return tensor.normal_(mean, std ** 2)""", "do not square it"),
    ("initialization.eye_", "checks after filling", """
def eye_(tensor):
    with torch.no_grad():
        tensor.zero_()
        if tensor.dim() == 2:
            tensor.diagonal().fill_(1)
    if tensor.dim() != 2:
        raise ValueError(f"tensor: needs 2-D, got {tensor.dim()} dims")
    return tensor""", "only after changing the tensor"),
    ("initialization.xavier_normal_", "uniform's 6 in the normal std", """
def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(6.0 / (fan_in + fan_out)))""", "uses 2, not 6"),
    ("initialization.xavier_normal_", "uniform of the right std instead of normal", """
def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(2.0 / (fan_in + fan_out)) * math.sqrt(3.0)
    return uniform_(tensor, -bound, bound)""", "looks uniform"),
    ("initialization.xavier_uniform_", "normal instead of uniform", """
def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))""", "range over"),
    ("initialization.kaiming_normal_", "wrong fan", """
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: bad {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    fan = fan_out if mode == "fan_in" else fan_in
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))""", "the other fan"),
    ("initialization.kaiming_uniform_", "missing sqrt", """
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: bad {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / fan
    return uniform_(tensor, -bound, bound)""", "no square root"),
    ("initialization.kaiming_normal_", "calls nn.init", """
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    return torch.nn.init.kaiming_normal_(tensor, a, mode, nonlinearity)""", "torch.nn.init.kaiming_normal_"),
    ("regularization.dropout", "no scaling", """
def dropout(x, p=0.5, training=True):
    _check_p(p)
    if not x.is_floating_point():
        raise TypeError(f"x: needs floating point, got {x.dtype}")
    if not training:
        return x
    return x * (torch.rand_like(x) >= p)""", "did not scale the survivors"),
    ("regularization.dropout", "keeps with probability p", """
def dropout(x, p=0.5, training=True):
    _check_p(p)
    if not x.is_floating_point():
        raise TypeError(f"x: needs floating point, got {x.dtype}")
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    return x * (torch.rand_like(x) < p) / (1 - p)""", "probability of DROPPING"),
    ("regularization.dropout", "NaN at p = 1", """
def dropout(x, p=0.5, training=True):
    _check_p(p)
    if not x.is_floating_point():
        raise TypeError(f"x: needs floating point, got {x.dtype}")
    if not training:
        return x
    return x * (torch.rand_like(x) >= p) / (1 - p)""", "0/0"),
    ("regularization.dropout", "calls the built-in", """
def dropout(x, p=0.5, training=True):
    return torch.nn.functional.dropout(x, p, training)""", "torch.nn.functional.dropout"),
    ("networks.Model", "softmax over dim 0", """
_Reference = Model
class Model(_Reference):
    def forward(self, x):
        return torch.softmax(self.out(torch.relu(self.linear2(torch.tanh(self.linear1(x))))), dim=0)""", "dim 1"),
    ("networks.Model", "Xavier uniform where the course uses Xavier normal", """
_Reference = Model
class Model(_Reference):
    def __init__(self, device=None):
        super().__init__(device)
        nn.init.xavier_uniform_(self.linear1.weight)""", "looks uniform"),
    ("networks.Model", "Kaiming uniform where the course uses Kaiming normal", """
_Reference = Model
class Model(_Reference):
    def __init__(self, device=None):
        super().__init__(device)
        nn.init.kaiming_uniform_(self.linear2.weight)""", "looks uniform"),
    ("networks.Model", "keeps torch's default init", """
_Reference = Model
class Model(_Reference):
    def __init__(self, device=None):
        super().__init__(device)
        for layer in (self.linear1, self.linear2, self.out):
            layer.reset_parameters()""", "xavier_normal_"),
    ("networks.Model", "ignores device", """
_Reference = Model
class Model(_Reference):
    def __init__(self, device=None):
        super().__init__()""", "ignores `device`"),
    ("networks.build_sequential", "ignores device", """
def build_sequential(device=None):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2), nn.Softmax(dim=1))
    model.apply(init_params)
    return model""", "ignores `device`"),
    ("networks.build_sequential", "never applies init_params", """
def build_sequential(device=None):
    return nn.Sequential(nn.Linear(3, 4, device=device), nn.Tanh(), nn.Linear(4, 4, device=device), nn.ReLU(),
                         nn.Linear(4, 2, device=device), nn.Softmax(dim=1))""", "the biases"),
    ("regularization.dropout", "ignores training", """
def dropout(x, p=0.5, training=True):
    _check_p(p)
    if p == 0:
        return x
    return x * (torch.rand_like(x) >= p) / (1 - p)""", "With training=False, dropout must return its input unchanged"),
    ("regularization.Dropout", "ignores self.training", """
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        _check_p(p)
        self.p = p
    def forward(self, x):
        return dropout(x, self.p)""", "After .eval(), Dropout must be the identity"),
    ("regularization.Dropout", "keeps with probability p", """
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        _check_p(p)
        self.p = p
    def forward(self, x):
        if not self.training:
            return x
        return x * (torch.rand_like(x) < self.p) / (1 - self.p)""", "probability of DROPPING"),
    ("networks.init_params", "touches every layer with a weight", """
def init_params(layer):
    if hasattr(layer, "weight") and layer.weight is not None and layer.weight.dim() >= 2:
        nn.init.xavier_uniform_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.constant_(layer.bias, 0.1)""", "nn.Linear only"),
    ("networks.count_parameters", "counts tensors", """
def count_parameters(model, trainable_only=False):
    return len(list(model.parameters()))""", "p.numel()"),
    ("networks.default_device", "returns a string", """
def default_device():
    return "cuda" if torch.cuda.is_available() else "cpu\"""", "the string"),
    ("networks.to_device", "tuples become lists", """
def to_device(obj, device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_device(v, device) for v in obj]
    return obj""", "keep each container's type"),
    ("losses.binary_cross_entropy_with_logits", "sigmoid then BCE", """
def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    return binary_cross_entropy(1 / (1 + torch.exp(-logits)), target, reduction)""", "sigmoid(1e4)"),
    ("losses.cross_entropy", "double softmax", """
def cross_entropy(logits, target, reduction="mean"):
    e = torch.exp(logits - logits.amax(1, keepdim=True))
    probs = e / e.sum(1, keepdim=True)
    log_probs = probs - torch.logsumexp(probs, dim=1, keepdim=True)
    if target.is_floating_point():
        loss = -(target * log_probs).sum(dim=1)
    else:
        loss = -log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
    return _reduce(loss, reduction)""", "applies it twice"),
    ("losses.mse_loss", "silent broadcasting", """
def mse_loss(input, target, reduction="mean"):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: bad {reduction!r}")
    return _reduce((input - target) ** 2, reduction)""", "broadcasting them"),
    ("losses.l1_loss", "ignores reduction", """
def l1_loss(input, target, reduction="mean"):
    _check(input, target, reduction)
    return (input - target).abs().mean()""", "reduction="),
    ("losses.smooth_l1_loss", "divides by beta = 0", """
def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    _check(input, target, reduction)
    d = (input - target).abs()
    return _reduce(torch.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)""", "beta = 0"),
    ("training.sgd_step", "rebinds instead of updating", """
def sgd_step(params, lr):
    for p in params:
        if p.grad is not None:
            p = p - lr * p.grad""", "only rebinds"),
    ("training.sgd_step", "forgot no_grad", """
def sgd_step(params, lr):
    for p in params:
        if p.grad is not None:
            p -= lr * p.grad""", "torch.no_grad()"),
    ("training.zero_grad", "zeros instead of None", """
def zero_grad(params):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()""", "p.grad = None"),
    ("networks.layer_summary", "hooks the Sequential container too", """
def layer_summary(model, input_size, batch_size=-1):
    rows, handles = [], []
    def record(module, inputs, output):
        rows.append((f"{type(module).__name__}-{len(rows) + 1}", [batch_size, *output.shape[1:]],
                     sum(p.numel() for p in module.parameters(recurse=False))))
    for module in model.modules():
        if module is not model:
            handles.append(module.register_forward_hook(record))
    try:
        model(torch.rand(2, *input_size))
    finally:
        for h in handles:
            h.remove()
    return rows""", "row for a container"),
    ("networks.layer_summary", "numbers each class on its own", """
def layer_summary(model, input_size, batch_size=-1):
    rows, handles, seen = [], [], {}
    def record(module, inputs, output):
        name = type(module).__name__
        seen[name] = seen.get(name, 0) + 1
        rows.append((f"{name}-{seen[name]}", [batch_size, *output.shape[1:]],
                     sum(p.numel() for p in module.parameters(recurse=False))))
    for module in model.modules():
        if module is not model and not isinstance(module, nn.Sequential):
            handles.append(module.register_forward_hook(record))
    try:
        model(torch.rand(2, *input_size))
    finally:
        for h in handles:
            h.remove()
    return rows""", "one running count over all layers"),
    ("networks.layer_summary", "keeps the real batch size", """
def layer_summary(model, input_size, batch_size=-1):
    rows, handles = [], []
    def record(module, inputs, output):
        rows.append((f"{type(module).__name__}-{len(rows) + 1}", list(output.shape),
                     sum(p.numel() for p in module.parameters(recurse=False))))
    for module in model.modules():
        if module is not model and not isinstance(module, nn.Sequential):
            handles.append(module.register_forward_hook(record))
    try:
        model(torch.rand(2, *input_size))
    finally:
        for h in handles:
            h.remove()
    return rows""", "do not start with batch_size"),
    ("networks.layer_summary", "leaves its hooks on the model", """
def layer_summary(model, input_size, batch_size=-1):
    rows = []
    def record(module, inputs, output):
        rows.append((f"{type(module).__name__}-{len(rows) + 1}", [batch_size, *output.shape[1:]],
                     sum(p.numel() for p in module.parameters(recurse=False))))
    for module in model.modules():
        if module is not model and not isinstance(module, nn.Sequential):
            module.register_forward_hook(record)
    model(torch.rand(2, *input_size))
    return rows""", "handle.remove()"),
    ("training.train_step", "forgot zero_grad", """
def train_step(model, inputs, target, loss_fn, optimizer):
    loss = loss_fn(model(inputs), target)
    loss.backward()
    optimizer.step()
    return loss.item()""", "zero_grad"),
    ("training.train_step", "zero_grad between backward and step", """
def train_step(model, inputs, target, loss_fn, optimizer):
    loss = loss_fn(model(inputs), target)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()""", "called optimizer.zero_grad() between loss.backward() and optimizer.step()"),
    ("training.train_step", "steps before backward", """
def train_step(model, inputs, target, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), target)
    optimizer.step()
    loss.backward()
    return loss.item()""", "called optimizer.step() before loss.backward()"),
    ("training.train_step", "never steps", """
def train_step(model, inputs, target, loss_fn, optimizer):
    loss = loss_fn(model(inputs), target)
    loss.backward()
    optimizer.zero_grad()
    return loss.item()""", "never called optimizer.step()"),
    ("training.train_step", "PyTorch's tutorial order: zero_grad first", """
def train_step(model, inputs, target, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), target)
    loss.backward()
    optimizer.step()
    return loss.item()""", "the order of PyTorch's tutorials"),
    ("training.train_step", "loss_fn(target, prediction)", """
def train_step(model, inputs, target, loss_fn, optimizer):
    loss = loss_fn(target, model(inputs))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()""", "call loss_fn(prediction, target)"),
    ("training.train_step", "returns the tensor", """
def train_step(model, inputs, target, loss_fn, optimizer):
    loss = loss_fn(model(inputs), target)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss""", "Python float"),
    # the sample class's typical capstone mistake: one text serves both
    ("capstone.fit", "softmax applied twice (probs fed to cross_entropy)", TYPICAL["capstone"], "softmax applied twice"),
    ("capstone.fit", "forgot zero_grad", """
def fit(model, x, y, epochs=100, lr=0.5):
    history = []
    for _ in range(epochs):
        loss = losses.cross_entropy(torch.log(model(x)), y)
        loss.backward()
        training.sgd_step(model.parameters(), lr)
        history.append(loss.item())
    return history""", "call training.zero_grad"),
    ("capstone.fit", "returns tensors", """
def fit(model, x, y, epochs=100, lr=0.5):
    history = []
    for _ in range(epochs):
        loss = losses.cross_entropy(torch.log(model(x)), y)
        loss.backward()
        training.sgd_step(model.parameters(), lr)
        training.zero_grad(model.parameters())
        history.append(loss.detach())
    return history""", "list of Python floats"),
    ("capstone.fit", "torch's optimiser instead of the learner's sgd_step", """
def fit(model, x, y, epochs=100, lr=0.5):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        loss = losses.cross_entropy(torch.log(model(x)), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        history.append(loss.item())
    return history""", "torch.optim.SGD"),
]


@pytest.mark.parametrize("exercise,label,code,phrase", MISTAKES, ids=[f"{m[0]}:{m[1]}" for m in MISTAKES])
def test_mistake_fails_with_a_pointed_message(tmp_path, exercise, label, code, phrase):
    submission = submission_with(tmp_path, exercise.split(".")[0], code)
    verdict = grade(submission, tmp_path, (exercise,), "--maxfail=3")[exercise]
    assert verdict["verdict"] == "wrong", f"the mistake '{label}' was graded {verdict['verdict']!r}"
    messages = "\n".join(verdict["messages"])
    assert phrase.lower() in messages.lower(), f"the messages for '{label}' should mention {phrase!r}; they say:\n{messages}"


def test_in_place_advice_fits_the_exercise(tmp_path):
    """The same torch error ("a leaf Variable ... in-place operation") is the mistake itself
    in relu, which must leave its input alone, and a missing torch.no_grad() in an initialiser."""
    relu = submission_with(tmp_path / "relu", "activations", "def relu(x):\n    return x.clamp_(min=0)")
    said = "\n".join(grade(relu, tmp_path / "relu", ("activations.relu",))["activations.relu"]["messages"])
    assert "wrote into its input in place" in said and "no_grad" not in said, said
    fill = submission_with(tmp_path / "fill", "initialization", "def constant_(tensor, val):\n    return tensor.fill_(val)")
    said = "\n".join(grade(fill, tmp_path / "fill", ("initialization.constant_",))["initialization.constant_"]["messages"])
    assert "torch.no_grad()" in said and "wrote into its input" not in said, said


def test_the_exercises_lesson_is_said_first(tmp_path):
    """A naive BCE-with-logits that also ignores reduction='sum' fails the reduction tests
    first in file order; the stability lesson is still the first thing the learner reads."""
    naive = """
def binary_cross_entropy_with_logits(logits, target, reduction='mean'):
    p = torch.sigmoid(logits)
    loss = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))
    return loss if reduction == 'none' else loss.mean()"""
    submission = submission_with(tmp_path, "losses", naive)
    exercise = "losses.binary_cross_entropy_with_logits"
    verdict = grade(submission, tmp_path, (exercise,))[exercise]
    assert verdict["verdict"] == "wrong"
    assert len(verdict["messages"]) > 1, "the control: the reduction mistake fails too"
    assert "stable form" in verdict["messages"][0], verdict["messages"]


def test_one_mistake_found_on_many_inputs_is_said_once(tmp_path):
    """The same diagnosis from tests that differ only in their inputs (shapes, dtypes,
    values) is one failure with its count, not ten bullets that say the same."""
    submission = submission_with(tmp_path, "activations",
                                 "def sigmoid_derivative(x):\n    s = sigmoid(x)\n    return s * (1 + s)")
    verdict = grade(submission, tmp_path, ("activations.sigmoid_derivative",))["activations.sigmoid_derivative"]
    said = [(m, n) for m, n in zip(verdict["messages"], verdict["counts"]) if "the sign is wrong" in m]
    assert len(said) == 1 and said[0][1] > 5, verdict


# Faults learners and instructors met in messages that were misleading, or silent where the
# cause is plain: each mistake, what the first failures must say in English and in Chinese,
# and what no failure may say (the false lead it gave before).
MENDED = [
    ("activations.relu", "torch.max(x, 0) reduces over dim 0", """
def relu(x):
    return torch.max(x, 0)""", "torch.return_types.max", "torch.maximum", "autograd cannot differentiate"),
    ("losses.cross_entropy", "the log of the logits, no softmax anywhere", """
def cross_entropy(input, target, reduction="mean"):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if target.is_floating_point():
        per_row = -(target * torch.log(input)).sum(1)
    else:
        per_row = -torch.log(input.gather(1, target[:, None]).squeeze(1))
    return per_row.mean() if reduction == "mean" else per_row.sum() if reduction == "sum" else per_row""",
     "the input is logits, not probabilities", "log_softmax", "exp overflows"),
    ("capstone.fit", "torch's optimiser and loss instead of the learner's own pieces", """
def fit(model, x, y, epochs=100, lr=0.5):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        loss = torch.nn.functional.nll_loss(torch.log(model(x)), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        history.append(loss.item())
    return history""", "your own losses.cross_entropy", "from . import losses, training", "torch.exp, sum"),
    ("losses.mse_loss", "absolute differences, summed", """
def mse_loss(input, target, reduction="mean"):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    loss = (input - target).abs()
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss""",
     "the absolute differences (the L1 loss)", "L1", "mean absolute error"),
    ("capstone.fit", "a loop that never zeroes the gradients", """
def fit(model, x, y, epochs=100, lr=0.5):
    history = []
    for _ in range(epochs):
        loss = losses.cross_entropy(torch.log(model(x)), y)
        loss.backward()
        training.sgd_step(model.parameters(), lr)
        history.append(loss.item())
    return history""", "sgd_step and zero_grad", "zero_grad", "trajectory"),
    ("networks.Model", "layers built in forward", """
class Model(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.device = device

    def forward(self, x):
        linear1, linear2, out = nn.Linear(3, 4, device=x.device), nn.Linear(4, 4, device=x.device), \\
            nn.Linear(4, 2, device=x.device)
        return torch.softmax(out(torch.relu(linear2(torch.tanh(linear1(x))))), dim=1)""",
     "in __init__", "__init__", "as nn.Linear attributes"),
    ("networks.count_parameters", "the weights without the biases", """
def count_parameters(model, trainable_only=False):
    return sum(p.numel() for name, p in model.named_parameters()
               if name.endswith("weight") and (p.requires_grad or not trainable_only))""",
     "every bias is a parameter too", "bias", "Did you count tensors"),
    ("training.zero_grad", "zero_() on a grad that is None", """
def zero_grad(params):
    for p in params:
        p.grad.zero_()""", "is None until a backward()", "backward()", "Traceback"),
    ("activations.sigmoid", "a wrong formula, found on 0-d inputs too", """
def sigmoid(x):
    return 1 / (1 + torch.exp(x))""", "tensor(", "tensor(", "shape ()"),
]


@pytest.mark.parametrize("exercise,label,code,english,chinese,misleading", MENDED, ids=[f"{m[0]}:{m[1]}" for m in MENDED])
def test_a_mended_fault_is_said_rightly_in_both_languages(tmp_path, exercise, label, code, english, chinese,
                                                         misleading):
    from torchkata.core.verdicts import ExerciseResult

    submission = submission_with(tmp_path, exercise.split(".")[0], code)
    result = ExerciseResult.from_json(grade(submission, tmp_path, (exercise,))[exercise])
    assert result.verdict == "wrong", f"'{label}' was graded {result.verdict!r}"
    said = {lang: "\n".join(result.said(lang)) for lang in ("en", "zh")}
    assert english in said["en"], f"'{label}': the messages should say {english!r}; they say:\n{said['en']}"
    assert chinese in said["zh"] and re.search(r"[\u4e00-\u9fff]", said["zh"]), said["zh"]
    assert misleading not in said["en"], f"'{label}': the old false lead {misleading!r} is back:\n{said['en']}"
