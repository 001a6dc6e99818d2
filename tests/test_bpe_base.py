"""lib.bpe.base, train and encode, Lesson 8's byte-pair-encoding core: what it computes and what it promises.

The two operations by hand, the tie rule, the fast training (`bpe_merges`) and the fast encoder
(`apply_merges`) against the lesson's plain loops on many texts, decoding, and the model file:
save -> load gives the same tokenizer, and a damaged file is refused with the line that is wrong.
"""
import random
from collections import Counter

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.bpe import BasicTokenizer, RegexTokenizer
from lib.bpe.base import MODEL_VERSION_LINE, Tokenizer, get_stats, merge, render_token
from lib.bpe.encode import apply_merges, encode_naive
from lib.bpe.train import bpe_merges, train_naive, train_naive_chunks
from lib.bpe.regex import GPT4_SPLIT_PATTERN

# Few letters make many equal counts: the texts where the tie rule decides the merges.
tie_prone_text = st.text(alphabet="ab c\n", max_size=80)
any_text = st.text(max_size=60)


def fast_merges(chunk_counts, num_merges):
    return {pair: 256 + i for i, (pair, _) in enumerate(bpe_merges(chunk_counts, num_merges))}


def chunk_counts(text):
    return {chunk.encode(): n for chunk, n in Counter(regex.findall(GPT4_SPLIT_PATTERN, text)).items()}


# --- the two operations ------------------------------------------------------------------------

def test_get_stats_counts_consecutive_pairs_in_order_of_first_appearance():
    stats = get_stats([1, 2, 3, 1, 2])
    assert stats == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert list(stats) == [(1, 2), (2, 3), (3, 1)]
    assert get_stats([]) == {} and get_stats([7]) == {}


def test_get_stats_adds_to_given_counts():
    counts = get_stats([1, 2])
    returned = get_stats([1, 2, 5], counts)
    assert returned is counts
    assert counts == {(1, 2): 2, (2, 5): 1}


def test_get_stats_counts_overlapping_pairs():
    assert get_stats([97, 97, 97]) == {(97, 97): 2}


def test_merge_replaces_every_occurrence_left_to_right():
    assert merge([1, 2, 3, 1, 2], (1, 2), 256) == [256, 3, 256]
    assert merge([5, 1, 2], (1, 2), 300) == [5, 300]
    assert merge([1, 2, 3], (3, 1), 256) == [1, 2, 3]
    assert merge([], (1, 2), 256) == []


def test_merge_of_overlapping_occurrences_takes_the_leftmost():
    assert merge([97, 97, 97], (97, 97), 256) == [256, 97]
    assert merge([97, 97, 97, 97], (97, 97), 256) == [256, 256]


# --- the training loop and its tie rule ---------------------------------------------------------

def test_train_naive_by_hand():
    # "aaabdaaabac": aa occurs 4 times. After it, Za ("aaa") and ab tie at 2; Za comes first.
    merges = train_naive(list(b"aaabdaaabac"), 3)
    assert merges == {(97, 97): 256, (256, 97): 257, (257, 98): 258}


def test_ties_go_to_the_pair_that_appears_first():
    assert next(iter(train_naive([3, 4, 1, 2, 1, 2, 3, 4], 1))) == (3, 4)
    assert next(iter(train_naive([1, 2, 3, 4, 3, 4, 1, 2], 1))) == (1, 2)
    assert fast_merges({(3, 4, 1, 2, 1, 2, 3, 4): 1}, 1) == {(3, 4): 256}
    assert fast_merges({(1, 2, 3, 4, 3, 4, 1, 2): 1}, 1) == {(1, 2): 256}


def test_training_stops_when_no_pair_is_left():
    assert train_naive(list(b"ab"), 10) == {(97, 98): 256}
    assert fast_merges({b"ab": 1}, 10) == {(97, 98): 256}
    assert train_naive([], 5) == {} and fast_merges({}, 5) == {}


def test_bpe_merges_yields_the_count_of_each_merge():
    assert list(bpe_merges({b"aaabdaaabac": 1}, 2)) == [((97, 97), 4), ((256, 97), 2)]
    # Chunk counts weight every pair of the chunk.
    assert list(bpe_merges({b"ab": 5, b"cd": 2}, 2)) == [((97, 98), 5), ((99, 100), 2)]


@settings(max_examples=300, deadline=None)
@given(tie_prone_text, st.integers(0, 40))
def test_fast_training_finds_the_naive_merges(text, num_merges):
    ids = list(text.encode())
    assert fast_merges({tuple(ids): 1}, num_merges) == train_naive(ids, num_merges)


@settings(max_examples=200, deadline=None)
@given(st.one_of(tie_prone_text, any_text), st.integers(0, 40))
def test_fast_training_on_chunks_finds_the_naive_merges(text, num_merges):
    chunks = [chunk.encode() for chunk in regex.findall(GPT4_SPLIT_PATTERN, text)]
    assert fast_merges(chunk_counts(text), num_merges) == train_naive_chunks(chunks, num_merges)


@pytest.mark.parametrize("text", [
    "the cat sat on the mat; the cat ate the rat. " * 20,
    "aaaa bbbb aaaa abab baba " * 30,
    "🙂🙂 emoji and ünïcödé, ünïcödé, 🙂 " * 10,
    "def f(x):\n    return x * x\n\n" * 15,
])
def test_fast_training_matches_naive_on_longer_texts(text):
    ids = list(text.encode())
    assert fast_merges({tuple(ids): 1}, 150) == train_naive(ids, 150)
    chunks = [chunk.encode() for chunk in regex.findall(GPT4_SPLIT_PATTERN, text)]
    assert fast_merges(chunk_counts(text), 150) == train_naive_chunks(chunks, 150)


def test_fast_training_matches_naive_deep_into_ties():
    # Trained until almost every pair is unique: hundreds of pairs tie at counts 1 and 2.
    rng = random.Random(0)
    text = "".join(rng.choice("abcdef  ") for _ in range(2000))
    ids = list(text.encode())
    assert fast_merges({tuple(ids): 1}, 1500) == train_naive(ids, 1500)
    chunks = [chunk.encode() for chunk in regex.findall(GPT4_SPLIT_PATTERN, text)]
    assert fast_merges(chunk_counts(text), 1500) == train_naive_chunks(chunks, 1500)


# --- encoding -----------------------------------------------------------------------------------

def test_encode_naive_by_hand():
    merges = {(97, 97): 256, (256, 97): 257}
    assert encode_naive(list(b"aaaa"), merges) == [256, 256]
    assert encode_naive(list(b"aaab"), merges) == [257, 98]
    assert encode_naive([], merges) == [] and encode_naive([5], merges) == [5]


@settings(max_examples=150, deadline=None)
@given(tie_prone_text, tie_prone_text, st.integers(0, 30))
def test_fast_encoding_matches_the_naive_encoder(train_text, text, num_merges):
    merges = train_naive(list(train_text.encode()), num_merges)
    assert apply_merges(text.encode(), merges) == encode_naive(list(text.encode()), merges)


# --- the Tokenizer base class -------------------------------------------------------------------

def test_base_tokenizer_has_the_256_bytes_and_no_merges():
    tokenizer = Tokenizer()
    assert tokenizer.merges == {} and tokenizer.special_tokens == {}
    assert tokenizer.vocab == {i: bytes([i]) for i in range(256)}
    assert tokenizer.decode(list("héllo".encode())) == "héllo"


def test_decode_turns_invalid_utf8_into_replacement_characters():
    tokenizer = Tokenizer()
    assert tokenizer.decode([128]) == "\ufffd"
    assert tokenizer.decode([104, 0xE2, 0x82, 105]) == "h\ufffdi"  # a cut-off 3-byte character


def test_decode_of_an_unknown_id_names_it_and_the_vocabulary_size():
    with pytest.raises(ValueError, match=r"token id 300\b.*256 tokens"):
        Tokenizer().decode([104, 300])
    with pytest.raises(ValueError, match="-1"):
        Tokenizer().decode([-1])


def test_render_token_escapes_control_characters():
    assert render_token(b"a\nb") == "a\\u000ab"
    assert render_token(b"\xff") == "\ufffd"


# --- save and load --------------------------------------------------------------------------------

TRAINING_TEXT = "The quick brown fox jumps over the lazy dog. " * 20 + "Ünïcödé 🙂 text, 1234 numbers!\n" * 10
PROBES = ["The lazy fox", "brand new words 🙂🙂", "<|endoftext|> after", "", "1234567"]


@pytest.fixture
def regex_tokenizer():
    tokenizer = RegexTokenizer()
    tokenizer.train(TRAINING_TEXT, 300)
    tokenizer.register_special_tokens({"<|endoftext|>": 300, "<|sep|>": 301})
    return tokenizer


def test_save_then_load_gives_the_same_tokenizer(tmp_path, regex_tokenizer):
    regex_tokenizer.save(tmp_path / "tok")
    loaded = RegexTokenizer()
    loaded.load(tmp_path / "tok.model")
    assert loaded.merges == regex_tokenizer.merges
    assert list(loaded.merges) == list(regex_tokenizer.merges)  # the order of learning survives
    assert loaded.special_tokens == regex_tokenizer.special_tokens
    assert loaded.pattern == regex_tokenizer.pattern
    assert loaded.vocab == regex_tokenizer.vocab
    for text in PROBES:
        assert loaded.encode(text, allowed_special="all") == regex_tokenizer.encode(text, allowed_special="all")


def test_save_then_load_basic_tokenizer(tmp_path):
    tokenizer = BasicTokenizer()
    tokenizer.train(TRAINING_TEXT, 280)
    tokenizer.save(tmp_path / "basic")
    loaded = BasicTokenizer()
    loaded.load(tmp_path / "basic.model")
    assert loaded.merges == tokenizer.merges
    for text in PROBES:
        assert loaded.encode(text) == tokenizer.encode(text)


def test_model_file_is_readable_text(tmp_path, regex_tokenizer):
    regex_tokenizer.save(tmp_path / "tok")
    lines = (tmp_path / "tok.model").read_text(encoding="utf-8").splitlines()
    assert lines[0] == MODEL_VERSION_LINE
    assert lines[1].startswith("pattern: \"")
    assert lines[2] == "special tokens: 2"
    assert lines[3:5] == ['"<|endoftext|>" 300', '"<|sep|>" 301']
    assert lines[5] == "merges: 44"
    first_pair = next(iter(regex_tokenizer.merges))
    assert lines[6] == f"{first_pair[0]} {first_pair[1]}"
    assert len(lines) == 6 + 44


def test_vocab_file_shows_every_token_once(tmp_path, regex_tokenizer):
    regex_tokenizer.save(tmp_path / "tok")
    lines = (tmp_path / "tok.vocab").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(regex_tokenizer.vocab)
    assert lines[ord("a")] == "97 [a]"
    pair, idx = next(iter(regex_tokenizer.merges.items()))
    parts = [render_token(regex_tokenizer.vocab[i]) for i in pair]
    assert lines[idx] == f"{idx} [{parts[0]}][{parts[1]}] -> [{render_token(regex_tokenizer.vocab[idx])}]"
    assert lines[-1] == "301 [<|sep|>]"


CORRUPTIONS = {
    "wrong version": (0, "lib.bpe model v9", r"line 1: .*another version"),
    "not a model": (0, "hello", r"line 1: .*not a lib.bpe model file"),
    "bad pattern": (1, "pattern: [unquoted", r"line 2: .*quoted string"),
    "missing label": (2, "specials: 2", r"line 3: .*special tokens"),
    "bad special": (3, "<|endoftext|> 300", r"line 4: .*special token"),
    "bad count": (5, "merges: many", r"line 6: .*count"),
    "bad merge": (6, "101", r"line 7: .*two token ids"),
    "future id": (6, "101 400", r"line 7: .*earlier tokens"),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_damaged_model_file_names_the_wrong_line(tmp_path, regex_tokenizer, name):
    regex_tokenizer.save(tmp_path / "tok")
    model = tmp_path / "tok.model"
    lines = model.read_text(encoding="utf-8").splitlines()
    index, replacement, message = CORRUPTIONS[name]
    lines[index] = replacement
    model.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        RegexTokenizer().load(model)


def test_a_truncated_or_padded_model_file_is_refused(tmp_path, regex_tokenizer):
    regex_tokenizer.save(tmp_path / "tok")
    model = tmp_path / "tok.model"
    lines = model.read_text(encoding="utf-8").splitlines()
    model.write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"line {len(lines) - 2}: the file ends"):
        RegexTokenizer().load(model)
    model.write_text("\n".join(lines + ["1 2"]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"line {len(lines) + 1}: unexpected extra line"):
        RegexTokenizer().load(model)


def test_a_failed_load_leaves_the_tokenizer_unchanged(tmp_path, regex_tokenizer):
    (tmp_path / "bad.model").write_text("nonsense\n", encoding="utf-8")
    before = dict(regex_tokenizer.merges)
    with pytest.raises(ValueError):
        regex_tokenizer.load(tmp_path / "bad.model")
    assert regex_tokenizer.merges == before


def test_models_load_only_into_their_own_kind(tmp_path, regex_tokenizer):
    regex_tokenizer.save(tmp_path / "regex")
    with pytest.raises(ValueError, match="RegexTokenizer"):
        BasicTokenizer().load(tmp_path / "regex.model")
    basic = BasicTokenizer()
    basic.train(TRAINING_TEXT, 260)
    basic.save(tmp_path / "basic")
    with pytest.raises(ValueError, match="BasicTokenizer"):
        RegexTokenizer().load(tmp_path / "basic.model")
