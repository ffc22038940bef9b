"""capstone.fit: 100 epochs of the course's network (3 -> 4 -> 4 -> 2) on `size` points.

The baseline is the same loop written with torch's built-ins: torch.optim.SGD and
F.nll_loss on the log-probabilities. Both sides run the same forward passes; what differs is
the loss, the update and the clearing of gradients, so the ratio is the price of the
learner's own pieces. Each timed call trains the model further from where the last one left it."""

import torch
import torch.nn.functional as F
from torch import nn

from torchkata.bench import Case, timing_test

EPOCHS = 100


def torch_fit(model, x, y, epochs=EPOCHS, lr=0.5):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        loss = F.nll_loss(torch.log(model(x)), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return losses


def course_task(shape, device, generator):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2),
                          nn.Softmax(dim=1)).to(device)
    x = torch.randn(shape[0], 3, generator=generator)
    y = ((x[:, 0].abs() + 0.5 * x[:, 1]) > 0.8).long()  # the tests' task: not linearly separable
    return (model, x.to(device), y.to(device)), {"epochs": EPOCHS, "lr": 0.5}


CASES = [Case("capstone.fit", torch_fit, "torch.optim.SGD, F.nll_loss(torch.log(probs), y)", course_task,
              describe=lambda shape: f"{shape[0]} points, {EPOCHS} epochs")]

test_speed = timing_test(CASES)
