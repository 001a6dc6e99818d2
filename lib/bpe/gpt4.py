"""GPT4Tokenizer: GPT-4's tokenizer (tiktoken's cl100k_base) rebuilt as merges of our kind.

Introduced in Lesson 8 (tokenizer). tiktoken stores cl100k_base as "mergeable ranks": every
token's bytes with its rank (its id); it keeps no list of merges. Two facts turn that into a
RegexTokenizer that encodes exactly as tiktoken does:

1. Merges. A token of rank r was made by joining two tokens of lower rank. Which two? Run BPE on
   the token's bytes using only the merges of rank below r: it stops at exactly two parts.
   Going through the tokens in rank order, every merge below r is already known.
2. The byte order. Tokens 0-255 are the 256 single bytes, but not in byte order (rank 0 is
   b"!"). Encoding first maps each byte to its rank (`byte_ids`); the vocabulary maps ranks back.
"""
import functools

from .encode import apply_merges
from .offline import get_encoding
from .regex import GPT4_SPLIT_PATTERN, RegexTokenizer


def recover_merges(mergeable_ranks):
    """tiktoken's {token bytes: rank} -> (byte_ids, merges): byte_ids[b] is the id of byte b,
    merges {(left id, right id): rank} in rank order. Raises ValueError if a token does not
    split into exactly two earlier tokens."""
    byte_ids = tuple(mergeable_ranks[bytes([b])] for b in range(256))
    merges = {}
    for token, rank in sorted(mergeable_ranks.items(), key=lambda item: item[1]):
        if len(token) == 1:
            continue
        parts = apply_merges([byte_ids[b] for b in token], merges)  # merges so far: ranks below `rank`
        if len(parts) != 2:
            raise ValueError(f"token {rank} ({token!r}) does not split into two earlier "
                             f"tokens but into {parts}: is the rank table damaged?")
        merges[tuple(parts)] = rank
    return byte_ids, merges


@functools.cache
def _cl100k_tables():
    """(byte_ids, merges, special_tokens) of cl100k_base; built once per process (a few seconds)."""
    encoding = get_encoding("cl100k_base")
    ranks = encoding._mergeable_ranks  # {token bytes: rank}; tiktoken has no public accessor
    byte_ids, merges = recover_merges(ranks)
    return byte_ids, merges, dict(encoding._special_tokens)


class GPT4Tokenizer(RegexTokenizer):
    """Encodes and decodes exactly like tiktoken.get_encoding("cl100k_base"), special tokens included."""

    def __init__(self):
        byte_ids, merges, special_tokens = _cl100k_tables()
        self.byte_ids = byte_ids  # byte value -> its token id; the base class builds the vocab from it
        super().__init__(pattern=GPT4_SPLIT_PATTERN)
        self.merges = dict(merges)
        self.special_tokens = dict(special_tokens)
        self._after_change()

    def _encode_chunk(self, chunk_bytes):
        return apply_merges([self.byte_ids[b] for b in chunk_bytes], self.merges)

    def train(self, text, vocab_size, verbose=False):
        raise NotImplementedError(
            "GPT4Tokenizer holds OpenAI's trained cl100k_base merges, and training would replace "
            "them; to train with GPT-4's split pattern use RegexTokenizer(GPT4_SPLIT_PATTERN)")

    def save(self, file_prefix):
        raise NotImplementedError(
            "the model format assumes token ids 0-255 are the bytes in order, which is not true of "
            "cl100k_base; GPT4Tokenizer() rebuilds the tokenizer from tiktoken's file instead")

    def load(self, model_file):
        raise NotImplementedError(
            "GPT4Tokenizer loads cl100k_base from tiktoken when it is created; to load a saved "
            "model use RegexTokenizer().load(...)")
