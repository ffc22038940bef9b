from collections import OrderedDict

import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.linear1 = nn.Linear(3, 4, device=device)
        self.linear2 = nn.Linear(4, 4, device=device)
        self.out = nn.Linear(4, 2, device=device)
        torch.nn.init.xavier_normal_(self.linear1.weight)
        torch.nn.init.kaiming_normal_(self.linear2.weight, nonlinearity="relu")

    def forward(self, x):
        return self.out(self.linear2(self.linear1(x).tanh()).relu()).softmax(dim=-1)


def init_params(layer):
    if type(layer) is nn.Linear:
        with torch.no_grad():
            nn.init.xavier_uniform_(layer.weight)
            layer.bias.fill_(0.1)


def build_sequential(device=None):
    # Layers named by the learner, and the softmax over the last dim (dim 1 of a (batch, 2) output).
    layers = OrderedDict([("hidden1", nn.Linear(3, 4)), ("tanh", nn.Tanh()), ("hidden2", nn.Linear(4, 4)),
                          ("relu", nn.ReLU()), ("logits", nn.Linear(4, 2)), ("softmax", nn.Softmax(dim=-1))])
    for layer in layers.values():
        init_params(layer)
    return nn.Sequential(layers).to(device)


def parameter_shapes(model):
    shapes = {}
    for name, parameter in model.named_parameters():
        shapes[name] = tuple(parameter.size())
    return shapes


def count_parameters(model, trainable_only=False):
    total = 0
    for parameter in model.parameters():
        if trainable_only and not parameter.requires_grad:
            continue
        total += parameter.numel()
    return total


def default_device():
    # The current GPU by its index (cuda:0), which is the same device as torch.device("cuda").
    return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.device_count() > 0 else torch.device("cpu")


def to_device(obj, device):
    if torch.is_tensor(obj):
        return obj.to(device=device)
    if isinstance(obj, list):
        return [to_device(item, device) for item in obj]
    if isinstance(obj, tuple):
        return tuple(to_device(item, device) for item in obj)
    if isinstance(obj, dict):
        return {key: to_device(value, device) for key, value in obj.items()}
    return obj


def layer_summary(model, input_size, batch_size=-1):
    # Written differently: hooks through model.apply, shapes through torch.Size, counts from
    # named_parameters(recurse=False) filtered to weight and bias.
    table = []
    hooks = []

    def add_hook(module):
        if module is model or isinstance(module, (nn.Sequential, nn.ModuleList)):
            return

        def hook(layer, args, out):
            own = dict(layer.named_parameters(recurse=False))
            count = sum(own[n].numel() for n in ("weight", "bias") if n in own)
            shape = list(torch.Size([batch_size]) + out.size()[1:])
            table.append((layer.__class__.__name__ + "-" + str(len(table) + 1), shape, int(count)))

        hooks.append(module.register_forward_hook(hook))

    model.apply(add_hook)
    params = list(model.parameters())
    try:
        model(torch.rand((2,) + tuple(input_size)).to(params[0].device if params else "cpu"))
    finally:
        while hooks:
            hooks.pop().remove()
    return table
