"""lib.mistakes.bpe: Lesson 8's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
"""
import pytest

from conftest import dataset_text
from lesson_cells import LessonCells, all_covered, description
from lib.mistakes import bpe as bpe_mistakes

run_test_cell = LessonCells("08-tokenizer", helpers=["exact-check-helper"]).run_test_cell


@pytest.fixture(scope="module", autouse=True)
def datasets():
    for name in ["taylorswift", "tinyshakespeare"]:
        dataset_text(name)


# On the first input of the counting test, [1, 2, 3, 1, 2], these two give the same dict, and
# the message names both.
COINCIDING = {"recorded once": "last pair is missing", "last pair is missing": "recorded once"}


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


def test_merging_passes_and_every_mistake_is_covered():
    all_covered(MERGE_MISTAKES, bpe_mistakes.merge_pair([1, 2], (1, 2), 3))
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
    all_covered(TRAIN_MISTAKES, bpe_mistakes.train_bpe("ab", 257))
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
