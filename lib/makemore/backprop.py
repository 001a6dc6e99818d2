"""Backpropagation by hand through the MLP with BatchNorm: every step, then the fused formulas.

Introduced in Lesson 5 (backprop). The network is Lesson 4's: embedding table C, concatenation,
a Linear layer (W1, b1), BatchNorm (bngain, bnbias), tanh, a Linear layer (W2, b2) and the
cross-entropy loss. `forward` computes it in small *atomic* steps and returns every
intermediate by name, so that torch autograd can give the gradient of each one
(`autograd_step_gradients`) and so that each can be backpropagated by hand:

- `backward_cross_entropy`, `backward_output_layer`, `backward_batchnorm` and
  `backward_input_layer` take one stretch of the graph each, given the gradient arriving from
  above; `manual_backward` chains them into the gradient of every intermediate;
- `cross_entropy_grad` (dlogits) and `batchnorm_grad` (dhprebn) are the fused formulas that
  replace a whole stretch by one expression;
- `train` is the lecture's training loop with the fused manual backward and no
  `loss.backward()` (`fast_gradients`), or with autograd (`autograd_gradients`) to compare;
  it lives in backprop_train.py with `calibrate_batchnorm` and `split_loss`, and its names
  are importable from here (loaded on first use: that module builds on this one).

The BatchNorm variance is the lecture's Bessel-corrected one (divided by n - 1, not n), in
training and in `calibrate_batchnorm`. Tensors keep the dtype of the parameters: float64 makes
manual and autograd gradients agree to about 1e-16 rather than 1e-8.
"""
import torch
import torch.nn.functional as F

from lib.makemore.mlp import LECTURE_LR, LECTURE_SEED  # noqa: F401 (the lecture's constants, used as bp.LECTURE_*)

BN_EPS = 1e-5  # added to the variance before the square root, as in the lecture
PARAMETER_NAMES = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
# The forward pass's intermediates in the order they are computed (their gradients are found
# in the reverse order).
STEP_NAMES = ("emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw",
              "hpreact", "h", "logits", "logit_maxes", "norm_logits", "counts", "counts_sum",
              "counts_sum_inv", "probs", "logprobs")


def init_parameters(vocab_size=27, block_size=3, n_embd=10, n_hidden=64, generator=None, dtype=torch.float32):
    """The lecture's parameters, as a dict name -> tensor (requires_grad False).

    C, W1, b1, W2, b2 come from `generator` (seeded 2147483647 if None) in the lecture's order
    and with its scalings: W1 by (5/3) / sqrt(n_embd * block_size) (tanh gain over the square
    root of the fan-in), b1, W2 and b2 by 0.1. None of them is zero, because zeros could hide
    a wrong backward pass. The lecture draws bngain (~1 + 0.1 N(0, 1)) and bnbias (~0.1 N(0, 1))
    from torch's unseeded global generator; here they come from a second generator seeded
    2147483648, which keeps them reproducible and leaves `generator` exactly where the
    lecture's is, so the minibatches drawn from it afterwards are the lecture's.
    """
    if generator is None:
        generator = torch.Generator().manual_seed(LECTURE_SEED)
    bn_generator = torch.Generator().manual_seed(LECTURE_SEED + 1)
    fan_in = n_embd * block_size
    params = {
        "C": torch.randn((vocab_size, n_embd), generator=generator),
        "W1": torch.randn((fan_in, n_hidden), generator=generator) * (5 / 3) / fan_in**0.5,
        "b1": torch.randn(n_hidden, generator=generator) * 0.1,
        "W2": torch.randn((n_hidden, vocab_size), generator=generator) * 0.1,
        "b2": torch.randn(vocab_size, generator=generator) * 0.1,
        "bngain": torch.randn((1, n_hidden), generator=bn_generator) * 0.1 + 1.0,
        "bnbias": torch.randn((1, n_hidden), generator=bn_generator) * 0.1,
    }
    return {name: p.to(dtype) for name, p in params.items()}


def _check_batch(params, Xb, Yb):
    missing = [name for name in PARAMETER_NAMES if name not in params]
    if missing:
        raise KeyError(f"params lacks {missing}: make them with init_parameters()")
    if Xb.dim() != 2 or Yb.dim() != 1 or len(Xb) != len(Yb):
        raise ValueError(f"Xb must be (n, block_size) and Yb (n,); got {tuple(Xb.shape)} and {tuple(Yb.shape)}")
    if len(Xb) < 2:
        raise ValueError("BatchNorm needs a batch of at least 2 examples (its variance divides by n - 1)")


def forward(params, Xb, Yb):
    """The forward pass in atomic steps: a dict of every intermediate (STEP_NAMES) and 'loss'.

    The same computation as F.cross_entropy of the MLP's logits, written so that each line has
    a local derivative simple enough to backpropagate by hand.
    """
    _check_batch(params, Xb, Yb)
    C, W1, b1, W2, b2 = (params[k] for k in ("C", "W1", "b1", "W2", "b2"))
    bngain, bnbias = params["bngain"], params["bnbias"]
    n = Xb.shape[0]
    s = {}
    s["emb"] = C[Xb]                                        # (n, block_size, n_embd)
    s["embcat"] = s["emb"].view(n, -1)                      # (n, block_size * n_embd)
    s["hprebn"] = s["embcat"] @ W1 + b1                     # (n, n_hidden)
    # BatchNorm, one operation per line
    s["bnmeani"] = 1 / n * s["hprebn"].sum(0, keepdim=True)
    s["bndiff"] = s["hprebn"] - s["bnmeani"]
    s["bndiff2"] = s["bndiff"] ** 2
    s["bnvar"] = 1 / (n - 1) * s["bndiff2"].sum(0, keepdim=True)   # Bessel's correction: n - 1
    s["bnvar_inv"] = (s["bnvar"] + BN_EPS) ** -0.5
    s["bnraw"] = s["bndiff"] * s["bnvar_inv"]
    s["hpreact"] = bngain * s["bnraw"] + bnbias
    s["h"] = torch.tanh(s["hpreact"])
    s["logits"] = s["h"] @ W2 + b2                          # (n, vocab_size)
    # cross-entropy, one operation per line
    s["logit_maxes"] = s["logits"].max(1, keepdim=True).values
    s["norm_logits"] = s["logits"] - s["logit_maxes"]       # for numerical stability only
    s["counts"] = s["norm_logits"].exp()
    s["counts_sum"] = s["counts"].sum(1, keepdim=True)
    s["counts_sum_inv"] = s["counts_sum"] ** -1
    s["probs"] = s["counts"] * s["counts_sum_inv"]
    s["logprobs"] = s["probs"].log()
    s["loss"] = -s["logprobs"][torch.arange(n), Yb].mean()
    return s


def autograd_step_gradients(params, Xb, Yb):
    """The reference: (steps, grads) with grads[name] = d loss / d name from torch autograd.

    `grads` has every intermediate of STEP_NAMES and every parameter; `steps` is `forward`'s
    dict, detached. The caller's tensors are not modified.
    """
    leaves = {name: params[name].detach().clone().requires_grad_() for name in PARAMETER_NAMES}
    with torch.enable_grad():
        steps = forward(leaves, Xb, Yb)
        for name in STEP_NAMES:
            steps[name].retain_grad()  # autograd keeps only the leaves' gradients unless asked
        steps["loss"].backward()
    grads = {name: steps[name].grad for name in STEP_NAMES}
    grads.update({name: leaves[name].grad for name in PARAMETER_NAMES})
    return {name: t.detach() for name, t in steps.items()}, grads


# --- Exercise 1: the gradient of every intermediate, one stretch of the graph at a time ---

def backward_cross_entropy(steps, Yb):
    """Gradients of the loss's steps, from logprobs back to logits."""
    n = Yb.shape[0]
    g = {}
    g["logprobs"] = torch.zeros_like(steps["logprobs"])
    g["logprobs"][torch.arange(n), Yb] = -1.0 / n           # the mean picks one entry per row
    g["probs"] = g["logprobs"] / steps["probs"]             # d log(x) = 1 / x
    # probs = counts * counts_sum_inv: counts_sum_inv was broadcast along each row -> sum
    g["counts_sum_inv"] = (steps["counts"] * g["probs"]).sum(1, keepdim=True)
    g["counts_sum"] = -steps["counts_sum"] ** -2 * g["counts_sum_inv"]
    # counts feeds two branches (probs directly, and counts_sum): their gradients add
    g["counts"] = steps["counts_sum_inv"] * g["probs"] + g["counts_sum"]   # sum's backward: broadcast
    g["norm_logits"] = steps["counts"] * g["counts"]        # d exp(x) = exp(x)
    g["logit_maxes"] = -g["norm_logits"].sum(1, keepdim=True)
    # logits feed norm_logits directly and, through max, only at each row's arg-max
    argmax = F.one_hot(steps["logits"].max(1).indices, num_classes=steps["logits"].shape[1])
    g["logits"] = g["norm_logits"] + argmax * g["logit_maxes"]
    return g


def backward_output_layer(steps, params, dlogits):
    """Gradients of the second Linear layer and the tanh, given dlogits."""
    g = {}
    g["h"] = dlogits @ params["W2"].T
    g["W2"] = steps["h"].T @ dlogits
    g["b2"] = dlogits.sum(0)                                # b2 was broadcast over the batch
    g["hpreact"] = (1.0 - steps["h"] ** 2) * g["h"]         # d tanh(x) = 1 - tanh(x)^2
    return g


def backward_batchnorm(steps, params, dhpreact):
    """Gradients of BatchNorm's atomic steps, given dhpreact."""
    n = dhpreact.shape[0]
    g = {}
    g["bngain"] = (steps["bnraw"] * dhpreact).sum(0, keepdim=True)
    g["bnbias"] = dhpreact.sum(0, keepdim=True)
    g["bnraw"] = params["bngain"] * dhpreact
    g["bnvar_inv"] = (steps["bndiff"] * g["bnraw"]).sum(0, keepdim=True)
    g["bnvar"] = -0.5 * (steps["bnvar"] + BN_EPS) ** -1.5 * g["bnvar_inv"]
    g["bndiff2"] = 1.0 / (n - 1) * torch.ones_like(steps["bndiff2"]) * g["bnvar"]
    # bndiff feeds bnraw and bndiff2: add both
    g["bndiff"] = steps["bnvar_inv"] * g["bnraw"] + 2 * steps["bndiff"] * g["bndiff2"]
    g["bnmeani"] = -g["bndiff"].sum(0, keepdim=True)
    # hprebn feeds bndiff directly and through the mean (each row gets 1/n of its gradient)
    g["hprebn"] = g["bndiff"] + 1.0 / n * torch.ones_like(steps["hprebn"]) * g["bnmeani"]
    return g


def embedding_grad(Xb, demb, vocab_size):
    """dC: each row of C gets the sum of the gradients of every place it was looked up."""
    n_embd = demb.shape[-1]
    # index_add_ accumulates repeated indices; dC[Xb] += demb would keep only one of them.
    return torch.zeros((vocab_size, n_embd), dtype=demb.dtype).index_add_(0, Xb.reshape(-1), demb.reshape(-1, n_embd))


def backward_input_layer(steps, params, dhprebn, Xb):
    """Gradients of the first Linear layer and the embedding, given dhprebn."""
    g = {}
    g["embcat"] = dhprebn @ params["W1"].T
    g["W1"] = steps["embcat"].T @ dhprebn
    g["b1"] = dhprebn.sum(0)
    g["emb"] = g["embcat"].view(steps["emb"].shape)         # view's backward: the inverse view
    g["C"] = embedding_grad(Xb, g["emb"], params["C"].shape[0])
    return g


def manual_backward(steps, params, Xb, Yb):
    """The gradient of every intermediate and parameter, by hand (same keys as autograd's)."""
    grads = backward_cross_entropy(steps, Yb)
    grads.update(backward_output_layer(steps, params, grads["logits"]))
    grads.update(backward_batchnorm(steps, params, grads["hpreact"]))
    grads.update(backward_input_layer(steps, params, grads["hprebn"], Xb))
    return grads


# --- Exercises 2 and 3: the fused formulas ---

def cross_entropy_grad(logits, Yb):
    """dlogits of the mean cross-entropy: (softmax(logits) - one_hot(Yb)) / n."""
    n = logits.shape[0]
    dlogits = F.softmax(logits, 1)
    dlogits[torch.arange(n), Yb] -= 1
    return dlogits / n


def batchnorm_grad(dhpreact, bngain, bnvar_inv, bnraw):
    """dhprebn of BatchNorm with the Bessel-corrected variance, in one expression.

    With x_hat = bnraw and the sums over the batch: dx = gain * inv / n * (n * dy - sum(dy)
    - n / (n - 1) * x_hat * sum(dy * x_hat)).
    """
    n = dhpreact.shape[0]
    return bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))


# The training half (Exercise 4) builds on the names above, so it is loaded on first use
# rather than imported here, which would make the two modules import each other.
_TRAINING_NAMES = ("fast_gradients", "autograd_gradients", "train", "calibrate_batchnorm", "split_loss",
                   "_batchnorm_forward")


def __getattr__(name):
    if name in _TRAINING_NAMES:
        from lib.makemore import backprop_train

        return getattr(backprop_train, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_TRAINING_NAMES])
