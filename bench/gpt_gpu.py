"""The lecture's GPT (the `lecture` preset: 10.8M parameters, 5000 steps) trained on a GPU, as
the lecture did; the record fills Lesson 7's GPU row and the reproduction page.

It needs a CUDA GPU, so it is not part of `make bench`; run it where one is:

    python bench/gpt_gpu.py --json bench/results/gpt_lecture_gpu.json
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_description, today  # noqa: E402
from lib.gpt.presets import PRESETS  # noqa: E402
from lib.gpt.train import load_shakespeare, sample, train  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="where to write the record")
    parser.add_argument("--preset", default="lecture")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA GPU: this benchmark trains the lecture's model on a GPU")
    torch.backends.cuda.matmul.allow_tf32 = True  # as `python -m lib.gpt.train --device cuda`
    torch.backends.cudnn.allow_tf32 = True
    start = time.perf_counter()
    model, history = train(args.preset, device="cuda", progress=False)
    wall = time.perf_counter() - start
    tokenizer, _, _ = load_shakespeare()
    record = {
        "machine": f"{torch.cuda.get_device_name()}; host {machine_description()}",
        "date": today(), "torch": torch.__version__, "preset": args.preset,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": history[-1]["step"], "wall_s": wall, "final_train": history[-1]["train"],
        "final_val": history[-1]["val"], "lecture_val": 1.48, "history": history,
        "sample": sample(model, tokenizer),
        "settings": repr(PRESETS[args.preset]),
    }
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    print(f"{record['parameters']:,} parameters, {record['steps']} steps, val {record['final_val']:.4f} "
          f"(lecture 1.48), {wall:.0f} s")


if __name__ == "__main__":
    main()
