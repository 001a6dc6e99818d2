"""Byte-pair encoding: encoding with learned merges, the lesson's loop and a fast equivalent.

Introduced in Lesson 8 (tokenizer). Encoding replays the merges in the order they were
learned: `encode_naive` is the lesson's loop, `apply_merges` gives the same ids in O(n log n).
"""
import heapq

from .base import get_stats, merge


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


