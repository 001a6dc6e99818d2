"""Training a GPT on tinyshakespeare: the training loop and its command line.

Introduced in Lesson 7 (Let's build GPT). The loop is the lecture's: sample a batch, compute
the loss, backpropagate, take an AdamW step, and every `eval_interval` steps print the mean
train and val loss over `eval_iters` batches. Around it sit the things a long run needs:

- presets and the learning-rate schedule (presets.py: `PRESETS`, `learning_rate`);
- checkpoints that resume exactly (checkpoint.py);
- several processes with DistributedDataParallel when started by `torchrun`: each process
  draws its own batches, gradients are averaged across processes, process 0 logs and saves.

The names of presets.py and checkpoint.py are importable from here too.

Command line (run from anywhere; `--out` keeps checkpoints and samples):

    python -m lib.gpt.train --preset cpu --out runs/cpu
    python -m lib.gpt.train --preset cpu --out runs/cpu --resume   # continue after a stop
    python -m lib.gpt.train --preset lecture --device cuda --out runs/lecture
    torchrun --nproc_per_node=4 -m lib.gpt.train --preset lecture --device cuda
"""
import argparse
import dataclasses
import functools
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from lib.data import read_text
from lib.gpt.checkpoint import (CHECKPOINT_KEYS, CHECKPOINT_NAME, CheckpointError, _comparable, _rng_state,
                                _set_rng_state, load_checkpoint, model_from_checkpoint, save_checkpoint)
from lib.gpt.data import CharTokenizer, estimate_loss, get_batch, train_val_split
from lib.gpt.model import GPT
from lib.gpt.presets import PRESETS, Preset, get_preset, learning_rate
from lib.progress import progress_bar

# Names that live in presets.py and checkpoint.py, importable from here as before the split.
__all__ = [
    "PRESETS", "Preset", "get_preset", "learning_rate",
    "CHECKPOINT_NAME", "CHECKPOINT_KEYS", "CheckpointError", "save_checkpoint", "load_checkpoint",
    "model_from_checkpoint",
    "check_device", "load_shakespeare", "make_optimizer", "train", "sample", "main",
]

SAMPLE_TOKENS = 500  # characters generated at the end of a command-line run


def check_device(device):
    """The torch.device for `device`, or an error that says what to use instead."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device 'cuda' was requested but PyTorch sees no GPU "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
            "train with --device cpu (e.g. --preset cpu), or run on a machine with a GPU and a CUDA build of torch."
        )
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device {str(device)!r} is not supported; use 'cpu' or 'cuda'")
    return device


@functools.lru_cache(maxsize=1)
def load_shakespeare():
    """The tokenizer and the (train, val) id tensors of tinyshakespeare (90/10 split).

    Read and encoded once per process; the tensors are shared, so do not modify them."""
    text = read_text("tinyshakespeare")
    tokenizer = CharTokenizer.from_text(text)
    data = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    return tokenizer, *train_val_split(data, 0.9)


def make_optimizer(model, preset):
    """AdamW with weight decay on the weight matrices and embeddings only: decaying biases and
    LayerNorm gains towards zero would only fight the normalisation."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": preset.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=preset.learning_rate, betas=(0.9, preset.beta2))


def _distributed():
    """(rank, world_size): (0, 1) unless a process group is running."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def train(preset, *, device="cpu", out_dir=None, resume=False, progress=True, max_iters=None):
    """Train a GPT on tinyshakespeare; returns (model, history).

    `preset` is a name in PRESETS or a Preset. `max_iters` overrides where training stops
    (the learning-rate schedule stays the preset's). With `out_dir`, a checkpoint is written
    there at every evaluation; `resume=True` continues from it. `history` is a list of
    {'step', 'train', 'val', 'elapsed_s', 'cpu_s'}, one per evaluation: mean losses, and the
    wall and CPU seconds spent so far (CPU time counts every thread of this process).

    If torch.distributed is initialised (as `python -m lib.gpt.train` does under torchrun),
    the model is wrapped in DistributedDataParallel, each process draws batches from its own
    seed, and only process 0 evaluates, logs and writes checkpoints. The returned model is
    the plain GPT, in eval mode.
    """
    preset = get_preset(preset)
    device = check_device(device)
    max_iters = preset.max_iters if max_iters is None else max_iters
    if max_iters < 0:
        raise ValueError(f"max_iters must be >= 0; got {max_iters}")
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir, the folder that holds the checkpoint")
    rank, world_size = _distributed()
    checkpoint_path = Path(out_dir) / CHECKPOINT_NAME if out_dir is not None else None

    tokenizer, train_data, val_data = load_shakespeare()
    if tokenizer.vocab_size != preset.model.vocab_size:
        raise ValueError(f"the preset's vocab_size is {preset.model.vocab_size} but the text has "
                         f"{tokenizer.vocab_size} characters")
    torch.manual_seed(preset.seed)  # the same initial weights in every process
    model = GPT(preset.model).to(device)
    optimizer = make_optimizer(model, preset)
    batch_rng = torch.Generator().manual_seed(preset.seed + rank)  # each process its own batches
    torch.manual_seed(preset.seed + rank)  # dropout masks differ between processes too
    history, start_step, elapsed_before, cpu_before = [], 0, 0.0, 0.0

    if resume:
        checkpoint = load_checkpoint(checkpoint_path, device)
        if _comparable(checkpoint["preset"]) != _comparable(dataclasses.asdict(preset)):
            raise CheckpointError(f"{checkpoint_path} was written by a different preset; resume with the same "
                                  "--preset, or choose another --out folder")
        if len(checkpoint["rng"]) != world_size:
            raise CheckpointError(f"{checkpoint_path} was written by {len(checkpoint['rng'])} process(es); "
                                  f"resume with the same number (this run has {world_size})")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        _set_rng_state(checkpoint["rng"][rank], batch_rng, device)
        history = checkpoint["history"]
        start_step = checkpoint["step"]
        elapsed_before, cpu_before = checkpoint["elapsed_s"], checkpoint["cpu_s"]

    net = model
    if world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    model.train()
    cfg = preset.model
    splits = {"train": train_data, "val": val_data}
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    bar = progress_bar(max_iters, initial=min(start_step, max_iters), disable=not progress or rank != 0, auto=True,
                       desc=f"GPT {model.num_parameters() / 1e6:.2f}M", unit="step", dynamic_ncols=True)

    for step in range(start_step, max_iters + 1):
        evaluate = step % preset.eval_interval == 0 or step == max_iters
        if evaluate and not (resume and step == start_step):  # a resumed step was evaluated before the stop
            # Every process's random state goes into the checkpoint, so gather before evaluating.
            rng_states = [_rng_state(batch_rng, device)]
            if world_size > 1:
                rng_states = [None] * world_size
                dist.all_gather_object(rng_states, _rng_state(batch_rng, device))
            if rank == 0:
                # The same evaluation batches every time: the curve then shows the model changing,
                # not the batches, and an evaluation never moves the training batches' generator.
                eval_rng = torch.Generator().manual_seed(preset.seed - 1)
                losses = estimate_loss(model, splits, cfg.block_size, preset.batch_size, preset.eval_iters,
                                       generator=eval_rng, device=device)
                elapsed = elapsed_before + time.perf_counter() - wall_start
                cpu = cpu_before + time.process_time() - cpu_start
                history.append({"step": step, "train": losses["train"], "val": losses["val"],
                                "elapsed_s": round(elapsed, 3), "cpu_s": round(cpu, 3)})
                bar.set_postfix(train=f"{losses['train']:.4f}", val=f"{losses['val']:.4f}")
                if progress:
                    bar.write(f"step {step:5d}: train {losses['train']:.4f}, val {losses['val']:.4f}  ({elapsed:.0f} s)")
                if checkpoint_path is not None:
                    save_checkpoint(checkpoint_path, model=model, optimizer=optimizer, preset=preset, step=step,
                                    history=history, rng_states=rng_states,
                                    elapsed_s=elapsed, cpu_s=cpu, chars=tokenizer.chars)
        if step == max_iters:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(preset, step)
        x, y = get_batch(train_data, cfg.block_size, preset.batch_size, generator=batch_rng, device=device)
        _, loss = net(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # under DDP this also averages the gradients across processes
        if preset.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), preset.grad_clip)
        optimizer.step()
        bar.update(1)
    bar.close()
    return model.eval(), history


def sample(model, tokenizer, max_new_tokens=SAMPLE_TOKENS, seed=0):
    """Text generated by `model` from a single newline, repeatably (seeded)."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    start = torch.tensor([tokenizer.encode("\n")], dtype=torch.long, device=device)
    return tokenizer.decode(model.generate(start, max_new_tokens, generator=generator)[0, 1:])


def _threads_per_process(world_size):
    """Each process gets an equal share of the cores, unless OMP_NUM_THREADS already says."""
    if "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()
    return max(1, (os.cpu_count() or 1) // world_size)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lib.gpt.train",
        description="Train a character-level GPT on tinyshakespeare. Under torchrun (several processes) "
                    "it trains with DistributedDataParallel.",
    )
    parser.add_argument("--preset", default="cpu",
                        help=f"one of {', '.join(PRESETS)} (default cpu); " +
                             "; ".join(f"{k}: {p.description}" for k, p in PRESETS.items()))
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--out", metavar="DIR", help="folder for the checkpoint and the samples")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--max-iters", type=int, metavar="N", help="stop after N steps (default: the preset's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or log lines")
    args = parser.parse_args(argv)
    if args.preset not in PRESETS:
        parser.error(f"unknown preset {args.preset!r}; choose one of {', '.join(PRESETS)}")
    if args.resume and not args.out:
        parser.error("--resume needs --out DIR, the folder that holds the checkpoint")
    if args.max_iters is not None and args.max_iters < 0:
        parser.error("--max-iters must be >= 0")
    try:
        device = check_device(args.device)
    except (RuntimeError, ValueError) as err:
        parser.error(str(err))

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    torch.set_num_threads(_threads_per_process(int(os.environ.get("LOCAL_WORLD_SIZE", world_size))))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls: much faster, same losses to ~3 decimals
        torch.backends.cudnn.allow_tf32 = True
    try:
        model, history = train(args.preset, device=device, out_dir=args.out, resume=args.resume,
                               progress=not args.no_progress, max_iters=args.max_iters)
        if _distributed()[0] == 0:
            last = history[-1]
            print(f"done: step {last['step']}, train {last['train']:.4f}, val {last['val']:.4f}, "
                  f"{last['elapsed_s']:.0f} s wall, {last['cpu_s']:.0f} s CPU")
            tokenizer, _, _ = load_shakespeare()
            text = sample(model, tokenizer)
            print("--- sample ---\n" + text)
            if args.out:
                (Path(args.out) / "samples.txt").write_text(text)
    except (CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
