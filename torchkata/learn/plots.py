"""The course's figures, drawn from the learner's own functions beside torch's.

Run as `python -m torchkata.learn.plots KIND EXERCISES_FOLDER OUT_FOLDER` (the command line
does, in a child process with a time limit, since it runs learner code). Prints the path
of every PNG it writes. An exercise that is not attempted, or raises, is drawn as torch's
curve alone, with the reason in the panel's title.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no window, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ..core.i18n import _, figure_language  # noqa: E402
from ..core.paths import SOLUTIONS  # noqa: E402
from ..engine.loader import Implementation  # noqa: E402

LEARNER, TORCH = "tab:orange", "tab:purple"


def _learner_call(impl: Implementation, exercise_id: str, *args, **kwargs):
    """(result, None) or (None, why not)."""
    try:
        return impl.function(exercise_id)(*args, **kwargs), None
    except NotImplementedError:
        return None, _("not attempted")
    except Exception as error:  # the learner's error, shown in the figure
        return None, f"{type(error).__name__}: {str(error)[:60]}"


def _autograd(fn, x):
    x = x.detach().clone().requires_grad_(True)
    fn(x).sum().backward()
    return x.grad


def _style(ax, title):
    ax.set_title(title, fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_position("zero")
    ax.spines["bottom"].set_position("zero")


def activations(impl: Implementation, out: Path) -> Path:
    x = torch.linspace(-6, 6, 600)
    rows = [("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu)]
    fig, axes = plt.subplots(len(rows), 2, figsize=(11, 9))
    for (name, builtin), (ax_f, ax_d) in zip(rows, axes):
        for ax, exercise, expected, label in [
            (ax_f, f"activations.{name}", builtin(x), f"{name}(x)"),
            (ax_d, f"activations.{name}_derivative", _autograd(builtin, x), f"{name}'(x)"),
        ]:
            ax.plot(x, expected, color=TORCH, linewidth=4, alpha=0.35, label="torch")
            got, why = _learner_call(impl, exercise, x.clone())
            if got is not None:
                ax.plot(x, torch.as_tensor(got).detach().float(), color=LEARNER, linewidth=1.5, label=_("yours"))
            _style(ax, _("{label}  (yours: {why})", label=label, why=why) if why else label)
            ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.suptitle(_("Your activations (orange) over torch's (wide purple)"))
    fig.tight_layout()
    return _save(fig, out / "activations.png")


def init(impl: Implementation, out: Path) -> Path:
    shape = (500, 2000)  # fan_in 2000, fan_out 500
    fan_in, fan_out = 2000, 500
    panels = [
        ("initialization.xavier_uniform_", "uniform", math.sqrt(6 / (fan_in + fan_out))),
        ("initialization.xavier_normal_", "normal", math.sqrt(2 / (fan_in + fan_out))),
        ("initialization.kaiming_uniform_", "uniform", math.sqrt(2) * math.sqrt(3 / fan_in)),
        ("initialization.kaiming_normal_", "normal", math.sqrt(2) / math.sqrt(fan_in)),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for (exercise, kind, scale), ax in zip(panels, axes.flat):
        name = exercise.split(".")[1]
        reference = getattr(torch.nn.init, name)(torch.empty(shape)).flatten()
        low, high = -4 * scale, 4 * scale
        if kind == "uniform":
            low, high = -1.3 * scale, 1.3 * scale
        bins = torch.linspace(low, high, 81)
        ax.hist(reference.numpy(), bins=bins.numpy(), density=True, color=TORCH, alpha=0.35, label="torch")
        got, why = _learner_call(impl, exercise, torch.empty(shape))
        if got is not None:
            ax.hist(torch.as_tensor(got).detach().flatten().numpy(), bins=bins.numpy(), density=True,
                    histtype="step", color=LEARNER, linewidth=1.5, label=_("yours"))
        grid = torch.linspace(low, high, 400)
        if kind == "normal":
            density = torch.exp(-0.5 * (grid / scale) ** 2) / (scale * math.sqrt(2 * math.pi))
        else:
            density = torch.where(grid.abs() <= scale, 1 / (2 * scale), 0.0)
        ax.plot(grid, density, color="black", linewidth=1, label=_("target"))
        title = _("{name} on a 500x2000 weight: uniform, bound {scale:.4f}", name=name, scale=scale) \
            if kind == "uniform" else _("{name} on a 500x2000 weight: normal, std {scale:.4f}", name=name, scale=scale)
        ax.set_title(_("{title}\n(yours: {why})", title=title, why=why) if why else title, fontsize=9)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(_("Your initialisers' histograms against the target distribution"))
    fig.tight_layout()
    return _save(fig, out / "init.png")


def dropout(impl: Implementation, out: Path) -> Path:
    ps = [i / 20 for i in range(20)]
    x = torch.ones(200_000)
    fig, (ax_kept, ax_scale) = plt.subplots(1, 2, figsize=(11, 4.5))
    for label, color, fn in [("torch", TORCH, lambda x, p: torch.nn.functional.dropout(x, p)),
                             (_("yours"), LEARNER, lambda x, p: impl.function("regularization.dropout")(x, p=p))]:
        kept, scale = [], []
        why = None
        for p in ps:
            try:
                y = torch.as_tensor(fn(x.clone(), p))
            except NotImplementedError:
                why = _("not attempted")
                break
            except Exception as error:
                why = f"{type(error).__name__}: {str(error)[:50]}"
                break
            survivors = y[y != 0]
            kept.append((y != 0).float().mean().item())
            scale.append(survivors.mean().item() if survivors.numel() else float("nan"))
        style = dict(color=color, linewidth=4 if label == "torch" else 1.5, alpha=0.4 if label == "torch" else 1,
                     label=label + (f" ({why})" if why else ""))
        ax_kept.plot(ps[: len(kept)], kept, **style)
        ax_scale.plot(ps[: len(scale)], scale, **style)
    ax_kept.plot(ps, [1 - p for p in ps], "k:", linewidth=1, label="1 - p")
    ax_scale.plot(ps, [1 / (1 - p) for p in ps], "k:", linewidth=1, label="1 / (1 - p)")
    ax_kept.set(title=_("fraction of elements kept"), xlabel="p")
    ax_scale.set(title=_("value of a kept element (input 1)"), xlabel="p")
    for ax in (ax_kept, ax_scale):
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _save(fig, out / "dropout.png")


def _task(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The capstone's task: standard-normal points, class 1 where |x0| + 0.5 x1 > 0.8."""
    x = torch.randn(n, 3, generator=generator)
    return x, ((x[:, 0].abs() + 0.5 * x[:, 1]) > 0.8).long()


def training(impl: Implementation, out: Path) -> Path:
    """The learner's fit beside the reference's, from the same start: the loss per epoch,
    and the decision regions of the learner's trained network (x2 = 0) with held-out points."""
    reference = Implementation(SOLUTIONS)
    generator = torch.Generator().manual_seed(0)
    x, y = _task(512, generator)
    held_x, held_y = _task(2048, generator)
    torch.manual_seed(0)
    start = reference.function("networks.Model")().state_dict()
    fig, (ax_loss, ax_regions) = plt.subplots(1, 2, figsize=(12, 5))
    runs = {}
    for who, label, implementation in (("reference", _("the reference solution"), reference),
                                       ("yours", _("yours"), impl)):
        model = reference.function("networks.Model")()
        model.load_state_dict(start)
        losses, why = _learner_call(implementation, "capstone.fit", model, x, y, 300, 0.5)
        runs[who] = (model, losses, why)
        colour = TORCH if implementation is reference else LEARNER
        if losses is not None:
            ax_loss.plot(range(1, len(losses) + 1), losses, color=colour, linewidth=3 if colour == TORCH else 1.5,
                         alpha=0.4 if colour == TORCH else 1.0, label=label)
    mine, losses, why = runs["yours"]
    ax_loss.set(xlabel=_("epoch"), ylabel=_("cross entropy"),
                title=_("fit: loss per epoch, same start (yours: {why})", why=why) if why else
                _("fit: loss per epoch, same start"))
    ax_loss.legend()
    grid = torch.linspace(-3, 3, 300)
    gx, gy = torch.meshgrid(grid, grid, indexing="xy")
    points = torch.stack([gx.flatten(), gy.flatten(), torch.zeros(gx.numel())], dim=1)
    with torch.no_grad():
        regions = mine(points)[:, 1].reshape(gx.shape) if why is None else torch.zeros_like(gx)
        accuracy = (mine(held_x).argmax(1) == held_y).double().mean().item() if why is None else float("nan")
    ax_regions.contourf(gx, gy, regions, levels=[0, 0.5, 1], colors=["#dde6f7", "#f7e0cc"])
    near = held_x[:, 2].abs() < 0.5  # the held-out points near the plane drawn
    ax_regions.scatter(held_x[near, 0], held_x[near, 1], c=held_y[near], cmap="coolwarm", s=6)
    ax_regions.set(xlabel="x0", ylabel="x1", xlim=(-3, 3), ylim=(-3, 3),
                   title=_("your network after fit (x2 = 0): held-out accuracy {accuracy:.1%}", accuracy=accuracy)
                   if why is None else _("your network: {why}", why=why))
    fig.tight_layout()
    return _save(fig, out / "training.png")


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


KINDS = {"activations": activations, "init": init, "dropout": dropout, "training": training}


def main(argv) -> int:
    kind, exercises, out = argv
    torch.manual_seed(0)
    with figure_language() as note:
        path = KINDS[kind](Implementation(Path(exercises)), Path(out))
    if note:
        print(note)
    print(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
