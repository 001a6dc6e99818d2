"""lib.bpe.basic, Lesson 8's BasicTokenizer: byte-pair encoding of a whole text, no split.

Training gives exactly the merges of the lesson's naive loop (on Taylor Swift's Wikipedia
article, the lecture's example text, at vocab 512), encoding gives exactly the lesson's naive
encoder, and any Unicode text survives encode -> decode.
"""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import dataset_text
from lib.bpe import BasicTokenizer, encode_naive, train_naive

SMALL_TEXT = (
    "A tokenizer turns text into integers. Byte-pair encoding starts from the 256 bytes and "
    "merges the most frequent pair again and again. Ünïcödé and emoji 🙂🙂 are bytes too.\n"
) * 8


@pytest.fixture(scope="module")
def trained():
    tokenizer = BasicTokenizer()
    tokenizer.train(SMALL_TEXT, 356)
    return tokenizer


def test_training_learns_vocab_size_minus_256_merges(trained):
    assert len(trained.merges) == 100
    assert list(trained.merges.values()) == list(range(256, 356))
    assert len(trained.vocab) == 356
    for (a, b), idx in trained.merges.items():
        assert trained.vocab[idx] == trained.vocab[a] + trained.vocab[b]


def test_training_matches_the_naive_loop(trained):
    assert trained.merges == train_naive(list(SMALL_TEXT.encode()), 100)


def test_training_on_taylorswift_matches_the_naive_loop_at_vocab_512():
    text = dataset_text("taylorswift")
    tokenizer = BasicTokenizer()
    tokenizer.train(text, 512)
    assert tokenizer.merges == train_naive(list(text.encode("utf-8")), 256)


def test_encoding_compresses_and_matches_the_naive_encoder(trained):
    ids = trained.encode(SMALL_TEXT)
    assert len(ids) < len(SMALL_TEXT.encode()) / 2
    assert ids == encode_naive(list(SMALL_TEXT.encode()), trained.merges)
    unseen = "Integers are what a tokenizer hands to the model."
    assert trained.encode(unseen) == encode_naive(list(unseen.encode()), trained.merges)


def test_merges_may_cross_word_boundaries(trained):
    # Without a split, a space and a letter next to it (such as "e ") can become one token.
    tokens = [trained.vocab[idx] for idx in trained.merges.values()]
    assert any(b" " in token and token.strip() for token in tokens)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_decode_inverts_encode_on_any_text(trained, text):
    assert trained.decode(trained.encode(text)) == text


def test_vocab_size_below_256_is_refused():
    with pytest.raises(ValueError, match="at least 256"):
        BasicTokenizer().train(SMALL_TEXT, 255)
    with pytest.raises(ValueError, match="at least 256"):
        BasicTokenizer().train(SMALL_TEXT, 300.0)


def test_vocab_size_256_means_no_merges():
    tokenizer = BasicTokenizer()
    tokenizer.train(SMALL_TEXT, 256)
    assert tokenizer.merges == {}
    assert tokenizer.encode("hé") == list("hé".encode())


def test_a_short_text_stops_training_early():
    tokenizer = BasicTokenizer()
    tokenizer.train("abab", 1000)
    assert tokenizer.merges == {(97, 98): 256, (256, 256): 257}
    assert tokenizer.encode("abab") == [257]


def test_retraining_replaces_the_merges():
    tokenizer = BasicTokenizer()
    tokenizer.train("aaaa", 257)
    tokenizer.train("bbbb", 257)
    assert tokenizer.merges == {(98, 98): 256}
    assert tokenizer.encode("aaaa") == [97, 97, 97, 97]


def test_verbose_training_prints_each_merge(capsys):
    BasicTokenizer().train("hello hello hello", 259, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("merge 1: (104, 101) -> 256 ('he'), 3 occurrences")
