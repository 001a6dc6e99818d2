"""A decoder-only Transformer (a GPT) that reads and writes characters.

Introduced in Lesson 7 (Let's build GPT). The pieces, in the order the lesson adds them:

- `Head`: one head of causal self-attention. Every position emits a query, a key and a value;
  a position's output is the average of the values of itself and the positions before it,
  weighted by softmax(query . key / sqrt(head_size)).
- `MultiHeadAttention`: several heads side by side, their outputs concatenated and mixed by a
  linear projection.
- `FeedForward`: a per-position MLP, n_embd -> 4 n_embd -> ReLU -> n_embd.
- `Block`: attention then feed-forward, each read through a LayerNorm (pre-norm) and added
  back onto its input (a residual connection), with dropout for regularisation.
- `GPT`: token embedding + position embedding -> n_layer Blocks -> LayerNorm -> logits.

The shapes follow one convention throughout: B batch, T time (positions), C channels
(n_embd), hs head_size. The defaults of `GPTConfig` are the lecture's final model (6 layers,
6 heads, n_embd 384, context 256, dropout 0.2): about 10.8M parameters.

Weight initialisation: every Linear and Embedding weight ~ N(0, 0.02^2), every Linear bias
zero, LayerNorms at weight 1 and bias 0 (GPT-2's scheme, which the lecture's final script
uses too). PyTorch's default for Linear (uniform in +-1/sqrt(fan_in)) also trains; the small
normal start keeps the first logits near zero, so the initial loss is close to ln(vocab_size).
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

INIT_STD = 0.02  # the standard deviation of every initial Linear and Embedding weight


@dataclass
class GPTConfig:
    vocab_size: int = 65  # tinyshakespeare's characters
    block_size: int = 256  # the longest context the model can read (number of positions)
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384  # channels per position; each head gets n_embd // n_head of them
    dropout: float = 0.2

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"GPTConfig.{name} must be >= 1; got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}): "
                             f"each head gets n_embd // n_head channels")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout is a probability in [0, 1); got {self.dropout}")


class Head(nn.Module):
    """One head of causal self-attention: (B, T, n_embd) -> (B, T, head_size)."""

    def __init__(self, n_embd, head_size, block_size, dropout=0.0):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        # A buffer, not a parameter: saved with the model and moved with .to(device), never trained.
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)  # (B, T, hs): what each position offers
        q = self.query(x)  # (B, T, hs): what each position looks for
        # Scaled by 1/sqrt(hs): with unit-variance q and k the dot products have variance hs,
        # and a softmax of large numbers is nearly one-hot, so each position would listen to a
        # single other one. The scaling brings the variance back to 1.
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5  # (B, T, T): affinities
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))  # no looking at the future
        wei = F.softmax(wei, dim=-1)  # each row (one query) sums to 1 over the keys
        wei = self.dropout(wei)
        v = self.value(x)  # (B, T, hs): what each position communicates
        return wei @ v  # (B, T, hs)


class MultiHeadAttention(nn.Module):
    """n_head Heads in parallel, concatenated and projected: (B, T, n_embd) -> (B, T, n_embd)."""

    def __init__(self, n_embd, n_head, block_size, dropout=0.0):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        head_size = n_embd // n_head
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(n_head)])
        # The projection mixes what the heads found; it is also the way back into the residual stream.
        self.proj = nn.Linear(n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)  # (B, T, n_head * hs) = (B, T, n_embd)
        return self.dropout(self.proj(out))


class FeedForward(nn.Module):
    """A per-position MLP: each position thinks about what it gathered, on its own."""

    def __init__(self, n_embd, dropout=0.0):
        super().__init__()
        # The inner layer is 4x wider, as in "Attention Is All You Need" (512 -> 2048).
        self.net = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd),
            nn.ReLU(),
            nn.Linear(4 * n_embd, n_embd),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    """Communication (attention) then computation (feed-forward), pre-norm, with residuals."""

    def __init__(self, n_embd, n_head, block_size, dropout=0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout)
        self.ln2 = nn.LayerNorm(n_embd)
        self.ffwd = FeedForward(n_embd, dropout)

    def forward(self, x):
        # x + f(x): the gradient flows straight down the sum to the early layers, and each
        # sub-layer starts out as a small correction to its input.
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x


class GPT(nn.Module):
    """The decoder-only Transformer: (B, T) token ids -> (B, T, vocab_size) logits."""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT takes a GPTConfig; got {type(config).__name__} (try GPT(GPTConfig(...)))")
        self.config = config
        c = config
        self.token_embedding_table = nn.Embedding(c.vocab_size, c.n_embd)  # what each token is
        self.position_embedding_table = nn.Embedding(c.block_size, c.n_embd)  # where it is
        self.blocks = nn.Sequential(*[Block(c.n_embd, c.n_head, c.block_size, c.dropout) for _ in range(c.n_layer)])
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self):
        """How many numbers the model learns (10,788,929 for the default, lecture-sized config)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None):
        """Logits (B, T, vocab_size) for idx (B, T); loss is the mean cross-entropy, or None without targets."""
        if idx.dim() != 2:
            raise ValueError(f"idx must be (B, T) token ids; got shape {tuple(idx.shape)} (add a batch dimension with idx[None])")
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"idx has {T} positions but the model has only block_size={self.config.block_size} "
                             f"position embeddings; pass the last {self.config.block_size} tokens (idx[:, -block_size:])")
        if targets is not None and targets.shape != idx.shape:
            raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}; got {tuple(targets.shape)}")
        tok_emb = self.token_embedding_table(idx)  # (B, T, C)
        pos_emb = self.position_embedding_table(torch.arange(T, device=idx.device))  # (T, C), broadcast over B
        x = self.blocks(tok_emb + pos_emb)  # (B, T, C)
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab_size)
        if targets is None:
            return logits, None
        # cross_entropy wants (N, classes): fold the time dimension into the batch.
        loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, generator=None):
        """Extend idx (B, T) by max_new_tokens sampled tokens; returns (B, T + max_new_tokens).

        The model reads at most the last block_size tokens. `generator` (on the model's device)
        makes the samples repeatable. Call model.eval() first to turn dropout off.
        """
        if idx.dim() != 2:
            raise ValueError(f"idx must be (B, T) token ids; got shape {tuple(idx.shape)} (add a batch dimension with idx[None])")
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.block_size:]  # the position table has only block_size rows
            logits, _ = self(context)
            probs = F.softmax(logits[:, -1, :], dim=-1)  # (B, vocab_size): only the last position predicts
            next_token = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
            idx = torch.cat((idx, next_token), dim=1)
        return idx
