"""Classic mistakes of Lesson 5 (backprop by hand), each performed on the exercise's inputs.

One table per exercise (exercise 1's take the forward pass's intermediates `steps` and the
gradient from above; a mistake's value is then a dict of the keys it changes). The semantic
checks run before any value is compared: `called` (the answer runs on a case other than the
lecture's), `unchanged` (inputs left alone), `holds` (a property of every right answer).
`first_steps` compares a training loop with autograd's step by step and reads the mistake
from which step and which parameters differ.
"""
import torch
import torch.nn.functional as F

from lib.grading import Mistake, compare, diagnose
from lib.makemore import backprop as bp

MEAN_ALREADY_IN_DLOGITS = ("the gradient was divided by the batch size again: the 1/n of the mean is already "
                           "inside dlogits, so a sum over the batch is all that is left")
OVERWRITTEN_ROWS = ("a character that occurs several times in the batch must receive the sum of all its "
                    "gradients; assigning (dC[ix] = ...) or dC[Xb] += demb keeps only one of them "
                    "(use a loop with +=, or index_add_)")
HARD_CODED = "the batch size is hard-coded as 32 (the lecture's): take n from the tensors' shapes"
NO_BESSEL = ("bnvar divides the sum of squares by n - 1 (Bessel's correction), so its backward carries "
             "1/(n-1) (a factor n/(n-1) in the fused formula), not 1/n")
WHOLE_COLUMN = ("x[:, Yb] selects whole columns (every row at every target): pick one entry per row "
                "with x[range(n), Yb]")
NO_TANH = "the gradient must pass through tanh: multiply dh by its local derivative 1 - h**2"
KEEPDIM = "a sum over a broadcast dimension lost it: sum(..., keepdim=True) keeps the gradient in its tensor's shape"


def _close(got, expected):  # within lib.grading's tolerance
    return compare("", got, expected, show=False).close


def called(name, function, *args, case=""):
    """Call the answer; an exception (other than a blank stub's) becomes a message that says where."""
    try:
        return function(*args)
    except Exception as err:
        text, grader = str(err), type(err).__module__.startswith("grader")  # grader: ran in another process
        if isinstance(err, NotImplementedError) or grader and not text.startswith("Your code raised") or (
                "raised NotImplementedError" in text):
            raise
        hint = ("a shape mismatch: a sum without keepdim=True, a transpose, or " if "size" in text else "is "
                ) + "a size hard-coded from the lecture (32 examples, 64 hidden units, 27 characters)?"
        text = text if grader else f"{type(err).__name__}: {text}"
        raise AssertionError(f"✗ {name} failed on {case}: {text}\n  {hint}") from None


def unchanged(name, before, after):
    """Fail when the answer changed an input in place; `before` holds clones of `after`'s tensors."""
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert not changed, (f"✗ {name} changed its input {', '.join(changed)} in place: the forward pass's "
                         "tensors and the parameters are read-only here; make new tensors (x * y, "
                         "torch.zeros_like(x)) instead of +=, -=, *= or a method ending in _ on them")


def holds(ok, message, got=None, expected=None, mistakes=()):
    """A semantic check: fail with `message`, and the likely mistake when one reproduces `got`."""
    diagnosis = None if ok or not mistakes else diagnose(got, expected, mistakes)
    if not ok:
        raise AssertionError("✗ " + message + (f"\n  Likely mistake: {diagnosis}" if diagnosis else ""))


def _cross_entropy_chain(s, Yb, mistake):
    n = 32 if mistake == "hard-coded" else Yb.shape[0]
    dlogprobs, rows = torch.zeros_like(s["logprobs"]), slice(None) if mistake == "whole-column" else range(len(Yb))
    dlogprobs[rows, Yb] = -1.0 if mistake == "no-mean" else -1.0 / n
    dprobs = dlogprobs * s["probs"] if mistake == "log-times" else dlogprobs / s["probs"]
    dcounts_sum_inv = (s["counts"] * dprobs).sum(1, keepdim=True)
    dcounts_sum = (1 if mistake == "inverse-sign" else -1) * s["counts_sum"] ** -2 * dcounts_sum_inv
    dcounts = s["counts_sum_inv"] * dprobs + (0 if mistake == "one-branch" else dcounts_sum)
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
        "whole-column": WHOLE_COLUMN,
        "log-times": "the derivative of log(x) is 1/x: divide by probs rather than multiply",
        "inverse-sign": "the derivative of x**-1 is -x**-2: the minus sign is missing from dcounts_sum",
        "one-branch": ("counts is used twice (in probs and in counts_sum): dcounts must add the gradient "
                       "from both uses"),
        "max-overwrites": ("logits reach the loss directly and through the max: add the arg-max term to "
                           "dnorm_logits instead of replacing it"),
        "hard-coded": HARD_CODED,
    }
    return [Mistake(text, _cross_entropy_chain(steps, Yb, name)) for name, text in described.items()]


def output_layer(steps, params, dlogits):
    """Exercise 1, the second Linear layer and the tanh."""
    n, h, dh = dlogits.shape[0], steps["h"], dlogits @ params["W2"].T
    return [
        Mistake("the local derivative of tanh is 1 - h**2, in terms of its output h, not of its input hpreact",
                {"hpreact": (1.0 - steps["hpreact"] ** 2) * dh}),
        Mistake("the chain rule multiplies tanh's local derivative (1 - h**2) by dh, the gradient arriving "
                "from above", {"hpreact": 1.0 - h**2}),
        Mistake(NO_TANH, {"hpreact": dh}),
        Mistake(MEAN_ALREADY_IN_DLOGITS, {"W2": h.T @ dlogits / n, "b2": dlogits.sum(0) / n}),
        Mistake("dW2 has W2's shape (n_hidden, vocab): h.T @ dlogits, not dlogits.T @ h", {"W2": dlogits.T @ h}),
        Mistake("b2 was broadcast over the batch (dimension 0): sum dlogits over dimension 0", {"b2": dlogits.sum(1)}),
    ]


def _batchnorm_chain(s, params, dhpreact, mistake):
    n = 32 if mistake == "hard-coded" else dhpreact.shape[0]
    squeeze = (lambda t: t.squeeze(0)) if mistake == "no-keepdim" else (lambda t: t)
    dbnraw = params["bngain"] * dhpreact
    dbnvar_inv = (s["bndiff"] * dbnraw).sum(0, keepdim=True)
    dbnvar = -0.5 * (s["bnvar"] + bp.BN_EPS) ** (-0.5 if mistake == "power" else -1.5) * dbnvar_inv
    dbndiff2 = 1.0 / (n if mistake == "no-bessel" else n - 1) * torch.ones_like(s["bndiff2"]) * dbnvar
    dbndiff = s["bnvar_inv"] * dbnraw + (0 if mistake == "one-branch" else 2 * s["bndiff"] * dbndiff2)
    dbnmeani = -dbndiff.sum(0, keepdim=True)
    dhprebn = dbndiff + (1.0 if mistake == "mean-share" else 1.0 / n) * torch.ones_like(s["hprebn"]) * dbnmeani
    out = {"bnvar": dbnvar, "bndiff2": dbndiff2, "bndiff": dbndiff, "bnmeani": squeeze(dbnmeani), "hprebn": dhprebn,
           "bnvar_inv": squeeze(dbnvar_inv)}
    if mistake in ("no-keepdim", "no-sum"):
        out["bngain"] = squeeze(s["bnraw"] * dhpreact) if mistake == "no-sum" else (s["bnraw"] * dhpreact).sum(0)
        out["bnbias"] = squeeze(dhpreact) if mistake == "no-sum" else dhpreact.sum(0)
    return out


def batchnorm_steps(steps, params, dhpreact):
    """Exercise 1, BatchNorm's steps."""
    described = {
        "no-bessel": NO_BESSEL,
        "one-branch": ("bndiff is used twice (in bnraw and in bndiff2): dbndiff must add the gradient from "
                       "both uses"),
        "mean-share": ("bnmeani is the mean of n rows, so each row of hprebn receives 1/n of dbnmeani, not all "
                       "of it"),
        "power": "the derivative of x**-0.5 is -0.5 * x**-1.5: the exponent must go down by one",
        "no-keepdim": KEEPDIM + " (bngain, bnbias, bnvar_inv, bnmeani are (1, n_hidden))",
        "no-sum": "bngain and bnbias were broadcast over the batch: sum their gradients over dimension 0",
        "hard-coded": HARD_CODED,
    }
    return [Mistake(text, _batchnorm_chain(steps, params, dhpreact, name)) for name, text in described.items()]


def input_layer(steps, params, dhprebn, Xb):
    """Exercise 1, the first Linear layer and the embedding."""
    n = dhprebn.shape[0]
    demb = (dhprebn @ params["W1"].T).view(steps["emb"].shape)
    overwritten = torch.zeros_like(params["C"])
    overwritten[Xb] += demb  # index_put without accumulation: repeated indices keep one value
    per_row, first_32 = torch.zeros_like(params["C"]), torch.zeros_like(params["C"])
    for k in range(n):
        per_row[Xb[k]] += demb[k]  # repeats inside one context ('...') collapse
    first_32.index_add_(0, Xb[:32].reshape(-1), demb[:32].reshape(-1, demb.shape[-1]))
    return [
        Mistake(OVERWRITTEN_ROWS, {"C": overwritten}),
        Mistake("a character repeated inside one context (as in '...') counts once per repeat: accumulate "
                "position by position, not a whole row of Xb at once", {"C": per_row}),
        Mistake(MEAN_ALREADY_IN_DLOGITS, {"W1": steps["embcat"].T @ dhprebn / n, "b1": dhprebn.sum(0) / n}),
        Mistake("dW1 has W1's shape (n_inputs, n_hidden): embcat.T @ dhprebn, not dhprebn.T @ embcat",
                {"W1": dhprebn.T @ steps["embcat"]}),
        Mistake("b1 was broadcast over the batch: sum dhprebn over dimension 0", {"b1": dhprebn}),
        Mistake(HARD_CODED + " (only the first 32 examples reached dC)", {"C": first_32}),
    ]


def dlogits(logits, Yb):
    """The fused cross-entropy gradient (ex-dlogits)."""
    n, classes = logits.shape
    probs = F.softmax(logits, 1)
    target = F.one_hot(Yb, classes).to(logits.dtype)
    at_max = F.one_hot(logits.argmax(1), classes).to(logits.dtype)
    column = probs.clone()
    column[:, Yb] -= 1
    return [
        Mistake("the probabilities need 1 subtracted at each row's target class (the one-hot of Yb)", probs / n),
        Mistake("the loss is a mean over the batch: divide by n", probs - target),
        Mistake("the 1 is subtracted at the target class Yb, not at the most likely class", (probs - at_max) / n),
        Mistake("dlogits starts from the probabilities (softmax), not the log-probabilities",
                (F.log_softmax(logits, 1) - target) / n),
        Mistake("the softmax runs along each row (dim=1, over the classes), not down the columns (dim=0)",
                (F.softmax(logits, 0) - target) / n),
        Mistake(WHOLE_COLUMN, column / n),
        Mistake(HARD_CODED, (probs - target) / 32),
    ]


def dhprebn(dhpreact, bngain, bnvar_inv, bnraw):
    """The fused BatchNorm backward (ex-dhprebn)."""
    n, total, correlation = dhpreact.shape[0], dhpreact.sum(0), (dhpreact * bnraw).sum(0)
    return [
        Mistake(NO_BESSEL, bngain * bnvar_inv / n * (n * dhpreact - total - bnraw * correlation)),
        Mistake("bnraw was multiplied by bngain: the gradient carries that factor too",
                bnvar_inv / n * (n * dhpreact - total - n / (n - 1) * bnraw * correlation)),
        Mistake("the batch mean depends on every row: the term with the sum of dhpreact over the batch is "
                "missing", bngain * bnvar_inv / n * (n * dhpreact - n / (n - 1) * bnraw * correlation)),
        Mistake("the batch variance depends on every row: the term with bnraw times the batch sum of "
                "dhpreact * bnraw is missing", bngain * bnvar_inv / n * (n * dhpreact - total)),
        Mistake("the sums run over the batch (dimension 0, keepdim or not), not over the hidden units",
                bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(1, keepdim=True)
                                          - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(1, keepdim=True))),
        Mistake(HARD_CODED, bngain * bnvar_inv / 32 * (32 * dhpreact - total - 32 / 31 * bnraw * correlation)),
    ]


def undefined_for_one(name, function, *args):
    """A batch of one: the Bessel-corrected variance is 0/0, so the answer must raise ValueError."""
    try:
        got = function(*args)
        got = "returned nan" if isinstance(got, torch.Tensor) and got.isnan().any() else f"returned {got!r:.40}"
    except Exception as err:
        if isinstance(err, ValueError) or str(err).startswith("Your code raised ValueError"):
            return print(f"✓ {name}: a batch of one raises ValueError")
        if isinstance(err, NotImplementedError) or "raised NotImplementedError" in str(err):
            raise
        got = f"raised {type(err).__name__} ({err})"
    raise AssertionError(f"✗ {name}: with n = 1 the variance divides by n - 1 = 0, so bnvar, bnvar_inv and "
                         f"the gradient are undefined (0/0); your function {got}: raise a ValueError that "
                         "says so for a batch of one")


def _wrong_gradients(mistake):
    """A `gradients` function for bp.train whose backward carries one mistake."""
    @torch.no_grad()
    def gradients(params, Xb, Yb):
        (loss, grads), n = bp.fast_gradients(params, Xb, Yb), Xb.shape[0]
        embcat, bnvar_inv, bnraw, h = bp._batchnorm_forward(params, Xb)
        dh = bp.cross_entropy_grad(h @ params["W2"] + params["b2"], Yb) @ params["W2"].T
        dhpreact = dh if mistake == "no-tanh" else (1.0 - h**2) * dh
        correction = 1.0 if mistake == "no-bessel" else n / (n - 1)
        dhpre = (params["bngain"] * bnvar_inv / n
                 * (n * dhpreact - dhpreact.sum(0) - correction * bnraw * (dhpreact * bnraw).sum(0)))
        demb, dC = (dhpre @ params["W1"].T).view(*Xb.shape, -1), torch.zeros_like(params["C"])
        if mistake == "overwrite":
            dC[Xb] += demb
        else:
            dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))
        return loss, dict(grads, C=dC, W1=embcat.T @ dhpre, b1=dhpre.sum(0),
                          bngain=(bnraw * dhpreact).sum(0, keepdim=True), bnbias=dhpreact.sum(0, keepdim=True))

    return gradients


GRADIENT_MISTAKES = {"no-bessel": NO_BESSEL, "overwrite": OVERWRITTEN_ROWS, "no-tanh": NO_TANH}


def _step_diagnosis(k, lr, loop, run, got, before, after):
    """What went wrong in step k - 1, the first step whose parameters differ from autograd's."""
    names = [p for p in bp.PARAMETER_NAMES if not _close(got[p], after[p])]
    mine = {p: got[p] - before[p] for p in bp.PARAMETER_NAMES}
    right = {p: after[p] - before[p] for p in bp.PARAMETER_NAMES}
    still = [p for p in names if torch.equal(got[p], before[p])]
    where = f"step {k - 1} is the first whose update differs from autograd's, in {', '.join(names)}"
    if still:
        return where, f"{', '.join(still)} never changed in that step: update all of {' '.join(bp.PARAMETER_NAMES)}"
    if all(_close(mine[p], -right[p]) for p in bp.PARAMETER_NAMES):
        return where, "every update has the wrong sign: descent steps against the gradient, p -= lr * grad"
    ratio = (mine["W2"].norm() / right["W2"].norm()).item()
    if abs(ratio - 1) > 1e-6 and all(_close(mine[p], ratio * right[p]) for p in bp.PARAMETER_NAMES):
        return where, (f"every update is {ratio:.3g} times autograd's: step {k - 1} must use the rate lr({k - 1}) "
                       f"= {lr(k - 1):g} (the schedule changes over the steps: call lr(step) inside the loop)")
    if k >= 2:
        _, two_back = run(None, k - 2)
        stale = {p: right[p] + lr(k - 1) / lr(k - 2) * (before[p] - two_back[p]) for p in names}
        if all(_close(mine[p], stale[p]) for p in names):
            return where, (f"the gradient of {', '.join(names)} still holds the previous steps': start each "
                           "step's gradients afresh (torch.zeros_like inside the loop, or a new tensor)")
    for mistake, text in GRADIENT_MISTAKES.items():
        _, theirs = run(lambda p, X, Y, steps, rate, generator, batch_size=32, g=_wrong_gradients(mistake): bp.train(
            p, X, Y, steps, batch_size=batch_size, lr=rate, generator=generator, gradients=g, progress=False), k)
        if all(_close(got[p], theirs[p]) for p in bp.PARAMETER_NAMES):
            return where, text
    return where, None


def first_steps(loop, run, lr, steps=3, case=""):
    """Compare the loop with autograd's after 1, 2, ... `steps` steps, parameter by parameter.
    `run(loop, k)` trains fresh parameters for k steps with `loop` (autograd's when None) and
    the schedule `lr`: (losses, params). Fails naming the first step, parameters and mistake."""
    for k in range(1, steps + 1):
        losses, got = called("train_by_hand", run, loop, k, case=f"{case}, {k} step{'s' * (k > 1)}")
        (right_losses, after), (_, before) = run(None, k), run(None, k - 1)
        if not isinstance(losses, (list, tuple)) or len(losses) != k:
            raise AssertionError(f"✗ {k} steps returned {losses!r:.60}: return a list of k numbers, "
                                 "loss.item() of each step")
        bad = [j for j in range(k) if not _close(float(losses[j]), right_losses[j])]
        if bad and bad[0] < k - 1:
            continue  # reported by the check of the per-step losses
        if bad:
            raise AssertionError(
                f"✗ the loss of step {k - 1} differs from autograd's ({float(losses[k - 1]):.6f}, not "
                f"{right_losses[k - 1]:.6f}) while the parameters before it agree: look at the forward "
                "pass (BatchNorm's variance is Bessel-corrected, unbiased=True, with eps 1e-5) and the "
                "minibatch (one per step: ix = torch.randint(0, X.shape[0], (batch_size,), "
                "generator=generator)); record the loss of the forward pass, before the update")
        if any(not _close(got[p], after[p]) for p in bp.PARAMETER_NAMES):
            where, why = _step_diagnosis(k, lr, loop, run, got, before, after)
            raise AssertionError(f"✗ {where}" + (f"\n  Likely mistake: {why}" if why else ""))
    print(f"✓ the first {steps} steps match autograd's, parameter by parameter")
