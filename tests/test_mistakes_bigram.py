"""lib.mistakes.bigram: Lesson 2's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
The catalogue (CATALOGUE) runs each wrong answer through the *visible* tests only, as the
student edition holds them: each must fail there, with a message that names the mistake.
"""
import pytest

from conftest import dataset_text
from lesson_cells import LessonCells, Wrong, all_covered, assert_diagnosed, catalogue_is_complete, fails_visibly
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


def context_of(names):
    """The lesson's context for one run: a fresh copy of the word list, which a wrong answer
    may change in place."""
    return lambda namespace: namespace.update(words=list(names["words"]), vocab=names["vocab"])


def run_test_cell(names, test_id, answer_id, edits=()):
    """Run the test cell on the answer with `edits` (old, new) applied, after the lesson's context;
    the failure message, or None."""
    return LESSON_CELLS.run_test_cell(test_id, answer_id, edits, context=context_of(names))


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
    "`smoothing` argument was ignored": [(COUNTED, COUNTED.replace("+ smoothing", "+ 1"))],
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
    "divided by 228146": [(AVERAGED, "return -log_probs.sum().item() / 228146")],
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


# --- The catalogue: every wrong answer fails a visible test, which names it ------------------------

COUNT_IDS = "ids = [0] + vocab.encode(w) + [0]"
COUNT_ADD = "counts[a][b] += 1"
DRAW = """ix = torch.multinomial(
                probs[ix], num_samples=1, replacement=True, generator=generator
            ).item()"""
APPEND_THEN_STOP = """out.append(vocab.itos[ix])
            if ix == 0:
                break"""
NORMALISED_ROWS = "probs = counts / counts.sum(1, keepdim=True)"
PICKED = "nll = -probs[torch.arange(len(xs)), ys].log().mean()"
PENALISED = "return nll + reg * (W**2).mean()"
ONE_HOT = "xenc = F.one_hot(xs, num_classes=W.shape[0]).float()"
INIT = "W = torch.randn((vocab_size, vocab_size), generator=generator, requires_grad=True)"

CATALOGUE = [
    # ex-bigram-counts
    Wrong("ex-bigram-counts", "test-bigram-counts", ((COUNT_IDS, "ids = vocab.encode(w)"),),
          "without the '.' before and after", "classic", "no '.' around the words"),
    Wrong("ex-bigram-counts", "test-bigram-counts", ((COUNT_IDS, "ids = [0] + vocab.encode(w)"),),
          "'.' after each word is missing", "classic", "no '.' after the words"),
    Wrong("ex-bigram-counts", "test-bigram-counts", ((COUNT_IDS, "ids = vocab.encode(w) + [0]"),),
          "'.' before each word is missing", "classic", "no '.' before the words"),
    Wrong("ex-bigram-counts", "test-bigram-counts", ((COUNT_ADD, "counts[b][a] += 1"),),
          "transposed", "classic", "counted at [second, first]"),
    Wrong("ex-bigram-counts", "test-bigram-counts", ((COUNT_ADD, "counts[a][b] = 1"),),
          "set to 1", "classic", "a cell set to 1 instead of incremented"),
    Wrong("ex-bigram-counts", "test-bigram-counts", (("size = len(vocab)", "size = 27"),),
          "do not type 27", "sloppy", "the size 27 typed in"),
    Wrong("ex-bigram-counts", "test-bigram-counts",
          (("def bigram_count_matrix(words, vocab):", "def bigram_count_matrix(word_list, vocab):"),),
          "count the `words` argument", "sloppy", "the notebook's words counted, not the argument"),
    Wrong("ex-bigram-counts", "test-bigram-counts",
          (("size = len(vocab)", "words.sort()\n    size = len(vocab)"),),
          "changed the list of words", "sloppy", "the list of words sorted in place"),
    # ex-sample-names
    Wrong("ex-sample-names", "test-sample-names", (("probs[ix], num_samples", "probs[:, ix], num_samples"),),
          "column ix", "classic", "drawn from a column of the table"),
    Wrong("ex-sample-names", "test-sample-names", ((DRAW, "ix = probs[ix].argmax().item()"),),
          "argmax", "classic", "the most likely character instead of a draw"),
    Wrong("ex-sample-names", "test-sample-names",
          ((APPEND_THEN_STOP, "if ix == 0:\n                break\n            out.append(vocab.itos[ix])"),),
          "closing '.'", "classic", "the closing '.' left out"),
    Wrong("ex-sample-names", "test-sample-names", (('names.append("".join(out))', "names.append(out)"),),
          "list of strings", "classic", "each name a list of characters"),
    Wrong("ex-sample-names", "test-sample-names", ((", generator=generator", ""),),
          "generator=generator", "sloppy", "the generator not passed to torch.multinomial"),
    Wrong("ex-sample-names", "test-sample-names",
          (("names = []", "generator = torch.Generator().manual_seed(2147483647)\n    names = []"),),
          "do not make your own", "sloppy", "a generator of its own with the lecture's seed"),
    Wrong("ex-sample-names", "test-sample-names", (("for _ in range(n):", "for _ in range(10):"),),
          "asked for 5 names", "sloppy", "10 names typed in"),
    # ex-bigram-probs
    Wrong("ex-bigram-probs", "test-bigram-probs", ((NORMALISED, "return counts / counts.sum(1)"),),
          "without keepdim=True", "classic", "row sums without keepdim"),
    Wrong("ex-bigram-probs", "test-bigram-probs", ((NORMALISED, "return counts / counts.sum(0, keepdim=True)"),),
          "the columns were normalised", "classic", "columns normalised"),
    Wrong("ex-bigram-probs", "test-bigram-probs", ((COUNTED, "counts = torch.tensor(counts, dtype=torch.float32)"),),
          "smoothing was not added", "classic", "no smoothing"),
    Wrong("ex-bigram-probs", "test-bigram-probs", tuple(TABLE_MISTAKES["added after normalising"]),
          "added after normalising", "classic", "smoothing added to the probabilities"),
    Wrong("ex-bigram-probs", "test-bigram-probs", tuple(TABLE_MISTAKES["without the '.'"]),
          "without the '.'", "classic", "no '.' around the words"),
    Wrong("ex-bigram-probs", "test-bigram-probs", tuple(TABLE_MISTAKES["`smoothing` argument was ignored"]),
          "`smoothing` argument was ignored", "sloppy", "smoothing 1 typed in"),
    Wrong("ex-bigram-probs", "test-bigram-probs",
          (("size = len(vocab)", "words.sort()\n    size = len(vocab)"),),
          "changed the list of words", "sloppy", "the list of words sorted in place"),
    # ex-average-nll
    *[Wrong("ex-average-nll", "test-average-nll", tuple(NLL_MISTAKES[f]), f, "classic", f)
      for f in ("minus sign", "summed, not averaged", "number of words", "ending each word",
                "[next, current]", "base 10")],
    Wrong("ex-average-nll", "test-average-nll", tuple(NLL_MISTAKES["divided by 228146"]),
          "divided by 228146", "sloppy", "the lecture's number of bigrams typed in"),
    Wrong("ex-average-nll", "test-average-nll",
          ((LOOKED_UP, "probs[probs == 0] = 1e-10\n    " + LOOKED_UP),),
          "changed its inputs", "sloppy", "zeros of the table replaced in place"),
    # ex-neural-loss
    Wrong("ex-neural-loss", "test-neural-loss", ((PENALISED, "return nll"),),
          "regularisation term reg * (W**2).mean() is missing", "classic", "no regularisation"),
    Wrong("ex-neural-loss", "test-neural-loss", ((PENALISED, "return nll + reg * (W**2).sum()"),),
          "sums W**2", "classic", "regularisation with sum, not mean"),
    Wrong("ex-neural-loss", "test-neural-loss", ((PICKED, PICKED.replace("-probs", "probs")),),
          "minus sign", "classic", "no minus sign"),
    Wrong("ex-neural-loss", "test-neural-loss",
          ((NORMALISED_ROWS, "probs = counts / counts.sum(0, keepdim=True)"),),
          "normalised the columns", "classic", "softmax over dim 0"),
    Wrong("ex-neural-loss", "test-neural-loss", ((NORMALISED_ROWS, "probs = counts / counts.sum(1)"),),
          "row sums lost their dimension", "classic", "row sums without keepdim"),
    Wrong("ex-neural-loss", "test-neural-loss", ((PICKED, "nll = -probs.log().mean()"),),
          "every character were averaged", "classic", "all log-probabilities averaged"),
    Wrong("ex-neural-loss", "test-neural-loss", ((PICKED, "nll = -probs[xs, ys].log().mean()"),),
          "probs[xs, ys]", "classic", "probabilities picked at [xs, ys]"),
    Wrong("ex-neural-loss", "test-neural-loss", ((ONE_HOT, ONE_HOT.replace("W.shape[0]", "27")),),
          "one-hot width", "sloppy", "27 classes typed in"),
    Wrong("ex-neural-loss", "test-neural-loss", ((ONE_HOT, "xenc = F.one_hot(xs).float()"),),
          "one-hot width", "sloppy", "one_hot without num_classes"),
    Wrong("ex-neural-loss", "test-neural-loss", ((PENALISED, "return nll + 0.01 * (W**2).mean()"),),
          "`reg` argument was ignored", "sloppy", "reg 0.01 typed in"),
    Wrong("ex-neural-loss", "test-neural-loss", ((PENALISED, "return (nll + reg * (W**2).mean()).item()"),),
          "carries the graph", "sloppy", "a number returned, not the loss tensor"),
    # ex-neural-train
    Wrong("ex-neural-train", "test-neural-train", (("        W.grad = None\n", ""),),
          "not reset", "classic", "gradients not reset"),
    Wrong("ex-neural-train", "test-neural-train", (("W.data += -lr * W.grad", "W.data += lr * W.grad"),),
          "climbs the gradient", "classic", "a step up the gradient"),
    Wrong("ex-neural-train", "test-neural-train",
          ((INIT, "W = torch.zeros((vocab_size, vocab_size), requires_grad=True)"),),
          "started at zeros", "classic", "W started at zeros"),
    Wrong("ex-neural-train", "test-neural-train", (("for _ in range(steps):", "for _ in range(steps - 1):"),),
          "one step too few", "classic", "one step too few"),
    Wrong("ex-neural-train", "test-neural-train", ((INIT, INIT.replace("generator=generator, ", "")),),
          "draw the initial W", "sloppy", "the initial W not drawn from the generator"),
    Wrong("ex-neural-train", "test-neural-train", ((INIT, INIT.replace("(vocab_size, vocab_size)", "(27, 27)")),),
          "do not type 27", "sloppy", "the size 27 typed in"),
    Wrong("ex-neural-train", "test-neural-train", (("W.data += -lr * W.grad", "W.data += -50 * W.grad"),),
          "`lr` argument was ignored", "sloppy", "lr 50 typed in"),
    Wrong("ex-neural-train", "test-neural-train",
          (("bigram_nll_loss(W, xs, ys, reg)", "bigram_nll_loss(W, xs, ys)"),),
          "`reg` argument was ignored", "sloppy", "reg not passed on"),
    # ex-trigram
    *[Wrong("ex-trigram", "test-trigram", tuple(TRIGRAM_MISTAKES[f]), f, "classic", f) for f in TRIGRAM_MISTAKES],
    *[Wrong("ex-trigram", "test-trigram", tuple(TRIGRAM_NLL_MISTAKES[f]), f, "classic", f)
      for f in TRIGRAM_NLL_MISTAKES],
    Wrong("ex-trigram", "test-trigram",
          (("def trigram_nll(model, words):", "def trigram_nll(model, eval_words):"),),
          "notebook's `words`", "sloppy", "the NLL of the notebook's words, not the argument"),
    Wrong("ex-trigram", "test-trigram",
          (("size = len(vocab)\n    counts", "words.sort()\n    size = len(vocab)\n    counts"),),
          "changed the list of words", "sloppy", "the list of words sorted in place"),
]
EXERCISES = ["ex-bigram-counts", "ex-sample-names", "ex-bigram-probs", "ex-average-nll",
             "ex-neural-loss", "ex-neural-train", "ex-trigram"]


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}:{w.what[:40]}")
def test_catalogued_mistake_fails_a_visible_test_and_is_named(names, wrong):
    fails_visibly(LESSON_CELLS, wrong, context=context_of(names))


def test_every_exercise_has_a_catalogue():
    catalogue_is_complete(CATALOGUE, EXERCISES)


def test_the_catalogue_covers_every_graded_exercise_of_the_lesson():
    assert set(EXERCISES) == set(LESSON_CELLS.answers)
