"""The bigram language model: the next character depends only on the current one.

Introduced in Lesson 2 (bigram). Two ways to the same model: count every (current, next)
pair in the words and normalise each row of the count table, or train a single linear layer
(one-hot input @ W, softmax) by gradient descent on the negative log-likelihood. Both are
judged by the average NLL over the words' bigrams and both sample names with the same loop.

Every word is read as '.' + word + '.', so "emma" gives the bigrams .e em mm ma a. ('.' is id 0).
"""
import torch
import torch.nn.functional as F

LECTURE_SEED = 2147483647  # the seed the lectures give every torch.Generator


def bigram_pairs(words, vocab):
    """(xs, ys): int64 tensors of every (current, next) id pair of the words, in order."""
    xs, ys = [], []
    for word in words:
        ids = [0] + vocab.encode(word) + [0]
        xs.extend(ids[:-1])
        ys.extend(ids[1:])
    return torch.tensor(xs, dtype=torch.int64), torch.tensor(ys, dtype=torch.int64)


def bigram_counts(words, vocab):
    """The (V, V) int32 table N: N[i, j] is how often character j follows character i."""
    xs, ys = bigram_pairs(words, vocab)
    size = len(vocab)
    # Each pair (i, j) is one cell i * V + j of the flattened table; bincount tallies them all.
    counts = torch.bincount(xs * size + ys, minlength=size * size)
    return counts.view(size, size).to(torch.int32)


def bigram_probs(counts, smoothing=1):
    """The float32 table P[i, j] = P(next = j | current = i), each row summing to 1.

    `smoothing` is added to every count first ("add-one" smoothing by default), so a pair
    never seen still gets a small probability instead of zero (and an infinite NLL).
    """
    if counts.dim() != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"counts must be a square (V, V) table; got shape {tuple(counts.shape)}")
    if smoothing < 0:
        raise ValueError(f"smoothing must be >= 0 (it is a pseudo-count); got {smoothing}")
    probs = (counts + smoothing).float()
    totals = probs.sum(1, keepdim=True)  # (V, 1): broadcast divides each row by its own total
    empty = (totals.squeeze(1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"rows {empty} have no counts, so they cannot be normalised; use smoothing > 0")
    return probs / totals


def average_nll(probs, words, vocab):
    """The mean of -log P(next | current) over every bigram of `words` (lower is better)."""
    xs, ys = bigram_pairs(words, vocab)
    if len(xs) == 0:
        raise ValueError("average_nll needs at least one word")
    # float64 for the sum over ~228k terms, so the figure does not depend on summation order.
    return -probs[xs, ys].double().log().mean().item()


class NeuralBigram:
    """The bigram model as a neural net: logits = one_hot(current) @ W, W of shape (V, V).

    Row i of W plays the role of the log-counts of row i of the count table: softmax(W[i])
    is the distribution of the character after character i.
    """

    def __init__(self, vocab_size=27, generator=None):
        if generator is None:
            generator = torch.Generator().manual_seed(LECTURE_SEED)
        self.vocab_size = vocab_size
        self.W = torch.randn((vocab_size, vocab_size), generator=generator, requires_grad=True)

    def __call__(self, xs):
        """The (N, V) logits for a 1-D tensor of N current-character ids."""
        xenc = F.one_hot(xs, num_classes=self.vocab_size).float()
        return xenc @ self.W

    def probs(self, xs):
        """softmax of the logits, written out as in the lesson: exponentiate, then normalise each row."""
        counts = self(xs).exp()
        return counts / counts.sum(1, keepdim=True)

    def next_char_probs(self, ix):
        """The distribution of the character after id `ix` (a row of V probabilities), for sampling."""
        with torch.no_grad():
            return self.probs(torch.tensor([ix]))[0]

    def parameters(self):
        return [self.W]


def bigram_nll_loss(W, xs, ys, reg=0.01):
    """The training loss of the network with weights W (V, V): the mean NLL of the targets
    `ys` after the inputs `xs` (one-hot @ W, softmax) plus reg * mean(W**2); a scalar tensor
    that carries the graph back to W."""
    xenc = F.one_hot(xs, num_classes=W.shape[0]).float()
    counts = (xenc @ W).exp()
    probs = counts / counts.sum(1, keepdim=True)
    return -probs[torch.arange(len(xs)), ys].log().mean() + reg * (W**2).mean()


def train_neural_bigram(model, xs, ys, steps, lr=50.0, reg=0.01):
    """Full-batch gradient descent on mean NLL + reg * mean(W**2); returns the loss of each step.

    The regulariser pulls W towards zero, i.e. towards uniform predictions: the gradient
    descent counterpart of smoothing the counts. The recorded loss includes it.
    """
    if len(xs) != len(ys) or len(xs) == 0:
        raise ValueError(f"xs and ys must be non-empty and the same length; got {len(xs)} and {len(ys)}")
    losses = []
    for _ in range(steps):
        loss = bigram_nll_loss(model.W, xs, ys, reg)
        model.W.grad = None
        loss.backward()
        model.W.data += -lr * model.W.grad
        losses.append(loss.item())
    return losses


def sample_names(probs, vocab, n, generator=None):
    """Sample `n` words: start at '.', draw each next id from its row until '.' comes back.

    `probs` is the (V, V) table or a function id -> row of probabilities (such as
    `NeuralBigram.next_char_probs`). Each word keeps its closing '.', as the lesson prints it.
    """
    if generator is None:
        generator = torch.Generator().manual_seed(LECTURE_SEED)
    next_row = probs if callable(probs) else probs.__getitem__
    words = []
    for _ in range(n):
        out, ix = [], 0
        while True:
            ix = torch.multinomial(next_row(ix), num_samples=1, replacement=True, generator=generator).item()
            out.append(vocab.itos[ix])
            if ix == 0:
                break
        words.append("".join(out))
    return words
