"""Byte-pair encoding: the training loops, the lesson's and a fast one that finds the same merges.

Introduced in Lesson 8 (tokenizer). Ties. Two pairs can be equally frequent, and the merges
depend on which one wins. Every training function here follows ONE rule:

    the most frequent pair wins; among equally frequent pairs, the one whose first
    occurrence comes first in the text (in the sequence as it stands at that step).

This is what the lesson's loop does without saying so: `get_stats` inserts pairs into a dict
in the order it meets them, and `max(stats, key=stats.get)` returns the first of several
equal maxima. `train_naive` is that loop. `bpe_merges` finds exactly the same merges much
faster, by updating the counts only where a merge changes them.
"""
import heapq
from collections import defaultdict

from .base import get_stats, merge

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


