"""What each way of noticing off-limits calls would cost, on the course's own code.

    python benchmarks/watch_routes.py [--repeat 7]

The tripwire (torchkata/engine/tripwire.py) must see a forbidden built-in however it is
reached, and record which of the learner's functions ran. Four routes could do it; each is
timed here around the same workloads (the reference solutions: a network built and run,
softmax and cross-entropy on a batch, fit's training loop), with the exercise's own
off-limits set, against the same workload unwatched:

* `setprofile`: the Tripwire on Python 3.10 and 3.11: sys.setprofile sees every Python and
  C call and return.
* `monitoring`: the Tripwire on Python 3.12 and later: sys.monitoring's PY_START and CALL
  events, with the same checks; a Python function, once seen, is switched off (DISABLE) for
  the rest of the watch, so it costs nothing afterwards. A C call cannot be: one call site
  may reach a forbidden built-in later.
* `function-mode`: torch.overrides.TorchFunctionMode sees torch functions and tensor
  methods; it cannot see which learner functions ran, nor the reference's code.
* `patched`: the forbidden names replaced by recording wrappers; nothing else is watched. It
  misses aliases bound before the patch and tensor methods reached through C, and sees no
  learner function.

Both are the real Tripwire (its `route`). Only they catch every route the tests check (aliases, tensor methods, modules,
nn.init, optimisers, the reference code, which functions ran); the last two are priced to
know what they would save. Prints a markdown table of medians (of --repeat runs, each after
a warm-up) and each route's ratio to the unwatched workload, then a table of what each route
saw of softmax's off-limits built-ins reached four ways, and of the learner's code that ran.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from torchkata.core.manifest import load  # noqa: E402
from torchkata.engine.tripwire import MONITORING, SETPROFILE, Tripwire  # noqa: E402

HAS_MONITORING = hasattr(sys, "monitoring")


class FunctionModeWatch(torch.overrides.TorchFunctionMode):
    def __init__(self, tripwire: Tripwire):
        super().__init__()
        self.c_names = tripwire.c_names
        self.hits: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", None)
        if name in self.c_names and name not in self.hits:
            self.hits.append(name)
        return func(*args, **(kwargs or {}))


class PatchedWatch:
    """Recording wrappers over the forbidden module attributes, for the time of the watch."""

    def __init__(self, names: tuple[str, ...]):
        self.names, self.hits, self.saved = names, [], []

    def __enter__(self):
        import importlib

        for name in self.names:
            module_name, _dot, attr = name.rpartition(".")
            try:
                owner = importlib.import_module(module_name)
                original = getattr(owner, attr)
            except (ImportError, AttributeError, ValueError):
                continue
            if not callable(original) or isinstance(original, type):
                continue

            def wrapper(*args, _original=original, _name=name, **kwargs):
                self.hits.append(_name)
                return _original(*args, **kwargs)

            self.saved.append((owner, attr, original))
            setattr(owner, attr, wrapper)
        return self

    def __exit__(self, *exc):
        for owner, attr, original in reversed(self.saved):
            setattr(owner, attr, original)
        self.saved.clear()
        return False


def workloads():
    """(name, the exercise whose off-limits set applies, a function running the reference)."""
    from solutions import activations, capstone, losses, networks

    torch.manual_seed(0)
    x = torch.randn(64, 10)
    y = torch.randint(0, 10, (64,))
    points = torch.randn(256, 3)
    labels = ((points[:, 0].abs() + 0.5 * points[:, 1]) > 0.8).long()

    def build_and_run():
        for _ in range(20):
            networks.Model()(points[:8])

    def softmax():
        for _ in range(500):
            activations.softmax(x, dim=1)

    def cross_entropy():
        for _ in range(500):
            losses.cross_entropy(x, y)

    def fit():
        torch.manual_seed(1)
        capstone.fit(networks.Model(), points, labels, epochs=30, lr=0.5)

    return [("Model built and run, 20 times", "networks.Model", build_and_run),
            ("softmax on 64x10, 500 times", "activations.softmax", softmax),
            ("cross_entropy on 64x10, 500 times", "losses.cross_entropy", cross_entropy),
            ("fit, 30 epochs on 256 points", "capstone.fit", fit)]


def watch(route: str, exercise: str):
    names = tuple(next(e for e in load() if e.id == exercise).off_limits)
    if route in (SETPROFILE, MONITORING):
        return Tripwire(names, learner_folder=str(ROOT / "solutions"), route=route)
    tripwire = Tripwire(names)
    if route == "function-mode":
        return FunctionModeWatch(tripwire)
    if route == "patched":
        return PatchedWatch(names)
    raise ValueError(route)


class Unwatched:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def timed(run, make_watch, repeat: int) -> float:
    samples = []
    for attempt in range(repeat + 1):
        start = time.perf_counter()
        with make_watch():
            run()
        if attempt:  # the first run warms up
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _ways_to_softmax():
    """A learner's softmax reached four ways, one alias bound before any watch starts."""
    import torch.nn.functional as F
    from torch import softmax as bound_early

    x = torch.randn(4, 3)
    return {"alias bound at import": lambda: bound_early(x, 1), "tensor method": lambda: x.softmax(1),
            "nn.functional": lambda: F.softmax(x, 1), "module": lambda: torch.nn.Softmax(dim=1)(x)}


def catches(route: str) -> dict[str, bool]:
    """What `route` saw: each way of reaching softmax, and whether it recorded the learner's
    function (the reference's softmax, here the learner's) that ran."""
    from solutions import activations

    seen = {}
    for way, call in _ways_to_softmax().items():
        with watch(route, "activations.softmax") as watching:
            call()
        seen[way] = bool(watching.hits)
    with watch(route, "activations.softmax") as watching:
        activations.softmax(torch.randn(2, 3), dim=1)
    seen["which learner code ran"] = bool(getattr(watching, "ran", ()))
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each workload and route (default: 7)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: give at least 1")
    torch.set_num_threads(1)
    routes = ["setprofile", *(["monitoring"] if HAS_MONITORING else []), "function-mode", "patched"]
    print(f"Python {sys.version.split()[0]}, torch {torch.__version__}, one thread"
          + ("" if HAS_MONITORING else " (no sys.monitoring before Python 3.12)"))
    print()
    print("| workload | unwatched | " + " | ".join(routes) + " |")
    print("|---|---|" + "---|" * len(routes))
    for name, exercise, run in workloads():
        bare = timed(run, Unwatched, args.repeat)
        cells = [f"{bare * 1000:.1f} ms"]
        for route in routes:
            cost = timed(run, lambda route=route, exercise=exercise: watch(route, exercise), args.repeat)
            cells.append(f"{cost * 1000:.1f} ms ({cost / bare:.2f}x)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    seen = {route: catches(route) for route in routes}
    print("| what was seen | " + " | ".join(routes) + " |")
    print("|---|" + "---|" * len(routes))
    for way in seen[routes[0]]:
        print(f"| {way} | " + " | ".join("yes" if seen[route][way] else "**no**" for route in routes) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
