from .losses import cross_entropy
from .training import sgd_step, zero_grad


def fit(model, x, y, epochs=100, lr=0.5):
    # Written differently: names imported from the sibling modules, the loss kept as tensors
    # and turned into floats at the end, the parameters listed once, and the gradients
    # zeroed first in each epoch (PyTorch's tutorials' order: the same training).
    params = list(model.parameters())
    recorded = []
    for _ in range(epochs):
        zero_grad(params)
        log_probs = model(x).log()
        loss = cross_entropy(log_probs, y)
        loss.backward()
        sgd_step(params, lr)
        recorded.append(loss.detach())
    return [float(v) for v in recorded]
