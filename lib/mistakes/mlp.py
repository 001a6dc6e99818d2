"""Classic mistakes in Lesson 3's exercises: building the (context, next character) dataset, the
MLP's forward pass and loss, the training loop with a step decay, the learning-rate sweep, the
80/10/10 split and the sampler.

Each mistake is made for real: the dataset is rebuilt with the faulty sliding window, the
forward pass rerun with the faulty step, on the test's own words and parameters.
"""
import math
import random

import torch
import torch.nn.functional as F

from lib.grading import Mistake

# --- Exercise 1 (ex-build-dataset) ---------------------------------------------------------------


def _examples(words, vocab, block_size, *, reset_per_word=True, record_first=True,
              newest_last=True, end_dot=True, aliased=False):
    """X and Y built with the window rules given (the defaults are the right ones). `aliased`:
    one list per word, appended and then changed in place, so all its rows end up equal."""
    inputs, targets = [], []
    context = [0] * block_size
    for word in words:
        if reset_per_word:
            context = [0] * block_size
        first = len(inputs)
        for ix in vocab.encode(word) + ([0] if end_dot else []):
            slid = context[1:] + [ix] if newest_last else [ix] + context[:-1]
            inputs.append(context if record_first else slid)
            targets.append(ix)
            context = slid
        if aliased:
            inputs[first:] = [context] * (len(inputs) - first)
    return {"X": torch.tensor(inputs, dtype=torch.int64).view(-1, block_size),
            "Y": torch.tensor(targets, dtype=torch.int64)}


MISSING_END = "the '.' after each word is missing, so no example teaches the model to end a name"


def build_dataset(words, vocab, block_size):
    """Mistakes in build_dataset; each value is a dict with the wrong "X" and/or "Y"."""
    def built(**rules):
        return _examples(words, vocab, block_size, **rules)
    return [
        Mistake("the window was slid before the example was recorded, so each context already "
                "contains the character it should predict",
                built(record_first=False)),
        Mistake("the context is not reset to all '.' at the start of each word: a word's first "
                "examples see the end of the previous word",
                built(reset_per_word=False)),
        Mistake("the window slides the wrong way: the newest character was put at the left end of "
                "the context; it goes on the right end, the oldest dropping off the left",
                built(newest_last=False)),
        Mistake(MISSING_END, built(end_dot=False)),
        Mistake("every row of a word is the same list: the context list was appended to X and then "
                "changed in place (append/pop), which changes the rows already recorded; append "
                "a new list each time (context = context[1:] + [ix])",
                built(aliased=True)),
    ]


# --- Exercise 2 (ex-mlp-forward) -----------------------------------------------------------------


def mlp_forward(X, Y, params):
    """Mistakes in mlp_forward and mlp_loss; each value is a dict with wrong "logits" and/or "loss"."""
    C, W1, b1, W2, b2 = params
    emb = C[X]                                   # (batch, block_size, n_embd)
    flat = emb.view(X.shape[0], -1)
    logits = torch.tanh(flat @ W1 + b1) @ W2 + b2

    def forward_mistake(description, wrong_logits):
        return Mistake(description, {"logits": wrong_logits, "loss": F.cross_entropy(wrong_logits, Y)})

    by_dimension = emb.transpose(1, 2).reshape(X.shape[0], -1)
    return [
        forward_mistake("the hidden layer has no tanh: the pre-activation went straight to the "
                        "output layer", (flat @ W1 + b1) @ W2 + b2),
        forward_mistake("the embeddings were flattened in the wrong order (grouped by embedding "
                        "dimension, not by position): view the (batch, block_size, n_embd) "
                        "tensor as (batch, block_size * n_embd) directly",
                        torch.tanh(by_dimension @ W1 + b1) @ W2 + b2),
        forward_mistake("the hidden bias b1 was added after the tanh; it belongs inside it",
                        (torch.tanh(flat @ W1) + b1) @ W2 + b2),
        forward_mistake("the output layer's bias b2 is missing", torch.tanh(flat @ W1 + b1) @ W2),
        Mistake("the loss was summed over the batch instead of averaged",
                {"loss": F.cross_entropy(logits, Y, reduction="sum")}),
        Mistake("the loss was computed from softmax probabilities; cross_entropy takes the logits "
                "and applies the softmax itself",
                {"loss": F.cross_entropy(logits.softmax(1), Y)}),
    ]


# --- Exercise 3 (ex-train-loop) and Exercise 4 (ex-lr-sweep) ----------------------------------------

PARAM_NAMES = ("C", "W1", "b1", "W2", "b2")


def _sgd(params, X, Y, rates, batch_size, generator, *, reset_grad=True, sign=-1.0, minibatch=True):
    """Minibatch SGD of the MLP on copies of `params`, one step per entry of `rates` (the step's
    learning rate); the keyword rules give the faulty variants. -> dict: "losses" and each parameter."""
    params = [p.detach().clone().requires_grad_() for p in params]
    C, W1, b1, W2, b2 = params
    losses = []
    for rate in rates:
        if minibatch:
            ix = torch.randint(0, len(X), (batch_size,), generator=generator)
            Xb, Yb = X[ix], Y[ix]
        else:
            Xb, Yb = X, Y
        loss = F.cross_entropy(torch.tanh(C[Xb].view(len(Xb), -1) @ W1 + b1) @ W2 + b2, Yb)
        if reset_grad:
            for p in params:
                p.grad = None
        loss.backward()
        for p in params:
            p.data += sign * rate * p.grad
        losses.append(loss.item())
    return {"losses": losses, **{name: p.detach() for name, p in zip(PARAM_NAMES, params)}}


def train_loop(params, X, Y, steps, batch_size, lr, lr_after, decay_at, seed):
    """Mistakes in the training loop with a step decay; each value holds the wrong losses and
    parameters (minibatches drawn from a generator seeded `seed`, as the test's)."""
    def run(rates, size=batch_size, **rules):
        gen = torch.Generator().manual_seed(seed)
        return _sgd(params, X, Y, rates, size, gen, **rules)

    right = [lr if step < decay_at else lr_after for step in range(steps)]
    mistakes = [
        Mistake("the gradients are never reset: set p.grad = None for every parameter before "
                "loss.backward(), or each step adds the previous steps' gradients to its own",
                run(right, reset_grad=False)),
        Mistake("the update climbs the loss: step against the gradient, p.data += -lr * p.grad",
                run(right, sign=1.0)),
        Mistake("the learning rate switches one step late (step <= decay_at): step decay_at is "
                "the first one at lr_after",
                run([lr if step <= decay_at else lr_after for step in range(steps)])),
        Mistake("the learning rate never decays: from step decay_at on, use lr_after",
                run([lr] * steps)),
        Mistake("every step uses the whole dataset: draw batch_size random indices with "
                "torch.randint(0, len(X), (batch_size,), generator=generator) and use X[ix], Y[ix]",
                run(right, minibatch=False)),
    ]
    if batch_size != 32:
        mistakes.append(Mistake("the batch size is typed in (32): draw batch_size indices",
                                run(right, size=32)))
    return mistakes


def chosen_rate(losses, exponents, window):
    """The sweep's choice: 10 ** (mean exponent of the window of steps with the lowest mean loss)."""
    smooth = torch.tensor(losses, dtype=torch.float64).view(-1, window).mean(1)
    best = exponents.to(torch.float64).view(-1, window).mean(1)[smooth.argmin()].item()
    return 10 ** best


def lr_sweep(params, X, Y, exponents, batch_size, window, seed):
    """Mistakes in the learning-rate sweep; each value holds wrong "losses" and/or "chosen_lr"."""
    def run(rates):
        return _sgd(params, X, Y, rates, batch_size, torch.Generator().manual_seed(seed))["losses"]

    exps = exponents.to(torch.float64)
    right = run((10 ** exps).tolist())
    raw = run(exps.tolist())
    natural = run(exps.exp().tolist())
    mistakes = [
        Mistake("the exponent was used as the learning rate: the rate at step i is "
                "10 ** exponents[i]", {"losses": raw, "chosen_lr": chosen_rate(raw, exps, window)}),
        Mistake("the rate was e ** exponent (exp); the grid is of base-10 exponents: "
                "10 ** exponents[i]",
                {"losses": natural, "chosen_lr": chosen_rate(natural, exps, window)}),
        Mistake("the chosen rate is the exponent itself: return the learning rate 10 ** exponent",
                {"chosen_lr": math.log10(chosen_rate(right, exps, window))}),
        Mistake("the rate was chosen from the single step with the lowest loss: one minibatch is "
                "too noisy, average the losses over windows of `window` steps first",
                {"chosen_lr": 10 ** exps[torch.tensor(right).argmin()].item()}),
    ]
    if window != 20:
        mistakes.append(Mistake("the window is typed in (20): average over `window` steps",
                                {"chosen_lr": chosen_rate(right, exps, 20)
                                 if len(right) % 20 == 0 else math.nan}))
    return mistakes


# --- Exercise 5 (ex-split) ---------------------------------------------------------------------------

SPLIT_KEYS = ("Xtr", "Ytr", "Xdev", "Ydev", "Xte", "Yte")


def _split_examples(parts, vocab, block_size):
    out = {}
    for (x_key, y_key), part in zip([("Xtr", "Ytr"), ("Xdev", "Ydev"), ("Xte", "Yte")], parts):
        built = _examples(part, vocab, block_size)
        out[x_key], out[y_key] = built["X"], built["Y"]
    return out


def split(words, vocab, block_size, seed, right=None):
    """Mistakes in the 80/10/10 split; each value is a dict of the six wrong tensors. `right`:
    the right six tensors (keyed as SPLIT_KEYS), when the test has them already."""
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    if right is None:
        right = _split_examples([shuffled[:n1], shuffled[n1:n2], shuffled[n2:]], vocab, block_size)
    every = {k: torch.cat([right[k + s] for s in ("tr", "dev", "te")]) for k in ("X", "Y")}
    m1, m2 = int(0.8 * len(every["Y"])), int(0.9 * len(every["Y"]))
    in_order = list(words)
    mistakes = [
        Mistake("the words were not shuffled: shuffle a copy with random.Random(seed).shuffle "
                "(the lecture's random.seed(seed); random.shuffle) before cutting",
                _split_examples([in_order[:n1], in_order[n1:n2], in_order[n2:]], vocab, block_size)),
        Mistake("the examples were cut 80/10/10, not the words: cut the shuffled list of words, "
                "then build each split's examples, so that no name has examples in two splits",
                {"Xtr": every["X"][:m1], "Ytr": every["Y"][:m1], "Xdev": every["X"][m1:m2],
                 "Ydev": every["Y"][m1:m2], "Xte": every["X"][m2:], "Yte": every["Y"][m2:]}),
        Mistake("dev and test are swapped: dev is the 10% after the first 80%, test the rest",
                {"Xtr": right["Xtr"], "Ytr": right["Ytr"], "Xdev": right["Xte"], "Ydev": right["Yte"],
                 "Xte": right["Xdev"], "Yte": right["Ydev"]}),
    ]
    if len(words) > 28829 and (n1, n2) != (25626, 28829):
        mistakes.append(Mistake(
            "the cut points are typed in (25626, 28829: the lecture's for 32,033 names): use "
            "int(0.8 * len(words)) and int(0.9 * len(words))",
            _split_examples([shuffled[:25626], shuffled[25626:28829], shuffled[28829:]],
                            vocab, block_size)))
    return mistakes


# --- Exercise 6 (ex-sample) --------------------------------------------------------------------------


@torch.no_grad()
def _names(model, vocab, n, seed, block_size, *, greedy=False, end_dot=True, reset=True,
           softmax_dim=1, newest_last=True, max_len=2000):
    gen = torch.Generator().manual_seed(seed)
    names, context = [], [0] * block_size
    for _ in range(n):
        if reset:
            context = [0] * block_size
        out = []
        while len(out) < max_len:
            probs = F.softmax(model(torch.tensor([context])), dim=softmax_dim)
            if greedy:
                ix = probs.argmax().item()
            else:
                ix = torch.multinomial(probs, num_samples=1, generator=gen).item()
            context = context[1:] + [ix] if newest_last else [ix] + context[:-1]
            out.append(ix)
            if ix == 0:
                break
        names.append(vocab.decode(out if end_dot else [i for i in out if i != 0]))
    return names


def sample(model, vocab, n, seed):
    """Mistakes in the sampler: each a Mistake whose value is the wrong list of names."""
    def names(**rules):
        return _names(model, vocab, n, seed, model.block_size, **rules)
    return [
        Mistake("the next character is the most likely one (argmax): draw it from the "
                "probabilities with torch.multinomial(probs, 1, generator=generator)",
                names(greedy=True)),
        Mistake("the closing '.' was dropped: each name keeps the '.' that ended it",
                names(end_dot=False)),
        Mistake("the context is not reset to all '.' before each name",
                names(reset=False)),
        Mistake("the softmax ran over dimension 0 of the (1, 27) logits, which makes every "
                "probability 1: normalise over dimension 1, the characters",
                names(softmax_dim=0)),
        Mistake("the context slides the wrong way: append the new character on the right, drop "
                "the oldest on the left (context[1:] + [ix])",
                names(newest_last=False)),
    ]


def diagnose_names(got, mistakes):
    """The description of the mistake whose names equal `got`, or None."""
    for mistake in mistakes:
        if list(got) == list(mistake.value):
            return mistake.description
    return None
