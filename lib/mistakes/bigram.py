"""Classic mistakes in Lesson 2's exercises: the count matrix, the smoothed bigram table,
sampling names, the average negative log-likelihood, the neural bigram's loss and its
training loop, and the trigram model.

Each mistake is made for real on the test's words: the counts are redone with the faulty
padding, the table normalised the faulty way, the NLL averaged the faulty way.
"""
import torch
import torch.nn.functional as F

from lib.grading import Mistake


def _encoded(words, vocab):
    return [vocab.encode(word) for word in words]


def _ngram_ids(encoded, n, front_dots, end_dot=True):
    """n tensors: the ids at each position of every n-gram of '.' * front_dots + word (+ '.'),
    for the already encoded words."""
    flat, starts = [], []
    for ids in encoded:
        length = front_dots + len(ids) + end_dot
        starts.extend(range(len(flat), len(flat) + length - n + 1))
        flat += [0] * front_dots + ids + [0] * end_dot
    flat, starts = torch.tensor(flat, dtype=torch.int64), torch.tensor(starts, dtype=torch.int64)
    return [flat[starts + position] for position in range(n)]


def _counts(encoded, size, n, front_dots, end_dot=True):
    """The float64 count tensor of shape (size,) * n."""
    counts = torch.zeros((size,) * n, dtype=torch.float64)
    ids = _ngram_ids(encoded, n, front_dots, end_dot)
    counts.index_put_(tuple(ids), torch.ones(len(ids[0]), dtype=torch.float64), accumulate=True)
    return counts


# --- ex-bigram-counts ----------------------------------------------------------------------------


def count_matrix(words, vocab):
    """Mistakes in the (V, V) count matrix of `words`."""
    encoded, size = _encoded(words, vocab), len(vocab)
    counts = _counts(encoded, size, 2, front_dots=1)
    return [
        Mistake("the words were counted without the '.' before and after each word",
                _counts(encoded, size, 2, front_dots=0, end_dot=False)),
        Mistake("the '.' after each word is missing, so no count says where a word ends",
                _counts(encoded, size, 2, front_dots=1, end_dot=False)),
        Mistake("the '.' before each word is missing, so no count says how a word starts",
                _counts(encoded, size, 2, front_dots=0, end_dot=True)),
        Mistake("the table is transposed: row i is the first character of the pair, column j "
                "the one after it (N[first, second] += 1)", counts.T),
        Mistake("each cell was set to 1 (N[i, j] = 1) instead of incremented (N[i, j] += 1)",
                (counts > 0).double()),
    ]


# --- ex-bigram-probs ------------------------------------------------------------------------------


def bigram_probabilities(words, vocab, smoothing):
    """Mistakes in the smoothed, row-normalised bigram table of `words`."""
    encoded, size = _encoded(words, vocab), len(vocab)
    counts = _counts(encoded, size, 2, front_dots=1)
    smoothed = counts + smoothing
    bare = _counts(encoded, size, 2, front_dots=0, end_dot=False) + smoothing
    return [
        # Every character is followed as often as it is preceded, so row sums equal column sums:
        # dividing by the row sums without keepdim and normalising the columns give one table.
        Mistake("each row must be divided by its own sum, but the columns were normalised: "
                "dividing by the row sums without keepdim=True broadcasts them along the columns",
                smoothed / smoothed.sum(1)),
        Mistake("the smoothing was not added to the counts before normalising",
                counts / counts.sum(1, keepdim=True)),
        Mistake("the smoothing was added after normalising instead of to the counts",
                counts / counts.sum(1, keepdim=True) + smoothing),
        Mistake("the words were counted without the '.' before and after each word",
                bare / bare.sum(1, keepdim=True)),
        Mistake("the `smoothing` argument was ignored (1 typed in)",
                (counts + 1) / (counts + 1).sum(1, keepdim=True)),
    ]


# --- ex-sample-names -----------------------------------------------------------------------------


def _sample(next_id, vocab, n, max_length=200):
    words = []
    for _ in range(n):
        out, ix = [], 0
        while len(out) < max_length:
            ix = next_id(ix)
            out.append(vocab.itos[ix])
            if ix == 0:
                break
        words.append("".join(out))
    return words


def sampled_names(probs, vocab, n, seed):
    """Mistakes in sampling `n` names from the table `probs` with a generator seeded `seed`."""
    def drawn(row):
        g = torch.Generator().manual_seed(seed)
        return _sample(lambda ix: torch.multinomial(row(ix), num_samples=1, replacement=True,
                                                    generator=g).item(), vocab, n)
    return [
        Mistake("the next character was drawn from column ix (probs[:, ix]); the distribution "
                "of the character after ix is row ix (probs[ix])", drawn(lambda ix: probs[:, ix])),
        Mistake("every character is the most likely one (argmax); draw it with torch.multinomial",
                _sample(lambda ix: int(probs[ix].argmax()), vocab, n)),
    ]


def diagnose_names(got, expected, mistakes):
    """The description of the first mistake whose names are `got` (and differ from `expected`)."""
    for mistake in mistakes:
        if mistake.value == got and mistake.value != expected:
            return mistake.description
    return None


# --- ex-average-nll -------------------------------------------------------------------------------


def average_nll(words, probs, vocab):
    """Mistakes in the average negative log-likelihood of `words` under the table `probs`."""
    encoded = _encoded(words, vocab)
    firsts, seconds = _ngram_ids(encoded, 2, front_dots=1)
    log_probs = probs[firsts, seconds].double().log()
    firsts_no_end, seconds_no_end = _ngram_ids(encoded, 2, front_dots=1, end_dot=False)
    return [
        Mistake("the minus sign is missing: the negative log-likelihood is minus the mean log-probability",
                log_probs.mean().item()),
        Mistake("the log-probabilities were summed, not averaged over the bigrams",
                -log_probs.sum().item()),
        Mistake("the sum was divided by the number of words; the average is over the bigrams",
                -log_probs.sum().item() / len(words)),
        Mistake("the sum was divided by 228146, the number of bigrams of all the names; divide "
                "by the number of bigrams of the words passed in",
                -log_probs.sum().item() / 228146),
        Mistake("the bigram ending each word (last character -> '.') was left out",
                -probs[firsts_no_end, seconds_no_end].double().log().mean().item()),
        Mistake("the table was indexed [next, current]; row i is the character before, column j the one after",
                -probs[seconds, firsts].double().log().mean().item()),
        Mistake("the logarithm is base 10; the NLL uses the natural logarithm (torch.log)",
                -probs[firsts, seconds].double().log10().mean().item()),
    ]


# --- ex-neural-loss ------------------------------------------------------------------------------


def neural_loss(W, xs, ys, reg):
    """Mistakes in the neural bigram's loss: mean NLL of softmax(one_hot(xs) @ W) + reg * mean(W**2)."""
    W = W.detach().double()
    rows = torch.arange(len(xs))
    logits = F.one_hot(xs, num_classes=W.shape[0]).double() @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    nll = -probs[rows, ys].log().mean()
    penalty = (W**2).mean()
    mistakes = [
        Mistake("the regularisation term reg * (W**2).mean() is missing", nll),
        Mistake("the regularisation sums W**2; it is reg * (W**2).mean()", nll + reg * (W**2).sum()),
        Mistake("the regularisation term uses W, not W**2", nll + reg * W.mean()),
        Mistake("the minus sign is missing: the loss is minus the mean log-probability",
                probs[rows, ys].log().mean() + reg * penalty),
        Mistake("the softmax normalised the columns (sum over dim 0); each row of counts must be "
                "divided by its own sum: counts.sum(1, keepdim=True)",
                -(counts / counts.sum(0, keepdim=True))[rows, ys].log().mean() + reg * penalty),
        Mistake("the log-probabilities of every character were averaged; pick the target's: "
                "probs[torch.arange(len(xs)), ys]", -probs.log().mean() + reg * penalty),
        Mistake("the probabilities were picked with probs[xs, ys]; row k of probs is example k: "
                "probs[torch.arange(len(xs)), ys]",
                -probs[xs, ys].log().mean() + reg * penalty if xs.max() < len(xs) else None),
        Mistake("the `reg` argument was ignored (0.01 typed in)", nll + 0.01 * penalty),
    ]
    if len(xs) == W.shape[0]:  # only then does the division broadcast without an error
        mistakes.insert(4, Mistake(
            "the row sums lost their dimension: counts.sum(1) has shape (N,) and broadcasts along "
            "the rows; use counts.sum(1, keepdim=True)",
            -(counts / counts.sum(1))[rows, ys].log().mean() + reg * penalty))
    return [Mistake(m.description, float(m.value)) for m in mistakes if m.value is not None]


# --- ex-neural-train ------------------------------------------------------------------------------


def trained_weights(xs, ys, vocab_size, steps, seed, lr, reg):
    """Mistakes in the training loop: W after `steps` steps of gradient descent from
    torch.randn((V, V), generator seeded `seed`)."""
    from lib.makemore.bigram import bigram_nll_loss

    def run(steps=steps, lr=lr, reg=reg, init="randn", zero_grad=True, sign=-1):
        g = torch.Generator().manual_seed(seed)
        W = torch.randn((vocab_size, vocab_size), generator=g)
        if init == "zeros":
            W = torch.zeros((vocab_size, vocab_size))
        W.requires_grad_()
        for _ in range(steps):
            loss = bigram_nll_loss(W, xs, ys, reg)
            if zero_grad:
                W.grad = None
            loss.backward()
            W.data += sign * lr * W.grad
        return W.detach()

    return [
        Mistake("the gradient was not reset before loss.backward() (W.grad = None), so the "
                "gradients of every step add up", run(zero_grad=False)),
        Mistake("the update climbs the gradient; step against it: W.data += -lr * W.grad",
                run(sign=1)),
        Mistake("W started at zeros; it starts at torch.randn((V, V), generator=generator)",
                run(init="zeros")),
        Mistake("one step too few: the loop must run `steps` updates", run(steps=steps - 1)),
        Mistake("one step too many: the loop must run `steps` updates", run(steps=steps + 1)),
        Mistake("the `lr` argument was ignored (50 typed in)", run(lr=50.0)),
        Mistake("the `reg` argument was ignored (0.01 typed in)", run(reg=0.01)),
    ]


# --- ex-trigram -----------------------------------------------------------------------------------


def trigram_table(words, vocab):
    """Mistakes in the add-one smoothed (V, V, V) trigram table of `words`."""
    encoded, size = _encoded(words, vocab), len(vocab)
    counts = _counts(encoded, size, 3, front_dots=2) + 1
    one_dot = _counts(encoded, size, 3, front_dots=1) + 1
    no_end = _counts(encoded, size, 3, front_dots=2, end_dot=False) + 1
    swapped = counts.permute(1, 0, 2)  # each trigram counted at [b, a, c]
    return [
        Mistake("the table was normalised over the middle index; T[a, b] must sum to 1 over the last index c",
                counts / counts.sum(1, keepdim=True)),
        Mistake("the sums were taken without keepdim=True, so broadcasting divided by the wrong sums",
                counts / counts.sum(2)),
        Mistake("each word was padded with one '.' in front; it needs two, so that the first "
                "character is predicted from the context '..'",
                one_dot / one_dot.sum(2, keepdim=True)),
        Mistake("the '.' after each word is missing, so no trigram predicts the end of a word",
                no_end / no_end.sum(2, keepdim=True)),
        Mistake("the two context characters were swapped: T[a, b, c] is the probability of c after a then b",
                swapped / swapped.sum(2, keepdim=True)),
    ]


def trigram_nll(words, model, vocab, notebook_words=None):
    """Mistakes in the average NLL that the trigram tensor `model` gives to `words`;
    `notebook_words`, the notebook's own list, for an answer that reads it instead."""
    encoded = _encoded(words, vocab)
    a, b, c = _ngram_ids(encoded, 3, front_dots=2)
    log_probs = model[a, b, c].double().log()
    one_dot = _ngram_ids(encoded, 3, front_dots=1)
    other = []
    if notebook_words is not None and list(notebook_words) != list(words):
        ids = _ngram_ids(_encoded(notebook_words, vocab), 3, front_dots=2)
        other = [Mistake("the NLL was computed on the notebook's `words`, not on the words "
                         "passed in", -model[tuple(ids)].double().log().mean().item())]
    return other + [
        Mistake("the minus sign is missing: the negative log-likelihood is minus the mean log-probability",
                log_probs.mean().item()),
        Mistake("the log-probabilities were summed, not averaged over the trigrams",
                -log_probs.sum().item()),
        Mistake("each word was padded with one '.' in front; it needs two",
                -model[tuple(one_dot)].double().log().mean().item()),
        Mistake("the tensor was indexed [c, b, a]; T[a, b, c] is the probability of c after a, b",
                -model[c, b, a].double().log().mean().item()),
    ]
