"""lib.mistakes.bigram: Lesson 2's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
"""
import pytest

from conftest import dataset_text
from lesson_cells import LessonCells, all_covered, assert_diagnosed
from lib.mistakes import bigram as bigram_mistakes

LESSON_CELLS = LessonCells("02-bigram", helpers=["trigram-reference"])


@pytest.fixture(scope="module")
def names():
    """What the cells before the exercises define: the names (every 8th, to keep the tests fast)
    and the vocabulary."""
    dataset_text("names")
    from lib.makemore import Vocab, load_words

    words = load_words("names")
    return {"words": words[::8], "vocab": Vocab.from_words(words)}


def run_test_cell(names, test_id, answer_id, edits=()):
    """Run the test cell on the answer with `edits` (old, new) applied, after the lesson's context;
    the failure message, or None."""
    return LESSON_CELLS.run_test_cell(test_id, answer_id, edits, context=names)


SAMPLE = ["emma", "olivia", "ava"]

# --- Exercise 1: the smoothed probability table ---------------------------------------------------

COUNTED = "counts = torch.tensor(counts, dtype=torch.float32) + smoothing"
NORMALISED = "return counts / counts.sum(1, keepdim=True)"
TABLE_MISTAKES = {
    # One description for both: with '.' at both ends of every word, they give the same table.
    "without keepdim": [(NORMALISED, "return counts / counts.sum(1)")],
    "columns were normalised": [(NORMALISED, "return counts / counts.sum(0, keepdim=True)")],
    "smoothing was not added": [(COUNTED, "counts = torch.tensor(counts, dtype=torch.float32)")],
    "added after normalising": [(COUNTED, "counts = torch.tensor(counts, dtype=torch.float32)"),
                                (NORMALISED, "return counts / counts.sum(1, keepdim=True) + smoothing")],
    "without the '.'": [("ids = [0] + vocab.encode(w) + [0]", "ids = vocab.encode(w)")],
}


def test_every_table_mistake_is_covered(names):
    all_covered(TABLE_MISTAKES, bigram_mistakes.bigram_probabilities(SAMPLE, names["vocab"], 1))


@pytest.mark.parametrize("fragment", TABLE_MISTAKES)
def test_a_table_mistake_is_named(names, fragment):
    message = run_test_cell(names, "test-bigram-probs", "ex-bigram-probs", TABLE_MISTAKES[fragment])
    assert_diagnosed(message, fragment, bigram_mistakes.bigram_probabilities(SAMPLE, names["vocab"], 1))


def test_the_correct_table_passes(names):
    assert run_test_cell(names, "test-bigram-probs", "ex-bigram-probs") is None


def test_an_unrelated_table_error_gets_only_the_difference(names):
    message = run_test_cell(names, "test-bigram-probs", "ex-bigram-probs", [(COUNTED, COUNTED.replace("+ smoothing", "+ 2 * smoothing"))])
    assert "max difference" in message and "Likely mistake" not in message


def test_an_unknown_table_that_is_not_normalised_is_pointed_at_the_row_sums(names):
    message = run_test_cell(names, "test-bigram-probs", "ex-bigram-probs", [(NORMALISED, "return counts / counts.sum()")])
    assert "every row should sum to 1" in message and "Likely mistake" not in message


# --- Exercise 2: the average negative log-likelihood -----------------------------------------------

AVERAGED = "return -log_probs.mean().item()"
LOOKED_UP = "log_probs = probs[torch.tensor(firsts), torch.tensor(seconds)].double().log()"
NLL_MISTAKES = {
    "minus sign": [(AVERAGED, "return log_probs.mean().item()")],
    "summed, not averaged": [(AVERAGED, "return -log_probs.sum().item()")],
    "number of words": [(AVERAGED, "return -log_probs.sum().item() / len(words)")],
    "ending each word": [("ids = [0] + vocab.encode(w) + [0]", "ids = [0] + vocab.encode(w)")],
    "[next, current]": [(LOOKED_UP, LOOKED_UP.replace("torch.tensor(firsts), torch.tensor(seconds)",
                                                      "torch.tensor(seconds), torch.tensor(firsts)"))],
    "base 10": [(LOOKED_UP, LOOKED_UP.replace(".log()", ".log10()"))],
}


def _nll_mistakes(names):
    from lib.makemore import bigram_counts, bigram_probs

    table = bigram_probs(bigram_counts(names["words"], names["vocab"]), smoothing=1)
    return bigram_mistakes.average_nll(SAMPLE, table, names["vocab"])


def test_every_nll_mistake_is_covered(names):
    all_covered(NLL_MISTAKES, _nll_mistakes(names))


@pytest.mark.parametrize("fragment", NLL_MISTAKES)
def test_an_nll_mistake_is_named(names, fragment):
    message = run_test_cell(names, "test-average-nll", "ex-average-nll", NLL_MISTAKES[fragment])
    assert_diagnosed(message, fragment, _nll_mistakes(names))


def test_the_correct_nll_passes(names):
    assert run_test_cell(names, "test-average-nll", "ex-average-nll") is None


def test_an_unrelated_nll_error_gets_only_the_difference(names):
    message = run_test_cell(names, "test-average-nll", "ex-average-nll", [(AVERAGED, "return -log_probs[1:].mean().item()")])
    assert "max difference" in message and "Likely mistake" not in message


# --- Exercise 3: the trigram model -----------------------------------------------------------------

TRIGRAM_NORMALISED = "return counts / counts.sum(2, keepdim=True)"
TRIGRAM_IDS = "ids = [0, 0] + vocab.encode(w) + [0]"
TRIGRAM_NLL = "return -model[a, b, c].double().log().mean().item()"
TRIGRAM_MISTAKES = {
    "middle index": [(TRIGRAM_NORMALISED, "return counts / counts.sum(1, keepdim=True)")],
    "without keepdim": [(TRIGRAM_NORMALISED, "return counts / counts.sum(2)")],
    "padded with one '.' in front; it needs two, so": [(TRIGRAM_IDS, "ids = [0] + vocab.encode(w) + [0]")],
    "'.' after each word": [(TRIGRAM_IDS, "ids = [0, 0] + vocab.encode(w)")],
    "swapped": [("counts.index_put_((a, b, c)", "counts.index_put_((b, a, c)")],
}
# The NLL on the reference table, with the table right: trigram_nll makes the mistake alone.
ONE_DOT_NLL = """a, b, c = [], [], []
    for w in words:
        ids = [0] + vocab.encode(w) + [0]
        a += ids[:-2]
        b += ids[1:-1]
        c += ids[2:]
    return -model[torch.tensor(a), torch.tensor(b), torch.tensor(c)].double().log().mean().item()"""
TRIGRAM_NLL_MISTAKES = {
    "minus sign": [(TRIGRAM_NLL, "return model[a, b, c].double().log().mean().item()")],
    "summed, not averaged": [(TRIGRAM_NLL, "return -model[a, b, c].double().log().sum().item()")],
    "padded with one '.' in front; it needs two": [("a, b, c = trigram_ids(words)\n    return -model", "return -model"),
                                                   (TRIGRAM_NLL, ONE_DOT_NLL)],
    "[c, b, a]": [(TRIGRAM_NLL, "return -model[c, b, a].double().log().mean().item()")],
}


def test_every_trigram_mistake_is_covered(names):
    all_covered(TRIGRAM_MISTAKES, bigram_mistakes.trigram_table(SAMPLE, names["vocab"]))
    all_covered(TRIGRAM_NLL_MISTAKES, bigram_mistakes.trigram_nll(SAMPLE, torch_ones_table(), names["vocab"]))


def torch_ones_table():
    import torch

    return torch.full((27, 27, 27), 1 / 27)


@pytest.mark.parametrize("fragment", TRIGRAM_MISTAKES)
def test_a_trigram_table_mistake_is_named(names, fragment):
    message = run_test_cell(names, "test-trigram", "ex-trigram", TRIGRAM_MISTAKES[fragment])
    assert_diagnosed(message, fragment, bigram_mistakes.trigram_table(SAMPLE, names["vocab"]))


@pytest.mark.parametrize("fragment", TRIGRAM_NLL_MISTAKES)
def test_a_trigram_nll_mistake_is_named(names, fragment):
    message = run_test_cell(names, "test-trigram", "ex-trigram", TRIGRAM_NLL_MISTAKES[fragment])
    assert_diagnosed(message, fragment, bigram_mistakes.trigram_nll(SAMPLE, torch_ones_table(), names["vocab"]))


def test_the_correct_trigram_model_passes(names):
    assert run_test_cell(names, "test-trigram", "ex-trigram") is None


def test_an_unrelated_trigram_error_gets_only_the_difference(names):
    message = run_test_cell(names, "test-trigram", "ex-trigram",
                            [("torch.ones((size, size, size)", "2 * torch.ones((size, size, size)")])
    assert "max difference" in message and "Likely mistake" not in message
