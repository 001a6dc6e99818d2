"""Benchmark: our Lesson 1 engine against the classic `micrograd` package.

Introduced in Lesson 1 (micrograd). This script trains the same
MLP(2, [16, 16, 1]) (relu hidden layers, linear output) on the same 100 "two
moons" points with both engines, starting from identical weights, with the
classic demo's recipe: full batch, SVM max-margin loss plus L2, SGD with a
decaying learning rate. It reports milliseconds per training step for each
engine and checks that both produce the same losses; timings are reported,
never asserted. It exits with status 1 if the losses differ by more than 1e-9,
because then the speed comparison would not be a like-for-like one.

    python bench/micrograd_bench.py [--steps N] [--json PATH]
"""

import argparse
import gc
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so `lib` imports when run as a script

from bench.common import machine_description, today  # noqa: E402

import micrograd.engine as classic_engine  # noqa: E402  (the PyPI package, 0.1.0)
import micrograd.nn as classic_nn  # noqa: E402

from lib.micrograd import MLP, Value  # noqa: E402

LOSS_TOLERANCE = 1e-9


def make_moons(n_samples=100, noise=0.1, seed=0):
    """Two interleaving half circles, labels -1 (upper moon) and +1 (lower moon)."""
    rng = random.Random(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    points, labels = [], []
    for i in range(n_upper):
        angle = math.pi * i / max(n_upper - 1, 1)
        points.append([math.cos(angle), math.sin(angle)])
        labels.append(-1.0)
    for i in range(n_lower):
        angle = math.pi * i / max(n_lower - 1, 1)
        points.append([1.0 - math.cos(angle), 0.5 - math.sin(angle)])
        labels.append(1.0)
    points = [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] for x, y in points]
    return points, labels


def build_models(seed=1337):
    """The classic MLP and ours, with our weights copied from the classic one."""
    random.seed(seed)
    classic = classic_nn.MLP(2, [16, 16, 1])
    ours = MLP(2, [16, 16, 1], activation="relu", output_activation="linear")
    classic_params, our_params = classic.parameters(), ours.parameters()
    assert len(classic_params) == len(our_params) == 337
    for mine, theirs in zip(our_params, classic_params):
        mine.data = float(theirs.data)
    return classic, ours


def total_loss(model, value_cls, points, labels):
    """SVM max-margin loss mean(relu(1 - y*score)) plus 1e-4 * sum(p*p), as in the classic demo."""
    inputs = [[value_cls(x) for x in row] for row in points]
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * score).relu() for yi, score in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def sgd_step(model, value_cls, points, labels, step):
    """One full-batch training step; returns the loss before the update."""
    loss = total_loss(model, value_cls, points, labels)
    model.zero_grad()
    loss.backward()
    learning_rate = 1.0 - 0.9 * step / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return loss.data


def train_both(steps, seed=1337, turn=5, n_samples=100):
    """Train both engines side by side for `steps` steps; return losses and seconds per step.

    The engines take turns, `turn` steps at a time and alternating which goes
    first, so both see the same machine conditions. Within a turn the steps run back to back, as in a real
    training loop, so each engine pays for its own memory management: the
    classic engine's graphs are reference cycles that wait for Python's cycle
    collector, ours are freed as soon as a step ends. Leftover garbage is
    collected between turns, outside the timed region.
    """
    points, labels = make_moons(n_samples)
    classic, ours = build_models(seed)
    engines = {"classic": (classic, classic_engine.Value), "ours": (ours, Value)}
    losses = {name: [] for name in engines}
    seconds = {name: [] for name in engines}
    for first in range(0, steps, turn):
        names = ["classic", "ours"] if first // turn % 2 == 0 else ["ours", "classic"]
        for name in names:
            model, value_cls = engines[name]
            gc.collect()
            for step in range(first, min(first + turn, steps)):
                start = time.perf_counter()
                loss = sgd_step(model, value_cls, points, labels, step)
                seconds[name].append(time.perf_counter() - start)
                losses[name].append(loss)
    return {"losses": losses, "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps per engine (default 20)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")

    run = train_both(args.steps)
    losses, seconds = run["losses"], run["seconds"]
    # Median, so one step interrupted by the OS does not move the figure.
    ms = {name: 1000 * statistics.median(s) for name, s in seconds.items()}
    speedup = ms["classic"] / ms["ours"]
    max_loss_diff = max(abs(a - b) for a, b in zip(losses["ours"], losses["classic"]))

    print(f"MLP(2, [16, 16, 1]) on 100 points, {args.steps} full-batch SGD steps")
    print(f"{'engine':<10}{'ms/step (median)':>18}{'final loss':>22}")
    for name in ("classic", "ours"):
        print(f"{name:<10}{ms[name]:>18.1f}{losses[name][-1]:>22.15f}")
    print(f"speedup (classic / ours): {speedup:.2f}x")
    print(f"max |loss_ours - loss_classic| over all steps: {max_loss_diff:.3g}")

    if args.json:
        report = {
            "steps": args.steps,
            "machine": machine_description(),
            "date": today(),
            "classic_ms_per_step": ms["classic"],
            "ours_ms_per_step": ms["ours"],
            "speedup": speedup,
            "max_loss_diff": max_loss_diff,
            "losses_ours": losses["ours"],
            "losses_classic": losses["classic"],
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")

    if max_loss_diff > LOSS_TOLERANCE:
        print(f"FAIL: losses differ by more than {LOSS_TOLERANCE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
