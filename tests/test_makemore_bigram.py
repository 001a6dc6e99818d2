"""lib.makemore.bigram, Lesson 2's bigram model: counted, normalised, scored, trained and sampled.

Small tables are checked against counts worked out by hand; on names.txt the figures are the
lecture's (add-one smoothed NLL, the neural net's first loss), including where the lecture's
printed NLL comes from.
"""
import math
import string

import numpy as np
import pytest
import torch

from lib.makemore import (NeuralBigram, Vocab, average_nll, bigram_counts, bigram_pairs, bigram_probs,
                          load_words, sample_names, train_neural_bigram)

from conftest import dataset_text

LETTERS = Vocab(string.ascii_lowercase)
AB = Vocab("ab")  # '.'=0, 'a'=1, 'b'=2
SEED = 2147483647


@pytest.fixture(scope="module")
def names():
    dataset_text("names")  # skips, with the reason, where the dataset is not available
    return load_words("names")


# --- counting -------------------------------------------------------------------------------

def test_pairs_wrap_each_word_in_dots():
    xs, ys = bigram_pairs(["emma", "ab"], LETTERS)
    assert xs.dtype == ys.dtype == torch.int64
    assert xs.tolist() == [0, 5, 13, 13, 1, 0, 1, 2]  # . e m m a | . a b
    assert ys.tolist() == [5, 13, 13, 1, 0, 1, 2, 0]  # e m m a . | a b .


def test_counts_by_hand():
    # "ab" -> .a ab b.   "b" -> .b b.   "aa" -> .a aa a.
    counts = bigram_counts(["ab", "b", "aa"], AB)
    assert counts.dtype == torch.int32
    assert counts.tolist() == [
        # .  a  b   (next)
        [0, 2, 1],  # after .
        [1, 1, 1],  # after a
        [2, 0, 0],  # after b
    ]


def test_every_character_is_counted_once_plus_one_end():
    words = ["emma", "olivia", "ava", "isabella", "sophia"]
    counts = bigram_counts(words, LETTERS)
    assert counts.shape == (27, 27)
    assert counts.sum().item() == sum(len(w) + 1 for w in words)
    assert counts[0].sum().item() == counts[:, 0].sum().item() == len(words)  # one start, one end each


def test_names_counts_match_the_lecture(names):
    counts = bigram_counts(names, LETTERS)
    assert counts.sum().item() == 228_146  # the lecture's number of bigrams
    assert counts[0, LETTERS.stoi["a"]].item() == 4_410  # names starting with 'a', as in the lecture's heatmap


def test_unknown_characters_are_refused():
    with pytest.raises(ValueError, match="'E' in 'Emma'"):
        bigram_counts(["Emma"], LETTERS)


# --- probabilities --------------------------------------------------------------------------

def test_probs_are_smoothed_counts_over_their_row_total():
    probs = bigram_probs(bigram_counts(["ab", "b", "aa"], AB), smoothing=1)
    assert probs.dtype == torch.float32
    expected = torch.tensor([[1, 3, 2], [2, 2, 2], [3, 1, 1]]) / torch.tensor([[6], [6], [5]])
    torch.testing.assert_close(probs, expected.float())


@pytest.mark.parametrize("smoothing", [0, 1, 0.5, 10])
def test_rows_sum_to_one(smoothing):
    probs = bigram_probs(bigram_counts(["emma", "olivia", "ava", "bob", "zed", "quinn", "xy", "jack", "kit", "hugh",
                                        "fred", "gwen", "lupe", "ruth", "stan", "wyn"], LETTERS), smoothing)
    torch.testing.assert_close(probs.sum(1), torch.ones(27))


def test_smoothing_removes_zeros():
    counts = bigram_counts(["emma", "ava", "bob"], LETTERS)
    assert (counts == 0).any() and (bigram_probs(counts, smoothing=1) > 0).all()
    raw = bigram_probs(bigram_counts(["ab", "b", "aa"], AB), smoothing=0)
    assert raw[2, 1] == 0 and raw[1, 1] == pytest.approx(1 / 3)


def test_a_row_without_counts_needs_smoothing():
    counts = bigram_counts(["emma"], LETTERS)
    with pytest.raises(ValueError, match="rows .* have no counts.*smoothing > 0"):
        bigram_probs(counts, smoothing=0)


def test_bad_tables_and_smoothing_are_refused():
    with pytest.raises(ValueError, match="square"):
        bigram_probs(torch.ones(3, 4, dtype=torch.int32))
    with pytest.raises(ValueError, match="smoothing must be >= 0"):
        bigram_probs(torch.ones(3, 3, dtype=torch.int32), smoothing=-1)


# --- negative log-likelihood ----------------------------------------------------------------

def test_average_nll_by_hand():
    words = ["ab", "b", "aa"]
    probs = bigram_probs(bigram_counts(words, AB), smoothing=1)
    # bigrams: .a ab b. .b b. .a aa a.  with P from test_probs_are_smoothed_counts_over_their_row_total
    by_hand = -(math.log(3 / 6) + math.log(2 / 6) + math.log(3 / 5) + math.log(2 / 6) + math.log(3 / 5)
                + math.log(3 / 6) + math.log(2 / 6) + math.log(2 / 6)) / 8
    assert average_nll(probs, words, AB) == pytest.approx(by_hand, rel=1e-6)


def test_average_nll_needs_words():
    with pytest.raises(ValueError, match="at least one word"):
        average_nll(torch.full((27, 27), 1 / 27), [], LETTERS)


def test_unseen_bigram_without_smoothing_is_infinitely_unlikely():
    probs = bigram_probs(bigram_counts(["ab", "b", "aa"], AB), smoothing=0)
    assert average_nll(probs, ["ba"], AB) == math.inf


def test_names_nll(names):
    counts = bigram_counts(names, LETTERS)
    smoothed = average_nll(bigram_probs(counts, smoothing=1), names, LETTERS)
    raw = average_nll(bigram_probs(counts, smoothing=0), names, LETTERS)
    assert round(smoothed, 4) == 2.4546  # add-one smoothing costs a little likelihood on the training words
    assert round(raw, 4) == 2.4540
    assert raw < smoothed


def test_the_lectures_printed_nll_is_float32_running_sum_drift(names):
    """The lecture printed 559891.75 (2.4541) raw and 559951.5625 (2.4544) smoothed: it added 228,146
    float32 log-probabilities one at a time. The same running sum in float32 gives exactly those."""
    counts = bigram_counts(names, LETTERS)
    xs, ys = bigram_pairs(names, LETTERS)
    for smoothing, lecture_sum in [(0, 559_891.75), (1, 559_951.5625)]:
        logprobs = bigram_probs(counts, smoothing)[xs, ys].log().numpy()
        assert -np.cumsum(logprobs, dtype=np.float32)[-1] == lecture_sum


# --- the neural bigram ----------------------------------------------------------------------

def test_weights_are_the_seeded_randn():
    net = NeuralBigram(27, torch.Generator().manual_seed(SEED))
    assert net.W.shape == (27, 27) and net.W.requires_grad
    assert torch.equal(net.W.detach(), torch.randn((27, 27), generator=torch.Generator().manual_seed(SEED)))
    assert net.parameters() == [net.W]
    assert torch.equal(NeuralBigram(27).W, net.W)  # default generator: the lecture's seed


def test_one_hot_times_W_picks_rows_of_W():
    net = NeuralBigram(27, torch.Generator().manual_seed(1))
    xs = torch.tensor([0, 5, 13, 13, 1])
    assert torch.equal(net(xs), net.W[xs])
    probs = net.probs(xs)
    torch.testing.assert_close(probs, torch.softmax(net.W[xs], dim=1))
    torch.testing.assert_close(net.next_char_probs(13), probs[2].detach())


def test_the_loss_is_the_mean_nll_of_the_targets_plus_the_penalty():
    from lib.makemore.bigram import bigram_nll_loss

    W = torch.randn((3, 3), generator=torch.Generator().manual_seed(2), requires_grad=True)
    xs, ys = torch.tensor([0, 1, 1, 2]), torch.tensor([1, 2, 0, 0])
    probs = torch.softmax(W.detach(), dim=1)
    nll = -sum(math.log(probs[x, y]) for x, y in zip(xs.tolist(), ys.tolist())) / 4
    loss = bigram_nll_loss(W, xs, ys, reg=0.5)
    assert loss.shape == () and loss.requires_grad
    assert loss.item() == pytest.approx(nll + 0.5 * (W.detach() ** 2).mean().item(), rel=1e-6)
    loss.backward()
    assert W.grad is not None and W.grad.shape == (3, 3)


def test_first_loss_on_names_is_the_lectures(names):
    xs, ys = bigram_pairs(names, LETTERS)
    net = NeuralBigram(27, torch.Generator().manual_seed(SEED))
    losses = train_neural_bigram(net, xs, ys, steps=1)
    assert round(losses[0], 4) == 3.7686  # the lecture's first loss (including 0.01 * mean(W**2))


def test_training_approaches_the_counting_nll(names):
    words = names[:500]
    xs, ys = bigram_pairs(words, LETTERS)
    net = NeuralBigram(27, torch.Generator().manual_seed(SEED))
    losses = train_neural_bigram(net, xs, ys, steps=300)
    assert len(losses) == 300 and losses[-1] < losses[0] - 1
    with torch.no_grad():
        learned = net.probs(torch.arange(27))
    best = average_nll(bigram_probs(bigram_counts(words, LETTERS), smoothing=0), words, LETTERS)
    # Normalised counts are the maximum-likelihood bigram model: the net gets close, never below.
    assert best <= average_nll(learned, words, LETTERS) < best + 0.03


def test_training_checks_its_examples():
    with pytest.raises(ValueError, match="same length"):
        train_neural_bigram(NeuralBigram(27), torch.tensor([0, 1]), torch.tensor([1]), steps=1)


# --- sampling -------------------------------------------------------------------------------

def small_table():
    return bigram_probs(bigram_counts(["emma", "olivia", "ava", "isabella", "sophia", "mia"], LETTERS))


def test_samples_end_at_the_first_dot():
    names = sample_names(small_table(), LETTERS, 30, torch.Generator().manual_seed(SEED))
    assert len(names) == 30
    assert all(name.endswith(".") and "." not in name[:-1] for name in names)


def test_sampling_is_deterministic_per_seed():
    table = small_table()
    first = sample_names(table, LETTERS, 10, torch.Generator().manual_seed(SEED))
    assert first == sample_names(table, LETTERS, 10, torch.Generator().manual_seed(SEED))
    assert first == sample_names(table, LETTERS, 10)  # default: the lecture's seed
    assert first != sample_names(table, LETTERS, 10, torch.Generator().manual_seed(SEED + 1))


def test_a_function_of_the_current_id_samples_like_the_table():
    table = small_table()
    calls = []

    def row(ix):
        calls.append(ix)
        return table[ix]

    assert sample_names(row, LETTERS, 10, torch.Generator().manual_seed(3)) == \
        sample_names(table, LETTERS, 10, torch.Generator().manual_seed(3))
    assert calls[0] == 0


def test_a_net_that_has_learned_the_log_counts_samples_the_same_names(names):
    table = bigram_probs(bigram_counts(names, LETTERS))
    net = NeuralBigram(27)
    with torch.no_grad():
        net.W.copy_(table.log())  # softmax(log P) = P, up to rounding
    from_table = sample_names(table, LETTERS, 20, torch.Generator().manual_seed(SEED))
    assert sample_names(net.next_char_probs, LETTERS, 20, torch.Generator().manual_seed(SEED)) == from_table
