"""One training step of the course's network (3 -> 4 -> 4 -> 2) on a batch of `size` rows.

torch has no single built-in for a step; the baseline is the loop every torch user
writes. The network is tiny, so this measures the per-step overhead in Python."""

import torch
from torch import nn

from torchkata.bench import Case, timing_test


def torch_train_step(model, inputs, target, loss_fn, optimizer):
    loss = loss_fn(model(inputs), target)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def course_setup(shape, device, generator):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2),
                          nn.Softmax(dim=1)).to(device)
    inputs = torch.randn(shape[0], 3, generator=generator).to(device)
    target = torch.rand(shape[0], 2, generator=generator).to(device)
    return (model, inputs, target, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1)), {}


CASES = [Case("training.train_step", torch_train_step, "forward, backward, optimizer.step(), zero_grad()",
              course_setup, describe=lambda shape: f"batch of {shape[0]}")]

test_speed = timing_test(CASES)
