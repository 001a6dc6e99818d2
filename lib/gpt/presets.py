"""What to train and how fast: the GPT presets and the learning-rate schedule.

Introduced in Lesson 7 (Let's build GPT). A preset names a model size and its training
settings: the lecture's model, a model sized for a 2-core CPU, the well-known small CPU recipe
it is compared with, and a tiny one for tests. The schedule is a linear warm-up, then cosine
decay to `min_lr` (or a constant rate). The loop that uses them is in train.py.
"""
import math
from dataclasses import dataclass, field

from lib.gpt.model import GPTConfig


@dataclass(frozen=True)
class Preset:
    """A model and how to train it. Batches are per process: under torchrun with N processes,
    each step sees N * batch_size sequences."""

    model: GPTConfig
    batch_size: int
    max_iters: int  # where training stops
    eval_interval: int  # estimate the train/val loss every this many steps (and at the end)
    eval_iters: int  # batches per estimate
    learning_rate: float
    warmup_iters: int = 0  # the learning rate rises linearly from 0 over these steps
    lr_decay_iters: int | None = None  # cosine decay to min_lr by this step; None: constant
    min_lr: float = 0.0
    weight_decay: float = 0.01  # AdamW's, on weight matrices only (not biases, LayerNorms)
    beta2: float = 0.999  # AdamW's second-moment decay; 0.99 adapts faster for small batches
    grad_clip: float | None = None  # clip the gradient norm to this; None: no clipping
    seed: int = 1337
    description: str = field(default="", compare=False)

    def __post_init__(self):
        for name in ("batch_size", "max_iters", "eval_interval", "eval_iters"):
            if getattr(self, name) < 1:
                raise ValueError(f"Preset.{name} must be >= 1; got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"Preset.learning_rate must be > 0; got {self.learning_rate}")


PRESETS = {
    # The lecture's final model: about 10.8M parameters, val 1.48 after 5000 steps on a GPU
    # (about 15 minutes on an A100 in the lecture). Constant learning rate, as in the lecture.
    "lecture": Preset(
        model=GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.2),
        batch_size=64, max_iters=5000, eval_interval=500, eval_iters=200, learning_rate=3e-4,
        description="the lecture's model (10.8M parameters); meant for a GPU",
    ),
    # Sized for about 10 minutes of one core of the course's 2-core CPU machine (7000 steps at
    # about 0.07 s each when the machine is idle). Ten minutes show a model about 5M characters,
    # too few for 10.8M parameters to pay off; at this budget a model smaller than the small
    # recipe's (96 channels instead of 128, about 0.46M parameters) that takes more steps learns
    # more (bench/gpt_bench.py compares the two given the same time; book/performance.md).
    # No dropout (it cannot overfit in this time), a higher learning rate than the small
    # recipe's, warm-up, cosine decay to a tenth, and gradient clipping for the early steps.
    "cpu": Preset(
        model=GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=96, dropout=0.0),
        batch_size=12, max_iters=7000, eval_interval=500, eval_iters=40, learning_rate=1.5e-3,
        warmup_iters=100, lr_decay_iters=7000, min_lr=1.5e-4, weight_decay=0.1, beta2=0.99, grad_clip=1.0,
        description="sized for about 10 minutes on one core of a 2-core CPU",
    ),
    # The well-known small CPU recipe for this data set (nanoGPT's shakespeare_char run on a
    # laptop CPU): val about 1.88 after 2000 steps. The benchmark compares `cpu` with it.
    "small": Preset(
        model=GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0),
        batch_size=12, max_iters=2000, eval_interval=250, eval_iters=20, learning_rate=1e-3,
        warmup_iters=100, lr_decay_iters=2000, min_lr=1e-4, weight_decay=0.1, beta2=0.99, grad_clip=1.0,
        description="the small CPU recipe (4 layers, n_embd 128, block 64, batch 12)",
    ),
    # Seconds on a CPU: for tests and the fast profile. It learns character frequencies and
    # a little more; nothing Shakespearean.
    "tiny": Preset(
        model=GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.0),
        batch_size=16, max_iters=200, eval_interval=50, eval_iters=10, learning_rate=3e-3,
        warmup_iters=10, lr_decay_iters=200, min_lr=3e-4,
        description="seconds on a CPU; for tests and previews",
    ),
}


def get_preset(preset):
    """A Preset from its name (or the Preset itself)."""
    if isinstance(preset, Preset):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset]


def learning_rate(preset, step):
    """The learning rate at `step`: linear warm-up, then cosine decay to min_lr (or constant)."""
    peak = preset.learning_rate
    if step < preset.warmup_iters:
        return peak * (step + 1) / preset.warmup_iters
    if preset.lr_decay_iters is None:
        return peak
    if step >= preset.lr_decay_iters:
        return preset.min_lr
    progress = (step - preset.warmup_iters) / max(1, preset.lr_decay_iters - preset.warmup_iters)
    return preset.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - preset.min_lr)
