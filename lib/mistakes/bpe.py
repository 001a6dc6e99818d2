"""Classic mistakes in Lesson 8's exercises: counting pairs, merging a pair, the BPE training loop,
encoding and decoding with a merges dict, the regex tokenizer, special tokens, and GPT-4's
merges recovered from tiktoken's ranks.

Each mistake is made for real on the test's ids or text. The answers are lists, dicts and
strings compared exactly (dicts in order too), so each `Mistake.value` is such an object.
"""
import regex

from lib.bpe import GPT4_SPLIT_PATTERN, encode_naive, get_stats, merge, train_naive, train_naive_chunks
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
        Mistake("the new id was written as 256 whatever idx is: use the idx argument",
                _merge_with(ids, pair, 256)),
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
        Mistake("the number of merges was fixed at the lecture's 20: make vocab_size - 256 merges",
                _train_with(text, 276)),
        Mistake("the text was turned into code points (ord of each character), not UTF-8 bytes: "
                "use list(text.encode('utf-8'))", train_naive([ord(ch) for ch in text], vocab_size - 256)),
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


# --- Exercise 5 (ex-regex-tokenizer) ----------------------------------------------------------------

def _chunk_ids(chunks):
    return [list(chunk.encode("utf-8")) for chunk in chunks]


def train_regex(text, vocab_size, pattern):
    """Mistakes in training BPE within the chunks of `pattern`."""
    chunks, n = regex.findall(pattern, text), vocab_size - 256
    return [
        Mistake("pairs were counted across chunk boundaries (BPE on the whole text's bytes): count "
                "and merge inside each chunk, so no merge joins two chunks",
                train_naive(list(text.encode("utf-8")), n)),
        Mistake("each distinct chunk was counted once; a chunk that occurs k times adds its pairs "
                "k times", train_naive_chunks(_chunk_ids(dict.fromkeys(chunks)), n)),
        Mistake("the text was split with str.split() instead of the pattern: the spaces are lost",
                train_naive_chunks(_chunk_ids(text.split()), n)),
        Mistake("the pattern argument was ignored (GPT-4's pattern was always used)",
                train_naive_chunks(_chunk_ids(regex.findall(GPT4_SPLIT_PATTERN, text)), n)),
        Mistake("the number of merges was fixed at the lecture's 20: make vocab_size - 256 merges",
                train_naive_chunks(_chunk_ids(chunks), 20)),
    ]


def encode_regex(text, merges, pattern):
    """Mistakes in encoding `text` chunk by chunk."""
    def chunkwise(chunks):
        return [i for chunk in chunks for i in encode_naive(list(chunk.encode("utf-8")), merges)]

    return [
        Mistake("the merges were applied to the whole text, across chunk boundaries: encode each "
                "chunk on its own and join the ids",
                encode_naive(list(text.encode("utf-8")), merges)),
        Mistake("the text was split with str.split() instead of the pattern: the spaces are lost",
                chunkwise(text.split())),
        Mistake("the pattern argument was ignored (GPT-4's pattern was always used)",
                chunkwise(regex.findall(GPT4_SPLIT_PATTERN, text))),
        Mistake("each distinct chunk was encoded once; a chunk that occurs again must appear "
                "again in the ids", chunkwise(dict.fromkeys(regex.findall(pattern, text)))),
    ]


# --- Exercise 7 (ex-special-tokens) -----------------------------------------------------------------

def encode_special(text, special_tokens, encode_ordinary, allowed_special):
    """Mistakes in encoding `text` with special tokens that are allowed (no raising case)."""
    allowed = dict(special_tokens) if allowed_special == "all" else {} if isinstance(allowed_special, str) \
        else {s: i for s, i in special_tokens.items() if s in allowed_special}

    def split_at(specials, first_only=False, keep_text=True):
        if not specials:
            return encode_ordinary(text)
        alternation = "|".join(regex.escape(s) for s in sorted(specials, key=len, reverse=True))
        parts = regex.split(f"({alternation})", text, maxsplit=1 if first_only else 0)
        return [idx for i, part in enumerate(parts) for idx in (
            [specials[part]] if i % 2 else encode_ordinary(part) if part and keep_text else [])]

    endoftext_only = {s: i for s, i in allowed.items() if s == "<|endoftext|>"}
    return [
        Mistake("the allowed special tokens were encoded as ordinary text: each allowed special "
                "string must become its one id", encode_ordinary(text)),
        Mistake("only the first occurrence of a special token became its id: split the text at "
                "every occurrence", split_at(allowed, first_only=True)),
        Mistake("the ordinary text between the special tokens was dropped: encode those pieces "
                "with encode_ordinary", split_at(allowed, keep_text=False)),
        Mistake("only <|endoftext|> was handled: every special token in special_tokens counts",
                split_at(endoftext_only)),
    ]


# --- Exercise 6 (ex-recover-merges) -----------------------------------------------------------------

def recover_byte_ids(mergeable_ranks):
    """Mistakes in the byte -> id table."""
    byte_of = {mergeable_ranks[bytes([b])]: b for b in range(256)}
    return [
        Mistake("the single bytes were given their own values as ids; in tiktoken's table byte b "
                "is the token bytes([b]), whose rank is mergeable_ranks[bytes([b])]",
                list(range(256))),
        Mistake("byte_ids was built the wrong way round (id -> byte instead of byte -> id)",
                [byte_of.get(idx, 0) for idx in range(256)]),
    ]


def _recover(mergeable_ranks, byte_ids, keep_singles=False):
    merges = {}
    for token, rank in sorted(mergeable_ranks.items(), key=lambda item: item[1]):
        if len(token) == 1:
            if keep_singles:
                merges[(rank,)] = rank
            continue
        # BPE with the merges below `rank` stops at the token's two parts
        merges[tuple(encode_naive([byte_ids[b] for b in token], merges))] = rank
    return merges


def recover_merges(mergeable_ranks):
    """Mistakes in the merges recovered from `mergeable_ranks`."""
    byte_ids = [mergeable_ranks[bytes([b])] for b in range(256)]
    first_split = {}
    for token, rank in sorted(mergeable_ranks.items(), key=lambda item: item[1]):
        for i in range(1, len(token)):
            left, right = mergeable_ranks.get(token[:i]), mergeable_ranks.get(token[i:])
            if left is not None and right is not None and left < rank and right < rank:
                first_split[(left, right)] = rank
                break
    return [
        Mistake("each token was split at the first place where both halves are tokens; the split "
                "is the one BPE makes with the merges of lower rank (run BPE on the token's bytes "
                "and stop when two parts are left)", first_split),
        Mistake("the token's bytes were used as ids: map each byte through byte_ids first "
                "(cl100k_base does not number the bytes in byte order)",
                _recover(mergeable_ranks, list(range(256)))),
        Mistake("the single-byte tokens were recorded as merges; they are the base vocabulary "
                "(byte_ids), not merges", _recover(mergeable_ranks, byte_ids, keep_singles=True)),
    ]
