"""Training the MLP with BatchNorm with the manual backward pass, and evaluating it.

Introduced in Lesson 5 (backprop), Exercise 4. `fast_gradients` is the fused forward and the
fused manual backward (backprop.py's `cross_entropy_grad` and `batchnorm_grad`) with no
autograd; `autograd_gradients` is its reference through `loss.backward()`. `train` is the
lecture's minibatch loop with either; `calibrate_batchnorm` and `split_loss` evaluate the result
with fixed BatchNorm statistics. These names are also importable from `lib.makemore.backprop`.
"""
import torch
import torch.nn.functional as F

from lib.makemore.backprop import BN_EPS, PARAMETER_NAMES, batchnorm_grad, cross_entropy_grad, embedding_grad
from lib.makemore.mlp import LECTURE_LR, LECTURE_SEED, _training_progress


def _batchnorm_forward(params, Xb):
    """The fused forward up to the hidden layer: what the fused backward needs."""
    n = Xb.shape[0]
    embcat = params["C"][Xb].view(n, -1)
    hprebn = torch.addmm(params["b1"], embcat, params["W1"])   # embcat @ W1 + b1 in one op
    bndiff = hprebn - hprebn.mean(0, keepdim=True)
    # The variance written out: torch's var() costs several times more at this size.
    bnvar_inv = ((bndiff * bndiff).sum(0, keepdim=True) / (n - 1) + BN_EPS).rsqrt()
    bnraw = bndiff * bnvar_inv
    h = torch.tanh(torch.addcmul(params["bnbias"], params["bngain"], bnraw))
    return embcat, bnvar_inv, bnraw, h


class StepDecay:
    """The learning rate `before` for steps < `at`, then `after`: like lib.makemore.step_decay,
    but an object that pickles, so a grader can send it to the process that runs an answer
    (where it is called once or more per step) instead of answering each call itself."""

    def __init__(self, before, after, at):
        self.before, self.after, self.at = before, after, at

    def __call__(self, step):
        return self.before if step < self.at else self.after

    def __repr__(self):
        return f"StepDecay({self.before}, {self.after}, at={self.at})"


@torch.no_grad()
def fast_gradients(params, Xb, Yb):
    """(loss, grads of the parameters) with the fused forward and the fused manual backward."""
    embcat, bnvar_inv, bnraw, h = _batchnorm_forward(params, Xb)
    logits = h @ params["W2"] + params["b2"]
    loss = F.cross_entropy(logits, Yb)
    dlogits = cross_entropy_grad(logits, Yb)
    dh = dlogits @ params["W2"].T
    dhpreact = (1.0 - h**2) * dh
    dhprebn = batchnorm_grad(dhpreact, params["bngain"], bnvar_inv, bnraw)
    demb = (dhprebn @ params["W1"].T).view(*Xb.shape, -1)
    grads = {
        "C": embedding_grad(Xb, demb, params["C"].shape[0]),
        "W1": embcat.T @ dhprebn,
        "b1": dhprebn.sum(0),
        "W2": h.T @ dlogits,
        "b2": dlogits.sum(0),
        "bngain": (bnraw * dhpreact).sum(0, keepdim=True),
        "bnbias": dhpreact.sum(0, keepdim=True),
    }
    return loss, grads


def autograd_gradients(params, Xb, Yb):
    """(loss, grads of the parameters) from loss.backward(): the reference for `fast_gradients`."""
    leaves = {name: params[name].detach().requires_grad_() for name in PARAMETER_NAMES}  # shares storage
    with torch.enable_grad():
        *_, h = _batchnorm_forward(leaves, Xb)
        loss = F.cross_entropy(h @ leaves["W2"] + leaves["b2"], Yb)
        loss.backward()
    return loss.detach(), {name: leaves[name].grad for name in PARAMETER_NAMES}


def train(params, X, Y, steps, batch_size=32, lr=LECTURE_LR, generator=None, gradients=fast_gradients,
          progress=True, num_threads=1):
    """Minibatch SGD on `params` (updated in place); returns each step's minibatch loss.

    `gradients(params, Xb, Yb) -> (loss, grads)` computes the step: `fast_gradients` (the manual
    backward, no autograd) or `autograd_gradients`. `lr` is a number or a function step -> rate
    (default: 0.1, then 0.01 from step 100,000). Minibatches come from `generator` (a fresh one
    seeded 2147483647 if None; the lecture continues the generator that made the parameters).
    `num_threads`: torch's CPU threads during the loop (one is fastest for these small
    matrices; None leaves the setting alone).
    """
    if X.dim() != 2 or Y.dim() != 1 or len(X) != len(Y) or len(X) < 2:
        raise ValueError(f"X must be (N, block_size) and Y (N,) with N >= 2; got {tuple(X.shape)}, {tuple(Y.shape)}")
    if batch_size < 2 or steps < 0:
        raise ValueError(f"batch_size must be >= 2 (BatchNorm) and steps >= 0; got {batch_size}, {steps}")
    if generator is None:
        generator = torch.Generator().manual_seed(LECTURE_SEED)
    learning_rate = lr if callable(lr) else (lambda step: lr)
    with _training_progress(steps, progress, num_threads) as run:
        for step in range(steps):
            ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
            loss, grads = gradients(params, X[ix], Y[ix])
            rate = learning_rate(step)
            with torch.no_grad():
                for name in PARAMETER_NAMES:
                    params[name].add_(grads[name], alpha=-rate)
            run.record(step, loss.item())
    return run.losses


@torch.no_grad()
def calibrate_batchnorm(params, X):
    """(bnmean, bnvar) of the hidden pre-activations over all of X, for evaluation.

    The variance is Bessel-corrected, as in training.
    """
    emb = params["C"][X]
    hpreact = emb.view(emb.shape[0], -1) @ params["W1"] + params["b1"]
    return hpreact.mean(0, keepdim=True), hpreact.var(0, keepdim=True, unbiased=True)


@torch.no_grad()
def split_loss(params, X, Y, bnmean, bnvar):
    """The mean cross-entropy on a whole split, normalising with fixed statistics (eval mode)."""
    emb = params["C"][X]
    hpreact = emb.view(emb.shape[0], -1) @ params["W1"] + params["b1"]
    hpreact = params["bngain"] * (hpreact - bnmean) * (bnvar + BN_EPS) ** -0.5 + params["bnbias"]
    logits = torch.tanh(hpreact) @ params["W2"] + params["b2"]
    return F.cross_entropy(logits, Y).item()
