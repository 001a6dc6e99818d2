"""lib.mistakes.wavenet: Lesson 6's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
The notebook state the test cells read (contexts, a model, the activation `h`) is rebuilt
from a small list of names, the way the lesson builds it from the whole dataset. The
catalogue (CATALOGUE) lists, per exercise, the wrong answers the *visible* tests must fail
and name.
"""
import string

import pytest
import torch

from lesson_cells import LessonCells, Wrong, assert_diagnosed, catalogue_is_complete, descriptions, fails_visibly
from lib.makemore import Vocab, build_dataset
from lib.mistakes import wavenet as wavenet_mistakes

LESSON_CELLS = LessonCells("06-wavenet", helpers=["layer-checks", "batchnorm-reference"])
EXERCISES = ["ex-embedding", "ex-sequential", "ex-flatten-consecutive", "ex-hierarchical-model",
             "ex-batchnorm-statistics"]

NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
         "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila", "aria", "scarlett",
         "victoria", "madison", "luna", "grace", "chloe", "penelope", "layla", "riley", "zoey", "nora"]


def notebook_state(namespace):
    """The variables the lesson's test cells read, built after the imports as the lesson builds them."""
    vocab = Vocab(string.ascii_lowercase)
    Xtr, _ = build_dataset(NAMES, vocab, 8)
    fixed = namespace["hierarchical_model"](n_embd=10, n_hidden=68, generator=namespace["seeded"]())
    fixed(Xtr[:32])
    namespace.update(vocab=vocab, train_words=NAMES, Xtr=Xtr, fixed=fixed, h=fixed.layers[2].out.detach())


def run_test_cell(test_id, answer_id, edits=()):
    """Run the test cell on the answer with `edits` (old, new) applied, in the notebook's state;
    the failure message, or None."""
    return LESSON_CELLS.run_test_cell(test_id, answer_id, edits, context=notebook_state)


TESTS = {exercise: exercise.replace("ex-", "test-", 1) for exercise in EXERCISES}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_reference_answer_passes_every_test(exercise):
    assert run_test_cell(TESTS[exercise], exercise) is None


# --- the catalogue: every entry fails a visible test, which names it ---------------------------

def _wrong(exercise, edits, names, kind, what):
    return Wrong(exercise, TESTS[exercise], tuple(edits), names, kind, what)


FUSE = "x.reshape(B, T // self.n, C * self.n)"
LOOKUP = "self.out = self.weight[ix]"
CHAIN = "        for layer in self.layers:\n            x = layer(x)\n"
MODE = ("        for layer in self.layers:\n            if hasattr(layer, \"training\"):\n"
        "                layer.training = mode\n")
HIDDEN_LINEAR = "layers.Linear(2 * width, n_hidden, bias=False, generator=generator)"
DIMS = "dims = tuple(range(x.dim() - 1))"

CATALOGUE = [
    # Exercise 1: Embedding
    _wrong("ex-embedding", [("torch.randn((num_embeddings, embedding_dim), generator=generator)",
                             "torch.randn((embedding_dim, num_embeddings), generator=generator).T")],
           "(embedding_dim, num_embeddings) and transposed", "classic",
           "the table drawn transposed, (embedding_dim, num_embeddings), then .T"),
    _wrong("ex-embedding", [("generator=generator)\n", "generator=generator) / num_embeddings**0.5\n")],
           "scaled by 1/sqrt(num_embeddings)", "classic",
           "the table scaled like a Linear weight, by 1/sqrt(fan_in)"),
    _wrong("ex-embedding", [(LOOKUP, "self.out = self.weight[ix].view(ix.shape[0], -1)")],
           "flattened to (B, T * embedding_dim)", "classic",
           "the looked-up vectors flattened inside the Embedding layer"),
    _wrong("ex-embedding", [("table.requires_grad_()", "table")], "does not require gradients", "classic",
           "the table does not require gradients (it would never learn)"),
    _wrong("ex-embedding", [(LOOKUP, "self.out = self.weight[ix].squeeze()")], "squeeze()", "sloppy",
           "squeeze() of the output: a single context (B = 1) loses its batch dimension"),
    _wrong("ex-embedding", [("torch.randn((num_embeddings, embedding_dim),", "torch.randn((27, 10),")],
           "hard-coded as the lecture's (27, 10)", "sloppy",
           "the table's size hard-coded as the lecture's 27 x 10"),
    _wrong("ex-embedding", [("        self.out = self.weight[ix]\n        return self.out\n",
                             "        return self.weight[ix]\n")], "self.out", "sloppy",
           "the output returned but not kept in .out"),
    _wrong("ex-embedding", [("return [self.weight]", "return self.weight")], "parameters() should return a list",
           "classic", "parameters() returns the tensor itself, not a list"),
    # Exercise 2: Sequential
    _wrong("ex-sequential", [("return [p for layer in self.layers for p in layer.parameters()]",
                              "return [layer.parameters() for layer in self.layers]")],
           "one list per layer", "classic", "parameters() returns one list per layer, not one flat list"),
    _wrong("ex-sequential", [(CHAIN, "        for layer in self.layers:\n            out = layer(x)\n"),
                             ("        self.out = x\n", "        self.out = out\n")],
           "output of the layer before it", "classic",
           "every layer called on the container's input instead of the previous layer's output"),
    _wrong("ex-sequential", [("        return self.train(False)\n", "        self.training = False\n        return self\n")],
           "still in training mode", "classic", "eval() sets a flag on the container, not on its layers"),
    _wrong("ex-sequential", [("layer.training = mode", "layer.training = True")], "still in training mode",
           "sloppy", "train(mode) ignores mode, so eval() changes nothing"),
    _wrong("ex-sequential", [(MODE, "        self.layers[3].training = mode\n")], "layer 7", "sloppy",
           "the mode set on layer 3 only, where the flat model has its BatchNorm"),
    _wrong("ex-sequential", [("        self.out = x\n        return self.out\n", "        return x\n")], "self.out",
           "sloppy", "the output returned but not kept in .out"),
    # Exercise 3: FlattenConsecutive
    _wrong("ex-flatten-consecutive", [("        if fused.shape[1] == 1:\n            fused = fused.squeeze(1)\n", "")],
           "middle dimension of size 1 was kept", "classic", "(B, 1, n * C) kept when one position is left"),
    _wrong("ex-flatten-consecutive", [(FUSE, "x.reshape(B, T * C)")], "all T positions were concatenated",
           "classic", "everything flattened at once, as the flat MLP"),
    _wrong("ex-flatten-consecutive",
           [(FUSE, "x.reshape(B, self.n, T // self.n, C).transpose(1, 2).reshape(B, T // self.n, C * self.n)")],
           "positions T // n apart were fused", "classic", "T split as (n, T // n): far positions fused"),
    _wrong("ex-flatten-consecutive",
           [(FUSE, "x.reshape(B, T // self.n, self.n, C).transpose(2, 3).reshape(B, T // self.n, C * self.n)")],
           "interleaved channel by channel", "classic", "the features of a run interleaved"),
    _wrong("ex-flatten-consecutive", [("fused.squeeze(1)", "fused.squeeze()")], "squeeze()", "sloppy",
           "squeeze() without a dimension: B = 1 (sampling) loses its batch dimension"),
    _wrong("ex-flatten-consecutive", [(FUSE, "x.reshape(B, T // 2, C * 2)")], "hard-coded as 2", "sloppy",
           "n hard-coded as the lecture's 2"),
    _wrong("ex-flatten-consecutive", [("        self.out = fused\n        return self.out\n", "        return fused\n")],
           "self.out", "sloppy", "the output returned but not kept in .out"),
    # Exercise 4: the hierarchical model
    _wrong("ex-hierarchical-model", [(HIDDEN_LINEAR, "layers.Linear(2 * width, n_hidden, generator=generator)")],
           "hidden Linear layers have a bias", "classic", "a bias in the Linear layers before BatchNorm"),
    _wrong("ex-hierarchical-model", [("        stack[-1].weight *= 0.1  # nearly uniform first predictions\n",
                                      "        pass\n")],
           "not scaled by 0.1", "classic", "the output layer not scaled down at initialisation"),
    _wrong("ex-hierarchical-model", [("levels = block_size.bit_length() - 1", "levels = 1"),
                                     ("layers.FlattenConsecutive(2)", "layers.FlattenConsecutive(block_size)"),
                                     ("layers.Linear(2 * width,", "layers.Linear(block_size * width,")],
           "all positions were fused at once", "classic", "the flat model: one level fusing all positions"),
    _wrong("ex-hierarchical-model", [(", layers.Tanh()]", "]")], "no Tanh", "classic",
           "no Tanh after each BatchNorm"),
    _wrong("ex-hierarchical-model", [("for _ in range(levels):", "for _ in range(3):")],
           "hard-coded as the lecture's 3", "sloppy", "three levels hard-coded (the lecture's 8 characters)"),
    _wrong("ex-hierarchical-model", [("    levels = block_size", "    vocab_size, n_embd, n_hidden = 27, 10, 68\n"
                                                             "    levels = block_size")],
           "sizes were hard-coded", "sloppy", "the lecture's sizes hard-coded"),
    _wrong("ex-hierarchical-model", [(HIDDEN_LINEAR, "layers.Linear(2 * width, n_hidden, bias=False)")],
           "global generator", "sloppy", "the hidden layers' weights drawn from torch's global generator"),
    # Exercise 5: BatchNorm statistics
    _wrong("ex-batchnorm-statistics", [(DIMS, "dims = 0")], "over dimension 0 only", "classic",
           "the lecture's bug: statistics over dimension 0 only, one per position"),
    _wrong("ex-batchnorm-statistics", [("unbiased=False", "unbiased=True")], "unbiased one", "classic",
           "the unbiased variance (the lecture's class) instead of BatchNorm's biased one"),
    _wrong("ex-batchnorm-statistics", [("x.mean(dims, keepdim=True)", "x.mean(dims)"),
                                       ("x.var(dims, keepdim=True,", "x.var(dims,")],
           "keepdim was left out", "classic", "keepdim forgotten"),
    _wrong("ex-batchnorm-statistics", [(DIMS, "dims = (0, 2) if x.dim() == 3 else (0,)")], "dimensions 0 and 2",
           "classic", "torch.nn.BatchNorm1d's (N, C, L) layout: dims 0 and 2"),
    _wrong("ex-batchnorm-statistics", [("var = x.var(", "var = x.std(")], "standard deviation", "classic",
           "the standard deviation instead of the variance"),
    _wrong("ex-batchnorm-statistics", [(DIMS, "dims = (0, 1)")], "hard-coded", "sloppy",
           "dims (0, 1) hard-coded: 2-D input breaks"),
    _wrong("ex-batchnorm-statistics", [("    mean = x.mean(dims, keepdim=True)\n",
                                        "    mean = x.mean(dims, keepdim=True)\n    x -= mean\n")],
           "changed its input in place", "sloppy", "the input centred in place"),
]


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}:{w.what[:40]}")
def test_catalogued_mistake_fails_a_visible_test_and_is_named(wrong):
    fails_visibly(LESSON_CELLS, wrong, context=notebook_state)


def test_every_exercise_has_a_catalogue():
    catalogue_is_complete(CATALOGUE, EXERCISES)


# --- every mistake of a table is diagnosed (hidden tests included) -----------------------------

def test_every_table_entry_is_in_the_catalogue():
    tables = {
        "ex-embedding": wavenet_mistakes.embedding(11, 3, 5, torch.zeros(1, 5, dtype=torch.long)),
        "ex-flatten-consecutive": wavenet_mistakes.flatten_consecutive(torch.zeros(2, 8, 3), 4),
        "ex-hierarchical-model": wavenet_mistakes.hierarchical_model(
            torch.zeros(2, 16, dtype=torch.long), 11, 16, 6, 12, 3),
        "ex-batchnorm-statistics": (wavenet_mistakes.batchnorm_statistics(torch.zeros(2, 4, 3))
                                    + wavenet_mistakes.batchnorm_statistics(torch.zeros(2, 3))),
    }
    for exercise, table in tables.items():
        names = [w.names for w in CATALOGUE if w.exercise == exercise]
        for description in descriptions(table):
            assert any(n in description for n in names), f"{exercise}: no catalogue entry for {description!r}"


_STATISTICS_DESCRIPTIONS = descriptions(wavenet_mistakes.batchnorm_statistics(torch.zeros(2, 4, 3)))


def test_the_lectures_bug_is_named_with_hidden_tests():
    message = run_test_cell("test-batchnorm-statistics", "ex-batchnorm-statistics", [(DIMS, "dims = 0")])
    assert_diagnosed(message, "over dimension 0 only", _STATISTICS_DESCRIPTIONS)


def test_unrelated_wrong_fusion_gets_only_the_generic_message():
    message = run_test_cell("test-flatten-consecutive", "ex-flatten-consecutive",
                            [("        self.out = fused\n", "        self.out = fused = 2 * fused\n")])
    assert message is not None and "max difference" in message and "Likely mistake" not in message


def test_unrelated_wrong_statistics_get_only_the_generic_message():
    message = run_test_cell("test-batchnorm-statistics", "ex-batchnorm-statistics",
                            [("return mean, var", "return mean + 1, var")])
    assert message is not None and "max difference" in message and "Likely mistake" not in message


def test_a_buggy_batchnorm_layer_is_caught_by_the_statistics_test():
    """The notebook's BatchNorm1dOverDim0, turned into an answer: its statistics fail, named."""
    answer = ("def batchnorm_statistics(x):\n"
              "    norm = BatchNorm1d(x.shape[-1], momentum=1.0)\n"
              "    norm._statistics_dims = lambda x: (0,)\n"
              "    norm(x)\n"
              "    n = x.numel() // x.shape[-1]\n"
              "    shape = (1,) + tuple(x.shape[1:])\n"
              "    return norm.running_mean.view(shape), (norm.running_var * (n - 1) / n).view(shape)\n")
    cells = LESSON_CELLS.answers
    original = cells["ex-batchnorm-statistics"]
    cells["ex-batchnorm-statistics"] = answer
    try:
        message = LESSON_CELLS.run_test_cell("test-batchnorm-statistics", "ex-batchnorm-statistics",
                                             context=notebook_state, hidden=False)
    finally:
        cells["ex-batchnorm-statistics"] = original
    assert_diagnosed(message, "over dimension 0 only", _STATISTICS_DESCRIPTIONS)
