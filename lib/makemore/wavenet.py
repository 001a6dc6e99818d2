"""The hierarchical character model of the WaveNet lecture, and its view as convolutions.

Introduced in Lesson 6 (WaveNet). Both models are stacks of `lib.makemore.layers`:

- `flat_model` is Lesson 4's MLP: all `block_size` embeddings are concatenated at once and
  go through one hidden layer.
- `hierarchical_model` fuses them two at a time instead: pairs of characters, then pairs of
  pairs, ..., one Linear + BatchNorm1d + Tanh per level, so 8 characters take 3 levels.

`dilated_logits` runs a trained hierarchical model as what it is in disguise: a stack of
causal convolutions with kernel size 2 and dilations 1, 2, 4, ... (van den Oord et al.,
"WaveNet", 2016), slid over a whole sequence at once. Its logits at each position equal the
model's logits for the window of `block_size` characters ending there.
"""
import torch
import torch.nn.functional as F

from lib.makemore.layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh


def _with_quiet_output_layer(layers):
    model = Sequential(layers)
    with torch.no_grad():
        # Small logits at initialisation: the first loss is near -ln(1/27) instead of far above it.
        model.layers[-1].weight *= 0.1
    return model


def flat_model(vocab_size=27, block_size=3, n_embd=10, n_hidden=200, generator=None):
    """Embedding -> concatenate all positions -> Linear -> BatchNorm1d -> Tanh -> Linear.

    12,097 parameters for the defaults; 22,097 with block_size 8.
    Weights are drawn from `generator` in layer order, as the lecture drew them.
    """
    return _with_quiet_output_layer([
        Embedding(vocab_size, n_embd, generator=generator),
        FlattenConsecutive(block_size),
        Linear(n_embd * block_size, n_hidden, bias=False, generator=generator), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, vocab_size, generator=generator),
    ])


def hierarchical_model(vocab_size=27, block_size=8, n_embd=24, n_hidden=128, generator=None, batchnorm=BatchNorm1d):
    """Embedding, then log2(block_size) levels of FlattenConsecutive(2) -> Linear -> BatchNorm -> Tanh, then Linear.

    76,579 parameters for the defaults; 22,397 with n_embd 10 and n_hidden 68. The Linear
    layers before a BatchNorm have no bias (BatchNorm's beta does that job). `batchnorm` is the
    normalisation layer class to use, so that a variant can be compared with `BatchNorm1d`.
    """
    levels = block_size.bit_length() - 1
    if block_size < 2 or 2**levels != block_size:
        raise ValueError(f"block_size must be a power of 2 (2, 4, 8, 16, ...) so that pairs can be fused down to "
                         f"one position; got {block_size}")
    layers = [Embedding(vocab_size, n_embd, generator=generator)]
    width = n_embd
    for _ in range(levels):
        layers += [FlattenConsecutive(2), Linear(2 * width, n_hidden, bias=False, generator=generator),
                   batchnorm(n_hidden), Tanh()]
        width = n_hidden
    layers.append(Linear(n_hidden, vocab_size, generator=generator))
    return _with_quiet_output_layer(layers)


def _levels(model):
    """The (FlattenConsecutive, Linear, norm, Tanh) groups of a hierarchical model."""
    inner = model.layers[1:-1]
    groups = [inner[i:i + 4] for i in range(0, len(inner), 4)]
    shaped = (isinstance(model.layers[0], Embedding) and isinstance(model.layers[-1], Linear) and groups
              and all(len(g) == 4 and isinstance(g[0], FlattenConsecutive) and isinstance(g[1], Linear)
                      and hasattr(g[2], "running_mean") and isinstance(g[3], Tanh) for g in groups))
    if not shaped:
        raise ValueError("dilated_logits reads a model built like hierarchical_model: Embedding, then groups of "
                         "FlattenConsecutive, Linear, BatchNorm1d, Tanh, then a final Linear")
    return groups


@torch.no_grad()
def dilated_logits(model, ids):
    """Logits of every window of `ids`, computed as dilated causal convolutions.

    `ids` is (B, L) token ids with L >= the model's block_size; the result is
    (B, L - block_size + 1, vocab_size), where position i holds the logits for the window
    ids[:, i : i + block_size]. The model must be in eval mode: a training-mode BatchNorm
    normalises with the statistics of whatever batch it sees, so windows computed together
    would not match windows computed apart. A `flat_model` works too: it is a single
    convolution whose kernel spans the whole context.
    """
    groups = _levels(model)
    if model.training:
        raise ValueError("call model.eval() first: the convolutional view uses BatchNorm's running statistics")
    if ids.dim() != 2:
        raise ValueError(f"ids must be (B, L) token ids; got shape {tuple(ids.shape)}")
    x = model.layers[0].weight[ids].transpose(1, 2)  # (B, C, L): conv1d wants channels before positions
    dilation = 1
    for flatten, linear, norm, _ in groups:
        n, channels = flatten.n, x.shape[1]
        # Row j*C + c of the Linear weight multiplies channel c of the j-th position of a run of n:
        # as a conv1d kernel that is tap j of input channel c, taps `dilation` positions apart.
        kernel = linear.weight.T.reshape(-1, n, channels).transpose(1, 2)  # (out, C, n)
        if x.shape[2] <= (n - 1) * dilation:
            raise ValueError(f"ids must hold at least block_size positions; got L={ids.shape[1]}")
        x = F.conv1d(x, kernel, linear.bias, dilation=dilation)
        x = torch.tanh(F.batch_norm(x, norm.running_mean, norm.running_var, norm.gamma, norm.beta,
                                    training=False, eps=norm.eps))
        dilation *= n
    head = model.layers[-1]
    logits = x.transpose(1, 2) @ head.weight
    return logits if head.bias is None else logits + head.bias
