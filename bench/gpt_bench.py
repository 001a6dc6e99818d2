"""Benchmark: Lesson 7's `cpu` preset against the small CPU recipe, given the same time.

Introduced in Lesson 7 (Let's build GPT). The `cpu` preset of `lib.gpt.train` is trained as
defined, and the well-known small CPU recipe (the `small` preset: 4 layers, 4 heads, n_embd
128, block 64, batch 12, learning rate 1e-3 with cosine decay; val about 1.88 after its 2000
steps on a laptop) is given the same amount of computation: its number of steps (and its
learning-rate decay) is stretched to take as long as the `cpu` preset. Both train at once,
each in its own process with one thread, so both see the same machine conditions.

Time is measured as CPU time of a one-thread process: on an idle machine that equals wall
time on one core, and unlike wall time it is not inflated when other programs share the
cores. Wall times are recorded too. How many steps fill the `cpu` preset's time is found by
timing a few steps of each preset first, both at once, as they will train.
Every evaluation during training uses each preset's own settings; at the end both models are
scored on the same 200 batches of 64 validation windows of 64 characters.

    python bench/gpt_bench.py [--steps N] [--json PATH]

--steps shortens (or lengthens) the `cpu` preset's run, its learning-rate decay with it, and
the small recipe's with the same budget: a quicker comparison of the same recipes.
"""

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so `lib` imports when run as a script

from bench.common import machine_description, today  # noqa: E402

import torch  # noqa: E402

from lib.gpt.data import estimate_loss, get_batch  # noqa: E402
from lib.gpt.model import GPT  # noqa: E402
from lib.gpt.train import PRESETS, load_shakespeare, make_optimizer, train  # noqa: E402

FINAL_EVAL = {"block_size": 64, "batch_size": 64, "eval_iters": 200, "seed": 2024}
TIMING_STEPS = 20  # steps per preset when timing one step
# Quoted facts, for the table: the small recipe on a laptop CPU (nanoGPT's README), the
# lecture's model on a GPU (the lecture), and the course's target for the `cpu` preset.
ANCHORS = {"small_recipe_laptop_val": 1.88, "lecture_gpu_val": 1.48, "cpu_target_val": 1.75,
           "cpu_target_minutes": 10}


def cpu_seconds_per_step(preset, steps=TIMING_STEPS, warmup=3):
    """CPU seconds of one training step and of one evaluation, measured on random batches."""
    torch.set_num_threads(1)
    _, train_data, _ = load_shakespeare()
    torch.manual_seed(0)
    model = GPT(preset.model)
    optimizer = make_optimizer(model, preset)
    generator = torch.Generator().manual_seed(0)
    batch = lambda: get_batch(train_data, preset.model.block_size, preset.batch_size, generator=generator)  # noqa: E731
    for i in range(warmup + steps):
        if i == warmup:
            start = time.process_time()
        x, y = batch()
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    step_s = (time.process_time() - start) / steps
    start = time.process_time()
    estimate_loss(model, {"train": train_data, "val": train_data}, preset.model.block_size, preset.batch_size,
                  max(1, preset.eval_iters // 10), generator=generator)
    eval_s = (time.process_time() - start) * preset.eval_iters / max(1, preset.eval_iters // 10)
    return step_s, eval_s


def projected_cpu_s(preset, step_s, eval_s):
    evaluations = preset.max_iters // preset.eval_interval + 1
    return preset.max_iters * step_s + evaluations * eval_s


def run_one(name, preset, out_dir=None):
    """Train `preset` in this (child) process with one thread; return its figures."""
    torch.set_num_threads(1)
    wall, cpu = time.perf_counter(), time.process_time()
    model, history = train(preset, progress=False, out_dir=out_dir)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _, _, val_data = load_shakespeare()
    final = estimate_loss(model, {"val": val_data}, FINAL_EVAL["block_size"], FINAL_EVAL["batch_size"],
                          FINAL_EVAL["eval_iters"], generator=torch.Generator().manual_seed(FINAL_EVAL["seed"]))
    return {
        "name": name,
        "preset": {k: v for k, v in dataclasses.asdict(preset).items() if k != "description"},
        "description": preset.description,
        "parameters": model.num_parameters(),
        "steps": preset.max_iters,
        "tokens_seen": preset.max_iters * preset.batch_size * preset.model.block_size,
        "wall_s": wall,
        "cpu_s": cpu,
        "final_val": final["val"],
        "history": history,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="steps of the cpu preset (default: the preset's own)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--out", metavar="DIR", help="keep both runs' checkpoints here (progress can be read from them)")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")
    torch.set_num_threads(1)

    cpu_preset, small = PRESETS["cpu"], PRESETS["small"]
    if args.steps is not None:
        cpu_preset = dataclasses.replace(cpu_preset, max_iters=args.steps, lr_decay_iters=args.steps)
    # Time both presets twice, side by side in two processes as they will train (two runs at
    # once share caches and memory bandwidth, and that slows the two recipes unequally), and
    # keep the faster timing of each.
    timings = {"cpu": [], "small": []}
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for _ in range(2):
            jobs = {name: pool.apply_async(cpu_seconds_per_step, (preset,))
                    for name, preset in (("cpu", cpu_preset), ("small", small))}
            for name, job in jobs.items():
                timings[name].append(job.get())
    (cpu_step, cpu_eval), (small_step, small_eval) = (min(timings[n]) for n in ("cpu", "small"))
    budget = projected_cpu_s(cpu_preset, cpu_step, cpu_eval)
    # The small recipe's steps that fill the same budget; its schedule stretched to match.
    small_steps = round(small.max_iters * budget / projected_cpu_s(small, small_step, small_eval))
    stretched = dataclasses.replace(small, max_iters=small_steps, lr_decay_iters=small_steps)
    print(f"cpu preset: {cpu_step * 1000:.0f} ms CPU per step, {cpu_preset.max_iters} steps, about {budget:.0f} s CPU")
    print(f"small recipe: {small_step * 1000:.0f} ms CPU per step -> {small_steps} steps in the same time")

    load_before = os.getloadavg()[0]
    wall = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        jobs = [pool.apply_async(run_one, (name, preset, args.out and str(Path(args.out) / name)))
                for name, preset in (("cpu", cpu_preset), ("small", stretched))]
        runs = {r["name"]: r for r in (job.get() for job in jobs)}
    wall = time.perf_counter() - wall

    print(f"{'run':<8}{'params':>10}{'steps':>8}{'CPU s':>8}{'wall s':>8}{'val (own eval)':>16}{'val (common eval)':>19}")
    for name, r in runs.items():
        print(f"{name:<8}{r['parameters']:>10,}{r['steps']:>8}{r['cpu_s']:>8.0f}{r['wall_s']:>8.0f}"
              f"{r['history'][-1]['val']:>16.4f}{r['final_val']:>19.4f}")

    if args.json:
        report = {
            "machine": machine_description(),
            "date": today(),
            "torch": torch.__version__,
            "threads_per_run": 1,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg()[0],
            "both_runs_wall_s": wall,
            "cpu_preset_steps": PRESETS["cpu"].max_iters,  # the preset's own; runs.cpu.steps is what ran
            "ms_cpu_per_step": {"cpu": 1000 * cpu_step, "small": 1000 * small_step},
            "budget_cpu_s": budget,
            "final_eval": FINAL_EVAL,
            "anchors": ANCHORS,
            "runs": runs,
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
