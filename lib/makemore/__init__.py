"""Character-level language models of names, in the spirit of "makemore" (Lessons 2 to 6).

`vocab` (Lesson 2) holds the words, the 27-character vocabulary and the splits.
`bigram` (Lesson 2) is the bigram model, counted and trained, with its NLL and sampling.
`dataset` (Lesson 3) turns words into (context, next character) examples.
`mlp` (Lesson 3) is the MLP of Bengio et al. (2003): model, training loop, split loss, sampling.
`backprop` (Lesson 5) is the MLP with BatchNorm backpropagated by hand: forward in atomic steps,
the gradient of each, the fused dlogits and dhprebn; `backprop_train` (Lesson 5) trains it
without loss.backward().
`layers` (Lessons 4 to 6) holds torch.nn-style layers: Linear, BatchNorm1d, Tanh, Embedding,
FlattenConsecutive, Sequential.
"""
from lib.makemore.bigram import (NeuralBigram, average_nll, bigram_counts, bigram_pairs, bigram_probs,
                                 sample_names, train_neural_bigram)
from lib.makemore.dataset import build_dataset
from lib.makemore.layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh
from lib.makemore.mlp import MLP, sample, split_loss, step_decay, train
from lib.makemore.vocab import Vocab, load_words, split_words

__all__ = [
    "Vocab", "load_words", "split_words",
    "bigram_counts", "bigram_probs", "bigram_pairs", "average_nll", "NeuralBigram", "train_neural_bigram",
    "sample_names",
    "build_dataset",
    "MLP", "train", "step_decay", "split_loss", "sample",
    "Linear", "BatchNorm1d", "Tanh", "Embedding", "FlattenConsecutive", "Sequential",
]
