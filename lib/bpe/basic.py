"""BasicTokenizer: byte-pair encoding on the raw UTF-8 bytes of a text, nothing else.

Introduced in Lesson 8 (tokenizer). The whole text is one sequence, so merges can join bytes
across words, spaces and punctuation ("e" and " " become one token); `RegexTokenizer` (regex.py)
adds the split that prevents that.
"""
from .base import Tokenizer
from .encode import apply_merges
from .train import bpe_merges


class BasicTokenizer(Tokenizer):
    """Train with `train(text, vocab_size)`, then `encode(text)` -> ids and `decode(ids)` -> text."""

    def train(self, text, vocab_size, verbose=False):
        """Learn vocab_size - 256 merges from `text` (fewer if the text runs out of pairs)."""
        self._check_vocab_size(vocab_size)
        ids = tuple(text.encode("utf-8"))
        self._record_merges(bpe_merges({ids: 1}, vocab_size - 256), verbose)

    def encode(self, text):
        """Text -> token ids: the text's bytes with the learned merges applied in order."""
        return apply_merges(text.encode("utf-8"), self.merges)

    def _check_pattern(self, pattern, reader):
        if pattern:
            reader.fail("this model splits text with a regex pattern: load it with RegexTokenizer")
