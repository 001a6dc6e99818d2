"""lib.mistakes.mlp: Lesson 3's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
"""
import pytest
import torch

from conftest import dataset_text
from lesson_cells import LessonCells, all_covered, assert_diagnosed
from lib.mistakes import mlp as mlp_mistakes

LESSON_CELLS = LessonCells("03-mlp", helpers=["mlp-reference"])


@pytest.fixture(scope="module")
def context():
    """What the cells before the exercises define: names, vocabulary, the first five names' examples."""
    dataset_text("names")
    from lib.makemore import Vocab, load_words
    from lib.makemore.dataset import build_dataset

    words = load_words("names")
    vocab = Vocab.from_words(words)
    X5, Y5 = build_dataset(words[:5], vocab, 3)
    return {"words": words, "vocab": vocab, "block_size": 3, "X5": X5, "Y5": Y5}


def run_test_cell(context, test_id, answer_id, edits=()):
    """Run the test cell on the answer with `edits` (old, new) applied, after the lesson's context;
    the failure message, or None."""
    return LESSON_CELLS.run_test_cell(test_id, answer_id, edits, context=context)


# --- Exercise 1: build the dataset ----------------------------------------------------------------

SLIDE = "            context = context[1:] + [ix]    # slide the window one character to the right\n"
DATASET_MISTAKES = {
    "slid before the example was recorded": [
        (SLIDE, ""), ("            inputs.append(context)\n", "            context = context[1:] + [ix]\n            inputs.append(context)\n")],
    "not reset": [("    for word in words:\n        context = [0] * block_size          # start of the word: all '.'\n",
                   "    context = [0] * block_size\n    for word in words:\n")],
    "slides the wrong way": [(SLIDE, "            context = [ix] + context[:-1]\n")],
    "'.' after each word is missing": [('for ch in word + ".":', "for ch in word:")],
}


def _dataset_mistakes(context):
    return mlp_mistakes.build_dataset(["emma", "ava"], context["vocab"], 3)


def test_every_dataset_mistake_is_covered(context):
    all_covered(DATASET_MISTAKES, _dataset_mistakes(context))


@pytest.mark.parametrize("fragment", DATASET_MISTAKES)
def test_a_dataset_mistake_is_named(context, fragment):
    message = run_test_cell(context, "test-build-dataset", "ex-build-dataset", DATASET_MISTAKES[fragment])
    assert_diagnosed(message, fragment, _dataset_mistakes(context))


def test_the_correct_dataset_passes(context):
    assert run_test_cell(context, "test-build-dataset", "ex-build-dataset") is None


def test_an_unrelated_dataset_error_gets_only_the_difference(context):
    message = run_test_cell(context, "test-build-dataset", "ex-build-dataset",
                            [("targets.append(ix)", "targets.append((ix + 1) % 27)")])
    assert "max difference" in message and "Likely mistake" not in message


# --- Exercise 2: the forward pass and the loss ------------------------------------------------------

HIDDEN = "h = torch.tanh(emb.view(X.shape[0], -1) @ W1 + b1)"
LOSS = "return F.cross_entropy(mlp_forward(X, *params), Y)"
FORWARD_MISTAKES = {
    "no tanh": [(HIDDEN, "h = emb.view(X.shape[0], -1) @ W1 + b1")],
    "flattened in the wrong order": [(HIDDEN, "h = torch.tanh(emb.transpose(1, 2).reshape(X.shape[0], -1) @ W1 + b1)")],
    "b1 was added after the tanh": [(HIDDEN, "h = torch.tanh(emb.view(X.shape[0], -1) @ W1) + b1")],
    "b2 is missing": [("return h @ W2 + b2", "return h @ W2")],
    "summed over the batch": [(LOSS, 'return F.cross_entropy(mlp_forward(X, *params), Y, reduction="sum")')],
    "softmax probabilities": [(LOSS, "return F.cross_entropy(mlp_forward(X, *params).softmax(1), Y)")],
}


def _forward_mistakes():
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(shape, generator=gen, dtype=torch.float64) for shape in [(27, 2), (6, 5), (5,), (5, 27), (27,)]]
    return mlp_mistakes.mlp_forward(torch.randint(0, 27, (4, 3), generator=gen), torch.randint(0, 27, (4,), generator=gen), params)


def test_every_forward_mistake_is_covered():
    all_covered(FORWARD_MISTAKES, _forward_mistakes())


@pytest.mark.parametrize("fragment", FORWARD_MISTAKES)
def test_a_forward_mistake_is_named(context, fragment):
    message = run_test_cell(context, "test-mlp-forward", "ex-mlp-forward", FORWARD_MISTAKES[fragment])
    assert_diagnosed(message, fragment, _forward_mistakes())


def test_the_correct_forward_pass_passes(context):
    assert run_test_cell(context, "test-mlp-forward", "ex-mlp-forward") is None


def test_an_unrelated_forward_error_gets_only_the_difference(context):
    message = run_test_cell(context, "test-mlp-forward", "ex-mlp-forward", [("return h @ W2 + b2", "return h @ W2 + 2 * b2")])
    assert "max difference" in message and "Likely mistake" not in message
