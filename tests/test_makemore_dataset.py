"""lib.makemore.dataset, Lesson 3's examples: each character with the block_size characters before it."""
import string

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.makemore import Vocab, bigram_pairs, build_dataset

LETTERS = Vocab(string.ascii_lowercase)
WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn"]


def test_emma_with_a_block_of_three():
    X, Y = build_dataset(["emma"], LETTERS, block_size=3)
    assert X.dtype == Y.dtype == torch.int64
    contexts = ["".join(LETTERS.itos[i] for i in row) for row in X.tolist()]
    assert contexts == ["...", "..e", ".em", "emm", "mma"]
    assert LETTERS.decode(Y) == "emma."
    assert X.tolist() == [[0, 0, 0], [0, 0, 5], [0, 5, 13], [5, 13, 13], [13, 13, 1]]


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 8])
def test_one_example_per_character_and_end(block_size):
    X, Y = build_dataset(WORDS, LETTERS, block_size)
    n = sum(len(w) + 1 for w in WORDS)
    assert X.shape == (n, block_size) and Y.shape == (n,)


def test_a_block_of_one_gives_the_bigram_pairs():
    X, Y = build_dataset(WORDS, LETTERS, block_size=1)
    xs, ys = bigram_pairs(WORDS, LETTERS)
    assert torch.equal(X[:, 0], xs) and torch.equal(Y, ys)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(alphabet="abc", min_size=1, max_size=8), min_size=1, max_size=5), st.integers(1, 6))
def test_contexts_slide_along_each_padded_word(words, block_size):
    X, Y = build_dataset(words, LETTERS, block_size)
    row = 0
    for word in words:
        padded = [0] * block_size + LETTERS.encode(word) + [0]
        for i in range(len(word) + 1):
            assert X[row].tolist() == padded[i:i + block_size]
            assert Y[row].item() == padded[i + block_size]
            row += 1
    assert row == len(X)


def test_default_block_is_three():
    X, _ = build_dataset(WORDS, LETTERS)
    assert X.shape[1] == 3


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("block_size", [0, -1, 2.5, True, "3"])
def test_block_size_must_be_a_positive_whole_number(block_size):
    with pytest.raises(ValueError, match="block_size must be a whole number >= 1"):
        build_dataset(WORDS, LETTERS, block_size)


def test_empty_word_list_is_refused():
    with pytest.raises(ValueError, match="at least one word"):
        build_dataset([], LETTERS)


def test_one_string_is_not_a_word_list():
    with pytest.raises(TypeError, match=r"wrap it: \[word\]"):
        build_dataset("emma", LETTERS)


def test_characters_outside_the_vocabulary_are_named():
    with pytest.raises(ValueError, match="'-' in 'mary-jane' is not in the vocabulary"):
        build_dataset(["emma", "mary-jane"], LETTERS)
