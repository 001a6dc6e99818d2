"""Classic mistakes in causal self-attention, for the graded exercises of Lesson 7 (GPT).

`head_mistakes` serves the one-head exercise, `multi_head_mistakes` the multi-head one. Each
takes the exercise's inputs (the input x and the nn.Linear projections) and returns the
wrong outputs that each mistake produces on them, computed by making that mistake.
"""
import torch

from lib.grading import Mistake


def _attend(q, k, v, *, masked=True, scale=None, softmax_dim=-1, mask_after_softmax=False):
    """Attention of queries q over keys k, reading values v, with the knobs students get wrong.

    q, k, v are (..., T, hs); `scale` defaults to 1/sqrt(hs).
    """
    T, hs = q.shape[-2], q.shape[-1]
    scale = hs ** -0.5 if scale is None else scale
    wei = q @ k.transpose(-2, -1) * scale
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    if masked and not mask_after_softmax:
        wei = wei.masked_fill(future, float("-inf"))
    wei = torch.softmax(wei, dim=softmax_dim)
    if mask_after_softmax:
        wei = wei.masked_fill(future, 0.0)
    return wei @ v


@torch.no_grad()
def head_mistakes(x, query, key, value):
    """The outputs (B, T, hs) of one causal head done wrong, for x (B, T, C) and its projections."""
    q, k, v = query(x), key(x), value(x)
    hs = q.shape[-1]
    return [
        Mistake("the causal mask is missing, so every position also attends to the positions after it.",
                _attend(q, k, v, masked=False)),
        Mistake("the scores are not scaled by 1/sqrt(head_size) before the softmax.",
                _attend(q, k, v, scale=1.0)),
        Mistake("the scores are divided by head_size instead of sqrt(head_size).",
                _attend(q, k, v, scale=1.0 / hs)),
        Mistake("the softmax normalises over the queries (dim=-2 or 1) instead of over the keys (dim=-1): "
                "each row of weights must sum to 1.",
                _attend(q, k, v, softmax_dim=-2)),
        Mistake("the mask is applied after the softmax, so the remaining weights of a row no longer sum to 1; "
                "fill the future with -inf before the softmax.",
                _attend(q, k, v, mask_after_softmax=True)),
        Mistake("queries and keys are swapped (k @ q^T instead of q @ k^T).",
                _attend(k, q, v)),
    ]


@torch.no_grad()
def multi_head_mistakes(x, query, key, value, proj, n_head):
    """The outputs (B, T, C) of multi-head attention done wrong, for the exercise's inputs."""
    B, T, C = x.shape
    hs = C // n_head

    def split(t):  # (B, T, C) -> (B, n_head, T, hs)
        return t.view(B, T, n_head, hs).transpose(1, 2)

    def merge(t):  # (B, n_head, T, hs) -> (B, T, C), head after head along the channels
        return t.transpose(1, 2).reshape(B, T, C)

    q, k, v = split(query(x)), split(key(x)), split(value(x))
    heads = _attend(q, k, v)
    return [
        Mistake("the output projection is missing: the concatenated heads must go through proj.",
                merge(heads)),
        Mistake("the heads are concatenated along the wrong dimension: the (B, n_head, T, head_size) result "
                "was reshaped to (B, T, C) without first moving the head dimension next to head_size.",
                proj(heads.reshape(B, T, C))),
        Mistake("the causal mask is missing, so every position also attends to the positions after it.",
                proj(merge(_attend(q, k, v, masked=False)))),
        Mistake("the scores are scaled by 1/sqrt(n_embd) instead of 1/sqrt(head_size) of one head.",
                proj(merge(_attend(q, k, v, scale=C ** -0.5)))),
        Mistake("all channels were treated as one single head instead of n_head heads of C // n_head channels.",
                proj(_attend(query(x), key(x), value(x)))),
        Mistake("the scores are not scaled by 1/sqrt(head_size) before the softmax.",
                proj(merge(_attend(q, k, v, scale=1.0)))),
    ]
