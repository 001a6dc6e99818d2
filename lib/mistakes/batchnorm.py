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


# --- the layer classes (Linear, Tanh, BatchNorm1d), the initialisation fix, the update ratio ---

LECTURE_FAN_IN = 30  # 3 characters x 10 numbers: what a hard-coded scale usually is
LECTURE_EPS, LECTURE_MOMENTUM, LECTURE_GAIN = 1e-5, 0.1, 5 / 3


def linear_init_mistakes(seed, fan_in, fan_out):
    """Exercise Linear: the weight at initialisation, torch.randn((fan_in, fan_out)) / sqrt(fan_in)
    drawn from torch.Generator().manual_seed(seed)."""
    draw = torch.randn((fan_in, fan_out), generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
    return [
        Mistake("the weight is not scaled: divide torch.randn by sqrt(fan_in) so that the output keeps "
                "the spread of the input", draw),
        Mistake("you divided by fan_in; the scale is 1 / sqrt(fan_in)", draw / fan_in),
        Mistake("you scaled by fan_out; the scale is 1 / sqrt(fan_in), the number of inputs each unit sums",
                draw / fan_out**0.5),
        Mistake(f"the scale is hard-coded to 1 / sqrt({LECTURE_FAN_IN}), the lecture's fan_in: use this "
                "layer's fan_in", draw / LECTURE_FAN_IN**0.5),
    ]


def linear_forward_mistakes(x, weight, bias):
    """Exercise Linear: the output x @ weight + bias."""
    return [Mistake("the bias is not added: the output is x @ weight + bias", x @ weight)] if bias is not None else []


def layer_train_mistakes(x, gamma, beta, eps):
    """Exercise BatchNorm1d in training mode: the classic mistakes, plus eps hard-coded."""
    mean, var = x.mean(0, keepdim=True), x.var(0, keepdim=True, unbiased=False)
    return train_forward_mistakes(x, gamma, beta, eps) + [
        Mistake(f"eps is hard-coded to {LECTURE_EPS:g}: use the layer's own eps (self.eps)",
                gamma * _normalise(x, mean, var, LECTURE_EPS) + beta)]


def layer_backward_mistakes(x, gamma, beta, eps, upstream):
    """Exercise BatchNorm1d, backward: the gradient reaching x (key 'x grad') when the batch
    statistics were computed without gradient."""
    x = x.detach().clone().requires_grad_()
    with torch.no_grad():
        mean, var = x.mean(0, keepdim=True), x.var(0, keepdim=True, unbiased=False)
    out = gamma.detach() * (x - mean) / torch.sqrt(var + eps) + beta.detach()
    out.backward(upstream)
    return [Mistake("the batch mean and variance were computed without gradient (under torch.no_grad() or "
                    "detached): only the running statistics are updated without gradient; the gradient must "
                    "flow through the batch statistics", x.grad)]


def layer_running_mistakes(running_mean, running_var, x, momentum):
    """Exercise BatchNorm1d, running statistics after one training call: the classic mistakes,
    plus momentum hard-coded."""
    def update(old, new, m=LECTURE_MOMENTUM):
        return (1 - m) * old + m * new
    return running_update_mistakes(running_mean, running_var, x, momentum) + [
        Mistake(f"momentum is hard-coded to {LECTURE_MOMENTUM:g}: use the layer's own momentum (self.momentum)",
                {"running_mean": update(running_mean, x.mean(0)), "running_var": update(running_var, x.var(0))})]


def fixed_initialisation(params, gain, w1_scale=None, b1=0.01, w2=0.01, b2=0.0):
    fan_in = params["W1"].shape[0]
    scale = gain / fan_in**0.5 if w1_scale is None else w1_scale
    return {"C": params["C"], "W1": params["W1"] * scale, "b1": params["b1"] * b1,
            "W2": params["W2"] * w2, "b2": params["b2"] * b2}


def init_statistics(params, X, Y, saturation=0.97):
    """The two numbers the initialisation exercise is graded on: the loss of the MLP with these
    parameters on (X, Y), and the fraction of its tanh units with |t| > saturation."""
    emb = params["C"][X].reshape(len(X), -1)
    h = torch.tanh(emb @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    loss = torch.nn.functional.cross_entropy(logits, Y)
    return {"initial loss": loss.item(), "saturated fraction": (h.abs() > saturation).double().mean().item()}


def init_fix_expected(params, X, Y, gain):
    """The statistics of the lecture's fixed initialisation of `params` (Lesson 3's randn draws)."""
    return init_statistics(fixed_initialisation(params, gain), X, Y)


def init_fix_mistakes(params, X, Y, gain):
    """Exercise: fix Lesson 3's initialisation (W1 * gain / sqrt(fan_in), b1 * 0.01, W2 * 0.01,
    b2 * 0). Each mistake's value holds the two statistics it produces."""
    fan_in, fan_out = params["W1"].shape
    variants = [
        ("W1 was divided by fan_in; Kaiming's scale is gain / sqrt(fan_in)", dict(w1_scale=gain / fan_in)),
        ("the gain is missing: scale W1 by gain / sqrt(fan_in), not 1 / sqrt(fan_in)",
         dict(w1_scale=1 / fan_in**0.5)),
        (f"the gain is hard-coded to 5/3: use the gain argument (here {gain:.4g})",
         dict(w1_scale=LECTURE_GAIN / fan_in**0.5)),
        ("W1 was scaled with fan_out (its number of columns); fan_in is its number of rows, the inputs "
         "each hidden unit sums", dict(w1_scale=gain / fan_out**0.5)),
        (f"the scale of W1 is hard-coded to gain / sqrt({LECTURE_FAN_IN}): fan_in is W1.shape[0] "
         f"(here {fan_in})", dict(w1_scale=gain / LECTURE_FAN_IN**0.5)),
        ("W1 is not scaled at all: the tanh units saturate", dict(w1_scale=1.0)),
        ("the output bias b2 is not zeroed: a random offset pushes the logits away from 0", dict(b2=1.0)),
        ("W2 is not scaled down (times 0.01): the logits are large and the softmax confidently wrong",
         dict(w2=1.0)),
        ("b1 is not scaled down (times 0.01)", dict(b1=1.0)),
    ]
    return [Mistake(text, init_statistics(fixed_initialisation(params, gain, **change), X, Y)) for text, change in variants]


def update_ratio_mistakes(params, grads, lr):
    """Exercise: log10(std(lr * grad) / std(data)) for each parameter, as a list of floats."""
    def ratios(f):
        return [f(p, g) for p, g in zip(params, grads)]
    return [
        Mistake("the log10 is missing: return log10 of the ratio",
                ratios(lambda p, g: ((lr * g).std() / p.std()).item())),
        Mistake("you took the natural log; the statistic is log10",
                ratios(lambda p, g: ((lr * g).std() / p.std()).log().item())),
        Mistake("the learning rate is missing: the update is lr * grad",
                ratios(lambda p, g: (g.std() / p.std()).log10().item())),
        Mistake("the ratio is upside down: the update's spread divided by the data's",
                ratios(lambda p, g: (p.std() / (lr * g).std()).log10().item())),
        Mistake("you compared means (of absolute values); the statistic compares standard deviations",
                ratios(lambda p, g: ((lr * g).abs().mean() / p.abs().mean()).log10().item())),
        Mistake("the learning rate is hard-coded to 0.1: use the lr argument",
                ratios(lambda p, g: ((0.1 * g).std() / p.std()).log10().item())),
    ]
