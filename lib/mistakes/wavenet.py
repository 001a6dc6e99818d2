"""Classic mistakes in the exercises of Lesson 6 (WaveNet): fusing neighbours, 3-D BatchNorm statistics.

Each function takes the inputs of one exercise test and returns the `Mistake`s, each value
computed by making that mistake on those inputs. A mistake that happens to give the right
answer on some input (e.g. statistics over dimension 0 for 2-D input) is left for
`lib.grading` to ignore.
"""
from lib.grading import Mistake


def _squeezed(x):
    return x.squeeze(1) if x.shape[1] == 1 else x


def flatten_consecutive(x, n):
    """Mistakes in fusing each run of n consecutive positions of x (B, T, C) into (B, T // n, C * n)."""
    B, T, C = x.shape
    return [
        Mistake("the middle dimension of size 1 was kept: when T == n the result should be (B, C * n), "
                "so squeeze dimension 1 as the Linear after it expects a flat vector",
                x.reshape(B, T // n, C * n)),
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
    ]
    if x.dim() == 3:
        mistakes.append(Mistake(
            "the statistics were taken over dimensions 0 and 2, as torch.nn.BatchNorm1d does for its "
            "(N, C, L) layout; here the features are the last dimension, so reduce over 0 and 1",
            {"mean": x.mean((0, 2), keepdim=True), "var": x.var((0, 2), keepdim=True, unbiased=False)}))
    return mistakes
