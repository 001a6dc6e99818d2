"""Training examples for a model that reads a fixed window of previous characters.

Introduced in Lesson 3 (MLP); Lessons 4 to 6 build their splits the same way. Each character
of a '.'-terminated word becomes one example: the `block_size` characters before it (padded on
the left with '.') and the character itself. "emma" with block_size 3 gives five examples:

    ... -> e    ..e -> m    .em -> m    emm -> a    mma -> .
"""
import torch


def build_dataset(words, vocab, block_size=3):
    """(X, Y): X int64 (N, block_size) contexts, Y int64 (N,) the character after each context."""
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a whole number >= 1 (how many characters of context); got {block_size!r}")
    if isinstance(words, str):
        raise TypeError("build_dataset takes a list of words, not one string; wrap it: [word]")
    if len(words) == 0:
        raise ValueError("build_dataset needs at least one word; got an empty list")
    X, Y = [], []
    for word in words:
        context = [0] * block_size  # '.' padding: "before the word starts"
        for ix in vocab.encode(word) + [0]:  # raises, naming the character, if it is not in vocab
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X, dtype=torch.int64), torch.tensor(Y, dtype=torch.int64)
