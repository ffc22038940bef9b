"""A small synthetic class, so `torchkata grade` shows what it does on a fresh clone.

Four students, built from the reference solutions and the stubs at run time:
s1-perfect solved everything; s2-typical made mistakes real learners make; s3-not-started
handed in the stubs; s4-hostile tries to hang, crash and fool the grader.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..core.paths import ROOT

TYPICAL = {
    "activations": '''
def softmax(x, dim):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)
''',
    "initialization": '''
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan_out))
''',
    "losses": '''
def mse_loss(input, target, reduction="mean"):
    return _reduce((input - target) ** 2, reduction)
''',
    "training": '''
def zero_grad(params):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
''',
    "networks": '''
def layer_summary(model, input_size, batch_size=-1):
    rows, handles = [], []

    def record(module, inputs, output):
        params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append((f"{type(module).__name__}-{len(rows) + 1}", [batch_size, *output.shape[1:]], params))

    for module in model.modules():
        handles.append(module.register_forward_hook(record))
    model(torch.rand(2, *input_size))
    for handle in handles:
        handle.remove()
    return rows
''',
    "capstone": '''
def fit(model, x, y, epochs=100, lr=0.5):
    history = []
    for _ in range(epochs):
        loss = losses.cross_entropy(model(x), y)
        loss.backward()
        training.sgd_step(model.parameters(), lr)
        training.zero_grad(model.parameters())
        history.append(loss.item())
    return history
''',
}

HOSTILE = {
    "activations": '''
def relu(x):
    torch.allclose = lambda *args, **kwargs: True
    torch.testing.assert_close = lambda *args, **kwargs: None
    return x

def tanh(x):
    while True:
        pass
''',
    "regularization": '''
def dropout(x, p=0.5, training=True):
    import os
    os._exit(0)
''',
    "training": '''
def zero_grad(params):
    print("=" * 20 + " 638 passed in 1.0s " + "=" * 20)

def sgd_step(params, lr):
    import solutions.training
    solutions.training.sgd_step(params, lr)
''',
}


def build(folder: Path) -> Path:
    """Write the sample class into `folder` (one subfolder per student); return it."""
    folder = Path(folder)
    for student, base, changes in [("s1-perfect", "solutions", {}), ("s2-typical", "solutions", TYPICAL),
                                   ("s3-not-started", "exercises", {}), ("s4-hostile", "solutions", HOSTILE)]:
        target = folder / student
        shutil.copytree(ROOT / base, target, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
        for module, code in changes.items():
            with open(target / f"{module}.py", "a", encoding="utf-8") as handle:
                handle.write("\n" + code)
    return folder
