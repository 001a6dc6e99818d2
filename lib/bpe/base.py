"""Byte-pair encoding: the two operations, the training loop, and the Tokenizer base class.

Introduced in Lesson 8 (tokenizer). Text becomes UTF-8 bytes, so every token starts as one of
256 byte ids. Training repeats one step: count the consecutive pairs (`get_stats`), take the
most frequent pair and give it the next free id (`merge`). Encoding replays the merges in the
order they were learned; decoding looks each id up in the vocabulary and joins the bytes.

Ties. Two pairs can be equally frequent, and the merges depend on which one wins. Every
training function here follows ONE rule:

    the most frequent pair wins; among equally frequent pairs, the one whose first
    occurrence comes first in the text (in the sequence as it stands at that step).

This is what the lesson's loop does without saying so: `get_stats` inserts pairs into a dict
in the order it meets them, and `max(stats, key=stats.get)` returns the first of several
equal maxima. `train_naive` is that loop. `bpe_merges` finds exactly the same merges much
faster, by updating the counts only where a merge changes them.

The Tokenizer base class holds what every tokenizer shares: the merges, the special tokens,
the vocabulary built from them, `decode`, and `save`/`load` in a small text format.
"""
import contextlib
import gc
import heapq
import json
import unicodedata
from collections import defaultdict
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


# --- training, the way the lesson writes it ------------------------------------------------------

def train_naive(ids, num_merges, first_id=256):
    """The lesson's training loop on one sequence of ids; returns the merges {pair: new id}.

    Each step recounts every pair from scratch, so a step costs a pass over the whole text.
    Ties: `max` returns the first of equal counts, and `get_stats` orders pairs by their first
    occurrence, so the tie goes to the pair that appears first. Stops early if no pair is left.
    """
    ids = list(ids)
    merges = {}
    for i in range(num_merges):
        stats = get_stats(ids)
        if not stats:
            break
        pair = max(stats, key=stats.get)
        idx = first_id + i
        ids = merge(ids, pair, idx)
        merges[pair] = idx
    return merges


def train_naive_chunks(chunks, num_merges, first_id=256):
    """`train_naive` for a text split into chunks (lists of ids): pairs never cross a chunk.

    The counts of all chunks go into one dict, in text order, so ties follow the same rule.
    """
    chunks = [list(chunk) for chunk in chunks]
    merges = {}
    for i in range(num_merges):
        stats = {}
        for chunk in chunks:
            get_stats(chunk, stats)
        if not stats:
            break
        pair = max(stats, key=stats.get)
        idx = first_id + i
        chunks = [merge(chunk, pair, idx) for chunk in chunks]
        merges[pair] = idx
    return merges


def encode_naive(ids, merges):
    """The lesson's encoder: while some pair has a merge, merge the earliest-learned one."""
    ids = list(ids)
    while len(ids) >= 2:
        stats = get_stats(ids)
        pair = min(stats, key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break  # no pair left that was ever merged
        ids = merge(ids, pair, merges[pair])
    return ids


# --- training, fast ----------------------------------------------------------------------------

def bpe_merges(chunk_counts, num_merges, first_id=256):
    """Yield (pair, count) for each merge `train_naive_chunks` would make, without recounting.

    `chunk_counts` maps each distinct chunk (a sequence of ids) to how often it occurs, in the
    order the chunks first appear in the text; a text without a split is one chunk, count 1.
    The k-th pair yielded (counting from 0) is merged into id first_id + k, the numbering
    `train_naive_chunks` uses; the merge happens when the caller asks for the next pair.

    How it stays fast: all distinct chunks are laid end to end in one array, linked so that a
    merged token can drop its right half in O(1). For every pair we keep its total count
    (weighted by chunk frequency) and the positions where it starts, so a merge visits only
    the places it changes and fixes the counts of the pairs on either side. A heap of
    (-count, first position, pair) entries gives the next pair to merge, ties included.

    Two things are left out of date on purpose and checked when used ("lazy invalidation"):
    a position stays in its pair's list after the pair is gone from there, and the heap keeps
    an entry after its pair's count changes (a fresh entry is pushed; a popped entry whose
    count is no longer current is skipped). Both checks rest on one fact: a merge makes new
    neighbours only next to the token it creates, so a pair appears only in the step that
    creates its newer token. Afterwards its count only falls, and its list of positions, in
    text order, only goes stale.
    """
    next_id = first_id
    # Lay the chunks end to end. prev_pos/next_pos link the tokens still alive; -1 ends a chunk.
    tokens, weight, prev_pos, next_pos = [], [], [], []
    counts = defaultdict(int)      # pair -> total count, weighted by chunk frequency
    positions = defaultdict(list)  # pair -> positions where it started at some time, in order
    for chunk, count in chunk_counts.items():
        start, n = len(tokens), len(chunk)
        if n == 0:
            continue
        tokens.extend(chunk)
        weight.extend([count] * n)
        prev_pos.extend(range(start - 1, start + n - 1))
        next_pos.extend(range(start + 1, start + n + 1))
        prev_pos[start] = -1
        next_pos[-1] = -1
        for pos, pair in enumerate(zip(chunk, chunk[1:]), start):
            counts[pair] += count
            positions[pair].append(pos)
    counts, positions = dict(counts), dict(positions)  # from here on, only pairs present
    skipped = {}  # pair -> how many stale positions open its list

    def first_position(pair):
        where, i = positions[pair], skipped.get(pair, 0)
        while True:
            pos = where[i]
            right = next_pos[pos]
            if tokens[pos] == pair[0] and right != -1 and tokens[right] == pair[1]:
                skipped[pair] = i
                return pos
            i += 1

    queue = [(-count, positions[pair][0], pair) for pair, count in counts.items()]
    heapq.heapify(queue)

    for _ in range(num_merges):
        # The first entry whose count is still current: the highest count, then the earliest.
        while queue:
            neg_count, _, pair = heapq.heappop(queue)
            if counts.get(pair) == -neg_count:
                break
        else:
            return  # no pairs left: every chunk is a single token

        yield pair, -neg_count
        new_id, next_id = next_id, next_id + 1

        # Every occurrence is merged in this pass, so the pair leaves the tables as a whole.
        del counts[pair]
        skipped.pop(pair, None)
        first, second = pair
        changes = defaultdict(int)     # pair -> change of its count in this merge
        new_pairs = defaultdict(list)  # pair with new_id -> its positions
        # Left to right, like merge(): in "aaa" the second occurrence is gone by the time we
        # get there, because the first merge took its left token.
        for pos in positions.pop(pair):
            right = next_pos[pos]
            if tokens[pos] != first or right == -1 or tokens[right] != second:
                continue  # a stale position
            w = weight[pos]
            before, after = prev_pos[pos], next_pos[right]
            tokens[pos], tokens[right] = new_id, None  # the right token is absorbed
            next_pos[pos] = after
            if before != -1:  # (x, first) becomes (x, new_id)
                old, new = (tokens[before], first), (tokens[before], new_id)
                changes[old] -= w
                changes[new] += w
                new_pairs[new].append(before)
            if after != -1:  # (second, y) becomes (new_id, y)
                prev_pos[after] = pos
                old, new = (second, tokens[after]), (new_id, tokens[after])
                if old != pair:  # in "aaa" that pair is the one being merged, counted already
                    changes[old] -= w
                changes[new] += w
                new_pairs[new].append(pos)
        positions.update(new_pairs)
        for changed, delta in changes.items():
            count = counts.get(changed, 0) + delta
            if count:
                counts[changed] = count
                heapq.heappush(queue, (-count, first_position(changed), changed))
            else:  # gone for good: it cannot appear again
                counts.pop(changed, None)
                positions.pop(changed, None)
                skipped.pop(changed, None)


# --- encoding, fast ------------------------------------------------------------------------------

def apply_merges(ids, merges):
    """Encode a sequence of ids with `merges`: the same result as `encode_naive`, in O(n log n).

    A heap holds (merge id, position) for every mergeable pair; popping it merges pairs in the
    order they were learned, left to right among equals, which is the order encode_naive
    follows. A merged token only forms pairs whose merges were learned later (their id is
    larger), so no earlier merge is ever needed again. Entries whose pair has changed since
    they were pushed are skipped when popped.
    """
    tokens = list(ids)
    n = len(tokens)
    if n < 2:
        return tokens
    heap = [(merges[pair], pos) for pos, pair in enumerate(zip(tokens, tokens[1:])) if pair in merges]
    if not heap:
        return tokens
    heapq.heapify(heap)
    prev_pos = list(range(-1, n - 1))
    next_pos = list(range(1, n + 1))
    next_pos[-1] = -1
    while heap:
        idx, pos = heapq.heappop(heap)
        right = next_pos[pos]
        if tokens[pos] is None or right == -1 or merges.get((tokens[pos], tokens[right])) != idx:
            continue  # this position was absorbed, or its pair changed
        tokens[pos], tokens[right] = idx, None
        after = next_pos[right]
        next_pos[pos] = after
        if after != -1:
            prev_pos[after] = pos
            later = merges.get((idx, tokens[after]))
            if later is not None:
                heapq.heappush(heap, (later, pos))
        before = prev_pos[pos]
        if before != -1:
            later = merges.get((tokens[before], idx))
            if later is not None:
                heapq.heappush(heap, (later, before))
    return [t for t in tokens if t is not None]


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
