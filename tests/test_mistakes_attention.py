"""lib.mistakes.attention, the diagnoses of Lesson 7's attention exercises: an answer carrying
exactly one classic mistake is named by it, the correct answer by none, and an unrelated wrong
answer gets only the generic message. The wrong answers are written here the way a student
would write them, independently of the tables."""
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from lib.grading import check
from lib.mistakes.attention import head_mistakes, multi_head_mistakes


def linear(n_in, n_out, gen, bias=False):
    layer = nn.Linear(n_in, n_out, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(n_out, n_in, generator=gen, dtype=torch.float64) * n_in ** -0.5)
        if bias:
            layer.bias.copy_(0.1 * torch.randn(n_out, generator=gen, dtype=torch.float64))
    return layer


def student_head(x, query, key, value, mistake=None):
    """One causal head, optionally with one mistake."""
    T = x.shape[1]
    q, k, v = query(x), key(x), value(x)
    if mistake == "swapped":
        q, k = k, q
    hs = k.shape[-1]
    scale = {"unscaled": 1.0, "head_size": 1 / hs}.get(mistake, 1 / hs ** 0.5)
    wei = q @ k.transpose(1, 2) * scale
    tril = torch.tril(torch.ones(T, T))
    if mistake not in ("no mask", "mask after"):
        wei = wei.masked_fill(tril == 0, float("-inf"))
    wei = F.softmax(wei, dim=1 if mistake == "softmax dim" else 2)
    if mistake == "mask after":
        wei = wei * tril
    return wei @ v


def student_multi_head(x, query, key, value, proj, n_head, mistake=None):
    """Multi-head attention written as a loop over heads, optionally with one mistake."""
    B, T, C = x.shape
    if mistake == "one head":
        n_head = 1
    hs = C // n_head
    outs = []
    for h in range(n_head):
        rows = slice(h * hs, (h + 1) * hs)
        q, k, v = x @ query.weight[rows].T, x @ key.weight[rows].T, x @ value.weight[rows].T
        scale = {"unscaled": 1.0, "n_embd": C ** -0.5}.get(mistake, hs ** -0.5)
        wei = q @ k.transpose(1, 2) * scale
        if mistake != "no mask":
            wei = wei.masked_fill(torch.ones(T, T).triu(1).bool(), float("-inf"))
        outs.append(F.softmax(wei, dim=-1) @ v)
    if mistake == "wrong dim":
        out = torch.stack(outs, dim=1).reshape(B, T, C)  # (B, n_head, T, hs) read as (B, T, C)
    else:
        out = torch.cat(outs, dim=-1)
    return out if mistake == "no proj" else proj(out)


def diagnosis(got, expected, mistakes):
    with pytest.raises(AssertionError) as failure:
        check("output", got, expected, mistakes=mistakes)
    found = re.search(r"Likely mistake: (.*)", str(failure.value))
    return found.group(1) if found else None


@pytest.fixture(scope="module")
def head_inputs():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 6, 8, generator=gen, dtype=torch.float64)
    return x, linear(8, 4, gen), linear(8, 4, gen), linear(8, 4, gen)


@pytest.fixture(scope="module")
def multi_head_inputs():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 12, generator=gen, dtype=torch.float64)
    return x, linear(12, 12, gen), linear(12, 12, gen), linear(12, 12, gen), linear(12, 12, gen, bias=True), 3


HEAD_CASES = {
    "no mask": "causal mask is missing",
    "unscaled": "not scaled by 1/sqrt(head_size)",
    "head_size": "divided by head_size instead of sqrt",
    "softmax dim": "softmax normalises over the queries",
    "mask after": "mask is applied after the softmax",
    "swapped": "queries and keys are swapped",
}

MULTI_HEAD_CASES = {
    "no proj": "output projection is missing",
    "wrong dim": "concatenated along the wrong dimension",
    "no mask": "causal mask is missing",
    "n_embd": "1/sqrt(n_embd) instead of 1/sqrt(head_size)",
    "one head": "one single head",
    "unscaled": "not scaled by 1/sqrt(head_size)",
}


@pytest.mark.parametrize("mistake, words", HEAD_CASES.items())
def test_each_head_mistake_is_named(head_inputs, mistake, words):
    with torch.no_grad():
        expected = F.scaled_dot_product_attention(*(p(head_inputs[0]) for p in head_inputs[1:]), is_causal=True)
        got = student_head(*head_inputs, mistake=mistake)
    assert words in diagnosis(got, expected, head_mistakes(*head_inputs))


@pytest.mark.parametrize("mistake, words", MULTI_HEAD_CASES.items())
def test_each_multi_head_mistake_is_named(multi_head_inputs, mistake, words):
    with torch.no_grad():
        expected = student_multi_head(*multi_head_inputs)
        got = student_multi_head(*multi_head_inputs, mistake=mistake)
    assert words in diagnosis(got, expected, multi_head_mistakes(*multi_head_inputs))


def test_correct_answers_get_no_diagnosis(head_inputs, multi_head_inputs):
    with torch.no_grad():
        expected = F.scaled_dot_product_attention(*(p(head_inputs[0]) for p in head_inputs[1:]), is_causal=True)
        check("head", student_head(*head_inputs), expected, mistakes=head_mistakes(*head_inputs))
        x, query, key, value, proj, n_head = multi_head_inputs
        B, T, C = x.shape
        split = lambda t: t.view(B, T, n_head, C // n_head).transpose(1, 2)
        heads = F.scaled_dot_product_attention(split(query(x)), split(key(x)), split(value(x)), is_causal=True)
        expected = proj(heads.transpose(1, 2).reshape(B, T, C))
        check("multi-head", student_multi_head(*multi_head_inputs), expected,
              mistakes=multi_head_mistakes(*multi_head_inputs))


def test_every_mistake_changes_the_answer(head_inputs, multi_head_inputs):
    # A mistake that happened to give the right output on the test inputs could never be diagnosed.
    with torch.no_grad():
        right = student_head(*head_inputs)
        for m in head_mistakes(*head_inputs):
            assert (m.value - right).abs().max() > 1e-3, m.description
        right = student_multi_head(*multi_head_inputs)
        for m in multi_head_mistakes(*multi_head_inputs):
            assert (m.value - right).abs().max() > 1e-3, m.description


def test_an_unrelated_wrong_answer_gets_only_the_generic_message(head_inputs, multi_head_inputs):
    with torch.no_grad():
        right = student_head(*head_inputs)
        with pytest.raises(AssertionError) as failure:
            check("head", right + 0.01, right, mistakes=head_mistakes(*head_inputs))
        assert "max difference" in str(failure.value) and "Likely mistake" not in str(failure.value)
        right = student_multi_head(*multi_head_inputs)
        with pytest.raises(AssertionError) as failure:
            check("multi-head", right.flip(1), right, mistakes=multi_head_mistakes(*multi_head_inputs))
        assert "max difference" in str(failure.value) and "Likely mistake" not in str(failure.value)


# -- the lesson's test cells, run on the reference answer with one mistake typed in ------------
from lesson_cells import LessonCells, Wrong, catalogue_is_complete, fails_visibly  # noqa: E402

CELLS = LessonCells("07-gpt", helpers=["lesson-helpers", "averaging-reference", "attention-reference",
                                       "multi-head-reference", "blocks-reference"])
EXERCISES = ["ex-generate", "ex-train-loop", "ex-averaging", "ex-attention-head", "ex-multi-head",
             "ex-feed-forward", "ex-layer-norm", "ex-block"]


def lesson_context(namespace):
    """What the notebook's earlier cells define that the test cells use: the training text."""
    from lib.gpt.train import load_shakespeare

    _, train, _ = load_shakespeare()
    namespace["train_data"] = train[:5000].clone()


GEN, TRAIN, AVG = ("ex-generate", "test-generate"), ("ex-train-loop", "test-train-loop"), \
    ("ex-averaging", "test-averaging")
HEAD, MHA = ("ex-attention-head", "test-attention-head"), ("ex-multi-head", "test-multi-head")
FFN, LN, BLOCK = ("ex-feed-forward", "test-feed-forward"), ("ex-layer-norm", "test-layer-norm"), \
    ("ex-block", "test-block")
MASK = 'wei.masked_fill(tril == 0, float("-inf"))'
PRE_NORM = "x = x + self.sa(self.ln1(x))\n        x = x + self.ffwd(self.ln2(x))"
LN_RETURN = "return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias"

CATALOGUE = [
    # sampling
    Wrong(*GEN, (("torch.multinomial(probs, num_samples=1, generator=generator)",
                  "probs.argmax(-1, keepdim=True)"),), "argmax", "classic",
          "greedy decoding: the most likely token instead of a sample"),
    Wrong(*GEN, (("logits[:, -1, :]", "logits[:, 0, :]"),), "first position", "classic",
          "reads the prediction of the first position"),
    Wrong(*GEN, (("idx[:, -block_size:]", "idx[:, :block_size]"),), "FIRST block_size", "classic",
          "crops the context from the start"),
    Wrong(*GEN, (("F.softmax(logits[:, -1, :], dim=-1)", "F.softmax(logits[:, -1, :], dim=0)"),),
          "over the batch", "classic", "softmax over the batch dimension"),
    Wrong(*GEN, (("model(idx[:, -block_size:])", "model(idx)"),), "raised ValueError", "classic",
          "does not crop the context: a long prompt overflows the position table"),
    Wrong(*GEN, (("block_size = model.config.block_size", "block_size = 8"),), "raised ValueError",
          "sloppy", "the lecture's block_size of 8 hard-coded"),
    Wrong(*GEN, (("torch.multinomial(probs, num_samples=1, generator=generator)",
                  "torch.multinomial(probs[0], 1, generator=generator).view(1, 1)"),),
          "raised RuntimeError", "sloppy", "written for a batch of one prompt only"),
    # the training loop
    Wrong(*TRAIN, (("        optimizer.zero_grad(set_to_none=True)\n", ""),), "never cleared", "classic",
          "no zero_grad: gradients accumulate over the steps"),
    Wrong(*TRAIN, (("    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)\n", ""),
                   ("        xb, yb = get_batch", "        optimizer = torch.optim.AdamW(model.parameters(), "
                    "lr=lr)\n        xb, yb = get_batch")), "inside the loop", "classic",
          "a new optimiser every step"),
    Wrong(*TRAIN, (("        loss.backward()\n        optimizer.step()",
                    "        optimizer.step()\n        loss.backward()"),), "never change", "classic",
          "steps before backpropagating"),
    Wrong(*TRAIN, (("torch.optim.AdamW(model.parameters(), lr=lr)", "torch.optim.SGD(model.parameters(), lr=lr)"),),
          "SGD", "classic", "plain SGD instead of AdamW"),
    Wrong(*TRAIN, (("lr=lr)", "lr=1e-3)"),), "learning rate", "sloppy", "the learning rate hard-coded"),
    Wrong(*TRAIN, (("generator=generator)", "generator=None)"),), "draw each batch", "sloppy",
          "batches from the global random generator, not the one given"),
    Wrong(*TRAIN, (("block_size, batch_size, generator=generator)", "block_size, 32, generator=generator)"),), "draw each batch", "sloppy",
          "the lecture's batch size of 32 hard-coded"),
    # averaging three ways
    Wrong(*AVG, (('masked_fill(tril == 0, float("-inf"))', "masked_fill(tril == 0, 0.0)"),),
          "must not see the future", "classic", "the future filled with 0 instead of -inf"),
    Wrong(*AVG, (("wei = torch.tril(torch.ones(T, T, dtype=x.dtype))",
                  "wei = torch.triu(torch.ones(T, T, dtype=x.dtype))"),), "must not see the future",
          "classic", "triu instead of tril: averages the future"),
    Wrong(*AVG, (("    wei = wei / wei.sum(1, keepdim=True)\n", ""),), "must sum to 1", "classic",
          "sums instead of means"),
    Wrong(*AVG, (("x[b, :t + 1].mean(0)", "x[b, :t].mean(0)"),), "position 0", "classic",
          "the average leaves out the current position"),
    Wrong(*AVG, (("wei = F.softmax(wei, dim=-1)", "wei = F.softmax(wei, dim=0)"),), "must sum to 1", "classic",
          "softmax down the columns"),
    Wrong(*AVG, (("T = x.shape[1]\n    wei = torch.tril", "T = 8\n    wei = torch.tril"),),
          "raised RuntimeError", "sloppy", "the lecture's T = 8 hard-coded"),
    Wrong(*AVG, (("xbow = torch.zeros(B, T, C, dtype=x.dtype)", "xbow = x"),), "changed its input",
          "sloppy", "the loop writes the averages into x itself"),
    # one head
    Wrong(*HEAD, ((MASK, "wei.masked_fill(tril == 0, 0)"),), "must not see the future", "classic",
          "the causal mask filled with 0 instead of -inf"),
    Wrong(*HEAD, (("q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5", "q @ k.transpose(-2, -1)"),),
          "not scaled by 1/sqrt(head_size)", "classic", "no 1/sqrt(head_size) scaling"),
    Wrong(*HEAD, (("k.shape[-1] ** -0.5", "k.shape[-1] ** -1"),), "divided by head_size", "classic",
          "scaled by 1/head_size"),
    Wrong(*HEAD, (("F.softmax(wei, dim=-1)", "F.softmax(wei, dim=1)"),), "must not see the future",
          "classic", "softmax over the queries"),
    Wrong(*HEAD, (("q @ k.transpose(-2, -1)", "k @ q.transpose(-2, -1)"),), "swapped", "classic",
          "queries and keys swapped"),
    Wrong(*HEAD, (("torch.ones(T, T, device=x.device)", "torch.ones(8, 8, device=x.device)"),),
          "raised RuntimeError", "sloppy", "the mask built for the lecture's T = 8"),
    Wrong(*HEAD, (("k.shape[-1] ** -0.5", "16 ** -0.5"),), "hard-coded", "sloppy",
          "the lecture's head_size of 16 in the scale"),
    # multi-head
    Wrong(*MHA, (("return proj(out)", "return out"),), "projection is missing", "classic", "no output projection"),
    Wrong(*MHA, (("(wei @ v).transpose(1, 2).reshape(B, T, C)", "(wei @ v).reshape(B, T, C)"),),
          "must not see the future", "classic", "heads merged without moving the head dimension"),
    Wrong(*MHA, (('wei.masked_fill(tril == 0, float("-inf"))', "wei.masked_fill(tril == 0, 0.0)"),),
          "must not see the future", "classic", "the causal mask filled with 0"),
    Wrong(*MHA, (("hs ** -0.5  # (B, n_head, T, T)", "C ** -0.5  # (B, n_head, T, T)"),),
          "1/sqrt(n_embd)", "classic", "scaled by the full width instead of one head's"),
    Wrong(*MHA, (("hs = C // n_head\n", "n_head = 4\n    hs = C // n_head\n"),), "hard-coded", "sloppy",
          "the lecture's 4 heads hard-coded"),
    Wrong(*MHA, (("torch.ones(T, T, device=x.device)", "torch.ones(8, 8, device=x.device)"),),
          "raised RuntimeError", "sloppy", "the mask built for the lecture's T = 8"),
    # feed-forward
    Wrong(*FFN, (("nn.ReLU()", "nn.Identity()"),), "ReLU is missing", "classic", "no non-linearity"),
    Wrong(*FFN, (("nn.ReLU()", "nn.Tanh()"),), "tanh or GELU", "classic", "tanh instead of ReLU"),
    Wrong(*FFN, (("return self.net(x)", "return x + self.net(x)"),), "belongs in the Block", "classic",
          "the residual added inside the feed-forward"),
    Wrong(*FFN, (("            nn.Linear(4 * n_embd, n_embd),\n        )",
                  "            nn.Linear(4 * n_embd, n_embd),\n            nn.ReLU(),\n        )"),),
          "follows the last layer", "classic", "a ReLU after the output layer"),
    Wrong(*FFN, (("nn.Linear(n_embd, 4 * n_embd),", "nn.Linear(n_embd, n_embd),"),
                 ("nn.Linear(4 * n_embd, n_embd),", "nn.Linear(n_embd, n_embd),")),
          "do not match lib's FeedForward", "classic", "no 4x widening inside"),
    Wrong(*FFN, (("nn.Linear(n_embd, 4 * n_embd),", "nn.Linear(32, 4 * 32),"),
                 ("nn.Linear(4 * n_embd, n_embd),", "nn.Linear(4 * 32, n_embd),")),
          "do not match lib's FeedForward", "sloppy", "the lecture's n_embd of 32 hard-coded"),
    Wrong(*FFN, (("return self.net(x)", "return self.net(x).squeeze()"),), "must be (B, T, n_embd)",
          "sloppy", "squeeze() drops the batch dimension when B = 1"),
    # LayerNorm
    Wrong(*LN, (("unbiased=False", "unbiased=True"),), "unbiased", "classic", "the unbiased variance"),
    Wrong(*LN, (("torch.sqrt(var + self.eps)", "(torch.sqrt(var) + self.eps)"),), "standard deviation",
          "classic", "eps added outside the square root"),
    Wrong(*LN, (("mean = x.mean(-1, keepdim=True)", "mean = x.mean(-1, keepdim=True).detach()"),
                ("unbiased=False)", "unbiased=False).detach()")), "detached", "classic",
          "the statistics detached from the graph"),
    Wrong(*LN, (("x.mean(-1, keepdim=True)", "x.mean(0, keepdim=True)"),
                ("x.var(-1, keepdim=True", "x.var(0, keepdim=True")), "over its own features", "classic",
          "normalised over the batch, as BatchNorm does"),
    Wrong(*LN, ((" * self.weight + self.bias", ""),), "not applied", "classic", "no weight and bias"),
    Wrong(*LN, (("x.mean(-1, keepdim=True)", "x.mean(1, keepdim=True)"),
                ("x.var(-1, keepdim=True", "x.var(1, keepdim=True")), "over its own features", "sloppy",
          "dimension 1 hard-coded: right for (N, C) inputs only"),
    Wrong(*LN, ((LN_RETURN, "x -= mean\n        return x / torch.sqrt(var + self.eps) * self.weight + self.bias"),),
          "changed its input", "sloppy", "centres x in place"),
    Wrong(*LN, (("self.eps)", "1e-5)"),), "fixed at 1e-5", "sloppy", "eps hard-coded to the default"),
    # the block
    Wrong(*BLOCK, ((PRE_NORM, "x = self.ln1(x + self.sa(x))\n        x = self.ln2(x + self.ffwd(x))"),),
          "post-norm", "classic", "post-norm instead of pre-norm"),
    Wrong(*BLOCK, ((PRE_NORM, "x = self.sa(self.ln1(x))\n        x = self.ffwd(self.ln2(x))"),),
          "residual connections are missing", "classic", "no residual connections"),
    Wrong(*BLOCK, ((PRE_NORM, "x = x + self.sa(self.ln1(x)) + self.ffwd(self.ln2(x))"),),
          "reads the block's input", "classic", "the two sub-layers in parallel"),
    Wrong(*BLOCK, (("x = x + self.sa(self.ln1(x))", "x = self.ln1(x)\n        x = x + self.sa(x)"),),
          "normalised x", "classic", "the residual stream starts from the normalised x"),
    Wrong(*BLOCK, (("self.sa(self.ln1(x))", "self.sa(self.ln2(x))"), ("self.ffwd(self.ln2(x))", "self.ffwd(self.ln1(x))")),
          "swapped", "classic", "ln1 and ln2 swapped"),
    Wrong(*BLOCK, (("x = x + self.sa(self.ln1(x))", "x += self.sa(self.ln1(x))"),), "changed its input",
          "sloppy", "x += ... adds into the caller's tensor"),
    Wrong(*BLOCK, (("MultiHeadAttention(n_embd, n_head, block_size)", "MultiHeadAttention(n_embd, 4, block_size)"),),
          "do not match lib's Block", "sloppy", "the lecture's 4 heads hard-coded"),
]


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}:{w.what[:40]}")
def test_catalogued_mistake_fails_a_visible_test_and_is_named(wrong):
    fails_visibly(CELLS, wrong, context=lesson_context)


def test_every_exercise_has_a_catalogue():
    catalogue_is_complete(CATALOGUE, EXERCISES)


@pytest.mark.parametrize("test_id, exercise", [(f"test-{e[3:]}", e) for e in EXERCISES
                                               if e not in ("ex-attention-head",)] +
                         [("test-attention-head", "ex-attention-head")])
def test_the_reference_answer_passes_every_test_cell(test_id, exercise):
    assert CELLS.run_test_cell(test_id, exercise, context=lesson_context) is None
