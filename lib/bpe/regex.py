"""RegexTokenizer: split the text with a regex first, then byte-pair encode each chunk.

Introduced in Lesson 8 (tokenizer). GPT-2 and GPT-4 never merge across the boundaries of their
split pattern: letters, numbers, punctuation and whitespace land in separate chunks, so no
token glues a word to the space or the comma after it. Training counts each distinct chunk
once, weighted by how often it occurs. Special tokens (such as "<|endoftext|>") are strings
that encode to one reserved id, but only where the caller allows them, as in tiktoken.
"""
from collections import Counter

import regex

from .base import Tokenizer
from .encode import apply_merges
from .train import bpe_merges

# The split patterns of OpenAI's tokenizers, as published in tiktoken (tiktoken_ext/openai_public.py):
# GPT-2's original pattern, and GPT-4's (cl100k_base). Both need the `regex` module: \p{L} is
# "any letter", \p{N} "any number"; `?+` and `++` are possessive (they never give back).
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4_SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""

ALLOWED_SPECIAL_MODES = ("all", "none", "none_raise")
CACHE_LIMIT = 100_000  # distinct chunks encode remembers; beyond that the cache starts afresh


class RegexTokenizer(Tokenizer):
    """A BPE tokenizer that splits text with `pattern` (default: GPT-4's) before merging."""

    def __init__(self, pattern=None):
        super().__init__()
        self.pattern = GPT4_SPLIT_PATTERN if pattern is None else pattern
        self._after_change()

    def _after_change(self):
        super()._after_change()
        if not isinstance(self.pattern, str) or not self.pattern:
            raise ValueError(f"pattern must be a non-empty regex string, got {self.pattern!r}; "
                             f"for no split at all use BasicTokenizer")
        try:
            self.compiled_pattern = regex.compile(self.pattern)
        except regex.error as err:
            raise ValueError(f"the split pattern {self.pattern!r} is not a valid regex: {err}") from None
        self._chunk_cache = {}  # chunk text -> its ids; only valid for the current merges

    def _check_pattern(self, pattern, reader):
        if not pattern:
            reader.fail("this model has no split pattern: load it with BasicTokenizer")

    # --- training --------------------------------------------------------------------------------

    def train(self, text, vocab_size, verbose=False):
        """Learn vocab_size - 256 merges from `text`'s chunks (fewer if it runs out of pairs)."""
        self._check_vocab_size(vocab_size)
        chunk_counts = Counter(self.compiled_pattern.findall(text))  # keeps first-appearance order
        chunk_ids = {chunk.encode("utf-8"): count for chunk, count in chunk_counts.items()}
        self._record_merges(bpe_merges(chunk_ids, vocab_size - 256), verbose)
        self._after_change()

    # --- special tokens --------------------------------------------------------------------------

    def register_special_tokens(self, special_tokens):
        """Add special tokens, e.g. {"<|endoftext|>": 100257}; their ids must follow the merges."""
        first_free = max(self.vocab.keys() - set(self.special_tokens.values()), default=255) + 1
        merged = {**self.special_tokens}
        for special, idx in dict(special_tokens).items():
            if not isinstance(special, str) or not special:
                raise ValueError(f"a special token must be a non-empty string, got {special!r}")
            if not isinstance(idx, int) or idx < first_free:
                raise ValueError(f"special token {special!r} needs an integer id of at least {first_free} "
                                 f"(the ids below belong to bytes and merges), got {idx!r}")
            merged[special] = idx
        if len(set(merged.values())) < len(merged):
            raise ValueError(f"two special tokens share an id: {merged}")
        self.special_tokens = merged
        self._after_change()

    def _split_special(self, allowed_special):
        """allowed_special -> (the special tokens to encode, the ones that must not appear)."""
        if isinstance(allowed_special, str):
            if allowed_special not in ALLOWED_SPECIAL_MODES:
                raise ValueError(f"allowed_special must be one of {ALLOWED_SPECIAL_MODES} or a set of "
                                 f"special tokens, got {allowed_special!r}")
            if allowed_special == "all":
                return dict(self.special_tokens), {}
            if allowed_special == "none":
                return {}, {}
            return {}, dict(self.special_tokens)
        try:
            names = set(allowed_special)
        except TypeError:
            raise ValueError(f"allowed_special must be one of {ALLOWED_SPECIAL_MODES} or a set of "
                             f"special tokens, got {allowed_special!r}") from None
        unknown = sorted(str(name) for name in names - self.special_tokens.keys())
        if unknown:
            raise ValueError(f"allowed_special names {unknown}, which this tokenizer does not have; "
                             f"its special tokens are {sorted(self.special_tokens)}")
        allowed = {s: i for s, i in self.special_tokens.items() if s in names}
        refused = {s: i for s, i in self.special_tokens.items() if s not in names}
        return allowed, refused

    # --- encoding --------------------------------------------------------------------------------

    def _encode_chunk(self, chunk_bytes):
        """One chunk's bytes -> ids (GPT4Tokenizer changes how bytes map to ids)."""
        return apply_merges(chunk_bytes, self.merges)

    def encode_ordinary(self, text):
        """Text -> ids, reading special-token strings as ordinary text."""
        chunks = self.compiled_pattern.findall(text)
        cache = self._chunk_cache
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        # Most chunks are common words seen many times: encode each distinct one once.
        for chunk in dict.fromkeys(chunks):
            if chunk not in cache:
                cache[chunk] = self._encode_chunk(chunk.encode("utf-8"))
        ids = []
        for chunk in chunks:
            ids.extend(cache[chunk])
        return ids

    def encode(self, text, allowed_special="none_raise"):
        """Text -> ids, with special tokens as tiktoken treats them.

        allowed_special: "all" encodes every special token found in the text as its id;
        "none" reads them as ordinary text; "none_raise" (the default) raises ValueError if
        the text contains one; a set encodes those and raises for the others, like tiktoken.
        """
        allowed, refused = self._split_special(allowed_special)
        if refused:
            found = _alternation(refused).search(text)
            if found:
                raise ValueError(
                    f"the text contains the special token {found.group()!r}. To encode it as its "
                    f"special id pass allowed_special='all' or a set containing it; to encode it as "
                    f"ordinary text pass allowed_special='none'")
        if not allowed:
            return self.encode_ordinary(text)
        ids = []
        # split() with a capturing group keeps the special tokens at the odd positions
        for i, part in enumerate(_alternation(allowed, capture=True).split(text)):
            if i % 2:
                ids.append(allowed[part])
            elif part:
                ids.extend(self.encode_ordinary(part))
        return ids


def _alternation(strings, capture=False):
    """A regex matching any of `strings`, longest first so a token never hides a longer one."""
    alternatives = "|".join(regex.escape(s) for s in sorted(strings, key=len, reverse=True))
    return regex.compile(f"({alternatives})" if capture else alternatives)
