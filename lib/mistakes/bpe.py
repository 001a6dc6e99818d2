"""Classic mistakes in Lesson 8's exercises: counting pairs, merging a pair, the BPE training loop,
and encoding and decoding with a merges dict.

Each mistake is made for real on the test's ids or text. The answers are lists, dicts and
strings compared exactly (dicts in order too), so each `Mistake.value` is such an object.
"""
from lib.bpe import get_stats, merge
from lib.grading import Mistake

# --- Exercise 1 (ex-get-stats) -----------------------------------------------------------------------


def _count(pairs):
    counts = {}
    for pair in pairs:
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def pair_counts(ids):
    """Mistakes in counting the pairs of consecutive ids."""
    counts = _count(zip(ids, ids[1:]))
    return [
        Mistake("the last pair is missing: the loop stopped one position too early",
                _count(zip(ids[:-2], ids[1:-1]))),
        Mistake("the ids were stepped through two at a time, so pairs that overlap were not all "
                "counted: every position starts a pair", _count(zip(ids[::2], ids[1::2]))),
        Mistake("the pairs were written (next, current): a pair is (a, b) where b directly follows a",
                _count(zip(ids[1:], ids))),
        Mistake("the dict was sorted by count; keep the pairs in the order they first appear "
                "(training breaks ties with that order)",
                dict(sorted(counts.items(), key=lambda item: -item[1]))),
        Mistake("each pair was recorded once instead of counted", dict.fromkeys(counts, 1)),
    ]


# --- Exercise 2 (ex-merge) -------------------------------------------------------------------------


def _merge_with(ids, pair, idx, *, step_after_match=2, stop_early=False, first_only=False,
                either_order=False):
    merged, i, done = [], 0, False
    end = len(ids) - 1 if stop_early else len(ids)
    matches = {pair, pair[::-1]} if either_order else {pair}
    while i < end:
        if not done and i + 1 < len(ids) and (ids[i], ids[i + 1]) in matches:
            merged.append(idx)
            i += step_after_match
            done = first_only
        else:
            merged.append(ids[i])
            i += 1
    return merged


def merge_pair(ids, pair, idx):
    """Mistakes in replacing every occurrence of `pair` in `ids` by `idx`."""
    return [
        Mistake("after a replacement the scan moved on by one position instead of two, so the "
                "pair's second id was kept and overlapping occurrences were merged twice "
                "(aaa should give [256, 97])", _merge_with(ids, pair, idx, step_after_match=1)),
        Mistake("the last id was dropped: the loop stopped one position early, so an id that "
                "is not part of a pair at the end was never copied",
                _merge_with(ids, pair, idx, stop_early=True)),
        Mistake("only the first occurrence of the pair was replaced", _merge_with(ids, pair, idx, first_only=True)),
        Mistake("the pair was matched in both orders; (a, b) matches only a followed by b",
                _merge_with(ids, pair, idx, either_order=True)),
    ]


# --- Exercise 3 (ex-train) -------------------------------------------------------------------------


def _first_of_maxima(counts):
    return max(counts, key=counts.get)


def _train_with(text, vocab_size, *, choose=_first_of_maxima, merge_fn=merge, keep_merged=True,
                extra_merges=0):
    ids = list(text.encode("utf-8"))
    merges = {}
    for idx in range(256, vocab_size + extra_merges):
        counts = get_stats(ids)
        if not counts:
            break
        pair = choose(counts)
        merged = merge_fn(ids, pair, idx)
        ids = merged if keep_merged else ids
        merges[pair] = idx
    return merges


def train_bpe(text, vocab_size):
    """Mistakes in the BPE training loop on `text` up to `vocab_size` tokens."""
    def overlapping_merge(ids, pair, idx):
        return _merge_with(ids, pair, idx, step_after_match=1)

    def last_of_maxima(counts):
        best = max(counts.values())
        return [pair for pair, count in counts.items() if count == best][-1]

    return [
        Mistake("ties went to the smallest pair; among equally frequent pairs the one that occurs "
                "first in the sequence wins",
                _train_with(text, vocab_size, choose=lambda counts: max(sorted(counts), key=counts.get))),
        Mistake("ties went to the pair that occurs last; among equally frequent pairs the one "
                "that occurs first in the sequence wins", _train_with(text, vocab_size, choose=last_of_maxima)),
        Mistake("the merged sequence was not kept, so every round counted the original bytes "
                "again and chose the same pair", _train_with(text, vocab_size, keep_merged=False)),
        Mistake("one merge too many: vocab_size tokens are the 256 bytes plus vocab_size - 256 merges",
                _train_with(text, vocab_size, extra_merges=1)),
        Mistake("the merge step merged overlapping occurrences twice (aaa should become [256, 97])",
                _train_with(text, vocab_size, merge_fn=overlapping_merge)),
    ]


# --- Exercise 4 (ex-encode-decode) -----------------------------------------------------------------


def _encode_with(text, merges, choose, rounds=None):
    ids = list(text.encode("utf-8"))
    while len(ids) >= 2 and rounds != 0:
        candidates = {pair: count for pair, count in get_stats(ids).items() if pair in merges}
        if not candidates:
            break
        pair = choose(candidates)
        ids = merge(ids, pair, merges[pair])
        rounds = None if rounds is None else rounds - 1
    return ids


def encode(text, merges):
    """Mistakes in encoding `text` with `merges`."""
    out_of_order = ("merges were applied out of the order they were learned; always merge the pair "
                    "present with the smallest merge id first, whatever its count or position")

    def earliest_learned(candidates):
        return min(candidates, key=merges.get)
    # Three ways to pick the wrong pair, one description: on most texts they give the same ids.
    return [
        Mistake(out_of_order, _encode_with(text, merges, lambda candidates: max(candidates, key=merges.get))),
        Mistake(out_of_order, _encode_with(text, merges, lambda candidates: max(candidates, key=candidates.get))),
        Mistake(out_of_order, _encode_with(text, merges, lambda candidates: next(iter(candidates)))),
        Mistake("only one merge was applied; keep merging while some pair present has a merge",
                _encode_with(text, merges, earliest_learned, rounds=1)),
    ]


def _vocab(merges, part_order=(0, 1)):
    vocab = {idx: bytes([idx]) for idx in range(256)}
    for pair, idx in merges.items():
        vocab[idx] = vocab[pair[part_order[0]]] + vocab[pair[part_order[1]]]
    return vocab


def decode(ids, merges):
    """Mistakes in decoding `ids` with `merges`."""
    vocab = _vocab(merges)
    joined = b"".join(vocab[idx] for idx in ids)
    swapped = _vocab(merges, part_order=(1, 0))
    return [
        Mistake("bytes that are not valid UTF-8 were dropped (errors='ignore'); they must become "
                "the replacement character U+FFFD (errors='replace')",
                joined.decode("utf-8", errors="ignore")),
        Mistake("each token was decoded on its own; one character's bytes can be split across "
                "tokens, so join all the bytes first and decode once",
                "".join(vocab[idx].decode("utf-8", errors="replace") for idx in ids)),
        Mistake("a merged token's bytes were joined second part first; token (a, b) is a's bytes "
                "followed by b's",
                b"".join(swapped[idx] for idx in ids).decode("utf-8", errors="replace")),
    ]
