"""Classic mistakes in the exercises of Lesson 6 (WaveNet): the layers, the model, 3-D BatchNorm.

Each function takes the inputs of one exercise test and returns the `Mistake`s, each value
computed by making that mistake on those inputs. A mistake that happens to give the right
answer on some input (e.g. statistics over dimension 0 for 2-D input) is left for
`lib.grading` to ignore.
"""
import torch

from lib.grading import Mistake
from lib.makemore import layers

LECTURE_SIZES = (27, 10, 68)  # vocabulary, n_embd, n_hidden of the lecture's 22,397-parameter model


def _squeezed(x):
    return x.squeeze(1) if x.shape[1] == 1 else x


def embedding(num_embeddings, embedding_dim, seed, ix):
    """Mistakes in the Embedding layer (weights drawn from a generator seeded with `seed`),
    looked up at the integer ids `ix`: values for the keys "weight" and "output"."""
    g = lambda: torch.Generator().manual_seed(seed)  # noqa: E731
    right = torch.randn((num_embeddings, embedding_dim), generator=g())
    transposed = torch.randn((embedding_dim, num_embeddings), generator=g()).T
    scaled = right / num_embeddings**0.5
    mistakes = [
        Mistake("the table was drawn as (embedding_dim, num_embeddings) and transposed; draw it as "
                "(num_embeddings, embedding_dim), one row per id, so that the same seed gives the "
                "same numbers as the lecture",
                {"weight": transposed, "output": transposed[ix]}),
        Mistake("the table was scaled by 1/sqrt(num_embeddings) like a Linear layer's weight; an "
                "embedding table is plain torch.randn, unscaled",
                {"weight": scaled, "output": scaled[ix]}),
        Mistake("the looked-up vectors were flattened to (B, T * embedding_dim); the Embedding layer "
                "keeps one vector per id, (B, T, embedding_dim): flattening is FlattenConsecutive's job",
                {"output": right[ix].reshape(ix.shape[0], -1)}),
        Mistake("squeeze() without a dimension removed every dimension of size 1, the batch dimension "
                "too when B = 1 (sampling feeds one context at a time); return weight[ix] as it is",
                {"output": right[ix].squeeze()}),
    ]
    if (num_embeddings, embedding_dim) != LECTURE_SIZES[:2]:
        lecture = torch.randn(LECTURE_SIZES[:2], generator=g())
        mistakes.append(Mistake(
            "the table's size was hard-coded as the lecture's (27, 10); use the num_embeddings and "
            "embedding_dim the layer is given",
            {"weight": lecture, **({"output": lecture[ix]} if ix.max() < LECTURE_SIZES[0] else {})}))
    return mistakes


def flatten_consecutive(x, n):
    """Mistakes in fusing each run of n consecutive positions of x (B, T, C) into (B, T // n, C * n)."""
    B, T, C = x.shape
    mistakes = [
        Mistake("the middle dimension of size 1 was kept: when T == n the result should be (B, C * n), "
                "so squeeze dimension 1 as the Linear after it expects a flat vector",
                x.reshape(B, T // n, C * n)),
        Mistake("squeeze() without a dimension removed every dimension of size 1, the batch dimension "
                "too when B = 1 (sampling feeds one context at a time); use squeeze(1), or a view "
                "to (B, C * n)",
                x.reshape(B, T // n, C * n).squeeze()),
        Mistake("all T positions were concatenated into one vector (B, T * C), as the flat MLP does; "
                "concatenate only runs of n neighbouring positions",
                x.reshape(B, T * C)),
        Mistake("positions T // n apart were fused instead of n neighbours: split T as (T // n, n), "
                "not as (n, T // n)",
                _squeezed(x.reshape(B, n, T // n, C).transpose(1, 2).reshape(B, T // n, n * C))),
        Mistake("the features of the n positions were interleaved channel by channel; each position's "
                "C features should stay together, one block of C after the other",
                _squeezed(x.reshape(B, T // n, n, C).transpose(2, 3).reshape(B, T // n, C * n))),
    ]
    if n != 2 and T % 2 == 0:
        mistakes.append(Mistake("n was hard-coded as 2 (the lecture's pairs); fuse runs of self.n positions",
                                _squeezed(x.reshape(B, T // 2, C * 2))))
    return mistakes


def _variant(vocab_size, block_size, n_embd, n_hidden, seed, levels=None, bias=False, quiet=True,
             tanh=True):
    """A hierarchical model built with one mistake (lib's layers, the lecture's order of draws)."""
    g = torch.Generator().manual_seed(seed)
    levels = block_size.bit_length() - 1 if levels is None else levels
    stack, width = [layers.Embedding(vocab_size, n_embd, generator=g)], n_embd
    for _ in range(levels):
        n = block_size if levels == 1 else 2
        stack += [layers.FlattenConsecutive(n),
                  layers.Linear(n * width, n_hidden, bias=bias, generator=g), layers.BatchNorm1d(n_hidden)]
        stack += [layers.Tanh()] if tanh else []
        width = n_hidden
    stack.append(layers.Linear(n_hidden, vocab_size, generator=g))
    if quiet:
        with torch.no_grad():
            stack[-1].weight *= 0.1
    return layers.Sequential(stack)


def hierarchical_model(ids, vocab_size, block_size, n_embd, n_hidden, seed):
    """Mistakes in assembling the hierarchical model: values for the keys "parameters" (the
    count) and "logits" (training mode, on the batch of contexts `ids`)."""
    variants = [
        ("the hidden Linear layers have a bias: a bias right before a BatchNorm is cancelled by its "
         "mean subtraction (BatchNorm's beta does that job), so pass bias=False", dict(bias=True)),
        ("the output layer's weights were not scaled by 0.1: at initialisation the logits should be "
         "small, so that the first predictions are nearly uniform (Lesson 4)", dict(quiet=False)),
        ("all positions were fused at once, FlattenConsecutive(block_size) and one hidden layer: that "
         "is the flat model; fuse pairs, FlattenConsecutive(2), at each of log2(block_size) levels",
         dict(levels=1)),
        ("a level has no Tanh after its BatchNorm: each level is FlattenConsecutive(2), Linear, "
         "BatchNorm1d, Tanh", dict(tanh=False)),
    ]
    if block_size != 8:
        variants.append(("the number of levels was hard-coded as the lecture's 3; a context of "
                         "block_size positions takes log2(block_size) levels of pairs", dict(levels=3)))
    sizes = (vocab_size, n_embd, n_hidden)
    mistakes = []
    for description, kwargs in variants:
        mistakes.append(Mistake(description, _summary(_variant(vocab_size, block_size, n_embd, n_hidden,
                                                               seed, **kwargs), ids)))
    if sizes != LECTURE_SIZES:
        model = _variant(*LECTURE_SIZES[:1], block_size, *LECTURE_SIZES[1:], seed)
        mistakes.append(Mistake("the sizes were hard-coded as the lecture's (27 characters, n_embd 10, "
                                "n_hidden 68); use the arguments", _summary(model, ids)))
    return mistakes


def _summary(model, ids):
    with torch.no_grad():
        try:
            logits = model(ids)
        except (ValueError, RuntimeError, IndexError):  # a variant that cannot run on these inputs
            logits = torch.full((0,), float("nan"))
    return {"parameters": sum(p.nelement() for p in model.parameters()), "logits": logits}


def batchnorm_statistics(x):
    """Mistakes in the per-feature mean and (biased) variance of x (N, C) or (N, T, C), kept as (1, ..., C)."""
    features = tuple(range(x.dim() - 1))
    mistakes = [
        Mistake("the statistics were taken over dimension 0 only: for (B, T, C) input that gives one mean "
                "per position, shape (1, T, C); average over dimensions 0 and 1",
                {"mean": x.mean(0, keepdim=True), "var": x.var(0, keepdim=True, unbiased=False)}),
        Mistake("the variance is the unbiased one (divided by n - 1); BatchNorm1d normalises with the "
                "biased variance (divided by n)",
                {"var": x.var(features, keepdim=True, unbiased=True)}),
        Mistake("keepdim was left out, so the statistics have shape (C,); keep the reduced dimensions "
                "as size 1, e.g. (1, 1, C) for 3-D input",
                {"mean": x.mean(features), "var": x.var(features, unbiased=False)}),
        Mistake("the standard deviation was returned instead of the variance (its square)",
                {"var": x.std(features, keepdim=True, unbiased=False)}),
    ]
    if x.dim() == 3:
        mistakes.append(Mistake(
            "the statistics were taken over dimensions 0 and 2, as torch.nn.BatchNorm1d does for its "
            "(N, C, L) layout; here the features are the last dimension, so reduce over 0 and 1",
            {"mean": x.mean((0, 2), keepdim=True), "var": x.var((0, 2), keepdim=True, unbiased=False)}))
    else:
        mistakes.append(Mistake(
            "the dimensions (0, 1) were hard-coded: that is right for 3-D input only; for (N, C) input "
            "reduce over dimension 0, i.e. over every dimension but the last",
            {"mean": x.mean((0, 1), keepdim=True), "var": x.var((0, 1), keepdim=True, unbiased=False)}))
    return mistakes
