"""lib.mistakes.wavenet: Lesson 6's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
The notebook state the test cells read (contexts, a model, the activation `h`) is rebuilt
from a small list of names, the way the lesson builds it from the whole dataset.
"""
import string

import pytest
import torch

from lesson_cells import LessonCells, assert_diagnosed, descriptions
from lib.makemore import Vocab, build_dataset
from lib.mistakes import wavenet as wavenet_mistakes

LESSON_CELLS = LessonCells("06-wavenet", helpers=["batchnorm-reference"])

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


# --- Exercise 1: fusing consecutive positions ----------------------------------------------------

_FLATTEN_DESCRIPTIONS = descriptions(wavenet_mistakes.flatten_consecutive(torch.zeros(2, 8, 3), 2))
SOLVED_FUSION = "x.reshape(B, T // n, C * n)"
FLATTEN_MISTAKES = {
    "middle dimension of size 1 was kept": [("    if fused.shape[1] == 1:\n        fused = fused.squeeze(1)\n", "")],
    "all T positions were concatenated": [(SOLVED_FUSION, "x.reshape(B, T * C)")],
    "positions T // n apart were fused": [(SOLVED_FUSION, "x.reshape(B, n, T // n, C).transpose(1, 2).reshape(B, T // n, C * n)")],
    "interleaved channel by channel": [(SOLVED_FUSION, "x.reshape(B, T // n, n, C).transpose(2, 3).reshape(B, T // n, C * n)")],
}


def test_every_fusion_mistake_in_the_table_is_exercised():
    assert len(_FLATTEN_DESCRIPTIONS) == len(FLATTEN_MISTAKES) >= 3
    for key in FLATTEN_MISTAKES:
        assert sum(key in d for d in _FLATTEN_DESCRIPTIONS) == 1, key


@pytest.mark.parametrize("key", FLATTEN_MISTAKES)
def test_fusion_mistake_is_named(key):
    description = next(d for d in _FLATTEN_DESCRIPTIONS if key in d)
    message = run_test_cell("test-flatten-consecutive", "ex-flatten-consecutive", FLATTEN_MISTAKES[key])
    assert_diagnosed(message, description, _FLATTEN_DESCRIPTIONS)


def test_correct_fusion_passes():
    assert run_test_cell("test-flatten-consecutive", "ex-flatten-consecutive") is None


def test_unrelated_wrong_fusion_gets_only_the_generic_message():
    message = run_test_cell("test-flatten-consecutive", "ex-flatten-consecutive", [("return fused", "return 2 * fused")])
    assert message is not None and "max difference" in message and "Likely mistake" not in message


# --- Exercise 2: BatchNorm statistics of 3-D input -------------------------------------------------

_STATISTICS_DESCRIPTIONS = descriptions(wavenet_mistakes.batchnorm_statistics(torch.zeros(2, 4, 3)))
SOLVED_DIMS = "dims = tuple(range(x.dim() - 1))"
STATISTICS_MISTAKES = {
    "over dimension 0 only": [(SOLVED_DIMS, "dims = 0")],
    "unbiased one": [("unbiased=False", "unbiased=True")],
    "keepdim was left out": [("x.mean(dims, keepdim=True)", "x.mean(dims)"), ("x.var(dims, keepdim=True,", "x.var(dims,")],
    "dimensions 0 and 2": [(SOLVED_DIMS, "dims = (0, 2) if x.dim() == 3 else (0,)")],
}


def test_every_statistics_mistake_in_the_table_is_exercised():
    assert len(_STATISTICS_DESCRIPTIONS) == len(STATISTICS_MISTAKES) >= 3
    for key in STATISTICS_MISTAKES:
        assert sum(key in d for d in _STATISTICS_DESCRIPTIONS) == 1, key


@pytest.mark.parametrize("key", STATISTICS_MISTAKES)
def test_statistics_mistake_is_named(key):
    description = next(d for d in _STATISTICS_DESCRIPTIONS if key in d)
    message = run_test_cell("test-batchnorm-statistics", "ex-batchnorm-statistics", STATISTICS_MISTAKES[key])
    assert_diagnosed(message, description, _STATISTICS_DESCRIPTIONS)


def test_correct_statistics_pass():
    assert run_test_cell("test-batchnorm-statistics", "ex-batchnorm-statistics") is None


def test_unrelated_wrong_statistics_get_only_the_generic_message():
    message = run_test_cell("test-batchnorm-statistics", "ex-batchnorm-statistics",
                            [("return mean, var", "return mean + 1, var")])
    assert message is not None and "max difference" in message and "Likely mistake" not in message

