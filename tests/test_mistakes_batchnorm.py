"""lib.mistakes.batchnorm: for each of Lesson 4's exercises, an answer written with one classic
mistake is named by that mistake, the correct answer (torch's batch_norm) passes undiagnosed,
and an unrelated wrong answer gets only the generic max-difference message."""
import pytest
import torch
import torch.nn.functional as F

from lib.grading import check, check_all
from lib.mistakes import batchnorm as mistakes

EPS = 1e-5


def seeded(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def inputs():
    g = seeded(4)
    x = torch.randn(16, 5, generator=g, dtype=torch.float64) * 2 + 1
    gamma = 1 + 0.5 * torch.randn(5, generator=g, dtype=torch.float64)
    beta = torch.randn(5, generator=g, dtype=torch.float64)
    running_mean = torch.randn(5, generator=g, dtype=torch.float64)
    running_var = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    return x, gamma, beta, running_mean, running_var


def diagnosis_of(call):
    """The 'Likely mistake' part of the failure message, '' when there is none."""
    with pytest.raises(AssertionError) as failure:
        call()
    message = str(failure.value)
    return message.split("Likely mistake: ", 1)[1] if "Likely mistake: " in message else ""


# --- training-mode forward ------------------------------------------------------------------

def norm(x, mean, var, eps):
    return (x - mean) / (var + eps) ** 0.5


TRAIN_ANSWERS = {  # description fragment -> an answer written with that mistake
    "unbiased variance": lambda x, g, b: g * norm(x, x.mean(0), x.var(0), EPS) + b,
    "eps is missing": lambda x, g, b: g * (x - x.mean(0)) / x.var(0, unbiased=False).sqrt() + b,
    "eps is outside": lambda x, g, b: g * (x - x.mean(0)) / (x.var(0, unbiased=False).sqrt() + EPS) + b,
    "instead of the standard deviation": lambda x, g, b: g * (x - x.mean(0)) / (x.var(0, unbiased=False) + EPS) + b,
    "wrong dimension": lambda x, g, b: g * norm(x, x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True), EPS) + b,
    "gamma and beta are not applied": lambda x, g, b: norm(x, x.mean(0), x.var(0, unbiased=False), EPS),
}


@pytest.mark.parametrize("fragment", TRAIN_ANSWERS)
def test_training_forward_mistakes_are_named(inputs, fragment):
    x, gamma, beta, _, _ = inputs
    expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS)
    table = mistakes.train_forward_mistakes(x, gamma, beta, EPS)
    diagnosis = diagnosis_of(lambda: check("out", TRAIN_ANSWERS[fragment](x, gamma, beta), expected, mistakes=table))
    assert fragment in diagnosis


def test_training_forward_correct_and_unrelated_answers(inputs):
    x, gamma, beta, _, _ = inputs
    expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS)
    table = mistakes.train_forward_mistakes(x, gamma, beta, EPS)
    correct = gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + EPS) + beta
    check("out", correct, expected, mistakes=table)  # passes
    assert diagnosis_of(lambda: check("out", correct + 0.01, expected, mistakes=table)) == ""


# --- running statistics ---------------------------------------------------------------------

MOMENTUM = 0.1
UPDATE_ANSWERS = {
    "wrong way round": lambda rm, rv, x: (MOMENTUM * rm + (1 - MOMENTUM) * x.mean(0),
                                          MOMENTUM * rv + (1 - MOMENTUM) * x.var(0)),
    "unbiased batch variance": lambda rm, rv, x: ((1 - MOMENTUM) * rm + MOMENTUM * x.mean(0),
                                                  (1 - MOMENTUM) * rv + MOMENTUM * x.var(0, unbiased=False)),
    "standard deviation": lambda rm, rv, x: ((1 - MOMENTUM) * rm + MOMENTUM * x.mean(0),
                                             (1 - MOMENTUM) * rv + MOMENTUM * x.std(0)),
    "returned unchanged": lambda rm, rv, x: (rm.clone(), rv.clone()),
    "replaced by the batch's": lambda rm, rv, x: (x.mean(0), x.var(0)),
}


def torch_update(running_mean, running_var, x):
    mean, var = running_mean.clone(), running_var.clone()
    F.batch_norm(x, mean, var, training=True, momentum=MOMENTUM)
    return {"running_mean": mean, "running_var": var}


@pytest.mark.parametrize("fragment", UPDATE_ANSWERS)
def test_running_update_mistakes_are_named(inputs, fragment):
    x, _, _, running_mean, running_var = inputs
    expected = torch_update(running_mean, running_var, x)
    table = mistakes.running_update_mistakes(running_mean, running_var, x, MOMENTUM)
    new_mean, new_var = UPDATE_ANSWERS[fragment](running_mean, running_var, x)
    diagnosis = diagnosis_of(lambda: check_all({"running_mean": new_mean, "running_var": new_var}, expected,
                                               mistakes=table))
    assert fragment in diagnosis


def test_running_update_correct_and_unrelated_answers(inputs):
    x, _, _, running_mean, running_var = inputs
    expected = torch_update(running_mean, running_var, x)
    table = mistakes.running_update_mistakes(running_mean, running_var, x, MOMENTUM)
    correct = {"running_mean": 0.9 * running_mean + 0.1 * x.mean(0), "running_var": 0.9 * running_var + 0.1 * x.var(0)}
    check_all(correct, expected, mistakes=table)
    unrelated = {"running_mean": correct["running_mean"] * 1.5, "running_var": correct["running_var"] + 2}
    assert diagnosis_of(lambda: check_all(unrelated, expected, mistakes=table)) == ""


# --- eval-mode forward ----------------------------------------------------------------------

EVAL_ANSWERS = {
    "batch's own statistics": lambda x, rm, rv, g, b: g * norm(x, x.mean(0), x.var(0, unbiased=False), EPS) + b,
    "eps is missing": lambda x, rm, rv, g, b: g * (x - rm) / rv.sqrt() + b,
    "eps is outside": lambda x, rm, rv, g, b: g * (x - rm) / (rv.sqrt() + EPS) + b,
    "instead of its square root": lambda x, rm, rv, g, b: g * (x - rm) / (rv + EPS) + b,
    "gamma and beta are not applied": lambda x, rm, rv, g, b: norm(x, rm, rv, EPS),
}


@pytest.mark.parametrize("fragment", EVAL_ANSWERS)
def test_eval_forward_mistakes_are_named(inputs, fragment):
    x, gamma, beta, running_mean, running_var = inputs
    expected = F.batch_norm(x, running_mean, running_var, gamma, beta, training=False, eps=EPS)
    table = mistakes.eval_forward_mistakes(x, running_mean, running_var, gamma, beta, EPS)
    answer = EVAL_ANSWERS[fragment](x, running_mean, running_var, gamma, beta)
    assert fragment in diagnosis_of(lambda: check("out", answer, expected, mistakes=table))


def test_eval_forward_correct_and_unrelated_answers(inputs):
    x, gamma, beta, running_mean, running_var = inputs
    expected = F.batch_norm(x, running_mean, running_var, gamma, beta, training=False, eps=EPS)
    table = mistakes.eval_forward_mistakes(x, running_mean, running_var, gamma, beta, EPS)
    check("out", gamma * (x - running_mean) / torch.sqrt(running_var + EPS) + beta, expected, mistakes=table)
    assert diagnosis_of(lambda: check("out", -expected, expected, mistakes=table)) == ""
