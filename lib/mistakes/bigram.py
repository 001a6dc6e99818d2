"""Classic mistakes in Lesson 2's exercises: the smoothed bigram table, the average negative
log-likelihood, and the trigram model.

Each mistake is made for real on the test's words: the counts are redone with the faulty
padding, the table normalised the faulty way, the NLL averaged the faulty way.
"""
import torch

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


# --- Exercise 1 (ex-bigram-probs) ------------------------------------------------------------------


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
    ]


# --- Exercise 2 (ex-average-nll) -------------------------------------------------------------------


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
        Mistake("the bigram ending each word (last character -> '.') was left out",
                -probs[firsts_no_end, seconds_no_end].double().log().mean().item()),
        Mistake("the table was indexed [next, current]; row i is the character before, column j the one after",
                -probs[seconds, firsts].double().log().mean().item()),
        Mistake("the logarithm is base 10; the NLL uses the natural logarithm (torch.log)",
                -probs[firsts, seconds].double().log10().mean().item()),
    ]


# --- Exercise 3 (ex-trigram) -----------------------------------------------------------------------


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


def trigram_nll(words, model, vocab):
    """Mistakes in the average NLL that the trigram tensor `model` gives to `words`."""
    encoded = _encoded(words, vocab)
    a, b, c = _ngram_ids(encoded, 3, front_dots=2)
    log_probs = model[a, b, c].double().log()
    one_dot = _ngram_ids(encoded, 3, front_dots=1)
    return [
        Mistake("the minus sign is missing: the negative log-likelihood is minus the mean log-probability",
                log_probs.mean().item()),
        Mistake("the log-probabilities were summed, not averaged over the trigrams",
                -log_probs.sum().item()),
        Mistake("each word was padded with one '.' in front; it needs two",
                -model[tuple(one_dot)].double().log().mean().item()),
        Mistake("the tensor was indexed [c, b, a]; T[a, b, c] is the probability of c after a, b",
                -model[c, b, a].double().log().mean().item()),
    ]
