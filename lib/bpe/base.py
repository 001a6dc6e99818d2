"""Byte-pair encoding: the two operations and the Tokenizer base class.

Introduced in Lesson 8 (tokenizer). Text becomes UTF-8 bytes, so every token starts as one of
256 byte ids. Training repeats one step: count the consecutive pairs (`get_stats`), take the
most frequent pair and give it the next free id (`merge`); the training loops are in train.py.
Encoding replays the merges in the order they were learned (encode.py); decoding looks each id
up in the vocabulary and joins the bytes.

The Tokenizer base class holds what every tokenizer shares: the merges, the special tokens,
the vocabulary built from them, `decode`, and `save`/`load` in a small text format.
"""
import contextlib
import gc
import json
import unicodedata
from collections.abc import Hashable

MODEL_VERSION_LINE = "lib.bpe model v1"

# --- the two operations -----------------------------------------------------------------------

def get_stats(ids, counts=None):
    """Count each pair of consecutive ids: [1, 2, 3, 1, 2] -> {(1, 2): 2, (2, 3): 1, (3, 1): 1}.

    Pass a dict as `counts` to add to it (to count over several chunks of text). The dict keeps
    the pairs in the order they first appear, which is what breaks ties in training.
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, idx):
    """Replace every occurrence of `pair` in `ids` by `idx`, scanning left to right.

    Occurrences cannot overlap: merge([97, 97, 97], (97, 97), 256) == [256, 97].
    """
    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(idx)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


# --- the tokenizer ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _cycle_collector_paused():
    """Training makes hundreds of thousands of small tuples and lists, none in a reference
    cycle; with Python's cycle collector paused it does not rescan them again and again
    (that costs about 15% of the training time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_token(token_bytes):
    """Bytes as readable text: invalid UTF-8 shows as U+FFFD, control characters as escapes."""
    text = token_bytes.decode("utf-8", errors="replace")
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch)[0] == "C" else ch for ch in text)


class Tokenizer:
    """What every tokenizer shares: merges, special tokens, the vocabulary, decode, save, load.

    merges          {(id, id): new id}, in the order they were learned
    special_tokens  {"<|endoftext|>": id, ...}
    vocab           {id: bytes}: the 256 bytes, every merged token, every special token
    pattern         the regex that splits text into chunks ("" when there is none)
    byte_ids        the token id of each byte value (0..255 here; GPT-4 numbers bytes its own way)
    """

    byte_ids = range(256)

    def __init__(self):
        self.merges = {}
        self.special_tokens = {}
        self.pattern = ""
        self.vocab = self._build_vocab()

    def train(self, text, vocab_size, verbose=False):
        raise NotImplementedError(f"{type(self).__name__} does not implement train")

    def encode(self, text):
        raise NotImplementedError(f"{type(self).__name__} does not implement encode")

    def _build_vocab(self):
        vocab = {idx: bytes([b]) for b, idx in enumerate(self.byte_ids)}
        for (a, b), idx in self.merges.items():
            vocab[idx] = vocab[a] + vocab[b]
        for special, idx in self.special_tokens.items():
            vocab[idx] = special.encode("utf-8")
        return vocab

    def _check_vocab_size(self, vocab_size):
        if not isinstance(vocab_size, int) or vocab_size < 256:
            raise ValueError(
                f"vocab_size must be an integer of at least 256 (the 256 byte tokens every text "
                f"starts from), got {vocab_size!r}; ask for 256 + the number of merges you want")
        clash = {s: i for s, i in self.special_tokens.items() if i < vocab_size}
        if clash:
            raise ValueError(
                f"special tokens {clash} have ids below vocab_size={vocab_size}, where the merges "
                f"will go; train first, then register special tokens with ids >= vocab_size")

    def _record_merges(self, merge_counts, verbose):
        """Store the merges a training function yields as (pair, count); print them if verbose."""
        self.merges = {}
        self.vocab = self._build_vocab()
        with _cycle_collector_paused():
            for i, (pair, count) in enumerate(merge_counts):
                idx = 256 + i
                self.merges[pair] = idx
                self.vocab[idx] = self.vocab[pair[0]] + self.vocab[pair[1]]
                if verbose:
                    print(f"merge {i + 1}: {pair} -> {idx} ({render_token(self.vocab[idx])!r}), "
                          f"{count} occurrences")
        self.vocab = self._build_vocab()  # the special tokens go back on top

    def decode(self, ids):
        """Ids -> text. Byte sequences that are not valid UTF-8 become U+FFFD."""
        ids = list(ids)
        try:
            text_bytes = b"".join(self.vocab[idx] for idx in ids)
        except (KeyError, TypeError):  # TypeError: an unhashable id, such as a list
            unknown = next(idx for idx in ids if not isinstance(idx, Hashable) or idx not in self.vocab)
            raise ValueError(
                f"cannot decode token id {unknown!r}: this tokenizer's vocabulary has {len(self.vocab)} "
                f"tokens (ids 0 to {max(self.vocab)}); were these ids made by a different tokenizer?"
            ) from None
        return text_bytes.decode("utf-8", errors="replace")

    # --- saving and loading ----------------------------------------------------------------------

    def save(self, file_prefix):
        """Write `<file_prefix>.model` (load it back with `load`) and `<file_prefix>.vocab` (to read).

        The model file is text: the version line, the split pattern, the special tokens with
        their ids, then one merge per line as the two ids it joins (the k-th gets id 256 + k).
        """
        lines = [MODEL_VERSION_LINE, f"pattern: {json.dumps(self.pattern)}",
                 f"special tokens: {len(self.special_tokens)}"]
        lines += [f"{json.dumps(special)} {idx}" for special, idx in self.special_tokens.items()]
        lines.append(f"merges: {len(self.merges)}")
        lines += [f"{a} {b}" for a, b in self.merges]
        with open(f"{file_prefix}.model", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

        parents = {idx: pair for pair, idx in self.merges.items()}
        with open(f"{file_prefix}.vocab", "w", encoding="utf-8") as f:
            for idx, token in sorted(self.vocab.items()):
                shown = f"[{render_token(token)}]"
                if idx in parents:
                    a, b = parents[idx]
                    shown = f"[{render_token(self.vocab[a])}][{render_token(self.vocab[b])}] -> {shown}"
                f.write(f"{idx} {shown}\n")

    def load(self, model_file):
        """Read a `.model` file written by `save`; a malformed file raises ValueError with its line."""
        with open(model_file, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        reader = _ModelReader(model_file, lines)

        version = reader.next_line("the version line")
        if version != MODEL_VERSION_LINE:
            what = ("a model of another version" if version.startswith(MODEL_VERSION_LINE[:-1])
                    else "not a lib.bpe model file")
            reader.fail(f"expected {MODEL_VERSION_LINE!r}, found {version!r}: {what}")
        pattern = reader.json_string(reader.labelled("pattern"))
        self._check_pattern(pattern, reader)

        special_tokens = {}
        for _ in range(reader.count(reader.labelled("special tokens"))):
            line = reader.next_line("a special token line")
            try:
                special, end = json.JSONDecoder().raw_decode(line)
                idx = int(line[end:])
            except ValueError:
                special = None
            if not isinstance(special, str) or special in special_tokens or idx < 0:
                reader.fail(f"expected a quoted special token and its id, e.g. '\"<|endoftext|>\" 512', "
                            f"found {line!r}")
            special_tokens[special] = idx

        merges = {}
        for i in range(reader.count(reader.labelled("merges"))):
            line = reader.next_line("a merge line")
            idx = 256 + i
            try:
                a, b = (int(part) for part in line.split(" "))
            except ValueError:
                reader.fail(f"expected a merge as two token ids, e.g. '101 32', found {line!r}")
            if not (0 <= a < idx and 0 <= b < idx) or (a, b) in merges:
                reader.fail(f"merge {i + 1} ({line!r}) must join two earlier tokens (ids below {idx}) "
                            f"and must not repeat an earlier merge")
            merges[(a, b)] = idx
        if reader.line_number < len(lines):
            reader.line_number += 1
            reader.fail(f"unexpected extra line {lines[reader.line_number - 1]!r} after the last merge")
        clash = {s: i for s, i in special_tokens.items() if i < 256 + len(merges)}
        if len(set(special_tokens.values())) < len(special_tokens) or clash:
            raise ValueError(f"{model_file}: special token ids must be distinct and at least "
                             f"{256 + len(merges)} (after the merges), found {special_tokens}")

        self.pattern = pattern
        self.merges = merges
        self.special_tokens = special_tokens
        self._after_change()

    def _check_pattern(self, pattern, reader):
        """Subclasses refuse a model saved by a tokenizer of the other kind."""

    def _after_change(self):
        """Rebuild what depends on merges, pattern or special tokens."""
        self.vocab = self._build_vocab()


class _ModelReader:
    """Reads a model file line by line and names the line when something is wrong."""

    def __init__(self, model_file, lines):
        self.model_file, self.lines, self.line_number = model_file, lines, 0

    def fail(self, message):
        raise ValueError(f"{self.model_file}, line {self.line_number}: {message}. "
                         f"Is the file damaged? Save the tokenizer again to rewrite it.")

    def next_line(self, expected):
        if self.line_number >= len(self.lines):
            self.line_number += 1
            self.fail(f"the file ends where {expected} was expected")
        self.line_number += 1
        return self.lines[self.line_number - 1]

    def labelled(self, label):
        line = self.next_line(f"the '{label}: ...' line")
        if not line.startswith(f"{label}: "):
            self.fail(f"expected '{label}: ...', found {line!r}")
        return line[len(label) + 2:]

    def json_string(self, text):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, str):
            self.fail(f"expected a quoted string, found {text!r}")
        return value

    def count(self, text):
        if not text.isdigit():
            self.fail(f"expected a count, found {text!r}")
        return int(text)
