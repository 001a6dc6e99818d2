"""lib.mistakes.backprop: each classic mistake of Lesson 5 is named when an answer makes it.

Every wrong answer below is written here the way a student would get it, independently of
the table; the table must recognise it. A correct answer gets no diagnosis, and an unrelated
wrong answer gets only the generic max-difference message.
"""
import pytest
import torch

from lesson_cells import LessonCells, Wrong, catalogue_is_complete, fails_visibly
from lib.grading import check, check_all
from lib.makemore import Vocab, build_dataset, load_words, split_words, step_decay
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


MEAN_TEXT = "divided by the batch size again"


def by_fragment(fragment, mistakes):
    (text,) = {m.description for m in mistakes if fragment in m.description}
    return text


def group(grads, keys):
    return {k: grads[k] for k in keys}


CE_KEYS = ["logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes", "logits"]


def student_cross_entropy(s, Yb, *, per_pick=None, log_rule="divide", inverse_sign=-1, both_branches=True,
                          add_max=True, columns=False):
    n = len(Yb)
    d = {"logprobs": torch.zeros_like(s["logprobs"])}
    for i in range(n):
        d["logprobs"][i, Yb[i]] = -1.0 / n if per_pick is None else per_pick
    if columns:
        d["logprobs"][:, Yb] = -1.0 / n
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
    (dict(columns=True), "x[:, Yb] selects whole columns"),
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
    fragments = ["in terms of its output h", "the chain rule multiplies", MEAN_TEXT]
    answers += [{**right, "hpreact": dh}, {**right, "W2": dlogits.T @ steps["h"]}, {**right, "b2": dlogits.sum(1)}]
    fragments += ["must pass through tanh", "dW2 has W2's shape", "b2 was broadcast"]
    for answer, fragment in zip(answers, fragments):
        assert_named(diagnosis_of(answer, expected, mistakes), by_fragment(fragment, mistakes))
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


def test_training_mistakes_are_read_from_the_first_steps():
    """first_steps names the pattern: which step, which parameters, and why."""
    g = torch.Generator().manual_seed(5)
    X, Y = torch.randint(0, 27, (400, 3), generator=g), torch.randint(0, 27, (400,), generator=g)
    lr = step_decay(0.1, 0.01, at=2)

    def run(loop, k):
        gen = torch.Generator().manual_seed(1)
        params = bp.init_parameters(n_hidden=16, generator=gen, dtype=torch.float64)
        loop = loop or (lambda p, X, Y, steps, rate, generator, batch_size=32: bp.train(
            p, X, Y, steps, batch_size=batch_size, lr=rate, generator=generator,
            gradients=bp.autograd_gradients, progress=False))
        return loop(params, X, Y, k, lr, gen, batch_size=8), params

    def student(variant):
        def loop(params, X, Y, steps, rate, generator, batch_size=32):
            losses, kept = [], None
            for step in range(steps):
                ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
                loss, grads = bp.fast_gradients(params, X[ix], Y[ix])
                if variant == "stale":
                    kept = grads["W1"] if kept is None else kept + grads["W1"]
                    grads["W1"] = kept
                for name in bp.PARAMETER_NAMES:
                    if variant == "skip-b2" and name == "b2":
                        continue
                    sign = -1 if variant == "sign" else 1
                    params[name] -= sign * (rate(0) if variant == "rate" else rate(step)) * grads[name]
                losses.append(loss.item())
            return losses
        return loop

    def message(variant):
        try:
            table.first_steps(student(variant), run, lr)
        except AssertionError as err:
            return str(err)
        return None

    assert message("right") is None
    assert "b2 never changed" in message("skip-b2")
    assert "wrong sign" in message("sign")
    assert "step 2 is the first" in message("rate") and "lr(step) inside the loop" in message("rate")
    stale = message("stale")
    assert "step 1 is the first" in stale and "W1" in stale and "previous steps'" in stale


def test_a_batch_of_one_must_raise_a_clear_error():
    nan = torch.full((1, 4), float("nan"), dtype=torch.float64)
    args = (torch.ones(1, 4, dtype=torch.float64), torch.ones(1, 4, dtype=torch.float64), nan, nan)
    table.undefined_for_one("f", lambda *a: (_ for _ in ()).throw(ValueError("n = 1")), *args)
    with pytest.raises(AssertionError, match="n - 1 = 0.*returned nan"):
        table.undefined_for_one("f", lambda dy, g, inv, raw: g * inv * raw, *args)


# --- The catalogue: every wrong answer below must fail a visible test cell, named ---

CELLS = LessonCells("05-backprop", helpers=["backprop-reference", "training-helper"])


@pytest.fixture(scope="module")
def lesson_data():
    words = load_words()
    vocab = Vocab.from_words(words)
    train_words, dev_words, _ = split_words(words, seed=42)
    Xtr, Ytr = build_dataset(train_words, vocab, 3)
    Xdev, Ydev = build_dataset(dev_words, vocab, 3)
    g = torch.Generator().manual_seed(bp.LECTURE_SEED)
    params = bp.init_parameters(vocab_size=27, block_size=3, n_embd=10, n_hidden=64, generator=g)
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    return dict(Xtr=Xtr, Ytr=Ytr, Xdev=Xdev, Ydev=Ydev, params=params, Xb=Xtr[ix], Yb=Ytr[ix], n=32)


def lesson_context(data):
    """What the notebook's earlier cells define, fresh for each run (an answer may mutate it)."""
    def add(namespace):
        namespace.update({k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in data.items()})
        namespace["params"] = {k: v.clone() for k, v in data["params"].items()}
        namespace["params64"] = {k: v.double() for k, v in namespace["params"].items()}
        namespace["steps64"], namespace["grads64"] = bp.autograd_step_gradients(
            namespace["params64"], namespace["Xb"], namespace["Yb"])
    return add


def W(exercise, edits, names, kind, what):
    return Wrong(exercise, exercise.replace("ex-", "test-", 1), tuple(edits), names, kind, what)


CE, OUT, BN, IN = "ex-backward-cross-entropy", "ex-backward-output-layer", "ex-backward-batchnorm", "ex-backward-input-layer"
DL, DH, TR = "ex-dlogits", "ex-dhprebn", "ex-train-by-hand"
LOOP = ('    for k in range(Xb.shape[0]):\n        for j in range(Xb.shape[1]):\n'
        '            d["C"][Xb[k, j]] += d["emb"][k, j]\n')
CATALOGUE = [
    W(CE, [("[range(n), Yb] = -1.0 / n", "[range(n), Yb] = -1.0")], "gets -1/n, not -1", "classic",
      "no 1/n of the mean in dlogprobs"),
    W(CE, [("[range(n), Yb] = -1.0 / n", "[:, Yb] = -1.0 / n")], "selects whole columns", "classic",
      "whole-column indexing x[:, Yb]"),
    W(CE, [('(1.0 / s["probs"]) * d["logprobs"]', 's["probs"] * d["logprobs"]')], "derivative of log(x) is 1/x",
      "classic", "log's derivative multiplied instead of divided"),
    W(CE, [('-s["counts_sum"] ** -2', 's["counts_sum"] ** -2')], "minus sign is missing", "classic",
      "the sign of x**-1's derivative"),
    W(CE, [('\n                   + torch.ones_like(s["counts"]) * d["counts_sum"])', ")")], "counts is used twice",
      "classic", "counts' second use (through counts_sum) dropped"),
    W(CE, [('d["norm_logits"] + at_max * d["logit_maxes"]', 'at_max * d["logit_maxes"]')],
      "logits reach the loss directly", "classic", "the max branch replaces the direct one"),
    W(CE, [('.sum(1, keepdim=True)\n    d["counts_sum"]', '.sum(1)\n    d["counts_sum"]')], "keepdim=True", "classic",
      "a sum without keepdim for counts_sum_inv"),
    W(CE, [("n = Yb.shape[0]", "n = 32")], "hard-coded", "sloppy", "the lecture's batch size typed in"),
    W(CE, [('d["logprobs"] = torch.zeros_like(s["logprobs"])', 'd["logprobs"] = s["logprobs"].zero_()')],
      "changed its input s['logprobs'] in place", "sloppy", "the gradient aliases (and zeroes) the forward tensor"),

    W(OUT, [('(1.0 - s["h"] ** 2)', '(1.0 - s["hpreact"] ** 2)')], "in terms of its output h", "classic",
      "tanh's derivative from its input"),
    W(OUT, [('(1.0 - s["h"] ** 2) * d["h"]', '(1.0 - s["h"] ** 2)')], "multiplies tanh's local derivative",
      "classic", "the chain rule's upstream factor forgotten"),
    W(OUT, [('d["hpreact"] = (1.0 - s["h"] ** 2) * d["h"]', 'd["hpreact"] = d["h"]')], "must pass through tanh",
      "classic", "tanh skipped"),
    W(OUT, [('s["h"].T @ dlogits', 'dlogits.T @ s["h"]')], "dW2 has W2's shape", "classic", "dW2 transposed"),
    W(OUT, [("dlogits.sum(0)", "dlogits.mean(0)")], "divided by the batch size again", "classic",
      "db2 averaged instead of summed"),
    W(OUT, [("dlogits.sum(0)", "dlogits.sum(1)")], "b2 was broadcast over the batch", "classic",
      "db2 summed over the wrong dimension"),
    W(OUT, [('d["h"] = dlogits @ params["W2"].T', 'd["h"] = (dlogits @ params["W2"].T).view(32, 64)')],
      "hard-coded", "sloppy", "the lecture's sizes typed into a view"),
    W(OUT, [('(1.0 - s["h"] ** 2)', '(1.0 - s["h"].pow_(2))')], "changed its input s['h'] in place", "sloppy",
      "an in-place power on the forward tensor"),

    W(BN, [("1.0 / (n - 1)", "1.0 / n")], "Bessel's correction", "classic", "1/n for 1/(n-1) in dbndiff2"),
    W(BN, [(' + 2 * s["bndiff"] * d["bndiff2"]', "")], "bndiff is used twice", "classic",
      "bndiff's second use dropped"),
    W(BN, [('d["bndiff"] + 1.0 / n * torch.ones_like', 'd["bndiff"] + torch.ones_like')],
      "receives 1/n of dbnmeani", "classic", "the mean's 1/n forgotten"),
    W(BN, [("** -1.5", "** -0.5")], "exponent must go down by one", "classic", "the power rule's exponent"),
    W(BN, [('d["bnvar_inv"] = (s["bndiff"] * d["bnraw"]).sum(0, keepdim=True)',
            'd["bnvar_inv"] = (s["bndiff"] * d["bnraw"]).sum(0)')], "keepdim=True", "classic",
      "a sum without keepdim for bnvar_inv"),
    W(BN, [('d["bnbias"] = dhpreact.sum(0, keepdim=True)', 'd["bnbias"] = dhpreact')],
      "bngain and bnbias were broadcast", "classic", "dbnbias not summed over the batch"),
    W(BN, [("n = dhpreact.shape[0]", "n = 32")], "hard-coded", "sloppy", "the lecture's batch size typed in"),
    W(BN, [('(s["bnvar"] + 1e-5) ** -1.5', 's["bnvar"].add_(1e-5) ** -1.5')],
      "changed its input s['bnvar'] in place", "sloppy", "eps added in place to the forward tensor"),

    W(IN, [(LOOP, '    d["C"][Xb] += d["emb"]\n')], "must receive the sum of all its", "classic",
      "dC[Xb] += demb (no accumulation)"),
    W(IN, [('d["C"][Xb[k, j]] += d["emb"][k, j]', 'd["C"][Xb[k, j]] = d["emb"][k, j]')],
      "must receive the sum of all its", "classic", "assignment in the loop"),
    W(IN, [('        for j in range(Xb.shape[1]):\n            d["C"][Xb[k, j]] += d["emb"][k, j]',
            '        d["C"][Xb[k]] += d["emb"][k]')], "counts once per repeat", "classic",
      "a whole context row indexed at once"),
    W(IN, [('s["embcat"].T @ dhprebn', 'dhprebn.T @ s["embcat"]')], "dW1 has W1's shape", "classic",
      "dW1 transposed"),
    W(IN, [('d["b1"] = dhprebn.sum(0)', 'd["b1"] = dhprebn')], "b1 was broadcast over the batch", "classic",
      "db1 not summed"),
    W(IN, [('s["embcat"].T @ dhprebn', 's["embcat"].T @ dhprebn / Xb.shape[0]')],
      "divided by the batch size again", "classic", "dW1 divided by n again"),
    W(IN, [("for k in range(Xb.shape[0])", "for k in range(32)")], "hard-coded", "sloppy",
      "the loop over the lecture's 32 examples"),
    W(IN, [('d["C"] = torch.zeros_like(params["C"])', 'd["C"] = params["C"].zero_()')],
      "changed its input params['C'] in place", "sloppy", "dC aliases (and zeroes) C"),

    W(DL, [("    d[range(n), Yb] -= 1\n", "")], "1 subtracted at each row's target", "classic",
      "the one-hot subtraction dropped"),
    W(DL, [("return d / n", "return d")], "divide by n", "classic", "no 1/n"),
    W(DL, [("d[range(n), Yb] -= 1", "d[range(n), logits.argmax(1)] -= 1")], "not at the most likely class",
      "classic", "1 subtracted at the arg-max"),
    W(DL, [("F.softmax(logits, 1)", "F.log_softmax(logits, 1)")], "not the log-probabilities", "classic",
      "log-softmax for softmax"),
    W(DL, [("F.softmax(logits, 1)", "F.softmax(logits, 0)")], "not down the columns", "classic",
      "softmax over the wrong dimension"),
    W(DL, [("d[range(n), Yb] -= 1", "d[:, Yb] -= 1")], "selects whole columns", "classic",
      "whole-column indexing"),
    W(DL, [("n = logits.shape[0]", "n = 32")], "hard-coded", "sloppy", "the lecture's batch size typed in"),
    W(DL, [("d = F.softmax(logits, 1)", "d = logits.exp_()\n    d /= d.sum(1, keepdim=True)")],
      "changed its input logits in place", "sloppy", "exp_ on the input"),
    W(DL, [("return d / n", "return (d / n).squeeze()")], "must be a tensor of the logits' shape", "sloppy",
      "squeeze() loses the batch of one's dimension"),

    W(DH, [("n / (n - 1) * bnraw", "bnraw")], "Bessel's correction", "classic", "no n/(n-1)"),
    W(DH, [("return bngain * bnvar_inv / n", "return bnvar_inv / n")], "carries that factor too", "classic",
      "the gain forgotten"),
    W(DH, [(" - dhpreact.sum(0) - n", " - n")], "the sum of dhpreact over the batch is", "classic",
      "the mean's term dropped"),
    W(DH, [(" - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0)\n", "\n")], "the batch variance depends",
      "classic", "the variance's term dropped"),
    W(DH, [("dhpreact.sum(0)", "dhpreact.sum(1, keepdim=True)"),
           ("(dhpreact * bnraw).sum(0)", "(dhpreact * bnraw).sum(1, keepdim=True)")],
      "the sums run over the batch", "classic", "sums over the hidden units"),
    W(DH, [("n = dhpreact.shape[0]", "n = 32")], "hard-coded", "sloppy", "the lecture's batch size typed in"),
    W(DH, [('    if n < 2:\n        raise ValueError("a batch of one has no Bessel-corrected variance (0 / 0)")\n',
            "")], "n - 1 = 0", "sloppy", "no error for a batch of one"),
    W(DH, [("return bngain * bnvar_inv / n * (\n        n * dhpreact",
            "dhpreact *= n\n    return bngain * bnvar_inv / n * (\n        dhpreact")],
      "changed its input dhpreact in place", "sloppy", "scaling the upstream gradient in place"),

    W(TR, [(',\n                     "bnbias": dhpreact.sum(0, keepdim=True)}', "}")], "bnbias never changed",
      "sloppy", "one parameter left out of the update"),
    W(TR, [("            dC = torch.zeros_like(C)\n", ""),
           ("    losses = []\n", "    losses = []\n    dC = torch.zeros_like(C)\n")], "still holds the previous",
      "classic", "dC not zeroed between steps"),
    W(TR, [("params[name] -= lr(step) * grad", "params[name] -= lr(0) * grad")], "call lr(step) inside the loop",
      "classic", "the learning rate read once"),
    W(TR, [("params[name] -= lr(step) * grad", "params[name] += lr(step) * grad")], "wrong sign", "classic",
      "gradient ascent"),
    W(TR, [("- n / (n - 1) * bnraw", "- bnraw")], "Bessel's correction", "classic", "no n/(n-1) in the loop"),
    W(TR, [("dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))", "dC[Xb] += demb")],
      "must receive the sum of all its", "classic", "dC[Xb] += demb in the loop"),
    W(TR, [("dhpreact = (1.0 - h**2) * dh", "dhpreact = dh")], "must pass through tanh", "classic",
      "tanh skipped in the loop"),
    W(TR, [("unbiased=True", "unbiased=False")], "the forward pass", "classic", "the biased variance forward"),
    W(TR, [("n = batch_size", "n = 32")], "hard-coded", "sloppy", "the lecture's batch size typed in"),
]
EXERCISES = [CE, OUT, BN, IN, DL, DH, TR]


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}:{w.what[:40]}")
def test_catalogued_mistake_fails_a_visible_test_and_is_named(wrong, lesson_data):
    fails_visibly(CELLS, wrong, context=lesson_context(lesson_data))


def test_every_exercise_has_a_catalogue():
    catalogue_is_complete(CATALOGUE, EXERCISES)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_reference_answer_passes_its_test_cell(exercise, lesson_data):
    test = exercise.replace("ex-", "test-", 1)
    assert CELLS.run_test_cell(test, exercise, context=lesson_context(lesson_data)) is None
