"""lib.gpt.train, Lesson 7's trainer: what it promises.

The tiny preset learns; the learning-rate schedule has the shape it claims; a checkpoint
gives back the same model, and a run that stops and resumes ends exactly where an
uninterrupted run ends; two processes under torchrun (gloo, CPU) train together; bad input
is refused with a message that says what to do. Everything runs the tiny preset for a few
dozen steps: seconds, never the real presets (those are the benchmark's job).
"""
import dataclasses
import math
import os
import subprocess
import sys

import pytest
import torch

from lib.gpt import GPT
from lib.gpt.train import (PRESETS, CheckpointError, Preset, get_preset, learning_rate, load_checkpoint, main,
                           model_from_checkpoint, train)

from conftest import ROOT, dataset_text

STEPS = 40  # tiny preset steps per test run: enough to see learning, short enough for seconds


@pytest.fixture(autouse=True)
def _needs_shakespeare():
    dataset_text("tinyshakespeare")  # skips the test when the data set is not available offline


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def without_times(history):
    return [{k: v for k, v in h.items() if k not in ("elapsed_s", "cpu_s")} for h in history]


# --- presets and schedule ---------------------------------------------------------------------

def test_presets_are_the_ones_the_lesson_names():
    lecture, small = PRESETS["lecture"], PRESETS["small"]
    assert GPT(lecture.model).num_parameters() == 10_788_929  # the lecture's "about 10.8M"
    assert (lecture.batch_size, lecture.model.block_size, lecture.learning_rate, lecture.max_iters) == (64, 256, 3e-4, 5000)
    assert lecture.model.dropout == 0.2 and lecture.lr_decay_iters is None  # constant lr, as in the lecture
    m = small.model
    assert (m.n_layer, m.n_head, m.n_embd, m.block_size, m.dropout) == (4, 4, 128, 64, 0.0)
    assert (small.batch_size, small.max_iters, small.learning_rate) == (12, 2000, 1e-3)
    assert {"cpu", "tiny"} <= PRESETS.keys()


def test_learning_rate_warms_up_then_decays_to_its_floor():
    p = Preset(model=PRESETS["tiny"].model, batch_size=1, max_iters=100, eval_interval=10, eval_iters=1,
               learning_rate=1e-3, warmup_iters=10, lr_decay_iters=110, min_lr=1e-4)
    lrs = [learning_rate(p, s) for s in range(200)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)  # linear warm-up to the peak
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # then never rises
    assert lrs[60] == pytest.approx(1e-4 + 0.5 * 9e-4)  # half way down the cosine: the midpoint
    assert lrs[110:] == [1e-4] * 90  # after the decay: the floor
    assert learning_rate(PRESETS["lecture"], 4999) == 3e-4  # no schedule: constant


# --- training ----------------------------------------------------------------------------------

def test_tiny_preset_learns():
    model, history = train("tiny", max_iters=STEPS, progress=False)
    assert [h["step"] for h in history] == [0, STEPS]  # evaluated at the start and at the end
    first, last = history[0], history[-1]
    assert first["val"] == pytest.approx(math.log(65), abs=0.15)  # untrained: near-uniform guesses
    assert last["val"] < first["val"] - 1.0 and last["train"] < first["train"] - 1.0
    assert all(h["elapsed_s"] >= 0 and h["cpu_s"] >= 0 for h in history)
    assert not model.training  # handed back ready to generate


def test_checkpoint_round_trip_gives_identical_logits(tmp_path):
    model, _ = train("tiny", max_iters=10, out_dir=tmp_path, progress=False)
    loaded, tokenizer = model_from_checkpoint(tmp_path / "ckpt.pt")
    assert tokenizer.vocab_size == 65 and tokenizer.decode(tokenizer.encode("To be, or")) == "To be, or"
    idx = torch.randint(65, (3, PRESETS["tiny"].model.block_size), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(idx)[0], loaded(idx)[0])


def test_resume_continues_to_the_same_result_as_an_uninterrupted_run(tmp_path):
    straight, straight_history = train("tiny", max_iters=STEPS, progress=False)
    # Stop at step 30, between two of the tiny preset's evaluations (every 50 steps), then resume.
    train("tiny", max_iters=30, out_dir=tmp_path, progress=False)
    assert load_checkpoint(tmp_path / "ckpt.pt")["step"] == 30
    resumed, resumed_history = train("tiny", max_iters=STEPS, out_dir=tmp_path, resume=True, progress=False)
    assert same_weights(straight, resumed)
    # The resumed history has one extra entry, the evaluation at the stop; the rest agree exactly.
    assert [h for h in without_times(resumed_history) if h["step"] != 30] == without_times(straight_history)


def test_max_iters_stops_early_but_keeps_the_presets_schedule():
    preset = get_preset("tiny")
    assert learning_rate(preset, 150) > preset.min_lr  # the schedule is the preset's, not max_iters'
    _, history = train("tiny", max_iters=0, progress=False)
    assert [h["step"] for h in history] == [0]


# --- several processes --------------------------------------------------------------------------

def test_ddp_two_cpu_processes_train_together(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    result = subprocess.run(
        [*torchrun, "-m", "lib.gpt.train", "--preset", "tiny", "--max-iters", "30", "--out", str(tmp_path),
         "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("done: step 30") == 1  # only process 0 reports
    checkpoint = load_checkpoint(tmp_path / "ckpt.pt")
    assert checkpoint["step"] == 30
    history = checkpoint["history"]
    assert history[-1]["val"] < history[0]["val"] - 0.5  # it learned
    # Each process drew its own batches: their generators ended in different states.
    rank0, rank1 = (state["batches"] for state in checkpoint["rng"])
    assert not torch.equal(rank0, rank1)
    assert (tmp_path / "samples.txt").read_text()


# --- bad input ----------------------------------------------------------------------------------

def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match="choose one of lecture, cpu, small, tiny"):
        train("huge")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_says_what_to_use_instead():
    with pytest.raises(RuntimeError, match="--device cpu"):
        train("tiny", device="cuda")


def test_resume_needs_a_readable_checkpoint_of_the_same_preset(tmp_path):
    with pytest.raises(CheckpointError, match="without --resume"):
        train("tiny", out_dir=tmp_path, resume=True, progress=False)
    (tmp_path / "ckpt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="delete it"):
        train("tiny", out_dir=tmp_path, resume=True, progress=False)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "ckpt.pt")  # a torch file, but not a checkpoint
    with pytest.raises(CheckpointError, match="lacks"):
        train("tiny", out_dir=tmp_path, resume=True, progress=False)
    train("tiny", max_iters=1, out_dir=tmp_path, progress=False)
    other = dataclasses.replace(get_preset("tiny"), learning_rate=1e-2)
    with pytest.raises(CheckpointError, match="different preset"):
        train(other, out_dir=tmp_path, resume=True, progress=False)


@pytest.mark.parametrize("argv, message", [
    (["--preset", "huge"], "unknown preset 'huge'; choose one of"),
    (["--preset", "tiny", "--resume"], "--resume needs --out"),
    (["--preset", "tiny", "--max-iters", "-1"], "--max-iters must be >= 0"),
] + ([] if torch.cuda.is_available() else [(["--preset", "tiny", "--device", "cuda"], "--device cpu")]))
def test_cli_refuses_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_reports_a_corrupt_checkpoint(tmp_path, capsys):
    (tmp_path / "ckpt.pt").write_bytes(b"\x00" * 16)
    assert main(["--preset", "tiny", "--out", str(tmp_path), "--resume", "--no-progress"]) == 2
    assert "is not a readable checkpoint" in capsys.readouterr().err
