"""Layers in the style of torch.nn, written out by hand (Lessons 4 to 6).

Introduced in Lesson 4 (activations, gradients and BatchNorm), where the MLP is rebuilt as a
stack of layers; Lesson 6 (WaveNet) adds `Embedding`, `FlattenConsecutive` and 3-D input to
`BatchNorm1d`. Every layer is called like a function, lists what it learns in `parameters()`,
and keeps its last output in `.out`, which `lib.diagnostics` reads to draw histograms.

Parameters require gradients from the start, as in torch.nn; rescale them inside
`torch.no_grad()` (e.g. `layer.weight *= 5/3`).

`BatchNorm1d` follows torch's definitions, so that it agrees with
`torch.nn.functional.batch_norm`:
- in training mode it normalises with the batch mean and the *biased* batch variance
  (divided by n), and eps inside the square root: (x - mean) / sqrt(var + eps);
- it updates the running statistics with running = (1 - momentum) * running + momentum * batch,
  where the running variance uses the *unbiased* batch variance (divided by n - 1);
- in eval mode it normalises with the running statistics instead.
The lecture's own class used the unbiased variance in both places; Lesson 4 measures the
difference, which shrinks like 1/n with the batch size n.
"""
import torch


class Linear:
    """x @ weight (+ bias): weight (fan_in, fan_out) drawn from N(0, 1/fan_in), bias zeros.

    The 1/sqrt(fan_in) scale keeps the output's spread about that of the input (Kaiming
    initialisation without its gain; multiply by the gain, e.g. 5/3 before a tanh).
    `generator=None` draws from torch's global random generator.
    """

    def __init__(self, fan_in, fan_out, bias=True, generator=None):
        if fan_in < 1 or fan_out < 1:
            raise ValueError(f"fan_in and fan_out must be >= 1; got {fan_in} and {fan_out}")
        self.weight = (torch.randn((fan_in, fan_out), generator=generator) / fan_in**0.5).requires_grad_()
        self.bias = torch.zeros(fan_out, requires_grad=True) if bias else None

    def __call__(self, x):
        if x.shape[-1] != self.weight.shape[0]:
            raise ValueError(f"Linear expects inputs whose last dimension is fan_in={self.weight.shape[0]}; "
                             f"got shape {tuple(x.shape)} (check the size of the layer before it)")
        self.out = x @ self.weight
        if self.bias is not None:
            self.out = self.out + self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    """Normalise each feature (the last dimension) to zero mean and unit variance, then scale
    by `gamma` and shift by `beta` (both learned).

    Statistics are taken over dimension 0 for input (N, dim) and over dimensions 0 and 1 for
    input (N, T, dim). `training` chooses batch statistics (True) or the running ones (False);
    the running statistics are buffers, updated without gradient, and not parameters.
    """

    def __init__(self, dim, eps=1e-5, momentum=0.1):
        if dim < 1 or eps < 0 or not 0 <= momentum <= 1:
            raise ValueError(f"need dim >= 1, eps >= 0 and 0 <= momentum <= 1; got {dim}, {eps}, {momentum}")
        self.dim, self.eps, self.momentum = dim, eps, momentum
        self.training = True
        self.gamma = torch.ones(dim, requires_grad=True)
        self.beta = torch.zeros(dim, requires_grad=True)
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def _statistics_dims(self, x):
        if x.dim() not in (2, 3) or x.shape[-1] != self.dim:
            raise ValueError(f"BatchNorm1d({self.dim}) expects input of shape (N, {self.dim}) or (N, T, {self.dim}); "
                             f"got {tuple(x.shape)} (normalise the output of a layer with {self.dim} features)")
        return (0,) if x.dim() == 2 else (0, 1)

    def __call__(self, x):
        dims = self._statistics_dims(x)
        if self.training:
            n = x.numel() // self.dim  # examples per feature
            if n < 2:
                raise ValueError("BatchNorm1d in training mode needs at least 2 values per feature to estimate a "
                                 f"variance; got input of shape {tuple(x.shape)} (call .eval() before evaluating "
                                 "or sampling one example at a time)")
            mean = x.mean(dims)
            centred = x - mean
            var = (centred * centred).mean(dims)  # biased (divided by n): what the normalisation uses, as in torch
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)
        else:
            centred, var = x - self.running_mean, self.running_var
        x_hat = centred / torch.sqrt(var + self.eps)
        self.out = self.gamma * x_hat + self.beta
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    """The tanh non-linearity, as a layer (so that its output can be inspected)."""

    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Embedding:
    """A table of `num_embeddings` learned vectors of size `embedding_dim`, looked up by index."""

    def __init__(self, num_embeddings, embedding_dim, generator=None):
        self.weight = torch.randn((num_embeddings, embedding_dim), generator=generator).requires_grad_()

    def __call__(self, ix):
        if ix.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"Embedding looks up integer indices; got a {ix.dtype} tensor "
                            "(build the inputs with build_dataset, which gives torch.long)")
        self.out = self.weight[ix]
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    """(B, T, C) -> (B, T // n, C * n): concatenate each run of n consecutive vectors.

    When the result has a single position (T == n) the middle dimension is dropped, giving
    (B, C * n), the flat vector the first Linear of an MLP expects.
    """

    def __init__(self, n):
        if n < 1:
            raise ValueError(f"n must be >= 1; got {n}")
        self.n = n

    def __call__(self, x):
        if x.dim() != 3:
            raise ValueError(f"FlattenConsecutive expects (B, T, C) input; got shape {tuple(x.shape)}")
        B, T, C = x.shape
        if T % self.n:
            raise ValueError(f"FlattenConsecutive({self.n}) needs T divisible by {self.n}; got T={T} "
                             f"(choose a block_size that is a multiple of {self.n})")
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    """Layers applied one after the other; `train()` / `eval()` switch every BatchNorm's mode."""

    def __init__(self, layers):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential needs at least one layer")

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def train(self, mode=True):
        """Put every layer that has a mode into training mode (or eval mode if mode=False)."""
        for layer in self.layers:
            if hasattr(layer, "training"):
                layer.training = mode
        return self

    def eval(self):
        """Put every layer that has a mode into eval mode: BatchNorm then uses its running statistics."""
        return self.train(False)

    @property
    def training(self):
        """True unless some layer is in eval mode."""
        return all(layer.training for layer in self.layers if hasattr(layer, "training"))
