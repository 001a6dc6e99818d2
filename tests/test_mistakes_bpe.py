"""lib.mistakes.bpe: Lesson 8's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
"""
import pytest

from conftest import dataset_text
from lesson_cells import LessonCells, Wrong, all_covered, catalogue_is_complete, description, fails_visibly
from lib.mistakes import bpe as bpe_mistakes

CELLS = LessonCells("08-tokenizer", helpers=["exact-check-helper"])
run_test_cell = CELLS.run_test_cell
EXERCISES = ["ex-get-stats", "ex-merge", "ex-train", "ex-encode-decode", "ex-regex-tokenizer",
             "ex-recover-merges", "ex-special-tokens"]


@pytest.fixture(scope="module", autouse=True)
def datasets():
    for name in ["taylorswift", "tinyshakespeare"]:
        dataset_text(name)


# The first case of the counting test, [3, 1, 2, 1, 2, 4], tells every counting mistake apart.
COINCIDING = {}


def assert_diagnosed(message, fragment, mistakes):
    assert message is not None, "the test cell passed an answer carrying the mistake"
    assert "Likely mistake: " in message
    named = message.split("Likely mistake: ", 1)[1]
    assert description(fragment, mistakes) in named
    others = [m.description for m in mistakes if fragment not in m.description and m.description in named
              and COINCIDING.get(fragment, "-") not in m.description]
    assert not others, f"another mistake was named too: {others}"


def assert_generic(message):
    assert ("first difference" in message or "length" in message or "key" in message) and "Likely mistake" not in message


# --- Exercise 1: counting pairs ---------------------------------------------------------------------

PAIRS = "for pair in zip(ids, ids[1:]):"
COUNT_MISTAKES = {
    "last pair is missing": [(PAIRS, "for i in range(len(ids) - 2):\n        pair = (ids[i], ids[i + 1])")],
    "two at a time": [(PAIRS, "for i in range(0, len(ids) - 1, 2):\n        pair = (ids[i], ids[i + 1])")],
    "(next, current)": [(PAIRS, "for pair in zip(ids[1:], ids):")],
    "sorted by count": [("return counts", "return dict(sorted(counts.items(), key=lambda kv: kv[1], reverse=True))")],
    "recorded once": [("counts[pair] = counts.get(pair, 0) + 1", "counts[pair] = 1")],
}


@pytest.mark.parametrize("fragment", COUNT_MISTAKES)
def test_a_counting_mistake_is_named(fragment):
    message = run_test_cell("test-get-stats", "ex-get-stats", COUNT_MISTAKES[fragment])
    assert_diagnosed(message, fragment, bpe_mistakes.pair_counts([1, 2, 1]))


def test_counting_passes_and_every_mistake_is_covered():
    all_covered(COUNT_MISTAKES, bpe_mistakes.pair_counts([1, 2, 1]))
    assert run_test_cell("test-get-stats", "ex-get-stats") is None


def test_an_unrelated_counting_error_gets_only_the_first_difference():
    assert_generic(run_test_cell("test-get-stats", "ex-get-stats", [("counts.get(pair, 0) + 1", "counts.get(pair, 0) + 2")]))


# --- Exercise 2: merging a pair ---------------------------------------------------------------------

MERGE_MISTAKES = {
    "moved on by one position": [("            merged.append(idx)\n            i += 2", "            merged.append(idx)\n            i += 1")],
    "last id was dropped": [("while i < len(ids):", "while i < len(ids) - 1:")],
    "only the first occurrence": [("(ids[i], ids[i + 1]) == pair:", "(ids[i], ids[i + 1]) == pair and idx not in merged:")],
    "both orders": [("(ids[i], ids[i + 1]) == pair:", "(ids[i], ids[i + 1]) in (pair, pair[::-1]):")],
}


@pytest.mark.parametrize("fragment", MERGE_MISTAKES)
def test_a_merge_mistake_is_named(fragment):
    message = run_test_cell("test-merge", "ex-merge", MERGE_MISTAKES[fragment])
    assert_diagnosed(message, fragment, bpe_mistakes.merge_pair([1, 2], (1, 2), 3))


MERGE_SLOPPY = {"written as 256": [("merged.append(idx)", "merged.append(256)")]}
TRAIN_SLOPPY = {"fixed at the lecture's 20": [("range(256, vocab_size)", "range(256, 276)")],
                "code points": [('list(text.encode("utf-8"))', "[ord(ch) for ch in text]")]}


def test_merging_passes_and_every_mistake_is_covered():
    all_covered({**MERGE_MISTAKES, **MERGE_SLOPPY}, bpe_mistakes.merge_pair([1, 2], (1, 2), 3))
    assert run_test_cell("test-merge", "ex-merge") is None


def test_an_unrelated_merge_error_gets_only_the_first_difference():
    assert_generic(run_test_cell("test-merge", "ex-merge", [("merged.append(idx)", "merged.append(idx + 1)")]))


# --- Exercise 3: the training loop ------------------------------------------------------------------

CHOICE = "pair = max(counts, key=counts.get)"
MERGE_STEP = "ids = merge(ids, pair, idx)"
OVERLAPPING_MERGE = """merged, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                merged.append(idx)
            else:
                merged.append(ids[i])
            i += 1
        ids = merged"""
TRAIN_MISTAKES = {
    "smallest pair": [(CHOICE, "pair = max(sorted(counts), key=counts.get)")],
    "occurs last": [(CHOICE, "pair = [p for p in counts if counts[p] == max(counts.values())][-1]")],
    "not kept": [(MERGE_STEP, "merge(ids, pair, idx)")],
    "one merge too many": [("range(256, vocab_size)", "range(256, vocab_size + 1)")],
    "merged overlapping occurrences twice": [(MERGE_STEP, OVERLAPPING_MERGE)],
}


@pytest.mark.parametrize("fragment", TRAIN_MISTAKES)
def test_a_training_mistake_is_named(fragment):
    message = run_test_cell("test-train", "ex-train", TRAIN_MISTAKES[fragment])
    assert_diagnosed(message, fragment, bpe_mistakes.train_bpe("ab", 257))


def test_training_passes_and_every_mistake_is_covered():
    all_covered({**TRAIN_MISTAKES, **TRAIN_SLOPPY}, bpe_mistakes.train_bpe("ab", 257))
    assert run_test_cell("test-train", "ex-train") is None


def test_an_unrelated_training_error_gets_only_the_first_difference():
    assert_generic(run_test_cell("test-train", "ex-train", [("merges[pair] = idx", "merges[pair] = idx + 1")]))


# --- Exercise 4: encode and decode ------------------------------------------------------------------

CHOOSE = 'pair = min(stats, key=lambda p: merges.get(p, float("inf")))'
JOIN = 'return b"".join(vocab[idx] for idx in ids).decode("utf-8", errors="replace")'
# The first three are one mistake, picking the wrong pair, reached three ways.
ENCODE_MISTAKES = {
    "out of the order": [(CHOOSE, "pair = max(stats, key=lambda p: merges.get(p, -1))")],
    "whatever its count": [(CHOOSE, "pair = max((p for p in stats if p in merges), key=stats.get, default=None)")],
    "or position": [(CHOOSE, "pair = next((p for p in stats if p in merges), None)")],
    "only one merge": [("ids = merge(ids, pair, merges[pair])", "ids = merge(ids, pair, merges[pair])\n        break")],
}
DECODE_MISTAKES = {
    "errors='ignore'": [(JOIN, JOIN.replace('"replace"', '"ignore"'))],
    "decoded on its own": [(JOIN, 'return "".join(vocab[idx].decode("utf-8", errors="replace") for idx in ids)')],
    "second part first": [("vocab[idx] = vocab[a] + vocab[b]", "vocab[idx] = vocab[b] + vocab[a]")],
}
_MERGES = {(97, 98): 256, (256, 99): 257}


@pytest.mark.parametrize("fragment", ENCODE_MISTAKES)
def test_an_encoding_mistake_is_named(fragment):
    message = run_test_cell("test-encode-decode", "ex-encode-decode", ENCODE_MISTAKES[fragment])
    assert_diagnosed(message, fragment, bpe_mistakes.encode("abc", _MERGES))


@pytest.mark.parametrize("fragment", DECODE_MISTAKES)
def test_a_decoding_mistake_is_named(fragment):
    message = run_test_cell("test-encode-decode", "ex-encode-decode", DECODE_MISTAKES[fragment])
    assert_diagnosed(message, fragment, bpe_mistakes.decode([257], _MERGES))


def test_encode_decode_pass_and_every_mistake_is_covered():
    all_covered(ENCODE_MISTAKES, bpe_mistakes.encode("abc", _MERGES))
    all_covered(DECODE_MISTAKES, bpe_mistakes.decode([257], _MERGES))
    assert run_test_cell("test-encode-decode", "ex-encode-decode") is None


def test_unrelated_encode_and_decode_errors_get_only_the_first_difference():
    assert_generic(run_test_cell("test-encode-decode", "ex-encode-decode",
                                 [("ids = merge(ids, pair, merges[pair])", "ids = merge(ids, pair, merges[pair])[::-1]")]))
    assert_generic(run_test_cell("test-encode-decode", "ex-encode-decode", [(JOIN, JOIN.replace('"replace"', '"backslashreplace"'))]))


# --- The mistake catalogue: every entry fails a visible test, with a message that names it ------

COUNT_BODY = """    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts"""
MERGE_BODY = """    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            merged.append(idx)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged"""
RECOVER_SPLIT = """        ids = [byte_ids[b] for b in token]
        while len(ids) > 2:
            stats = get_stats(ids)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            ids = merge(ids, pair, merges[pair])
        merges[tuple(ids)] = rank"""
RAISE_MESSAGE = """raise ValueError(
                    f"the text contains the special token {special!r}, "
                    f"which allowed_special does not allow"
                )"""
RAISE_BLOCK = """    if allowed_special != "none":
        for special in special_tokens:
            if special not in allowed and special in text:
                """ + RAISE_MESSAGE + "\n"


def _w(exercise, edits, names, kind, what):
    test = "test-" + exercise.removeprefix("ex-")
    return Wrong(exercise, test, tuple(edits), names, kind, what)


CATALOGUE = [
    # Exercise 1: counting pairs
    *[_w("ex-get-stats", edits, description(fragment, bpe_mistakes.pair_counts([1, 2, 1])), "classic",
         description(fragment, bpe_mistakes.pair_counts([1, 2, 1])))
      for fragment, edits in COUNT_MISTAKES.items()],
    _w("ex-get-stats", [(COUNT_BODY, """    counts = {}
    previous = ids[0]
    for current in ids[1:]:
        pair = (previous, current)
        counts[pair] = counts.get(pair, 0) + 1
        previous = current
    return counts""")], "empty list", "sloppy", "reads ids[0] first: an empty list crashes"),
    _w("ex-get-stats", [(COUNT_BODY, """    counts = {}
    while len(ids) > 1:
        pair = (ids.pop(0), ids[0])
        counts[pair] = counts.get(pair, 0) + 1
    return counts""")], "modified its argument", "sloppy", "pops the ids off the caller's list"),
    # Exercise 2: merging a pair
    *[_w("ex-merge", edits, description(fragment, bpe_mistakes.merge_pair([1, 2], (1, 2), 3)), "classic",
         description(fragment, bpe_mistakes.merge_pair([1, 2], (1, 2), 3)))
      for fragment, edits in MERGE_MISTAKES.items()],
    _w("ex-merge", [("merged.append(idx)", "merged.append(256)")], "the new id was written as 256",
       "sloppy", "hard-codes the lecture's first new id, 256"),
    _w("ex-merge", [(MERGE_BODY, """    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            ids[i:i + 2] = [idx]
        i += 1
    return ids""")], "modified its argument", "sloppy", "merges in place, in the caller's list"),
    # Exercise 3: the training loop
    *[_w("ex-train", edits, description(fragment, bpe_mistakes.train_bpe("ab", 257)), "classic",
         description(fragment, bpe_mistakes.train_bpe("ab", 257)))
      for fragment, edits in TRAIN_MISTAKES.items()],
    _w("ex-train", [('list(text.encode("utf-8"))', "[ord(ch) for ch in text]")], "code points", "classic",
       "trains on code points instead of UTF-8 bytes"),
    _w("ex-train", [("range(256, vocab_size)", "range(256, 276)")], "fixed at the lecture's 20", "sloppy",
       "hard-codes the lecture's 20 merges"),
    _w("ex-train", [("        if not counts:\n            break\n", "")], "runs out of pairs", "sloppy",
       "forgets to stop when no pair is left (max of an empty dict)"),
    # Exercise 4: encode and decode
    _w("ex-encode-decode", ENCODE_MISTAKES["out of the order"], "out of the order", "classic",
       "applies the merge with the largest id first"),
    _w("ex-encode-decode", ENCODE_MISTAKES["whatever its count"], "out of the order", "classic",
       "applies the most frequent pair first"),
    _w("ex-encode-decode", ENCODE_MISTAKES["only one merge"], "only one merge", "classic",
       "stops after one merge"),
    _w("ex-encode-decode", DECODE_MISTAKES["errors='ignore'"], "errors='ignore'", "classic",
       "drops invalid bytes instead of replacing them"),
    _w("ex-encode-decode", DECODE_MISTAKES["decoded on its own"], "decoded on its own", "classic",
       "decodes each token on its own"),
    _w("ex-encode-decode", DECODE_MISTAKES["second part first"], "second part first", "classic",
       "joins a merged token's parts in the wrong order"),
    _w("ex-encode-decode", [(JOIN, JOIN.replace(', errors="replace"', ""))], "errors='replace'", "sloppy",
       "decodes strictly: invalid UTF-8 raises"),
    _w("ex-encode-decode", [("while len(ids) >= 2:", "while True:")], "encode ''", "sloppy",
       "takes min() of the pairs of an input too short to have any"),
    # Exercise 5: the regex tokenizer
    _w("ex-regex-tokenizer", [("regex.findall(pattern, text)]", '[text]]')], "across chunk boundaries",
       "classic", "trains on the whole text as one chunk"),
    _w("ex-regex-tokenizer", [("regex.findall(pattern, text)]", "dict.fromkeys(regex.findall(pattern, text))]")],
       "each distinct chunk was counted once", "classic", "counts each distinct chunk once"),
    _w("ex-regex-tokenizer", [("for chunk in regex.findall(pattern, text):\n        chunk_ids",
                               "for chunk in [text]:\n        chunk_ids")],
       "applied to the whole text", "classic", "encodes the whole text without splitting it"),
    _w("ex-regex-tokenizer", [("regex.findall(pattern, text)", "text.split()")], "str.split()", "classic",
       "splits on whitespace instead of with the pattern"),
    _w("ex-regex-tokenizer", [("regex.findall(pattern, text)", "regex.findall(GPT4_SPLIT_PATTERN, text)")],
       "pattern argument was ignored", "sloppy", "always uses GPT-4's pattern"),
    _w("ex-regex-tokenizer", [("range(256, vocab_size)", "range(256, 276)")], "fixed at the lecture's 20",
       "sloppy", "hard-codes the lecture's 20 merges"),
    _w("ex-regex-tokenizer", [("for chunk in regex.findall(pattern, text):\n        chunk_ids",
                               "for chunk in dict.fromkeys(regex.findall(pattern, text)):\n        chunk_ids")],
       "each distinct chunk was encoded once", "sloppy", "encodes a repeated chunk only once"),
    # Exercise 6: GPT-4's merges from tiktoken's ranks
    _w("ex-recover-merges", [(RECOVER_SPLIT, """        for i in range(1, len(token)):
            left, right = mergeable_ranks.get(token[:i]), mergeable_ranks.get(token[i:])
            if left is not None and right is not None and left < rank and right < rank:
                merges[(left, right)] = rank
                break""")], "first place where both halves are tokens", "classic",
       "splits each token at the first place where both halves are tokens"),
    _w("ex-recover-merges", [("byte_ids = [mergeable_ranks[bytes([b])] for b in range(256)]",
                              "byte_ids = list(range(256))")], "their own values as ids", "classic",
       "ignores the byte permutation"),
    _w("ex-recover-merges", [("ids = [byte_ids[b] for b in token]", "ids = list(token)")],
       "the token's bytes were used as ids", "classic", "runs BPE on raw byte values"),
    _w("ex-recover-merges", [("        if len(token) == 1:\n            continue\n", "")],
       "single-byte tokens were recorded as merges", "classic", "records the one-byte tokens as merges"),
    _w("ex-recover-merges", [("sorted(mergeable_ranks.items(), key=lambda item: item[1])",
                              "mergeable_ranks.items()")], "shuffled order", "sloppy",
       "relies on the dict being in rank order"),
    _w("ex-recover-merges", [("byte_ids = [mergeable_ranks[bytes([b])] for b in range(256)]",
                              "byte_ids = [mergeable_ranks.pop(bytes([b])) for b in range(256)]")],
       "modified its argument", "sloppy", "pops the one-byte tokens out of the caller's dict"),
    # Exercise 7: special tokens
    _w("ex-special-tokens", [("    if not allowed:\n        return encode_ordinary(text)\n",
                              "    return encode_ordinary(text)\n")], "encoded as ordinary text", "classic",
       "encodes allowed special tokens as text"),
    _w("ex-special-tokens", [("regex.split(pattern, text)", "regex.split(pattern, text, maxsplit=1)")],
       "only the first occurrence", "classic", "replaces only the first occurrence"),
    _w("ex-special-tokens", [("ids.extend(encode_ordinary(part))", "pass")], "ordinary text between",
       "classic", "drops the text between special tokens"),
    _w("ex-special-tokens", [(RAISE_BLOCK, "")], "instead of raising ValueError", "classic",
       "never raises for a special token that is not allowed"),
    _w("ex-special-tokens", [("allowed = {s: i for s, i in special_tokens.items() if s in allowed_special}",
                              "allowed = dict(special_tokens)")], "instead of raising ValueError", "classic",
       "treats a set of allowed tokens as 'all'"),
    _w("ex-special-tokens", [('    if allowed_special == "all":\n        allowed = dict(special_tokens)',
                              '    if allowed_special == "all":\n'
                              '        allowed = {"<|endoftext|>": special_tokens["<|endoftext|>"]}')],
       "'all': two kinds", "sloppy", "hard-codes <|endoftext|> as the only special token"),
    _w("ex-special-tokens", [(RAISE_MESSAGE, 'raise ValueError("special token not allowed")')],
       "does not name the special token", "sloppy", "raises an error that does not say which token"),
    _w("ex-special-tokens", [("allowed = {s: i for s, i in special_tokens.items() if s in allowed_special}",
                              "for s in [s for s in special_tokens if s not in allowed_special]:\n"
                              "            del special_tokens[s]\n        allowed = special_tokens")],
       "modified its argument", "sloppy", "deletes the refused tokens from the caller's dict"),
]


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}:{w.what[:40]}")
def test_catalogued_mistake_fails_a_visible_test_and_is_named(wrong):
    fails_visibly(CELLS, wrong)


def test_every_exercise_has_a_catalogue():
    catalogue_is_complete(CATALOGUE, EXERCISES)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_reference_passes_every_test_cell(exercise):
    assert run_test_cell("test-" + exercise.removeprefix("ex-"), exercise) is None
