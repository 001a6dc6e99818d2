"""Benchmark: Lesson 3's MLP training loop, per step and for the lecture's full run.

Introduced in Lesson 3 (MLP). The model is the lecture's (C 27x10, hidden layer 200,
11,897 parameters), trained on the names' training split with minibatches of 32. The
script first times the loop per step with torch's default number of CPU threads and with
the setting `lib.makemore.mlp.train` uses (one thread), from the same seed, and checks that
both give the same losses; then it times the whole run of `--steps` steps (the lecture's
200,000 by default, learning rate 0.1 then 0.01 from the halfway step) and reports the
train and dev losses at the end (the lecture's run gave train 2.126, dev 2.170).
Timings are reported, never asserted; wall time depends on what else the machine is running,
so the report also gives the full run's CPU time and the load average before the runs. It
exits with status 1 if the losses differ between the two thread settings, because then the
speed comparison would not be a like-for-like one.

    python bench/makemore_bench.py [--steps N] [--json PATH]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so `lib` imports when run as a script

from bench.common import machine_description, today  # noqa: E402

from lib.makemore import MLP, Vocab, build_dataset, load_words, split_loss, split_words, step_decay, train  # noqa: E402

LECTURE = {"train": 2.126, "dev": 2.170}  # the lecture's losses after its 200k-step run
TIMING_STEPS = 500  # steps per timed run of the thread comparison
TIMING_REPEATS = 3  # timed runs per setting, alternating; the median is reported


def torch_default_threads():
    """How many threads torch uses when OMP_NUM_THREADS does not choose (`make` sets it to 1)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                         env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def timed_run(Xtr, Ytr, steps, num_threads, lr):
    """Train a fresh lecture model for `steps` steps; return (wall seconds, CPU seconds, losses, model)."""
    model = MLP()  # the lecture's weights (seed 2147483647); train's minibatches use its own seeded generator
    start, start_cpu = time.perf_counter(), time.process_time()
    losses = train(model, Xtr, Ytr, steps, lr=lr, progress=False, num_threads=num_threads)
    return time.perf_counter() - start, time.process_time() - start_cpu, losses, model


def compare_threads(Xtr, Ytr, steps, default_threads):
    """Milliseconds per step (median of alternating runs) for each setting, and the losses of each."""
    settings = {"default": default_threads, "one": 1}
    ms, losses = {name: [] for name in settings}, {}
    for repeat in range(TIMING_REPEATS):
        order = list(settings) if repeat % 2 == 0 else list(settings)[::-1]
        for name in order:
            seconds, _, run_losses, _ = timed_run(Xtr, Ytr, steps, settings[name], lr=0.1)
            ms[name].append(1000 * seconds / steps)
            losses.setdefault(name, run_losses)
            if run_losses != losses[name]:
                losses[name + " (repeat)"] = run_losses
    return {name: statistics.median(values) for name, values in ms.items()}, losses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000, help="steps of the full run (default 200000)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")

    words = load_words("names")
    vocab = Vocab.from_words(words)
    train_words, dev_words, _ = split_words(words)
    Xtr, Ytr = build_dataset(train_words, vocab, block_size=3)
    Xdev, Ydev = build_dataset(dev_words, vocab, block_size=3)

    load_before = os.getloadavg()[0]  # other work on the machine slows every figure below
    default_threads = torch_default_threads()
    timing_steps = min(TIMING_STEPS, args.steps)
    ms, losses = compare_threads(Xtr, Ytr, timing_steps, default_threads)
    same_losses = len(losses) == 2 and losses["default"] == losses["one"]

    lr = step_decay(0.1, 0.01, at=args.steps // 2)
    wall_s, cpu_s, run_losses, model = timed_run(Xtr, Ytr, args.steps, num_threads=1, lr=lr)
    train_loss, dev_loss = split_loss(model, Xtr, Ytr), split_loss(model, Xdev, Ydev)

    print(f"MLP 27x10 / 200 ({model.num_parameters} parameters), batch 32, names train split ({len(Xtr)} examples)")
    print(f"loop, {timing_steps} steps x {TIMING_REPEATS} runs each (median):")
    print(f"  torch's default threads ({default_threads}): {ms['default']:8.3f} ms/step")
    print(f"  one thread (train's setting): {ms['one']:8.3f} ms/step   ({ms['default'] / ms['one']:.1f}x faster)")
    print(f"  identical losses under both settings: {same_losses}")
    print(f"full run, {args.steps} steps, lr 0.1 -> 0.01 at step {args.steps // 2}: {wall_s:.1f} s "
          f"({cpu_s:.1f} s of CPU time; load average {load_before:.2f} before the runs)")
    print(f"  train loss {train_loss:.4f}  dev loss {dev_loss:.4f}"
          f"  (lecture, 200000 steps: train {LECTURE['train']:.3f}, dev {LECTURE['dev']:.3f})")

    if args.json:
        report = {
            "machine": machine_description(),
            "date": today(),
            "steps": args.steps,
            "ms_per_step_default_threads": ms["default"],
            "ms_per_step_one_thread": ms["one"],
            "wall_s": wall_s,
            "train_loss": train_loss,
            "dev_loss": dev_loss,
            "cpu_s": cpu_s,
            "load_average_before": load_before,
            "default_threads": default_threads,
            "timing_steps": timing_steps,
            "same_losses_both_settings": same_losses,
            "final_minibatch_loss": run_losses[-1],
            "lecture_train_loss": LECTURE["train"],
            "lecture_dev_loss": LECTURE["dev"],
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")

    if not same_losses:
        print("FAIL: the losses differ between the thread settings (or between repeats)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
