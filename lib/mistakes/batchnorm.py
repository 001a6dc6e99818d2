"""Classic mistakes in Lesson 4's BatchNorm exercises (training forward, running statistics,
eval forward), each computed by making that mistake on the exercise's inputs.

Inputs are 2-D, (N, features), as in the exercises: statistics over dimension 0.
"""
import torch

from lib.grading import Mistake


def _normalise(x, mean, var, eps):
    return (x - mean) / torch.sqrt(var + eps)


def train_forward_mistakes(x, gamma, beta, eps):
    """Exercise: BatchNorm in training mode, gamma * (x - mean) / sqrt(var + eps) + beta with
    the batch's mean and biased variance."""
    mean, var = x.mean(0, keepdim=True), x.var(0, keepdim=True, unbiased=False)
    return [
        Mistake("you normalised with the unbiased variance (dividing by N - 1); BatchNorm's normalisation "
                "uses the biased variance of the batch (dividing by N)",
                gamma * _normalise(x, mean, x.var(0, keepdim=True), eps) + beta),
        Mistake("eps is missing: add it to the variance, inside the square root",
                gamma * (x - mean) / torch.sqrt(var) + beta),
        Mistake("eps is outside the square root: it belongs inside, sqrt(var + eps)",
                gamma * (x - mean) / (torch.sqrt(var) + eps) + beta),
        Mistake("you divided by the variance instead of the standard deviation (its square root)",
                gamma * (x - mean) / (var + eps) + beta),
        Mistake("the statistics are over the wrong dimension: average over the batch (dimension 0), "
                "one mean and variance per feature",
                gamma * _normalise(x, x.mean(1, keepdim=True), x.var(1, keepdim=True, unbiased=False), eps) + beta),
        Mistake("gamma and beta are not applied: scale the normalised values by gamma, then add beta",
                _normalise(x, mean, var, eps)),
    ]


def running_update_mistakes(running_mean, running_var, x, momentum):
    """Exercise: running = (1 - momentum) * running + momentum * batch statistic, with the
    unbiased batch variance for the running variance. Each value is a dict of the two results."""
    mean, var_unbiased = x.mean(0), x.var(0)
    var_biased, std = x.var(0, unbiased=False), x.std(0)

    def update(old, new, m=momentum):
        return (1 - m) * old + m * new

    return [
        Mistake("momentum is the wrong way round: the new batch statistic gets weight momentum and the old "
                "running value 1 - momentum",
                {"running_mean": momentum * running_mean + (1 - momentum) * mean,
                 "running_var": momentum * running_var + (1 - momentum) * var_unbiased}),
        Mistake("the running variance should average the unbiased batch variance (dividing by N - 1), as torch does",
                {"running_var": update(running_var, var_biased)}),
        Mistake("you averaged the batch's standard deviation; the running variance averages its variance",
                {"running_var": update(running_var, std)}),
        Mistake("the running statistics were returned unchanged: mix in the batch's statistics",
                {"running_mean": running_mean, "running_var": running_var}),
        Mistake("the running statistics were replaced by the batch's: keep (1 - momentum) of the old values",
                {"running_mean": mean, "running_var": var_unbiased}),
    ]


def eval_forward_mistakes(x, running_mean, running_var, gamma, beta, eps):
    """Exercise: BatchNorm in eval mode, gamma * (x - running_mean) / sqrt(running_var + eps) + beta."""
    return [
        Mistake("you used the batch's own statistics; in eval mode BatchNorm uses the running mean and variance",
                gamma * _normalise(x, x.mean(0), x.var(0, unbiased=False), eps) + beta),
        Mistake("eps is missing: add it to the running variance, inside the square root",
                gamma * (x - running_mean) / torch.sqrt(running_var) + beta),
        Mistake("eps is outside the square root: it belongs inside, sqrt(running_var + eps)",
                gamma * (x - running_mean) / (torch.sqrt(running_var) + eps) + beta),
        Mistake("you divided by the running variance instead of its square root",
                gamma * (x - running_mean) / (running_var + eps) + beta),
        Mistake("gamma and beta are not applied: scale the normalised values by gamma, then add beta",
                _normalise(x, running_mean, running_var, eps)),
    ]
