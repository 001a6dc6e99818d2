"""What each exercise is compared with, and so what is unavailable while its answer is graded.

A reference is the code whose behaviour the answer must reproduce: lib's function or class,
or the torch routine that *is* the answer. grader/tripwires.py makes every name listed here
raise inside the process that runs the answer (and records the call, which scores the
exercise zero). Everything else stays available: an answer may use any other torch function,
`getattr`, `operator`, `re.compile`, `get_ipython()`, its own helper classes... Names are the
public ones; the tripwires find every other name an object is bound to.
"""
AUTOGRAD = ["torch.autograd"]  # a group: see tripwires.GROUPS
BATCHNORM = [
    "torch.nn.functional.batch_norm", "torch.batch_norm", "torch.native_batch_norm",
    "torch.nn.modules.batchnorm._BatchNorm", "torch.nn.functional.instance_norm", "torch.instance_norm",
    "torch.nn.functional.layer_norm", "torch.layer_norm", "torch.native_layer_norm",
    "torch.nn.functional.group_norm", "torch.group_norm", "lib.makemore.BatchNorm1d",
]
ATTENTION = [
    "torch.nn.functional.scaled_dot_product_attention", "torch.nn.functional.multi_head_attention_forward",
    "torch.nn.MultiheadAttention", "torch._native_multi_head_attention", "torch.nn.Transformer",
    "torch.nn.TransformerEncoderLayer", "torch.nn.TransformerDecoderLayer",
    "lib.gpt.Head", "lib.gpt.MultiHeadAttention", "lib.gpt.Block", "lib.gpt.GPT",
]
BACKPROP = AUTOGRAD + [f"lib.makemore.backprop.{name}" for name in (
    "autograd_step_gradients", "backward_cross_entropy", "backward_output_layer", "backward_batchnorm",
    "embedding_grad", "backward_input_layer", "manual_backward", "cross_entropy_grad", "batchnorm_grad",
    "fast_gradients", "autograd_gradients", "train")]
TOKENIZERS = ["lib.bpe.Tokenizer", "lib.bpe.BasicTokenizer", "lib.bpe.RegexTokenizer", "lib.bpe.GPT4Tokenizer"]

REFERENCES = {
    "01-micrograd": {
        "ex-neuron-grads": AUTOGRAD + ["lib.micrograd.Value"],
        # MyValue's given backward() is the library's: only the operations are the answer
        "ex-value-backward": AUTOGRAD + [f"lib.micrograd.engine.Value.{name}" for name in (
            "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
            "__rtruediv__", "__pow__", "__neg__", "exp", "log", "tanh", "relu")],
        "ex-backward": ["lib.micrograd.engine.Value.backward", "lib.micrograd.engine._topological_order"],
        "ex-mlp": ["lib.micrograd.nn.Neuron", "lib.micrograd.nn.Layer", "lib.micrograd.nn.MLP"],
        "ex-train": ["lib.micrograd.nn.train"],
    },
    "02-bigram": {
        "ex-bigram-counts": ["lib.makemore.bigram_counts", "lib.makemore.bigram_pairs"],
        "ex-sample-names": ["lib.makemore.sample_names"],
        "ex-bigram-probs": ["lib.makemore.bigram_counts", "lib.makemore.bigram_probs", "lib.makemore.NeuralBigram"],
        "ex-average-nll": ["lib.makemore.average_nll"],
        "ex-neural-loss": ["lib.makemore.bigram.bigram_nll_loss", "lib.makemore.NeuralBigram",
                           "lib.makemore.train_neural_bigram", "torch.nn.functional.cross_entropy",
                           "torch.nn.functional.nll_loss"],
        "ex-neural-train": ["lib.makemore.NeuralBigram", "lib.makemore.train_neural_bigram"],
        "ex-trigram": ["lib.makemore.average_nll"],
    },
    "03-mlp": {
        "ex-build-dataset": ["lib.makemore.build_dataset"],
        "ex-mlp-forward": ["lib.makemore.mlp.MLP"],
        "ex-train-loop": ["lib.makemore.mlp.train", "lib.makemore.mlp.lr_sweep"],
        "ex-lr-sweep": ["lib.makemore.mlp.lr_sweep", "lib.makemore.mlp.train"],
        "ex-split": ["lib.makemore.split_words"],
        "ex-sample": ["lib.makemore.mlp.sample"],
    },
    "04-batchnorm": {
        "ex-linear-tanh": ["lib.makemore.Linear", "lib.makemore.Tanh", "torch.nn.Linear", "torch.nn.Tanh",
                           "torch.nn.functional.linear"],
        "ex-init-fixes": ["lib.mistakes.batchnorm.fixed_initialisation"],
        "ex-batchnorm1d": BATCHNORM + ["torch.nn.BatchNorm1d"],
        "ex-update-ratio": ["lib.diagnostics.update_ratios"],
    },
    "05-backprop": {exercise: BACKPROP for exercise in (
        "ex-backward-cross-entropy", "ex-backward-output-layer", "ex-backward-batchnorm",
        "ex-backward-input-layer", "ex-dlogits", "ex-dhprebn", "ex-train-by-hand")},
    "06-wavenet": {
        "ex-embedding": ["lib.makemore.Embedding", "torch.nn.Embedding", "torch.nn.functional.embedding",
                         "torch.embedding"],
        "ex-sequential": ["lib.makemore.Sequential", "torch.nn.Sequential"],
        "ex-flatten-consecutive": ["lib.makemore.FlattenConsecutive", "torch.nn.Flatten", "torch.nn.Unflatten"],
        "ex-hierarchical-model": ["lib.makemore.wavenet.hierarchical_model"],
        "ex-batchnorm-statistics": BATCHNORM,
    },
    "07-gpt": {
        # the sampling and training exercises get lib GPTs to work with: only the methods
        # and functions that ARE the answer are unavailable, not the class
        "ex-generate": ["lib.gpt.GPT.generate", "lib.gpt.train.sample"],
        "ex-train-loop": ["lib.gpt.train_steps", "lib.gpt.train.train"],
        "ex-averaging": [],
        "ex-attention-head": ATTENTION,
        "ex-multi-head": ATTENTION,
        "ex-feed-forward": ["lib.gpt.FeedForward", "lib.gpt.Block", "lib.gpt.GPT"],
        "ex-layer-norm": [
            "torch.nn.LayerNorm", "torch.nn.functional.layer_norm", "torch.layer_norm",
            "torch.native_layer_norm", "torch.nn.functional.group_norm", "torch.group_norm",
            "torch.nn.GroupNorm", "torch.nn.functional.rms_norm", "torch.rms_norm",
            "torch.nn.functional.instance_norm", "torch.instance_norm",
            "torch.nn.functional.batch_norm", "torch.batch_norm"],
        "ex-block": ["lib.gpt.Block", "lib.gpt.GPT"],
    },
    "08-tokenizer": {
        "ex-get-stats": ["lib.bpe.get_stats"],
        "ex-merge": ["lib.bpe.merge"],
        # the training exercise may use lib's get_stats and merge: it asks for the loop
        "ex-train": ["lib.bpe.train_naive", "lib.bpe.train_naive_chunks", "lib.bpe.bpe_merges", *TOKENIZERS],
        "ex-encode-decode": ["lib.bpe.encode_naive", "lib.bpe.apply_merges", *TOKENIZERS],
        # get_stats and merge stay available: the exercise asks for the split and the chunks
        "ex-regex-tokenizer": ["lib.bpe.train_naive_chunks", "lib.bpe.bpe_merges", "lib.bpe.train_naive",
                               "lib.bpe.apply_merges", "lib.bpe.encode_naive", "tiktoken.Encoding",
                               "tiktoken._educational.bpe_encode", "tiktoken._educational.bpe_train",
                               "tiktoken._educational.SimpleBytePairEncoding", *TOKENIZERS],
        "ex-recover-merges": ["lib.bpe.gpt4.recover_merges", "lib.bpe.gpt4._cl100k_tables",
                              "lib.bpe.apply_merges", "lib.bpe.encode_naive", "tiktoken.Encoding",
                              "tiktoken._educational.bpe_encode", "tiktoken._educational.bpe_train",
                              "tiktoken._educational.SimpleBytePairEncoding", *TOKENIZERS],
        "ex-special-tokens": ["tiktoken.Encoding", *TOKENIZERS],
    },
}


def of(lesson, exercise):
    """The references of one exercise (none for an exercise this table does not list)."""
    return list(REFERENCES.get(lesson, {}).get(exercise, []))
