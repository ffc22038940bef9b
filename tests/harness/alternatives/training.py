import torch


@torch.no_grad()
def sgd_step(params, lr):
    for p in params:
        if p.grad is None:
            continue
        p.add_(p.grad, alpha=-lr)


def zero_grad(params):
    for p in list(params):
        if p.grad is not None:
            p.grad.detach_()
        p.grad = None


def train_step(model, inputs, target, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), target)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())
