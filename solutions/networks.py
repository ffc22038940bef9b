"""Reference: building networks (course section 3)."""

import torch
from torch import nn


class Model(nn.Module):
    """3 -> 4 -> 4 -> 2: tanh, relu, then softmax over the classes."""

    def __init__(self, device=None):
        super().__init__()
        self.linear1 = nn.Linear(3, 4, device=device)
        nn.init.xavier_normal_(self.linear1.weight)
        self.linear2 = nn.Linear(4, 4, device=device)
        nn.init.kaiming_normal_(self.linear2.weight)
        self.out = nn.Linear(4, 2, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.linear1(x))
        x = torch.relu(self.linear2(x))
        return torch.softmax(self.out(x), dim=1)


def init_params(layer: nn.Module) -> None:
    """Xavier-uniform weight and a bias of 0.1 for nn.Linear; any other layer is left alone."""
    if isinstance(layer, nn.Linear):
        nn.init.xavier_uniform_(layer.weight)
        nn.init.constant_(layer.bias, 0.1)


def build_sequential(device=None) -> nn.Sequential:
    model = nn.Sequential(
        nn.Linear(3, 4, device=device), nn.Tanh(),
        nn.Linear(4, 4, device=device), nn.ReLU(),
        nn.Linear(4, 2, device=device), nn.Softmax(dim=1),
    )
    model.apply(init_params)
    return model


def parameter_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_device(obj, device):
    """Move every tensor inside lists, tuples and dicts; keep the containers and other leaves."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)((k, to_device(v, device)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def layer_summary(model: nn.Module, input_size: tuple, batch_size: int = -1) -> list:
    """One (layer, output_shape, params) row per layer that runs, as torchsummary lists them."""
    rows, handles = [], []

    def record(module, inputs, output):
        params = sum(getattr(module, name).numel() for name in ("weight", "bias")
                     if isinstance(getattr(module, name, None), torch.Tensor))
        rows.append((f"{type(module).__name__}-{len(rows) + 1}", [batch_size, *output.shape[1:]], params))

    for module in model.modules():
        if module is not model and not isinstance(module, (nn.Sequential, nn.ModuleList)):
            handles.append(module.register_forward_hook(record))
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    try:
        with torch.no_grad():
            model(torch.rand(2, *input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return rows
