"""lib.mistakes.backprop: each classic mistake of Lesson 5 is named when an answer makes it.

Every wrong answer below is written here the way a student would get it, independently of
the table; the table must recognise it. A correct answer gets no diagnosis, and an unrelated
wrong answer gets only the generic max-difference message.
"""
import pytest
import torch
import torch.nn.functional as F

from lib.grading import check, check_all
from lib.makemore import backprop as bp
from lib.mistakes import backprop as table


@pytest.fixture(scope="module")
def case():
    g = torch.Generator().manual_seed(11)
    params = bp.init_parameters(generator=g, dtype=torch.float64)
    Xb = torch.randint(0, 27, (32, 3), generator=g)
    Xb[0] = 0  # a context '...' repeats a character inside one row
    Yb = torch.randint(0, 27, (32,), generator=g)
    steps, grads = bp.autograd_step_gradients(params, Xb, Yb)
    return params, Xb, Yb, steps, grads


def diagnosis_of(got, expected, mistakes, single=False):
    """The AssertionError message of a failing check (None if it passes)."""
    try:
        (check("answer", got, expected, mistakes=mistakes) if single else check_all(got, expected, mistakes=mistakes))
    except AssertionError as err:
        return str(err)
    return None


def assert_named(message, mistake_text):
    assert message is not None, "the wrong answer passed"
    assert f"Likely mistake: {mistake_text}" in message, message


def assert_generic(message):
    assert message is not None and "max difference" in message and "Likely mistake" not in message, message


def group(grads, keys):
    return {k: grads[k] for k in keys}


CE_KEYS = ["logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes", "logits"]


def student_cross_entropy(s, Yb, *, per_pick=None, log_rule="divide", inverse_sign=-1, both_branches=True,
                          add_max=True):
    n = len(Yb)
    d = {"logprobs": torch.zeros_like(s["logprobs"])}
    for i in range(n):
        d["logprobs"][i, Yb[i]] = -1.0 / n if per_pick is None else per_pick
    d["probs"] = d["logprobs"] / s["probs"] if log_rule == "divide" else d["logprobs"] * s["probs"]
    d["counts_sum_inv"] = (d["probs"] * s["counts"]).sum(1, keepdim=True)
    d["counts_sum"] = inverse_sign * s["counts_sum"] ** -2 * d["counts_sum_inv"]
    d["counts"] = d["probs"] * s["counts_sum_inv"] + (d["counts_sum"] if both_branches else 0)
    d["norm_logits"] = d["counts"] * s["counts"]
    d["logit_maxes"] = -d["norm_logits"].sum(1, keepdim=True)
    routed = torch.zeros_like(s["logits"])
    routed[torch.arange(n), s["logits"].argmax(1)] = d["logit_maxes"][:, 0]
    d["logits"] = d["norm_logits"] + routed if add_max else routed
    return d


@pytest.mark.parametrize("wrong, text_start", [
    (dict(per_pick=-1.0), "the loss is a mean over the batch"),
    (dict(log_rule="multiply"), "the derivative of log(x)"),
    (dict(inverse_sign=1), "the derivative of x**-1"),
    (dict(both_branches=False), "counts is used twice"),
    (dict(add_max=False), "logits reach the loss directly"),
])
def test_cross_entropy_step_mistakes(case, wrong, text_start):
    params, Xb, Yb, steps, grads = case
    mistakes = table.cross_entropy_steps(steps, Yb)
    expected = group(grads, CE_KEYS)
    assert diagnosis_of(student_cross_entropy(steps, Yb), expected, mistakes) is None
    text = next(m.description for m in mistakes if m.description.startswith(text_start))
    assert_named(diagnosis_of(student_cross_entropy(steps, Yb, **wrong), expected, mistakes), text)


def test_output_layer_mistakes(case):
    params, Xb, Yb, steps, grads = case
    dlogits, n = grads["logits"], 32
    mistakes = table.output_layer(steps, params, dlogits)
    expected = group(grads, ["h", "W2", "b2", "hpreact"])
    right = bp.backward_output_layer(steps, params, dlogits)
    assert diagnosis_of(right, expected, mistakes) is None
    dh = dlogits @ params["W2"].T
    answers = [
        {**right, "hpreact": dh * (1 - steps["hpreact"] ** 2)},
        {**right, "hpreact": 1 - steps["h"] * steps["h"]},
        {**right, "W2": steps["h"].T @ dlogits / n, "b2": dlogits.mean(0)},
    ]
    for answer, mistake in zip(answers, mistakes):
        assert_named(diagnosis_of(answer, expected, mistakes), mistake.description)
    assert_generic(diagnosis_of({**right, "h": right["h"] + 1e-3}, expected, mistakes))


def test_batchnorm_step_mistakes(case):
    params, Xb, Yb, steps, grads = case
    dhpreact, n = grads["hpreact"], 32
    mistakes = table.batchnorm_steps(steps, params, dhpreact)
    keys = ["bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani", "hprebn"]
    expected = group(grads, keys)
    right = bp.backward_batchnorm(steps, params, dhpreact)
    assert diagnosis_of(right, expected, mistakes) is None

    def rest(d, dbndiff2=None, both=True, share=1 / n):
        """Student code from dbnvar down, with the choices a mistake changes."""
        d = dict(d)
        d["bndiff2"] = torch.full_like(steps["bndiff2"], 1 / (n - 1)) * d["bnvar"] if dbndiff2 is None else dbndiff2
        d["bndiff"] = d["bnraw"] * steps["bnvar_inv"] + (2 * steps["bndiff"] * d["bndiff2"] if both else 0)
        d["bnmeani"] = -d["bndiff"].sum(0, keepdim=True)
        d["hprebn"] = d["bndiff"] + share * d["bnmeani"]
        return d

    biased = rest(right, dbndiff2=torch.full_like(steps["bndiff2"], 1 / n) * right["bnvar"])
    one_branch = rest(right, both=False)
    whole_mean = rest(right, share=1.0)
    lowered_once = dict(right, bnvar=-0.5 / (steps["bnvar"] + bp.BN_EPS).sqrt() * right["bnvar_inv"])
    lowered_once = rest(lowered_once)
    for answer, mistake in zip([biased, one_branch, whole_mean, lowered_once], mistakes):
        assert_named(diagnosis_of(answer, expected, mistakes), mistake.description)
    assert_generic(diagnosis_of({**right, "bnbias": right["bnbias"] * 1.01}, expected, mistakes))


def test_input_layer_mistakes(case):
    params, Xb, Yb, steps, grads = case
    dhprebn, n = grads["hprebn"], 32
    mistakes = table.input_layer(steps, params, dhprebn, Xb)
    expected = group(grads, ["embcat", "W1", "b1", "emb", "C"])
    right = bp.backward_input_layer(steps, params, dhprebn, Xb)
    assert diagnosis_of(right, expected, mistakes) is None
    demb = right["emb"]
    assigned = torch.zeros_like(params["C"])
    for k in range(n):
        for j in range(3):
            assigned[Xb[k, j]] = demb[k, j]
    per_row = torch.zeros_like(params["C"])
    for k in range(n):
        per_row[Xb[k]] += demb[k]
    answers = [{**right, "C": assigned}, {**right, "C": per_row},
               {**right, "W1": steps["embcat"].T @ (dhprebn / n), "b1": dhprebn.mean(0)}]
    for answer, mistake in zip(answers, mistakes):
        assert_named(diagnosis_of(answer, expected, mistakes), mistake.description)
    assert_generic(diagnosis_of({**right, "embcat": -right["embcat"]}, expected, mistakes))


def test_dlogits_mistakes(case):
    params, Xb, Yb, steps, grads = case
    logits, n = steps["logits"], 32
    mistakes = table.dlogits(logits, Yb)
    probs = logits.exp() / logits.exp().sum(1, keepdim=True)
    right = probs.clone()
    right[range(n), Yb] -= 1
    assert diagnosis_of(right / n, grads["logits"], mistakes, single=True) is None
    at_max = probs.clone()
    at_max[range(n), logits.argmax(1)] -= 1
    logp = logits - logits.logsumexp(1, keepdim=True)
    logp[range(n), Yb] -= 1
    for answer, mistake in zip([probs / n, right, at_max / n, logp / n], mistakes):
        assert_named(diagnosis_of(answer, grads["logits"], mistakes, single=True), mistake.description)
    assert_generic(diagnosis_of(right / n * 1.1, grads["logits"], mistakes, single=True))


def test_dhprebn_mistakes(case):
    params, Xb, Yb, steps, grads = case
    dy, n = grads["hpreact"], 32
    gain, inv, xhat = params["bngain"], steps["bnvar_inv"], steps["bnraw"]
    mistakes = table.dhprebn(dy, gain, inv, xhat)
    right = bp.batchnorm_grad(dy, gain, inv, xhat)
    assert diagnosis_of(right, grads["hprebn"], mistakes, single=True) is None
    mean_dy, mean_dyx = dy.mean(0, keepdim=True), (dy * xhat).mean(0, keepdim=True)
    answers = [
        gain * inv * (dy - mean_dy - xhat * mean_dyx),                      # the n-denominator (biased) formula
        inv * (dy - mean_dy - n / (n - 1) * xhat * mean_dyx),
        gain * inv * (dy - n / (n - 1) * xhat * mean_dyx),
        gain * inv * (dy - mean_dy),
    ]
    for answer, mistake in zip(answers, mistakes):
        assert_named(diagnosis_of(answer, grads["hprebn"], mistakes, single=True), mistake.description)
    assert_generic(diagnosis_of(right + 1e-4, grads["hprebn"], mistakes, single=True))


def test_training_mistakes():
    g = torch.Generator().manual_seed(5)
    X, Y = torch.randint(0, 27, (400, 3), generator=g), torch.randint(0, 27, (400,), generator=g)

    def results_of(loop):
        params = bp.init_parameters(n_hidden=32, dtype=torch.float64)
        losses = loop(params, X, Y, 40, 0.1, torch.Generator().manual_seed(1))
        return {"minibatch losses": torch.tensor(losses, dtype=torch.float64), "final W1": params["W1"]}

    def student(variant):
        def loop(params, X, Y, steps, lr, generator, batch_size=32):
            losses = []
            for _ in range(steps):
                ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
                Xb, Yb = X[ix], Y[ix]
                s = bp.forward(params, Xb, Yb)
                d = bp.manual_backward(s, params, Xb, Yb)
                n = batch_size
                if variant == "no-tanh":
                    dhpreact = d["h"]
                    d.update(bp.backward_batchnorm(s, params, dhpreact))
                    d.update(bp.backward_input_layer(s, params, d["hprebn"], Xb))
                if variant == "no-bessel":
                    dy = d["hpreact"]
                    dhprebn = params["bngain"] * s["bnvar_inv"] * (dy - dy.mean(0) - s["bnraw"] * (dy * s["bnraw"]).mean(0))
                    d.update(bp.backward_input_layer(s, params, dhprebn, Xb))
                if variant == "overwrite":
                    d["C"] = torch.zeros_like(params["C"])
                    for k in range(n):
                        for j in range(Xb.shape[1]):
                            d["C"][Xb[k, j]] = d["emb"][k, j]
                for name in bp.PARAMETER_NAMES:
                    params[name] -= lr * d[name]
                losses.append(s["loss"].item())
            return losses
        return loop

    mistakes = table.training(results_of)
    expected = results_of(student("right"))
    reference = results_of(lambda p, X, Y, steps, lr, gen: bp.train(p, X, Y, steps, lr=lr, generator=gen,
                                                                     gradients=bp.autograd_gradients, progress=False))
    assert diagnosis_of(expected, reference, mistakes) is None
    for variant, mistake in zip(["no-bessel", "overwrite", "no-tanh"], mistakes):
        assert_named(diagnosis_of(results_of(student(variant)), reference, mistakes), mistake.description)
    unrelated = dict(expected, **{"final W1": expected["final W1"] * 1.01})
    assert_generic(diagnosis_of(unrelated, reference, mistakes))
