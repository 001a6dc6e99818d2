"""lib.makemore.vocab: the 27-character vocabulary, the names dataset and its 80/10/10 split."""
import random
import string

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.makemore import Vocab, load_words, split_words

from conftest import dataset_text

LETTERS = Vocab(string.ascii_lowercase)


@pytest.fixture(scope="module")
def names():
    dataset_text("names")  # skips, with the reason, where the dataset is not available
    return load_words("names")


# --- ids ------------------------------------------------------------------------------------

def test_dot_is_zero_and_letters_are_one_to_twenty_six():
    assert len(LETTERS) == 27
    assert LETTERS.stoi["."] == 0 and LETTERS.itos[0] == "."
    assert [LETTERS.stoi[c] for c in "abz"] == [1, 2, 26]
    assert LETTERS.itos[1:] == list(string.ascii_lowercase)
    assert all(LETTERS.itos[i] == c for c, i in LETTERS.stoi.items())


def test_characters_are_sorted_and_deduplicated():
    vocab = Vocab.from_words(["emma", "ava", "bob"])
    assert vocab.itos == [".", "a", "b", "e", "m", "o", "v"]
    assert repr(vocab) == "Vocab('.abemov')"


def test_encode_adds_no_boundaries_and_decode_shows_them():
    assert LETTERS.encode("emma") == [5, 13, 13, 1]
    assert LETTERS.encode("") == []
    assert LETTERS.decode([0, 5, 13, 13, 1, 0]) == ".emma."
    assert LETTERS.decode(torch.tensor([5, 13, 13, 1])) == "emma"


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=string.ascii_lowercase, max_size=20))
def test_decode_undoes_encode(word):
    assert LETTERS.decode(LETTERS.encode(word)) == word


def test_names_give_the_lectures_vocabulary_and_counts(names):
    assert len(names) == 32_033 and names[:3] == ["emma", "olivia", "ava"]
    assert min(map(len, names)) == 2 and max(map(len, names)) == 15  # the lecture's shortest and longest
    assert Vocab.from_words(names).itos == LETTERS.itos


# --- errors ---------------------------------------------------------------------------------

def test_unknown_character_is_named():
    with pytest.raises(ValueError, match="'E' in 'Emma' is not in the vocabulary"):
        LETTERS.encode("Emma")


@pytest.mark.parametrize("ids", [[27], [-1], [0, 3, 99]])
def test_ids_outside_the_vocabulary_are_refused(ids):
    with pytest.raises(ValueError, match="ids must be in 0..26"):
        LETTERS.decode(ids)


def test_the_boundary_character_is_reserved():
    with pytest.raises(ValueError, match="reserved for the word boundary"):
        Vocab("ab.")


def test_tokens_are_single_characters():
    with pytest.raises(ValueError, match="single characters"):
        Vocab(["a", "bc"])


def test_from_words_wants_a_list():
    with pytest.raises(TypeError, match=r"wrap it: \[word\]"):
        Vocab.from_words("emma")


# --- splits ---------------------------------------------------------------------------------

WORDS = [f"w{i}" for i in range(1000)]


def test_split_is_the_lectures_shuffle_and_cut():
    expected = list(WORDS)
    random.seed(42)
    random.shuffle(expected)
    train, dev, test = split_words(WORDS)
    assert train == expected[:800] and dev == expected[800:900] and test == expected[900:]


def test_split_leaves_the_input_and_the_global_random_state_alone():
    words = list(WORDS)
    random.seed(7)
    before = random.random()
    random.seed(7)
    split_words(words)
    assert random.random() == before
    assert words == WORDS


def test_split_is_deterministic_and_depends_on_the_seed():
    assert split_words(WORDS) == split_words(WORDS)
    assert split_words(WORDS, seed=1) != split_words(WORDS)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 500), st.floats(0, 1), st.floats(0, 1))
def test_split_is_a_partition_of_the_words(n, train, dev):
    dev = dev * (1 - train)
    words = [str(i) for i in range(n)]
    parts = split_words(words, train=train, dev=dev)
    assert sorted(sum(parts, []), key=int) == words
    assert len(parts[0]) == int(train * n)


def test_names_split_sizes(names):
    train, dev, test = split_words(names)
    assert (len(train), len(dev), len(test)) == (25_626, 3_203, 3_204)  # int(0.8 n), int(0.9 n) cut points


@pytest.mark.parametrize("kwargs", [{"train": 0.9, "dev": 0.2}, {"train": -0.1}, {"dev": -0.5}])
def test_split_fractions_are_checked(kwargs):
    with pytest.raises(ValueError, match="train \\+ dev <= 1"):
        split_words(WORDS, **kwargs)


def test_empty_word_list_is_refused():
    with pytest.raises(ValueError, match="empty word list"):
        split_words([])
