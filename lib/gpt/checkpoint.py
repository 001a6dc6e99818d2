"""GPT training checkpoints that resume exactly.

Introduced in Lesson 7 (Let's build GPT). A checkpoint holds the model, the optimizer, every
random generator and the step, so an interrupted run continues to the same numbers as one that
never stopped. It is written atomically, and a missing, damaged or foreign file is refused
with a message that says what to do.
"""
import dataclasses
import os
from pathlib import Path

import torch

from lib.gpt.data import CharTokenizer
from lib.gpt.model import GPT, GPTConfig

CHECKPOINT_NAME = "ckpt.pt"
CHECKPOINT_KEYS = {"model", "optimizer", "preset", "step", "history", "rng", "elapsed_s", "cpu_s", "chars"}


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable, or from a different run."""


def _rng_state(generator, device):
    """Every random state a training step draws from: the batch generator and torch's global
    generators (dropout uses those)."""
    state = {"batches": generator.get_state(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state, generator, device):
    generator.set_state(state["batches"])
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def save_checkpoint(path, *, model, optimizer, preset, step, history, rng_states, elapsed_s, cpu_s, chars):
    """Write a checkpoint atomically (a stop mid-write leaves the previous one intact)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "preset": dataclasses.asdict(preset),
        "step": step,
        "history": history,
        "rng": rng_states,  # one entry per process
        "elapsed_s": elapsed_s,
        "cpu_s": cpu_s,
        "chars": chars,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, device="cpu"):
    """The checkpoint dict at `path`, or a CheckpointError that says what to do."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train once without --resume to create it")
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
        missing = CHECKPOINT_KEYS - set(checkpoint)  # a torch file, but not one of ours
        if missing:
            raise KeyError(f"it lacks {', '.join(sorted(missing))}")
    except Exception as err:  # torch raises several types for a damaged file
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {err}); "
            "delete it (or choose another --out folder) and train again without --resume"
        ) from None
    return checkpoint


def model_from_checkpoint(path, device="cpu"):
    """The trained GPT (in eval mode) and its tokenizer from a checkpoint file."""
    checkpoint = load_checkpoint(path, device)
    model = GPT(GPTConfig(**checkpoint["preset"]["model"])).to(device)
    model.load_state_dict(checkpoint["model"])
    return model.eval(), CharTokenizer(checkpoint["chars"])


def _comparable(preset_dict):
    return {k: v for k, v in preset_dict.items() if k != "description"}
