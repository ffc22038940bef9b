"""The local roofline: a plain tensor copy reads and writes each byte once, as fast as
this machine's memory allows. The table's bandwidth columns are shown against it."""

import torch

from torchkata.bench import COPY, Case, float_bytes, timing_test

CASES = [Case(COPY, lambda destination, source: destination.copy_(source), "Tensor.copy_",
              lambda shape, device, generator: ((torch.empty(shape, device=device),
                                                 torch.randn(shape, generator=generator).to(device)), {}),
              float_bytes)]

test_speed = timing_test(CASES, sides=("torch",))
