"""Loss functions (course section 4): how far a prediction is from its target.

Every loss takes `reduction`:
  "mean" -> the mean of the per-element losses (a 0-dim tensor), the default;
  "sum"  -> their sum;
  "none" -> the per-element losses themselves (per row, for cross_entropy).
Raise ValueError naming `reduction` for anything else.

Pitfall: silent broadcasting. A prediction of shape (N, 1) and a target of shape (N,)
broadcast to (N, N) and give a plausible but wrong number. Raise ValueError naming both
shapes when input and target do not have the same shape.

The matching torch.nn.functional losses and nn loss modules are off-limits here.
"""

import torch


def binary_cross_entropy(probs: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Binary cross entropy on probabilities p in [0, 1] against targets y in [0, 1]:

        loss = -(y * log(p) + (1 - y) * log(1 - p))

    p usually comes from a sigmoid. log(0) = -inf; like torch, clamp each log at -100, so a
    confident wrong prediction costs 100, not inf.
    Check yourself against torch.nn.BCELoss()(p, y).
    """
    raise NotImplementedError("binary_cross_entropy: replace this line with your code")


def binary_cross_entropy_with_logits(logits: torch.Tensor, target: torch.Tensor,
                                     reduction: str = "mean") -> torch.Tensor:
    """BCE of sigmoid(logits), computed straight from the logits z, in the stable form:

        loss = max(z, 0) - z * y + log(1 + e^(-|z|))

    Pitfall: sigmoid followed by binary_cross_entropy rounds sigmoid(1e4) to exactly 1 and
    loses the loss; the form above is finite and exact for any z.
    Check yourself against torch.nn.BCEWithLogitsLoss()(z, y).
    """
    raise NotImplementedError("binary_cross_entropy_with_logits: replace this line with your code")


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Multi-class cross entropy from raw logits of shape (N, C).

    target is either class indices (an integer tensor of shape (N,)) or class probabilities
    (a float tensor of shape (N, C)). Per row:

        loss_n = -log_softmax(z_n)[target_n]          (indices)
        loss_n = -sum_c target_nc * log_softmax(z_n)_c  (probabilities)

    with log_softmax(z) = z - logsumexp(z) along dim 1; torch.logsumexp is stable.
    Pitfall: the logits go in raw. Applying softmax first (as the course tried) means
    softmax is applied twice. softmax built-ins are off-limits here.
    Raise ValueError naming the shapes if target does not fit the logits.
    """
    raise NotImplementedError("cross_entropy: replace this line with your code")


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error: (input - target)^2, reduced. The course's regression loss.

    Squaring punishes large errors heavily, so a few outliers can dominate the loss.
    Check yourself against torch.nn.MSELoss()(input, target).
    """
    raise NotImplementedError("mse_loss: replace this line with your code")


def l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean absolute error: |input - target|, reduced.

    Every unit of error costs the same, so it is robust to outliers; its gradient is
    +-1 everywhere, even for tiny errors. Check yourself against torch.nn.L1Loss().
    """
    raise NotImplementedError("l1_loss: replace this line with your code")


def smooth_l1_loss(input: torch.Tensor, target: torch.Tensor, beta: float = 1.0,
                   reduction: str = "mean") -> torch.Tensor:
    """Smooth L1: quadratic for small errors, linear for large ones. With d = |input - target|:

        loss = 0.5 * d^2 / beta   where d < beta
        loss = d - 0.5 * beta     elsewhere

    The two pieces meet smoothly at d = beta. beta = 0 is plain L1: do not divide by zero.
    """
    raise NotImplementedError("smooth_l1_loss: replace this line with your code")
