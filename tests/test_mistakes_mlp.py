"""lib.mistakes.mlp: Lesson 3's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
The catalogue (CATALOGUE) lists, per graded exercise, wrong answers that the *visible* tests
must fail with a message naming the mistake.
"""
import pytest
import torch

from conftest import dataset_text
from lesson_cells import LessonCells, Wrong, all_covered, assert_diagnosed, catalogue_is_complete, fails_visibly
from lib.mistakes import mlp as mlp_mistakes

LESSON_CELLS = LessonCells("03-mlp", helpers=["mlp-reference", "training-reference"])
CELLS = LESSON_CELLS
EXERCISES = ["ex-build-dataset", "ex-mlp-forward", "ex-train-loop", "ex-lr-sweep", "ex-split", "ex-sample"]


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

SLIDE = "            context = context[1:] + [ix]  # slide the window one character to the right\n"
RESET = "    for word in words:\n        context = [0] * block_size  # start of the word: all '.'\n"
DATASET_MISTAKES = {
    "slid before the example was recorded": [
        (SLIDE, ""), ("            inputs.append(context)\n", "            context = context[1:] + [ix]\n            inputs.append(context)\n")],
    "not reset": [(RESET, "    context = [0] * block_size\n    for word in words:\n")],
    "slides the wrong way": [(SLIDE, "            context = [ix] + context[:-1]\n")],
    "'.' after each word is missing": [('for ch in word + ".":', "for ch in word:")],
    "every row of a word is the same list": [(SLIDE, "            context.append(ix)\n            del context[0]\n")],
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


# --- Exercises 3 to 6: the reference passes every test, hidden ones included -------------------------

@pytest.mark.parametrize("exercise", EXERCISES[2:])
def test_the_correct_answer_passes(context, exercise):
    assert run_test_cell(context, exercise.replace("ex-", "test-", 1), exercise) is None


# --- The catalogue: every entry fails a visible test, with a message that names it -------------------

DRAW = "        ix = torch.randint(0, len(X), (batch_size,), generator=generator)\n"
FORWARD_ON_BATCH = ("        h = torch.tanh(C[X[ix]].view(batch_size, -1) @ W1 + b1)\n"
                    "        loss = F.cross_entropy(h @ W2 + b2, Y[ix])\n")
ZERO_GRAD = "        for p in params:\n            p.grad = None\n"
COPY = "params = [p.detach().clone().requires_grad_() for p in params]"
SMOOTHING = ("    smooth = torch.tensor(losses, dtype=torch.float64).view(-1, window).mean(1)\n"
             "    best = exponents.view(-1, window).mean(1)[smooth.argmin()].item()\n")
CUTS = "n1, n2 = int(0.8 * len(shuffled)), int(0.9 * len(shuffled))"
SPLIT_BODY = ("    Xtr, Ytr = build_dataset(shuffled[:n1], vocab, block_size)\n"
              "    Xdev, Ydev = build_dataset(shuffled[n1:n2], vocab, block_size)\n"
              "    Xte, Yte = build_dataset(shuffled[n2:], vocab, block_size)\n"
              "    return Xtr, Ytr, Xdev, Ydev, Xte, Yte\n")
DRAW_NAME = "ix = torch.multinomial(probs, num_samples=1, generator=generator).item()"


def _wrong(exercise, edits, names, kind, what):
    return Wrong(exercise, exercise.replace("ex-", "test-", 1), tuple(edits), names, kind, what)


CATALOGUE = [
    # Exercise 1: the dataset
    _wrong("ex-build-dataset", DATASET_MISTAKES["slid before the example was recorded"],
           "already contains the character", "classic", "window slid before the example is recorded"),
    _wrong("ex-build-dataset", DATASET_MISTAKES["not reset"], "not reset", "classic",
           "context carried over from the previous word"),
    _wrong("ex-build-dataset", DATASET_MISTAKES["slides the wrong way"], "slides the wrong way", "classic",
           "newest character pushed in on the left"),
    _wrong("ex-build-dataset", DATASET_MISTAKES["'.' after each word is missing"], "one short per word",
           "classic", "no example for the '.' that ends a word"),
    _wrong("ex-build-dataset", [("context = [0] * block_size  #", "context = [0, 0, 0]  #")],
           "context length is typed in", "sloppy", "the lecture's block size 3 typed in"),
    _wrong("ex-build-dataset", DATASET_MISTAKES["every row of a word is the same list"],
           "every row of a word is the same list", "sloppy", "one context list appended, then changed in place"),
    _wrong("ex-build-dataset", [("X = torch.tensor(inputs, dtype=torch.long)", "X = torch.tensor(inputs, dtype=torch.float)")],
           "indices must be torch.long", "sloppy", "X built as floats, unusable as indices"),
    # Exercise 2: the forward pass
    _wrong("ex-mlp-forward", FORWARD_MISTAKES["no tanh"], "no tanh", "classic", "hidden layer without tanh"),
    _wrong("ex-mlp-forward", FORWARD_MISTAKES["flattened in the wrong order"], "flattened in the wrong order",
           "classic", "embeddings flattened by dimension, not by position"),
    _wrong("ex-mlp-forward", FORWARD_MISTAKES["b1 was added after the tanh"], "added after the tanh", "classic",
           "hidden bias added after the tanh"),
    _wrong("ex-mlp-forward", FORWARD_MISTAKES["b2 is missing"], "b2 is missing", "classic", "output bias forgotten"),
    _wrong("ex-mlp-forward", FORWARD_MISTAKES["summed over the batch"], "summed over the batch", "classic",
           "loss summed instead of averaged"),
    _wrong("ex-mlp-forward", FORWARD_MISTAKES["softmax probabilities"], "softmax probabilities", "classic",
           "cross_entropy given probabilities instead of logits"),
    _wrong("ex-mlp-forward", [(HIDDEN, "h = torch.tanh(emb.view(-1, 6) @ W1 + b1)")], "a size is typed in",
           "sloppy", "view(-1, 6): the lecture's 3 x 2 typed in"),
    _wrong("ex-mlp-forward", [(HIDDEN, "h = torch.tanh(emb.view(32, -1) @ W1 + b1)")], "a size is typed in",
           "sloppy", "view(32, -1): the lecture's batch size typed in"),
    # Exercise 3: the training loop
    _wrong("ex-train-loop", [(ZERO_GRAD, "")], "never reset", "classic", "gradients accumulate across steps"),
    _wrong("ex-train-loop", [("p.data += -rate * p.grad", "p.data += rate * p.grad")], "climbs the loss",
           "classic", "update along the gradient"),
    _wrong("ex-train-loop", [("step < decay_at", "step <= decay_at")], "one step late", "classic",
           "decay one step late"),
    _wrong("ex-train-loop", [("rate = lr if step < decay_at else lr_after", "rate = lr")], "never decays",
           "classic", "learning rate never decays"),
    _wrong("ex-train-loop", [(DRAW + FORWARD_ON_BATCH, "        h = torch.tanh(C[X].view(len(X), -1) @ W1 + b1)\n"
                              "        loss = F.cross_entropy(h @ W2 + b2, Y)\n")],
           "whole dataset", "classic", "full batch instead of minibatches"),
    _wrong("ex-train-loop", [("(batch_size,)", "(32,)"), ("view(batch_size, -1)", "view(32, -1)")],
           "batch size is typed in", "sloppy", "the lecture's batch size 32 typed in"),
    _wrong("ex-train-loop", [(COPY, "params = [p.requires_grad_() for p in params]")],
           "changed the tensors of `params`", "sloppy", "the caller's parameters trained in place"),
    _wrong("ex-train-loop", [(", generator=generator)", ")")], "seeded alike gave different losses", "sloppy",
           "minibatches drawn without the generator"),
    # Exercise 4: the learning-rate sweep
    _wrong("ex-lr-sweep", [("rate = 10 ** exponents[step].item()", "rate = exponents[step].item()")],
           "exponent was used as the learning rate", "classic", "rate = exponent"),
    _wrong("ex-lr-sweep", [("rate = 10 ** exponents[step].item()", "rate = exponents[step].exp().item()")],
           "e ** exponent", "classic", "natural exponential instead of 10 **"),
    _wrong("ex-lr-sweep", [("return losses, 10**best", "return losses, best")],
           "chosen rate is the exponent itself", "classic", "exponent returned instead of the rate"),
    _wrong("ex-lr-sweep", [(SMOOTHING, "    best = exponents[torch.tensor(losses).argmin()].item()\n")],
           "single step with the lowest loss", "classic", "rate chosen from one noisy step"),
    _wrong("ex-lr-sweep", [(".view(-1, window)", ".view(-1, 20)")], "window is typed in", "sloppy",
           "the lecture's window of 20 typed in"),
    _wrong("ex-lr-sweep", [(COPY, "params = [p.requires_grad_() for p in params]")],
           "changed the tensors of `params`", "sloppy", "the caller's parameters trained in place"),
    # Exercise 5: the split
    _wrong("ex-split", [("    random.Random(seed).shuffle(shuffled)\n", "")], "not shuffled", "classic",
           "words cut in their file order"),
    _wrong("ex-split", [(CUTS + "\n" + SPLIT_BODY,
                         "X, Y = build_dataset(shuffled, vocab, block_size)\n"
                         "    n1, n2 = int(0.8 * len(Y)), int(0.9 * len(Y))\n"
                         "    return X[:n1], Y[:n1], X[n1:n2], Y[n1:n2], X[n2:], Y[n2:]\n")],
           "examples were cut 80/10/10", "classic", "examples split instead of words"),
    _wrong("ex-split", [("return Xtr, Ytr, Xdev, Ydev, Xte, Yte", "return Xtr, Ytr, Xte, Yte, Xdev, Ydev")],
           "dev and test are swapped", "classic", "dev and test swapped"),
    _wrong("ex-split", [(CUTS, "n1, n2 = 25626, 28829")], "cut points are typed in", "sloppy",
           "the lecture's cut points typed in"),
    _wrong("ex-split", [("shuffled = list(words)", "shuffled = words")], "shuffled the caller's list",
           "sloppy", "the caller's list shuffled in place"),
    _wrong("ex-split", [("random.Random(seed).shuffle(shuffled)", "random.shuffle(shuffled)")],
           "same seed gave different splits", "sloppy", "unseeded shuffle"),
    # Exercise 6: the sampler
    _wrong("ex-sample", [(DRAW_NAME, "ix = probs.argmax().item()")], "most likely one (argmax)", "classic",
           "greedy decoding instead of sampling"),
    _wrong("ex-sample", [("names.append(vocab.decode(out))", "names.append(vocab.decode(out[:-1]))")],
           "closing '.' was dropped", "classic", "the final '.' dropped"),
    _wrong("ex-sample", [("    for _ in range(n):\n        context, out = [0] * model.block_size, []\n",
                          "    context = [0] * model.block_size\n    for _ in range(n):\n        out = []\n")],
           "not reset", "classic", "context carried over from the previous name"),
    _wrong("ex-sample", [("dim=1", "dim=0")], "dimension 0", "classic", "softmax over the batch dimension"),
    _wrong("ex-sample", [("context = context[1:] + [ix]", "context = [ix] + context[:-1]")],
           "slides the wrong way", "classic", "newest character pushed in on the left"),
    _wrong("ex-sample", [("[0] * model.block_size", "[0] * 3")], "context length is typed in", "sloppy",
           "the lecture's block size 3 typed in"),
    _wrong("ex-sample", [(", generator=generator).item()", ").item()")], "seeded alike gave different names",
           "sloppy", "names drawn without the generator"),
]


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}:{w.what[:40]}")
def test_catalogued_mistake_fails_a_visible_test_and_is_named(context, wrong):
    fails_visibly(CELLS, wrong, context=context)


def test_every_exercise_has_a_catalogue():
    catalogue_is_complete(CATALOGUE, EXERCISES)
