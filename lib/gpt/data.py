"""Characters to integers and back, and random (B, T) batches cut from one long sequence.

Introduced in Lesson 7 (Let's build GPT). The whole text is encoded into a single long
tensor of token ids; training reads random windows of it. A window of block_size + 1
tokens holds block_size examples at once: from the first t tokens (t = 1..block_size)
predict token t + 1. `estimate_loss` averages the loss over many such batches, so that the
number printed during training is not the noise of one batch.
"""
import torch


class CharTokenizer:
    """One token per character: ids 0..vocab_size-1 in sorted character order."""

    def __init__(self, chars):
        chars = list(chars)
        if len(set(chars)) != len(chars):
            raise ValueError("the characters of a CharTokenizer must be distinct (use CharTokenizer.from_text)")
        self.chars = chars
        self.stoi = {ch: i for i, ch in enumerate(chars)}

    @classmethod
    def from_text(cls, text):
        """The tokenizer whose vocabulary is every character that occurs in `text`."""
        if not text:
            raise ValueError("cannot build a vocabulary from empty text")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        """The list of ids of the characters of `text`."""
        try:
            return [self.stoi[ch] for ch in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the vocabulary of {self.vocab_size} characters; "
                             f"build the tokenizer from a text that contains it, or remove it") from None

    def decode(self, ids):
        """The text of a sequence of ids (a list or a 1-D tensor)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        ids = list(ids)
        for i in ids:
            # A negative index would silently count from the end of the vocabulary.
            if not isinstance(i, int) or not 0 <= i < self.vocab_size:
                raise ValueError(f"{i!r} is not a token id (they are the integers 0..{self.vocab_size - 1})")
        return "".join(self.chars[i] for i in ids)

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"


def train_val_split(data, fraction=0.9):
    """The first `fraction` of the sequence for training, the rest for validation (no shuffling:
    the validation text is a contiguous passage the model never saw)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be between 0 and 1; got {fraction}")
    n = int(fraction * len(data))
    return data[:n], data[n:]


def get_batch(data, block_size, batch_size, generator=None, device="cpu"):
    """Inputs x and targets y, both (batch_size, block_size): y is x shifted left by one token.

    Each row is a window starting at a random offset of the 1-D tensor `data`, drawn with
    `generator` (a CPU torch.Generator). The batch is moved to `device`.
    """
    if data.dim() != 1:
        raise ValueError(f"data must be a 1-D tensor of token ids; got shape {tuple(data.shape)}")
    if len(data) <= block_size:
        raise ValueError(f"data holds {len(data)} tokens; a batch needs more than block_size={block_size}")
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i:i + block_size] for i in ix.tolist()])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix.tolist()])
    return x.to(device), y.to(device)


@torch.no_grad()
def estimate_loss(model, splits, block_size, batch_size, eval_iters, generator=None, device="cpu"):
    """The mean loss over eval_iters random batches of each split, e.g. {'train': 2.1, 'val': 2.2}.

    `splits` maps a name to a 1-D tensor of ids. The model is evaluated in eval mode (dropout
    off) and put back in the mode it was in. `model(x, y)` must return (logits, loss).
    """
    if eval_iters < 1:
        raise ValueError(f"eval_iters must be >= 1; got {eval_iters}")
    was_training = model.training
    model.eval()
    try:
        out = {}
        for name, data in splits.items():
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                x, y = get_batch(data, block_size, batch_size, generator=generator, device=device)
                _, loss = model(x, y)
                losses[k] = loss.item()
            out[name] = losses.mean().item()
    finally:
        model.train(was_training)
    return out


def train_steps(model, data, steps, lr, block_size, batch_size, generator=None):
    """The lecture's plain loop: `steps` AdamW steps (learning rate `lr`, PyTorch's other
    defaults) on batches of `data` drawn with `generator`; returns the loss of every step.

    The model trains in place, in training mode. Each step draws a batch, computes the loss,
    clears the old gradients, backpropagates and updates: the same random numbers, the same
    operations in the same order, so two runs from the same model and seed agree.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator=generator)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
