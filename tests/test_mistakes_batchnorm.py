"""lib.mistakes.batchnorm and Lesson 4's test cells: an answer written with one classic
mistake is named by that mistake, the correct answer (torch's batch_norm) passes undiagnosed,
and an unrelated wrong answer gets only the generic max-difference message.

The catalogue at the end runs the lesson's own visible test cells on the reference answer with
one mistake typed into it (tests/lesson_cells.py); the reference passes every test cell,
hidden tests included."""
import pytest
import torch
import torch.nn.functional as F

from lesson_cells import LessonCells, Wrong, catalogue_is_complete, fails_visibly
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


# --- the lesson's test cells: the reference passes, every catalogued mistake is named ---------

CELLS = LessonCells("04-batchnorm")
EXERCISES = ["ex-linear-tanh", "ex-init-fixes", "ex-batchnorm1d", "ex-update-ratio"]
TESTS = {"test-linear": "ex-linear-tanh", "test-tanh": "ex-linear-tanh",
         "test-init-fixes": "ex-init-fixes", "test-batchnorm-train": "ex-batchnorm1d",
         "test-running-stats": "ex-batchnorm1d", "test-batchnorm-eval": "ex-batchnorm1d",
         "test-update-ratio": "ex-update-ratio"}

NORM = "torch.sqrt(var + self.eps)"
MEAN = "mean = x.mean(0, keepdim=True)"
VAR = "var = x.var(0, keepdim=True, unbiased=False)"
UPDATE_MEAN = "(1 - m) * self.running_mean + m * mean[0]"
UPDATE_VAR = "(1 - m) * self.running_var + m * x.var(0)"
RATIO = "((lr * g).std() / p.std())"
W1 = '"W1": params["W1"] * (gain / fan_in**0.5),'

CATALOGUE = [
    # Exercise 1: Linear and Tanh
    Wrong("ex-linear-tanh", "test-linear", (("/ fan_in**0.5", ""),), "not scaled", "classic",
          "the weight drawn from randn without the 1/sqrt(fan_in) scale"),
    Wrong("ex-linear-tanh", "test-linear", (("/ fan_in**0.5", "/ fan_in"),), "divided by fan_in", "classic",
          "the weight divided by fan_in instead of its square root"),
    Wrong("ex-linear-tanh", "test-linear", (("self.out = self.out + self.bias", "pass"),), "bias is not added",
          "classic", "the bias created but not added in the forward pass"),
    Wrong("ex-linear-tanh", "test-linear", (("x @ self.weight", "x @ self.weight.detach()"),),
          "no gradient reached weight", "classic", "the weight detached in the forward pass: it never trains"),
    Wrong("ex-linear-tanh", "test-linear", (("/ fan_in**0.5", "/ 30**0.5"),), "hard-coded", "sloppy",
          "the scale hard-coded to the lecture's fan_in of 30"),
    Wrong("ex-linear-tanh", "test-linear", (("self.weight = weight.requires_grad_()", "self.weight = weight"),),
          "does not require gradients", "sloppy", "the weight created without requires_grad"),
    Wrong("ex-linear-tanh", "test-linear", ((" if bias else None", ""),), "parameters() should return",
          "sloppy", "the bias flag ignored: a bias is created and listed even with bias=False"),
    Wrong("ex-linear-tanh", "test-tanh", (("torch.tanh(x)", "torch.tanh(x.detach())"),),
          "no gradient reached x", "classic", "tanh of a detached input: no gradient flows back"),
    Wrong("ex-linear-tanh", "test-tanh", (("return []", "pass"),), "Tanh has no parameters", "classic",
          "Tanh.parameters() returning None instead of an empty list"),
    Wrong("ex-linear-tanh", "test-tanh", (("torch.tanh(x)", "x.tanh_()"),), "in place", "sloppy",
          "tanh applied in place, overwriting the input"),
    Wrong("ex-linear-tanh", "test-tanh",
          (("torch.tanh(x)", "(x.exp() - (-x).exp()) / (x.exp() + (-x).exp())"),),
          "nan or inf for large inputs", "sloppy", "tanh from exponentials: inf / inf = nan for large inputs"),
    Wrong("ex-linear-tanh", "test-tanh", (("self.out = torch.tanh(x)\n        return self.out",
                                          "return torch.tanh(x)"),),
          "self.out", "sloppy", "the output not kept in .out, which the diagnostics read"),
    # Exercise 2: the fixed initialisation
    Wrong("ex-init-fixes", "test-init-fixes", (("gain / fan_in**0.5", "gain / fan_in"),), "divided by fan_in",
          "classic", "W1 divided by fan_in instead of sqrt(fan_in)"),
    Wrong("ex-init-fixes", "test-init-fixes", (("(gain / fan_in**0.5)", "(1 / fan_in**0.5)"),),
          "the gain is missing", "classic", "1/sqrt(fan_in) without the tanh gain"),
    Wrong("ex-init-fixes", "test-init-fixes", (('params["b2"] * 0}', 'params["b2"]}'),), "b2 is not zeroed",
          "classic", "the output bias left random"),
    Wrong("ex-init-fixes", "test-init-fixes", (('params["W2"] * 0.01', 'params["W2"]'),), "W2 is not scaled",
          "classic", "the output weights left at full scale"),
    Wrong("ex-init-fixes", "test-init-fixes", ((".shape[0]", ".shape[1]"),), "fan_out", "classic",
          "fan_in read as W1's number of columns"),
    Wrong("ex-init-fixes", "test-init-fixes", (("(gain / fan_in**0.5)", "(5 / 3 / fan_in**0.5)"),),
          "hard-coded to 5/3", "sloppy", "the gain argument ignored: 5/3 always"),
    Wrong("ex-init-fixes", "test-init-fixes", (('fan_in = params["W1"].shape[0]', "fan_in = 30"),),
          "hard-coded to gain / sqrt(30)", "sloppy", "fan_in hard-coded to the lecture's 30"),
    Wrong("ex-init-fixes", "test-init-fixes",
          ((W1, '"W1": params["W1"].mul_(gain / fan_in**0.5),'),), "in place", "sloppy",
          "W1 scaled in place, changing the caller's tensors"),
    # Exercise 3: BatchNorm1d
    Wrong("ex-batchnorm1d", "test-batchnorm-train", ((VAR, "var = x.var(0, keepdim=True)"),),
          "unbiased variance", "classic", "normalising with the unbiased variance (the lecture's class)"),
    Wrong("ex-batchnorm1d", "test-batchnorm-train", ((NORM, "(torch.sqrt(var) + self.eps)"),),
          "eps is outside", "classic", "eps added after the square root"),
    Wrong("ex-batchnorm1d", "test-batchnorm-train",
          ((MEAN, "mean = x.mean(1, keepdim=True)"), (VAR, "var = x.var(1, keepdim=True, unbiased=False)")),
          "wrong dimension", "classic", "statistics per example (dimension 1) instead of per feature"),
    Wrong("ex-batchnorm1d", "test-batchnorm-train", ((MEAN, MEAN + ".detach()"), (VAR, VAR + ".detach()")),
          "without gradient", "classic", "the batch statistics detached: a wrong gradient for x"),
    Wrong("ex-batchnorm1d", "test-batchnorm-train",
          (("return [self.gamma, self.beta]", "return [self.gamma, self.beta, self.running_mean, "
            "self.running_var]"),), "parameters() should return [gamma, beta]", "classic",
          "the running statistics listed as parameters (SGD would train them)"),
    Wrong("ex-batchnorm1d", "test-batchnorm-train", ((NORM, "torch.sqrt(var + 1e-5)"),), "eps is hard-coded",
          "sloppy", "eps hard-coded to 1e-5"),
    Wrong("ex-batchnorm1d", "test-batchnorm-train",
          (("x_hat = (x - mean)", "x -= mean\n        x_hat = (x - 0)"),), "changed its input x in place",
          "sloppy", "the input centred in place (x -= mean)"),
    Wrong("ex-batchnorm1d", "test-running-stats",
          ((UPDATE_MEAN, "m * self.running_mean + (1 - m) * mean[0]"),
           (UPDATE_VAR, "m * self.running_var + (1 - m) * x.var(0)")), "wrong way round", "classic",
          "momentum weighting the old value instead of the new batch statistic"),
    Wrong("ex-batchnorm1d", "test-running-stats", ((UPDATE_VAR, "(1 - m) * self.running_var + m * var[0]"),),
          "unbiased batch variance", "classic", "the running variance from the biased batch variance"),
    Wrong("ex-batchnorm1d", "test-running-stats", (("with torch.no_grad():", "if True:"),),
          "torch.no_grad()", "classic", "the running statistics updated with gradient tracking"),
    Wrong("ex-batchnorm1d", "test-running-stats", (("m = self.momentum", "m = 0.1"),),
          "momentum is hard-coded", "sloppy", "momentum hard-coded to 0.1"),
    Wrong("ex-batchnorm1d", "test-running-stats", (("if n < 2:", "if n < 1:"),), "should raise a ValueError",
          "sloppy", "no guard for a batch of one: the running variance becomes nan"),
    Wrong("ex-batchnorm1d", "test-batchnorm-eval", (("if self.training:", "if True:"),),
          "batch's own statistics", "classic", "the batch statistics used in eval mode too"),
    # Exercise 4: the update-to-data ratio
    Wrong("ex-update-ratio", "test-update-ratio", ((".log10()", ""),), "log10 is missing", "classic",
          "the ratio without its log10"),
    Wrong("ex-update-ratio", "test-update-ratio", ((".log10()", ".log()"),), "natural log", "classic",
          "the natural log instead of log10"),
    Wrong("ex-update-ratio", "test-update-ratio", (("(lr * g)", "g"),), "learning rate is missing", "classic",
          "the gradient's spread, without the learning rate"),
    Wrong("ex-update-ratio", "test-update-ratio", ((RATIO, "(p.std() / (lr * g).std())"),), "upside down",
          "classic", "data over update instead of update over data"),
    Wrong("ex-update-ratio", "test-update-ratio", (("(lr * g)", "(0.1 * g)"),), "hard-coded to 0.1", "sloppy",
          "the learning rate hard-coded to the lecture's 0.1"),
    Wrong("ex-update-ratio", "test-update-ratio",
          (("for p, g in zip(params, grads)]", "for p, g in zip(params, grads) if p.ndim == 2]"),),
          "one ratio per parameter", "sloppy", "only the weight matrices, as the lecture's plot shows"),
    Wrong("ex-update-ratio", "test-update-ratio",
          (("return [", "for p, g in zip(params, grads):\n        p -= lr * g\n    return ["),),
          "changed params or grads in place", "sloppy", "the update applied while measuring it"),
]


@pytest.mark.parametrize("test_id", TESTS)
def test_reference_passes_every_test_cell(test_id):
    assert CELLS.run_test_cell(test_id, TESTS[test_id]) is None


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}:{w.what[:40]}")
def test_catalogued_mistake_fails_a_visible_test_and_is_named(wrong):
    fails_visibly(CELLS, wrong)


def test_every_exercise_has_a_catalogue():
    catalogue_is_complete(CATALOGUE, EXERCISES)
