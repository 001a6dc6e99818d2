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
