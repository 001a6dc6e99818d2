"""Classic mistakes in Lesson 3's exercises: building the (context, next character) dataset, and
the MLP's forward pass and loss.

Each mistake is made for real: the dataset is rebuilt with the faulty sliding window, the
forward pass rerun with the faulty step, on the test's own words and parameters.
"""
import torch
import torch.nn.functional as F

from lib.grading import Mistake

# --- Exercise 1 (ex-build-dataset) ---------------------------------------------------------------


def _examples(words, vocab, block_size, *, reset_per_word=True, record_first=True,
              newest_last=True, end_dot=True):
    """X and Y built with the window rules given (the defaults are the right ones)."""
    inputs, targets = [], []
    context = [0] * block_size
    for word in words:
        if reset_per_word:
            context = [0] * block_size
        for ix in vocab.encode(word) + ([0] if end_dot else []):
            slid = context[1:] + [ix] if newest_last else [ix] + context[:-1]
            inputs.append(context if record_first else slid)
            targets.append(ix)
            context = slid
    return {"X": torch.tensor(inputs, dtype=torch.int64).view(-1, block_size),
            "Y": torch.tensor(targets, dtype=torch.int64)}


def build_dataset(words, vocab, block_size):
    """Mistakes in build_dataset; each value is a dict with the wrong "X" and/or "Y"."""
    def built(**rules):
        return _examples(words, vocab, block_size, **rules)
    return [
        Mistake("the window was slid before the example was recorded, so each context already "
                "contains the character it should predict",
                built(record_first=False)),
        Mistake("the context is not reset to all '.' at the start of each word: a word's first "
                "examples see the end of the previous word",
                built(reset_per_word=False)),
        Mistake("the window slides the wrong way: the newest character was put at the left end of "
                "the context; it goes on the right end, the oldest dropping off the left",
                built(newest_last=False)),
        Mistake("the '.' after each word is missing, so no example teaches the model to end a name",
                built(end_dot=False)),
    ]


# --- Exercise 2 (ex-mlp-forward) -----------------------------------------------------------------


def mlp_forward(X, Y, params):
    """Mistakes in mlp_forward and mlp_loss; each value is a dict with wrong "logits" and/or "loss"."""
    C, W1, b1, W2, b2 = params
    emb = C[X]                                   # (batch, block_size, n_embd)
    flat = emb.view(X.shape[0], -1)
    logits = torch.tanh(flat @ W1 + b1) @ W2 + b2

    def forward_mistake(description, wrong_logits):
        return Mistake(description, {"logits": wrong_logits, "loss": F.cross_entropy(wrong_logits, Y)})

    by_dimension = emb.transpose(1, 2).reshape(X.shape[0], -1)
    return [
        forward_mistake("the hidden layer has no tanh: the pre-activation went straight to the "
                        "output layer", (flat @ W1 + b1) @ W2 + b2),
        forward_mistake("the embeddings were flattened in the wrong order (grouped by embedding "
                        "dimension, not by position): view the (batch, block_size, n_embd) "
                        "tensor as (batch, block_size * n_embd) directly",
                        torch.tanh(by_dimension @ W1 + b1) @ W2 + b2),
        forward_mistake("the hidden bias b1 was added after the tanh; it belongs inside it",
                        (torch.tanh(flat @ W1) + b1) @ W2 + b2),
        forward_mistake("the output layer's bias b2 is missing", torch.tanh(flat @ W1 + b1) @ W2),
        Mistake("the loss was summed over the batch instead of averaged",
                {"loss": F.cross_entropy(logits, Y, reduction="sum")}),
        Mistake("the loss was computed from softmax probabilities; cross_entropy takes the logits "
                "and applies the softmax itself",
                {"loss": F.cross_entropy(logits.softmax(1), Y)}),
    ]
