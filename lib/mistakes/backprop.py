"""Classic mistakes of Lesson 5 (backprop by hand), each performed on the exercise's inputs.

One function per exercise. The four groups of exercise 1 take the forward pass's
intermediates (`steps`, as `lib.makemore.backprop.forward` returns them) and the gradient
arriving from above; each mistake's value is a dict of the keys it changes. Exercises 2 and 3
take the fused formulas' inputs; exercise 4 takes the function that evaluates a training run.
"""
import torch
import torch.nn.functional as F

from lib.grading import Mistake
from lib.makemore import backprop as bp

MEAN_ALREADY_IN_DLOGITS = ("the gradient was divided by the batch size again: the 1/n of the mean is already "
                           "inside dlogits, so a sum over the batch is all that is left")
OVERWRITTEN_ROWS = ("a character that occurs several times in the batch must receive the sum of all its "
                    "gradients; assigning (dC[ix] = ...) or dC[Xb] += demb keeps only one of them "
                    "(use a loop with +=, or index_add_)")


def _cross_entropy_chain(s, Yb, mistake):
    n = Yb.shape[0]
    rows = torch.arange(n)
    dlogprobs = torch.zeros_like(s["logprobs"])
    dlogprobs[rows, Yb] = -1.0 if mistake == "no-mean" else -1.0 / n
    dprobs = dlogprobs * s["probs"] if mistake == "log-times" else dlogprobs / s["probs"]
    dcounts_sum_inv = (s["counts"] * dprobs).sum(1, keepdim=True)
    sign = 1 if mistake == "inverse-sign" else -1
    dcounts_sum = sign * s["counts_sum"] ** -2 * dcounts_sum_inv
    dcounts = s["counts_sum_inv"] * dprobs
    if mistake != "one-branch":
        dcounts = dcounts + dcounts_sum
    dnorm_logits = s["counts"] * dcounts
    dlogit_maxes = -dnorm_logits.sum(1, keepdim=True)
    at_max = F.one_hot(s["logits"].max(1).indices, num_classes=s["logits"].shape[1]) * dlogit_maxes
    dlogits = at_max if mistake == "max-overwrites" else dnorm_logits + at_max
    return {"logprobs": dlogprobs, "probs": dprobs, "counts_sum_inv": dcounts_sum_inv, "counts_sum": dcounts_sum,
            "counts": dcounts, "norm_logits": dnorm_logits, "logit_maxes": dlogit_maxes, "logits": dlogits}


def cross_entropy_steps(steps, Yb):
    """Exercise 1, logprobs back to logits."""
    described = {
        "no-mean": "the loss is a mean over the batch: each picked log-probability gets -1/n, not -1",
        "log-times": "the derivative of log(x) is 1/x: divide by probs rather than multiply",
        "inverse-sign": "the derivative of x**-1 is -x**-2: the minus sign is missing from dcounts_sum",
        "one-branch": ("counts is used twice (in probs and in counts_sum): dcounts must add the gradient "
                       "from both uses"),
        "max-overwrites": ("logits reach the loss directly and through the max: add the arg-max term to "
                           "dnorm_logits instead of replacing it"),
    }
    return [Mistake(text, _cross_entropy_chain(steps, Yb, name)) for name, text in described.items()]


def output_layer(steps, params, dlogits):
    """Exercise 1, the second Linear layer and the tanh."""
    n = dlogits.shape[0]
    dh = dlogits @ params["W2"].T
    return [
        Mistake("the local derivative of tanh is 1 - h**2, in terms of its output h, not of its input hpreact",
                {"hpreact": (1.0 - steps["hpreact"] ** 2) * dh}),
        Mistake("the chain rule multiplies tanh's local derivative (1 - h**2) by dh, the gradient arriving from above",
                {"hpreact": 1.0 - steps["h"] ** 2}),
        Mistake(MEAN_ALREADY_IN_DLOGITS, {"W2": steps["h"].T @ dlogits / n, "b2": dlogits.sum(0) / n}),
    ]


def _batchnorm_chain(s, params, dhpreact, mistake):
    n = dhpreact.shape[0]
    dbnraw = params["bngain"] * dhpreact
    dbnvar_inv = (s["bndiff"] * dbnraw).sum(0, keepdim=True)
    power = -0.5 if mistake == "power" else -1.5
    dbnvar = -0.5 * (s["bnvar"] + bp.BN_EPS) ** power * dbnvar_inv
    divisor = n if mistake == "no-bessel" else n - 1
    dbndiff2 = 1.0 / divisor * torch.ones_like(s["bndiff2"]) * dbnvar
    dbndiff = s["bnvar_inv"] * dbnraw
    if mistake != "one-branch":
        dbndiff = dbndiff + 2 * s["bndiff"] * dbndiff2
    dbnmeani = -dbndiff.sum(0, keepdim=True)
    share = 1.0 if mistake == "mean-share" else 1.0 / n
    dhprebn = dbndiff + share * torch.ones_like(s["hprebn"]) * dbnmeani
    return {"bnvar": dbnvar, "bndiff2": dbndiff2, "bndiff": dbndiff, "bnmeani": dbnmeani, "hprebn": dhprebn}


def batchnorm_steps(steps, params, dhpreact):
    """Exercise 1, BatchNorm's steps."""
    described = {
        "no-bessel": "bnvar divides the sum of squares by n - 1 (Bessel's correction), so dbndiff2 is 1/(n-1), not 1/n",
        "one-branch": ("bndiff is used twice (in bnraw and in bndiff2): dbndiff must add the gradient from both "
                       "uses"),
        "mean-share": ("bnmeani is the mean of n rows, so each row of hprebn receives 1/n of dbnmeani, not all "
                       "of it"),
        "power": "the derivative of x**-0.5 is -0.5 * x**-1.5: the exponent must go down by one",
    }
    return [Mistake(text, _batchnorm_chain(steps, params, dhpreact, name)) for name, text in described.items()]


def input_layer(steps, params, dhprebn, Xb):
    """Exercise 1, the first Linear layer and the embedding."""
    n = dhprebn.shape[0]
    demb = (dhprebn @ params["W1"].T).view(steps["emb"].shape)
    overwritten = torch.zeros_like(params["C"])
    overwritten[Xb] += demb  # index_put without accumulation: repeated indices keep one value
    per_row = torch.zeros_like(params["C"])
    for k in range(n):
        per_row[Xb[k]] += demb[k]  # repeats inside one context ('...') collapse
    return [
        Mistake(OVERWRITTEN_ROWS, {"C": overwritten}),
        Mistake("a character repeated inside one context (as in '...') counts once per repeat: accumulate "
                "position by position, not a whole row of Xb at once", {"C": per_row}),
        Mistake(MEAN_ALREADY_IN_DLOGITS, {"W1": steps["embcat"].T @ dhprebn / n, "b1": dhprebn.sum(0) / n}),
    ]


def dlogits(logits, Yb):
    """Exercise 2, the fused cross-entropy gradient."""
    n = logits.shape[0]
    probs = F.softmax(logits, 1)
    target = F.one_hot(Yb, logits.shape[1]).to(logits.dtype)
    at_max = F.one_hot(logits.argmax(1), logits.shape[1]).to(logits.dtype)
    return [
        Mistake("the probabilities need 1 subtracted at each row's target class (the correct character)", probs / n),
        Mistake("the loss is a mean over the batch: divide by n", probs - target),
        Mistake("the 1 is subtracted at the target class Yb, not at the most likely class", (probs - at_max) / n),
        Mistake("dlogits starts from the probabilities (softmax), not the log-probabilities",
                (F.log_softmax(logits, 1) - target) / n),
    ]


def dhprebn(dhpreact, bngain, bnvar_inv, bnraw):
    """Exercise 3, the fused BatchNorm backward."""
    n = dhpreact.shape[0]
    total, correlation = dhpreact.sum(0), (dhpreact * bnraw).sum(0)
    return [
        Mistake("the variance is Bessel-corrected (divided by n - 1), so its term carries a factor n / (n - 1)",
                bngain * bnvar_inv / n * (n * dhpreact - total - bnraw * correlation)),
        Mistake("bnraw was multiplied by bngain: the gradient carries that factor too",
                bnvar_inv / n * (n * dhpreact - total - n / (n - 1) * bnraw * correlation)),
        Mistake("the batch mean depends on every row: the term with the sum of dhpreact over the batch is missing",
                bngain * bnvar_inv / n * (n * dhpreact - n / (n - 1) * bnraw * correlation)),
        Mistake("the batch variance depends on every row: the term with bnraw times the batch sum of dhpreact * bnraw is missing",
                bngain * bnvar_inv / n * (n * dhpreact - total)),
    ]


def _wrong_gradients(mistake):
    """A `gradients` function for bp.train whose backward carries one mistake."""

    @torch.no_grad()
    def gradients(params, Xb, Yb):
        n = Xb.shape[0]
        embcat, bnvar_inv, bnraw, h = bp._batchnorm_forward(params, Xb)
        logits = h @ params["W2"] + params["b2"]
        loss = F.cross_entropy(logits, Yb)
        dlog = bp.cross_entropy_grad(logits, Yb)
        dh = dlog @ params["W2"].T
        dhpreact = dh if mistake == "no-tanh" else (1.0 - h**2) * dh
        if mistake == "no-bessel":
            dhpre = (params["bngain"] * bnvar_inv / n
                     * (n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0)))
        else:
            dhpre = bp.batchnorm_grad(dhpreact, params["bngain"], bnvar_inv, bnraw)
        demb = (dhpre @ params["W1"].T).view(*Xb.shape, -1)
        if mistake == "overwrite":
            dC = torch.zeros_like(params["C"])
            dC[Xb] += demb
        else:
            dC = bp.embedding_grad(Xb, demb, params["C"].shape[0])
        return loss, {"C": dC, "W1": embcat.T @ dhpre, "b1": dhpre.sum(0), "W2": h.T @ dlog, "b2": dlog.sum(0),
                      "bngain": (bnraw * dhpreact).sum(0, keepdim=True), "bnbias": dhpreact.sum(0, keepdim=True)}

    return gradients


def training(results_of):
    """Exercise 4. `results_of(train_loop)` runs a training loop the way the test does and
    returns the dict it checks; train_loop(params, X, Y, steps, lr, generator) -> losses."""
    described = {
        "no-bessel": "the BatchNorm backward must use n / (n - 1), because the forward pass's variance divides by n - 1",
        "overwrite": OVERWRITTEN_ROWS,
        "no-tanh": "the gradient must pass through tanh: multiply by its local derivative 1 - h**2",
    }
    mistakes = []
    for name, text in described.items():
        gradients = _wrong_gradients(name)

        def loop(params, X, Y, steps, lr, generator, batch_size=32, gradients=gradients):
            return bp.train(params, X, Y, steps, batch_size=batch_size, lr=lr, generator=generator,
                            gradients=gradients, progress=False)

        mistakes.append(Mistake(text, results_of(loop)))
    return mistakes
