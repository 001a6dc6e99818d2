"""Benchmark: lib.bpe's training and encoding against the lesson's naive loops and tiktoken.

Introduced in Lesson 8 (tokenizer). In one run:

1. Train to vocab 512 on taylorswift.txt (BasicTokenizer, no split) with the lesson's naive loop
   (recount every pair, merge, repeat) and with lib.bpe's incremental training; the merges must
   be identical.
2. Train a RegexTokenizer (GPT-4's split pattern) to vocab 4096 on tinyshakespeare.txt.
3. Encode tinyshakespeare.txt with that tokenizer, chunk by chunk, with the lesson's naive
   encoder (merge the earliest-learned pair present until none is left) and with lib.bpe; the
   ids must be identical.
4. Encode tinyshakespeare.txt with GPT4Tokenizer and with tiktoken's cl100k_base; the ids must
   be identical.

Every timing is the best (shortest) of --repeats runs, as timeit recommends: on a shared
machine the shortest run is the one least disturbed by other work. The two sides of each
comparison take turns, so both see the same machine conditions, and every lib.bpe encoding
starts cold (its chunk cache emptied). The targets are reported, not asserted; the script
exits with status 1 if any two results that must agree differ.

    python bench/bpe_bench.py [--repeats N] [--json PATH]
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so `lib` imports when run as a script

from bench.common import machine_description, today  # noqa: E402

from lib import data  # noqa: E402
from lib.bpe import BasicTokenizer, GPT4Tokenizer, RegexTokenizer, encode_naive, get_encoding, train_naive  # noqa: E402

# The speed targets lib.bpe is held to (ratios are "how many times faster").
TARGETS = {
    "train_speedup_min": 20.0,          # incremental vs naive training, taylorswift, vocab 512
    "train_4096_seconds_max": 10.0,     # RegexTokenizer to vocab 4096 on tinyshakespeare
    "encode_speedup_min": 10.0,         # lib.bpe vs the naive encoder, tinyshakespeare
    "gpt4_vs_tiktoken_ratio_max": 30.0,  # GPT4Tokenizer time / tiktoken time, tinyshakespeare
}


def best_times(runs, repeats):
    """Run each of `runs` ({name: function}) `repeats` times, taking turns.

    Returns ({name: result of its last run}, {name: its shortest time in seconds}).
    """
    results, seconds = {}, {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            results[name] = run()
            seconds[name].append(time.perf_counter() - start)
    return results, {name: min(times) for name, times in seconds.items()}


def train_basic(text, vocab_size):
    tokenizer = BasicTokenizer()
    tokenizer.train(text, vocab_size)
    return tokenizer


def train_regex(text, vocab_size):
    tokenizer = RegexTokenizer()
    tokenizer.train(text, vocab_size)
    return tokenizer


def encode_cold(tokenizer, text):
    tokenizer._chunk_cache.clear()  # time the work, not a cache filled by an earlier run
    return tokenizer.encode_ordinary(text)


def encode_naive_chunks(tokenizer, text):
    """The lesson's encoder applied to every chunk of the split, as a RegexTokenizer would."""
    ids = []
    for chunk in tokenizer.compiled_pattern.findall(text):
        ids.extend(encode_naive(list(chunk.encode("utf-8")), tokenizer.merges))
    return ids


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each timed step; the best counts (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    taylorswift = data.read_text("taylorswift")
    shakespeare = data.read_text("tinyshakespeare")
    figures, failures = {}, []

    # 1. Training, naive vs incremental, vocab 512 on taylorswift.txt.
    taylor_bytes = list(taylorswift.encode("utf-8"))
    results, seconds = best_times({
        "naive": lambda: train_naive(taylor_bytes, 256),
        "bpe": lambda: train_basic(taylorswift, 512),
    }, args.repeats)
    naive_merges, basic = results["naive"], results["bpe"]
    figures["train_naive_seconds"], figures["train_bpe_seconds"] = seconds["naive"], seconds["bpe"]
    figures["train_speedup"] = seconds["naive"] / seconds["bpe"]
    if basic.merges != naive_merges:
        failures.append("incremental training's merges differ from the naive loop's")
    print(f"train vocab 512, taylorswift ({len(taylor_bytes):,} bytes): naive "
          f"{figures['train_naive_seconds']:.2f} s, lib.bpe {figures['train_bpe_seconds']:.3f} s, "
          f"{figures['train_speedup']:.1f}x faster; merges identical: {basic.merges == naive_merges}")

    # 2. Training with the GPT-4 split, vocab 4096 on tinyshakespeare.txt.
    results, seconds = best_times({"bpe": lambda: train_regex(shakespeare, 4096)}, args.repeats)
    shakespeare_tokenizer = results["bpe"]
    figures["train_4096_seconds"] = seconds["bpe"]
    print(f"train vocab 4096, tinyshakespeare ({len(shakespeare.encode()):,} bytes), GPT-4 split: "
          f"{figures['train_4096_seconds']:.2f} s ({len(shakespeare_tokenizer.merges)} merges)")

    # 3. Encoding with that tokenizer, naive vs lib.bpe.
    results, seconds = best_times({
        "naive": lambda: encode_naive_chunks(shakespeare_tokenizer, shakespeare),
        "bpe": lambda: encode_cold(shakespeare_tokenizer, shakespeare),
    }, args.repeats)
    naive_ids, ids = results["naive"], results["bpe"]
    figures["encode_naive_seconds"], figures["encode_bpe_seconds"] = seconds["naive"], seconds["bpe"]
    figures["encode_speedup"] = seconds["naive"] / seconds["bpe"]
    if ids != naive_ids:
        failures.append("lib.bpe's encoding differs from the naive encoder's")
    print(f"encode tinyshakespeare -> {len(ids):,} tokens: naive {figures['encode_naive_seconds']:.2f} s, "
          f"lib.bpe {figures['encode_bpe_seconds']:.3f} s, {figures['encode_speedup']:.1f}x faster; "
          f"ids identical: {ids == naive_ids}")

    # 4. GPT4Tokenizer vs tiktoken's cl100k_base.
    encoding = get_encoding("cl100k_base")
    start = time.perf_counter()
    gpt4 = GPT4Tokenizer()
    figures["gpt4_build_seconds"] = time.perf_counter() - start
    results, seconds = best_times({
        "tiktoken": lambda: encoding.encode_ordinary(shakespeare),
        "gpt4": lambda: encode_cold(gpt4, shakespeare),
    }, args.repeats)
    reference, gpt4_ids = results["tiktoken"], results["gpt4"]
    figures["tiktoken_encode_seconds"], figures["gpt4_encode_seconds"] = seconds["tiktoken"], seconds["gpt4"]
    figures["gpt4_vs_tiktoken_ratio"] = seconds["gpt4"] / seconds["tiktoken"]
    if gpt4_ids != reference:
        failures.append("GPT4Tokenizer's ids differ from tiktoken's")
    print(f"cl100k_base on tinyshakespeare -> {len(reference):,} tokens: tiktoken "
          f"{figures['tiktoken_encode_seconds']:.3f} s, GPT4Tokenizer {figures['gpt4_encode_seconds']:.3f} s "
          f"({figures['gpt4_vs_tiktoken_ratio']:.1f}x tiktoken's time; built in "
          f"{figures['gpt4_build_seconds']:.1f} s); ids identical: {gpt4_ids == reference}")

    met = {
        "train_speedup": figures["train_speedup"] >= TARGETS["train_speedup_min"],
        "train_4096_seconds": figures["train_4096_seconds"] <= TARGETS["train_4096_seconds_max"],
        "encode_speedup": figures["encode_speedup"] >= TARGETS["encode_speedup_min"],
        "gpt4_vs_tiktoken_ratio": figures["gpt4_vs_tiktoken_ratio"] <= TARGETS["gpt4_vs_tiktoken_ratio_max"],
    }
    print("targets: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in met.items()))

    if args.json:
        report = {
            "machine": machine_description(),
            "date": today(),
            "repeats": args.repeats,
            **figures,
            "targets": TARGETS,
            "targets_met": met,
            "outputs_identical": not failures,
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")

    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
