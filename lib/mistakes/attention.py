"""Classic mistakes in the graded exercises of Lesson 7 (GPT): attention and its neighbours.

`head_mistakes` serves the one-head exercise, `multi_head_mistakes` the multi-head one;
`averaging_mistakes`, `layer_norm_mistakes`, `feed_forward_mistakes`, `block_mistakes` and
`generate_mistakes` the exercises of the same names. Each
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
        Mistake("the scale is hard-coded for the lecture's head_size of 16: use the head size "
                "of the keys you are given (k.shape[-1]).", _attend(q, k, v, scale=16 ** -0.5)),
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
        *([Mistake("the number of heads is hard-coded to the lecture's 4: use n_head.",
                   _with_heads(x, query, key, value, proj, 4))]
          if C % 4 == 0 and n_head != 4 else []),
    ]


@torch.no_grad()
def _with_heads(x, query, key, value, proj, n_head):
    B, T, C = x.shape
    split = lambda t: t.view(B, T, n_head, C // n_head).transpose(1, 2)  # noqa: E731
    heads = _attend(split(query(x)), split(key(x)), split(value(x)))
    return proj(heads.transpose(1, 2).reshape(B, T, C))


# -- the building blocks of the lesson's later exercises ----------------------------------------
@torch.no_grad()
def averaging_mistakes(x):
    """The outputs (B, T, C) of 'average the past' done wrong, for x (B, T, C)."""
    T = x.shape[1]
    counts = torch.arange(1, T + 1, dtype=x.dtype).view(T, 1)
    tril = torch.tril(torch.ones(T, T, dtype=x.dtype))
    cols = tril / tril.sum(0, keepdim=True)  # each column normalised instead of each row
    return [
        Mistake("sums instead of means: each row of the weights must be divided by its sum "
                "(t + 1 entries), so that the weights sum to 1.", x.cumsum(1)),
        Mistake("the weights are normalised down each column (a softmax or sum over dim=0 or -2) "
                "instead of along each row.", cols @ x),
        Mistake("the average divides by T instead of by the number of positions seen (t + 1).",
                x.cumsum(1) / T),
        Mistake("the counts are off by one: position t averages t + 1 positions, not t + 2.",
                x.cumsum(1) / (counts + 1)),
    ]


def _layer_norm(x, weight, bias, eps, *, unbiased=False, eps_outside=False, detach=False, dim=-1,
                affine=True):
    mean = x.mean(dim, keepdim=True)
    var = x.var(dim, keepdim=True, unbiased=unbiased)
    if detach:
        mean, var = mean.detach(), var.detach()
    norm = (x - mean) / (var.sqrt() + eps) if eps_outside else (x - mean) / (var + eps).sqrt()
    return norm * weight + bias if affine else norm + 0 * (weight.sum() + bias.sum())


def layer_norm_mistakes(x, weight, bias, eps, dout):
    """Wrong {'out', 'dx', 'dweight', 'dbias'} of a LayerNorm, for its inputs and the
    gradient `dout` that flows into its output."""
    def run(eps=eps, **knobs):
        xx, w, b = (t.detach().clone().requires_grad_() for t in (x, weight, bias))
        out = _layer_norm(xx, w, b, eps, **knobs)
        out.backward(dout)
        return {"out": out.detach(), "dx": xx.grad, "dweight": w.grad, "dbias": b.grad}

    return [
        Mistake("the variance is the unbiased one (divides by n - 1); LayerNorm divides by n "
                "(unbiased=False).", run(unbiased=True)),
        Mistake("eps is added to the standard deviation; it belongs under the square root: "
                "(x - mean) / sqrt(var + eps).", run(eps_outside=True)),
        Mistake("the mean and the variance are detached (.detach(), .item() or .data), so the "
                "gradient does not flow through them.", {"dx": run(detach=True)["dx"]}),
        Mistake("eps is left out: (x - mean) / sqrt(var).", run(eps=0.0)),
        Mistake("weight and bias are not applied: after normalising, multiply by self.weight "
                "and add self.bias.", {"out": run(affine=False)["out"]}),
        Mistake("eps is fixed at 1e-5; use the eps the module was given (self.eps).",
                run(eps=1e-5)),
    ]


@torch.no_grad()
def feed_forward_mistakes(ffwd, x):
    """The outputs of a FeedForward done wrong, for lib's `ffwd` (its weights) and x (B, T, C)."""
    first, last = ffwd.net[0], ffwd.net[2]
    return [
        Mistake("the ReLU is missing: two linear layers in a row are one linear layer.",
                last(first(x))),
        Mistake("a ReLU also follows the last layer: its output must be free to be negative.",
                torch.relu(last(torch.relu(first(x))))),
        Mistake("the non-linearity is tanh or GELU; this exercise (and the lecture) uses ReLU.",
                last(torch.tanh(first(x)))),
        Mistake("the input is added to the output (x + net(x)): the residual connection belongs "
                "in the Block, not inside the FeedForward.", x + last(torch.relu(first(x)))),
    ]


@torch.no_grad()
def block_mistakes(block, x):
    """The outputs of a Block done wrong, for lib's `block` (its weights) and x (B, T, C)."""
    sa, ffwd, ln1, ln2 = block.sa, block.ffwd, block.ln1, block.ln2
    post = ln1(x + sa(x))
    parallel = x + sa(ln1(x)) + ffwd(ln2(x))
    swapped = x + sa(ln2(x))
    return [
        Mistake("post-norm: the LayerNorm is applied after the residual addition, ln(x + f(x)); "
                "this Block is pre-norm, x + f(ln(x)).", ln2(post + ffwd(post))),
        Mistake("the residual connections are missing: x = f(ln(x)) instead of x = x + f(ln(x)).",
                ffwd(ln2(sa(ln1(x))))),
        Mistake("the residual stream carries the normalised x: x = ln(x) first, then x + f(x); "
                "the sum must start from the un-normalised x.",
                (lambda h: h + ffwd(ln2(h)))(ln1(x) + sa(ln1(x)))),
        Mistake("the feed-forward reads the block's input instead of the output of the attention "
                "step: the two sub-layers run one after the other.", parallel),
        Mistake("ln1 and ln2 are swapped (ln2 before the attention, ln1 before the "
                "feed-forward).", swapped + ffwd(ln1(swapped))),
    ]


def _sample(model, idx, max_new_tokens, generator, *, crop="last", position=-1, greedy=False,
            softmax_dim=-1):
    block_size = model.config.block_size
    for _ in range(max_new_tokens):
        context = idx[:, -block_size:] if crop == "last" else idx[:, :block_size]
        logits, _ = model(context)
        probs = torch.softmax(logits[:, position, :], dim=softmax_dim)
        if greedy:
            nxt = probs.argmax(-1, keepdim=True)
        else:
            nxt = torch.multinomial(probs, 1, generator=generator)
        idx = torch.cat((idx, nxt), dim=1)
    return idx


@torch.no_grad()
def generate_mistakes(model, idx, max_new_tokens, seed):
    """The outputs of `generate` done wrong, for the model, the prompt idx (B, T) and a seed."""
    def run(**knobs):
        return _sample(model, idx, max_new_tokens, torch.Generator().manual_seed(seed), **knobs)

    return [
        Mistake("the next token is the argmax of the probabilities; it must be sampled from "
                "them (torch.multinomial with the generator).", run(greedy=True)),
        Mistake("the prediction is read at the first position (logits[:, 0]); only the last "
                "position predicts the next token (logits[:, -1]).", run(position=0)),
        Mistake("the context is cropped to the FIRST block_size tokens; the model must read "
                "the last ones (idx[:, -block_size:]).", run(crop="first")),
        Mistake("the softmax runs over the batch (dim=0); each row's probabilities are over "
                "the vocabulary (dim=-1).", run(softmax_dim=0)),
    ]


def training_mistakes(model, start, data, steps, lr, block_size, batch_size, seed):
    """The per-step losses of the training loop done wrong: `model` is a module of the right
    architecture (copied, never trained), `start` the initial state_dict of the run."""
    import copy

    from lib.gpt.data import get_batch

    def run(variant):
        m = copy.deepcopy(model)
        m.load_state_dict(start)
        m.train()
        g = torch.Generator().manual_seed(seed)
        make = {"sgd": lambda: torch.optim.SGD(m.parameters(), lr=lr),
                "lr": lambda: torch.optim.AdamW(m.parameters(), lr=1e-3)}.get(
            variant, lambda: torch.optim.AdamW(m.parameters(), lr=lr))
        optimizer, losses = make(), []
        for _ in range(steps):
            x, y = get_batch(data, block_size, batch_size, generator=g)
            if variant == "fresh":
                optimizer = make()
            _, loss = m(x, y)
            if variant != "no zero":
                optimizer.zero_grad(set_to_none=True)
            if variant != "no update":
                loss.backward()
                optimizer.step()
            losses.append(loss.item())
        return losses

    return [
        Mistake("the gradients are never cleared: call optimizer.zero_grad() every step, or "
                "each step's gradient adds onto all the previous ones.", run("no zero")),
        Mistake("a new optimiser is created inside the loop: AdamW's running averages start "
                "from zero every step. Create it once, before the loop.", run("fresh")),
        Mistake("the parameters never change: optimizer.step() runs without this step's "
                "gradient (zero_grad, then backward, then step, in that order).",
                run("no update")),
        Mistake("the learning rate is not the one given (lr=1e-3 hard-coded?): pass lr to "
                "AdamW.", run("lr")),
        Mistake("plain SGD instead of AdamW.", run("sgd")),
    ]
