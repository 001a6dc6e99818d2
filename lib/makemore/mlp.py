"""The MLP language model of Bengio et al. (2003), at the level of characters.

Introduced in Lesson 3 (MLP). Each of the `block_size` previous characters is looked up in
an embedding table C; the embeddings are concatenated and go through one tanh hidden layer
and a linear output layer that gives the logits of the next character. `train` is the
lecture's minibatch SGD loop, `split_loss` the loss on a whole split, `sample` draws words.

The initialisation is the lecture's plain `torch.randn` for every parameter; Lesson 4 shows
why that is a poor choice and fixes it. From Lesson 4 on, `train`, `split_loss` and `sample`
also take a `lib.makemore.layers.Sequential`: `train` runs its layers in training mode,
`split_loss` and `sample` in eval mode (BatchNorm uses its running statistics), and each puts
the layers back in the mode they were in.
"""
import contextlib

import torch
import torch.nn.functional as F

from lib.progress import progress_bar

LECTURE_SEED = 2147483647  # the seed the lectures give every torch.Generator
PROGRESS_EVERY = 1000  # steps between progress-bar updates: a redraw per step would cost more than the step


class MLP:
    """C (V, n_embd) -> concat (block_size * n_embd) -> tanh (n_hidden) -> logits (V)."""

    def __init__(self, vocab_size=27, block_size=3, n_embd=10, n_hidden=200, generator=None):
        if generator is None:
            generator = torch.Generator().manual_seed(LECTURE_SEED)
        self.vocab_size, self.block_size, self.n_embd, self.n_hidden = vocab_size, block_size, n_embd, n_hidden
        # Created in the lecture's order from one generator, so the same seed gives its weights.
        self.C = torch.randn((vocab_size, n_embd), generator=generator)
        self.W1 = torch.randn((block_size * n_embd, n_hidden), generator=generator)
        self.b1 = torch.randn(n_hidden, generator=generator)
        self.W2 = torch.randn((n_hidden, vocab_size), generator=generator)
        self.b2 = torch.randn(vocab_size, generator=generator)
        for p in self.parameters():
            p.requires_grad = True

    def parameters(self):
        return [self.C, self.W1, self.b1, self.W2, self.b2]

    @property
    def num_parameters(self):
        """How many numbers the model learns (11,897 for the lecture's 27 x 10 / 200 configuration)."""
        return sum(p.nelement() for p in self.parameters())

    def __call__(self, X):
        """The (N, V) logits for X of shape (N, block_size) (or one context of shape (block_size,))."""
        if X.shape[-1] != self.block_size:
            raise ValueError(f"contexts must hold block_size={self.block_size} character ids; got X of shape "
                             f"{tuple(X.shape)} (build the dataset with the same block_size as the model)")
        emb = self.C[X]  # (N, block_size, n_embd)
        h = torch.tanh(emb.view(-1, self.block_size * self.n_embd) @ self.W1 + self.b1)
        return h @ self.W2 + self.b2


@contextlib.contextmanager
def _layers_in_mode(model, training):
    """Set the `training` flag of every layer of `model` that has one, and restore each afterwards."""
    layers = [layer for layer in getattr(model, "layers", [model]) if hasattr(layer, "training")]
    before = [layer.training for layer in layers]
    for layer in layers:
        layer.training = training
    try:
        yield
    finally:
        for layer, mode in zip(layers, before):
            layer.training = mode


class _TrainingRun:
    """The losses of a training loop so far, and its progress bar."""

    def __init__(self, bar):
        self.bar, self.losses = bar, []

    def record(self, step, loss):
        """Keep step `step`'s loss (a number); every PROGRESS_EVERY steps, move the bar on."""
        self.losses.append(loss)
        if (step + 1) % PROGRESS_EVERY == 0:
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            self.bar.update(PROGRESS_EVERY)


@contextlib.contextmanager
def _training_progress(steps, progress, num_threads):
    """A training loop's frame: torch on `num_threads` CPU threads (None leaves the setting alone)
    and a progress bar of `steps` steps (hidden unless `progress`); yields a `_TrainingRun`. On the
    way out, however the loop ends, the threads are restored and the bar shows the steps done."""
    threads_before = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    bar = progress_bar(steps, disable=not progress, auto=True, unit="step", mininterval=1.0)
    run = _TrainingRun(bar)
    try:
        yield run
    finally:
        torch.set_num_threads(threads_before)
        bar.update(len(run.losses) - bar.n)
        bar.close()


def step_decay(before, after, at):
    """A learning-rate schedule: `before` for steps 0..at-1, then `after`."""

    def learning_rate(step):
        return before if step < at else after

    learning_rate.__doc__ = f"{before} for steps < {at}, then {after}"
    return learning_rate


LECTURE_LR = step_decay(0.1, 0.01, at=100_000)  # the lecture's 200k-step run: 0.1, then 0.01 for fine-tuning


def _check_examples(X, Y):
    if X.dim() != 2 or Y.dim() != 1 or len(X) != len(Y) or len(X) == 0:
        raise ValueError(f"X must be (N, block_size) and Y (N,) with N > 0; got shapes {tuple(X.shape)} and "
                         f"{tuple(Y.shape)} (use build_dataset)")


def train(model, X, Y, steps, batch_size=32, lr=LECTURE_LR, generator=None, progress=True, num_threads=1,
          after_step=None):
    """Minibatch SGD on the cross-entropy; returns each step's minibatch loss.

    `lr` is a number or a function step -> learning rate (default: 0.1, then 0.01 from step
    100,000). Minibatches are drawn with `generator` (a fresh one seeded 2147483647 if None).
    `model` is anything with `parameters()` and `model(X) -> logits`. `after_step(step, rate)`,
    if given, is called after each update while the gradients are still in `p.grad` (Lesson 4
    records the update-to-data ratios with it).

    `num_threads` is the number of CPU threads torch uses during the loop (restored after;
    None leaves torch's setting alone). The default 1 is the fastest: these matrices are so
    small (32 x 30 @ 30 x 200) that handing parts of each op to other threads costs more in
    synchronisation than it saves. On a 2-core machine one thread runs the lecture's loop
    several times faster than torch's default of two, with the same losses
    (bench/makemore_bench.py measures both).
    """
    _check_examples(X, Y)
    if batch_size < 1 or steps < 0:
        raise ValueError(f"batch_size must be >= 1 and steps >= 0; got batch_size={batch_size}, steps={steps}")
    if generator is None:
        generator = torch.Generator().manual_seed(LECTURE_SEED)
    learning_rate = lr if callable(lr) else (lambda step: lr)
    params = model.parameters()
    n = len(X)
    with _training_progress(steps, progress, num_threads) as run, _layers_in_mode(model, training=True):
        for step in range(steps):
            ix = torch.randint(0, n, (batch_size,), generator=generator)
            loss = F.cross_entropy(model(X[ix]), Y[ix])
            for p in params:
                p.grad = None  # as in the lecture (zeroing in place instead measured no faster)
            loss.backward()
            rate = learning_rate(step)
            for p in params:
                p.data += -rate * p.grad
            run.record(step, loss.item())
            if after_step is not None:
                after_step(step, rate)
    return run.losses


def lr_sweep(model, X, Y, exponents, batch_size=32, window=20, generator=None):
    """The lecture's learning-rate search: one minibatch step per exponent e, at rate 10 ** e,
    on one model that keeps training (so `model` is changed). Returns (losses, chosen rate):
    the losses averaged over windows of `window` consecutive steps, the rate is 10 ** (the mean
    exponent of the window with the lowest average). len(exponents) must be a multiple of window.
    """
    exponents = torch.as_tensor(exponents, dtype=torch.float64)
    if len(exponents) == 0 or len(exponents) % window:
        raise ValueError(f"{len(exponents)} exponents do not fill windows of {window} steps")
    rates = (10 ** exponents).tolist()
    losses = train(model, X, Y, steps=len(rates), batch_size=batch_size, lr=lambda step: rates[step],
                   generator=generator, progress=False)
    smooth = torch.tensor(losses, dtype=torch.float64).view(-1, window).mean(1)
    return losses, 10 ** exponents.view(-1, window).mean(1)[smooth.argmin()].item()


@torch.no_grad()
def split_loss(model, X, Y):
    """The mean cross-entropy of the model on every example of a split (no gradients, eval mode)."""
    _check_examples(X, Y)
    with _layers_in_mode(model, training=False):
        return F.cross_entropy(model(X), Y).item()


@torch.no_grad()
def sample(model, vocab, n, generator=None, block_size=None):
    """Sample `n` words: start from a context of '.', draw, shift the context, until '.' comes.

    Each word keeps its closing '.', as the lesson prints it. The context length is
    `block_size`, or the model's own `block_size` when not given (a Sequential has none).
    Layers run in eval mode, so BatchNorm uses its running statistics.
    """
    if block_size is None:
        block_size = getattr(model, "block_size", None)
    if block_size is None:
        raise ValueError("this model has no block_size attribute: pass block_size= (the context length it was "
                         "trained with)")
    if generator is None:
        generator = torch.Generator().manual_seed(LECTURE_SEED)
    words = []
    with _layers_in_mode(model, training=False):
        for _ in range(n):
            context, out = [0] * block_size, []
            while True:
                probs = F.softmax(model(torch.tensor([context])), dim=1)
                ix = torch.multinomial(probs, num_samples=1, generator=generator).item()
                context = context[1:] + [ix]
                out.append(ix)
                if ix == 0:
                    break
            words.append(vocab.decode(out))
    return words
