"""gpt: a character-level GPT, its tokenizer and batches, and its trainer.

Introduced in Lesson 7 (Let's build GPT). model.py holds the Transformer (`GPTConfig`,
`Head`, `MultiHeadAttention`, `FeedForward`, `Block`, `GPT`); data.py the character
tokenizer, the train/val split, `get_batch`, `estimate_loss` and the plain loop
`train_steps`; presets.py the model sizes and learning-rate schedules; checkpoint.py
checkpoints that resume exactly; train.py the full training loop and its command line.
"""

from .data import CharTokenizer, estimate_loss, get_batch, train_steps, train_val_split
from .model import GPT, Block, FeedForward, GPTConfig, Head, MultiHeadAttention

# The trainer's names load on first use: importing lib.gpt.train here would make
# `python -m lib.gpt.train` load that module twice (and runpy warn). Its training function
# is `lib.gpt.train.train`.
_TRAINER_NAMES = ("PRESETS", "Preset", "model_from_checkpoint", "sample")


def __getattr__(name):
    if name in _TRAINER_NAMES:
        from . import train

        return getattr(train, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GPTConfig", "Head", "MultiHeadAttention", "FeedForward", "Block", "GPT",
    "CharTokenizer", "train_val_split", "get_batch", "estimate_loss", "train_steps",
    *_TRAINER_NAMES,
]
