"""lib.bpe.regex, Lesson 8's RegexTokenizer: split with GPT-2's or GPT-4's pattern, then BPE.

The patterns split as OpenAI's do; training gives exactly the naive loop's merges over the
chunks; encoding gives exactly the naive encoder chunk by chunk; any text survives encode ->
decode; special tokens follow tiktoken's allowed_special rules, and bad input is refused.
"""
import re

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import dataset_text
from lib.bpe import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer, encode_naive, train_naive_chunks

SMALL_TEXT = (
    "Hello've world123 how's are you!!!? I'm fine; THE END.\n"
    "    def encode(self, text):\n        return [1, 2, 3]  # 4567\n"
    "Ünïcödé, 日本語のテキスト, emoji 🙂🙂 and   spaces.\n"
) * 8
SPECIALS = {"<|endoftext|>": 400, "<|fim_prefix|>": 401}


@pytest.fixture(scope="module")
def trained():
    tokenizer = RegexTokenizer()
    tokenizer.train(SMALL_TEXT, 330)
    tokenizer.register_special_tokens(SPECIALS)
    return tokenizer


def chunks_of(text, pattern=GPT4_SPLIT_PATTERN):
    return [chunk.encode() for chunk in regex.findall(pattern, text)]


# --- the split patterns -----------------------------------------------------------------------

def test_gpt2_pattern_splits_words_numbers_punctuation_and_contractions():
    assert regex.findall(GPT2_SPLIT_PATTERN, "Hello've world123 how's are you!!!?") == [
        "Hello", "'ve", " world", "123", " how", "'s", " are", " you", "!!!?"]
    # Case matters to GPT-2: "'S" is not a contraction; runs of digits stay whole.
    assert regex.findall(GPT2_SPLIT_PATTERN, "HOW'S 1234567") == ["HOW", "'", "S", " 1234567"]


def test_gpt4_pattern_differs_on_case_numbers_and_newlines():
    assert regex.findall(GPT4_SPLIT_PATTERN, "HOW'S 1234567") == ["HOW", "'S", " ", "123", "456", "7"]
    assert regex.findall(GPT4_SPLIT_PATTERN, "a\n\n  going") == ["a", "\n\n", " ", " going"]
    assert regex.findall(GPT2_SPLIT_PATTERN, "a\n\n  going") == ["a", "\n\n ", " going"]


def test_gpt4_pattern_is_tiktokens_cl100k_pattern():
    tiktoken_ext = pytest.importorskip("tiktoken_ext.openai_public")
    source = open(tiktoken_ext.__file__, encoding="utf-8").read()
    assert f'r"""{GPT4_SPLIT_PATTERN}"""' in source


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_both_patterns_cover_every_character(text):
    for pattern in (GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN):
        assert "".join(regex.findall(pattern, text)) == text


# --- training and encoding ------------------------------------------------------------------------

def test_training_matches_the_naive_loop_over_chunks(trained):
    assert len(trained.merges) == 74
    assert trained.merges == train_naive_chunks(chunks_of(SMALL_TEXT), 74)


def test_training_with_the_gpt2_pattern_matches_the_naive_loop():
    tokenizer = RegexTokenizer(GPT2_SPLIT_PATTERN)
    tokenizer.train(SMALL_TEXT, 330)
    assert tokenizer.merges == train_naive_chunks(chunks_of(SMALL_TEXT, GPT2_SPLIT_PATTERN), 74)


def test_training_on_tinyshakespeare_matches_the_naive_loop():
    text = dataset_text("tinyshakespeare")[:20_000]
    tokenizer = RegexTokenizer()
    tokenizer.train(text, 456)
    assert tokenizer.merges == train_naive_chunks(chunks_of(text), 200)


def test_no_token_crosses_a_chunk_boundary(trained):
    chunks = set(chunks_of(SMALL_TEXT))
    for idx in trained.merges.values():
        assert any(trained.vocab[idx] in chunk for chunk in chunks), trained.vocab[idx]


def test_encoding_matches_the_naive_encoder_chunk_by_chunk(trained):
    text = SMALL_TEXT + "Words it never saw: quixotic zephyr 98765."
    expected = [i for chunk in chunks_of(text) for i in encode_naive(list(chunk), trained.merges)]
    assert trained.encode_ordinary(text) == expected
    assert trained.encode_ordinary(text) == expected  # again, from the chunk cache


def test_retraining_forgets_cached_encodings():
    tokenizer = RegexTokenizer()
    tokenizer.train("aaaa " * 10, 257)
    assert tokenizer.encode_ordinary("aaaa") == [256, 256]
    tokenizer.train("bbbb " * 10, 257)
    assert tokenizer.encode_ordinary("aaaa") == [97, 97, 97, 97]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_decode_inverts_encode_on_any_text(trained, text):
    assert trained.decode(trained.encode_ordinary(text)) == text
    assert trained.decode(trained.encode(text, allowed_special="all")) == text


def test_a_pattern_that_is_not_a_regex_is_refused():
    with pytest.raises(ValueError, match="not a valid regex"):
        RegexTokenizer("(unclosed")
    with pytest.raises(ValueError, match="BasicTokenizer"):
        RegexTokenizer("")


def test_vocab_size_below_256_is_refused():
    with pytest.raises(ValueError, match="at least 256"):
        RegexTokenizer().train(SMALL_TEXT, 100)


# --- special tokens ---------------------------------------------------------------------------------

TEXT_WITH_SPECIALS = "<|fim_prefix|>def f():<|endoftext|>hello"


def test_allowed_special_all_encodes_every_special_token(trained):
    ids = trained.encode(TEXT_WITH_SPECIALS, allowed_special="all")
    assert ids[0] == 401
    assert 400 in ids
    assert ids == ([401] + trained.encode_ordinary("def f():") + [400] + trained.encode_ordinary("hello"))
    assert trained.decode(ids) == TEXT_WITH_SPECIALS


def test_allowed_special_none_reads_them_as_text(trained):
    ids = trained.encode(TEXT_WITH_SPECIALS, allowed_special="none")
    assert ids == trained.encode_ordinary(TEXT_WITH_SPECIALS)
    assert 400 not in ids and 401 not in ids


def test_none_raise_is_the_default_and_names_the_token(trained):
    for call in (lambda: trained.encode(TEXT_WITH_SPECIALS),
                 lambda: trained.encode(TEXT_WITH_SPECIALS, allowed_special="none_raise")):
        with pytest.raises(ValueError, match=re.escape("'<|fim_prefix|>'") + ".*allowed_special"):
            call()
    assert trained.encode("no special here") == trained.encode_ordinary("no special here")


def test_a_set_allows_those_and_refuses_the_others_like_tiktoken(trained):
    ids = trained.encode("a<|endoftext|>b", allowed_special={"<|endoftext|>"})
    assert ids == trained.encode_ordinary("a") + [400] + trained.encode_ordinary("b")
    with pytest.raises(ValueError, match=re.escape("<|fim_prefix|>")):
        trained.encode(TEXT_WITH_SPECIALS, allowed_special={"<|endoftext|>"})
    with pytest.raises(ValueError, match=re.escape("<|endoftext|>")):
        trained.encode("<|endoftext|>", allowed_special=set())  # an empty set allows none of them


def test_an_unknown_name_or_mode_is_refused(trained):
    with pytest.raises(ValueError, match=re.escape("<|unknown|>")):
        trained.encode("x", allowed_special={"<|unknown|>"})
    with pytest.raises(ValueError, match="one of"):
        trained.encode("x", allowed_special="everything")
    with pytest.raises(ValueError, match="one of"):
        trained.encode("x", allowed_special=5)


def test_special_tokens_are_in_the_vocabulary_and_decode(trained):
    assert trained.vocab[400] == b"<|endoftext|>"
    assert trained.decode([400, 401]) == "<|endoftext|><|fim_prefix|>"


def test_special_token_ids_must_follow_the_merges(trained):
    with pytest.raises(ValueError, match="at least 330"):
        trained.register_special_tokens({"<|low|>": 329})
    with pytest.raises(ValueError, match="share an id"):
        trained.register_special_tokens({"<|dup|>": 400})
    with pytest.raises(ValueError, match="non-empty string"):
        trained.register_special_tokens({"": 500})


def test_training_after_registering_special_tokens_checks_their_ids():
    tokenizer = RegexTokenizer()
    tokenizer.register_special_tokens({"<|endoftext|>": 300})
    with pytest.raises(ValueError, match="train first"):
        tokenizer.train(SMALL_TEXT, 400)
