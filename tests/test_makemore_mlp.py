"""lib.makemore.mlp, Lesson 3's MLP: its parameters, forward pass, training loop, split loss and
sampling, the thread setting of the loop, and the benchmark script that times it."""
import importlib.util
import json
import string
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lib.makemore import MLP, Vocab, build_dataset, sample, split_loss, step_decay, train
from lib.makemore.mlp import LECTURE_LR, lr_sweep

ROOT = Path(__file__).resolve().parent.parent
from conftest import dataset_text

LETTERS = Vocab(string.ascii_lowercase)
SEED = 2147483647
WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
         "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila", "aria", "scarlett"]


@pytest.fixture(scope="module")
def examples():
    return build_dataset(WORDS, LETTERS, block_size=3)


# --- the model ------------------------------------------------------------------------------

def test_the_lectures_model_has_11897_parameters():
    model = MLP(vocab_size=27, block_size=3, n_embd=10, n_hidden=200)
    assert model.num_parameters == 11_897
    assert [tuple(p.shape) for p in model.parameters()] == [(27, 10), (30, 200), (200,), (200, 27), (27,)]
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("V, block, embd, hidden", [(27, 3, 2, 100), (5, 1, 4, 7), (30, 8, 3, 16)])
def test_parameter_count_formula(V, block, embd, hidden):
    model = MLP(V, block, embd, hidden)
    assert model.num_parameters == V * embd + block * embd * hidden + hidden + hidden * V + V


def test_parameters_are_the_lectures_randn_in_order():
    g = torch.Generator().manual_seed(SEED)
    expected = [torch.randn((27, 10), generator=g), torch.randn((30, 200), generator=g),
                torch.randn(200, generator=g), torch.randn((200, 27), generator=g), torch.randn(27, generator=g)]
    for model in (MLP(), MLP(generator=torch.Generator().manual_seed(SEED))):
        assert all(torch.equal(p.detach(), e) for p, e in zip(model.parameters(), expected))


def test_forward_pass_is_embed_concatenate_tanh_linear(examples):
    X, _ = examples
    model = MLP(n_embd=4, n_hidden=16, generator=torch.Generator().manual_seed(0))
    logits = model(X)
    assert logits.shape == (len(X), 27)
    C, W1, b1, W2, b2 = model.parameters()
    concatenated = torch.cat([C[X[:, i]] for i in range(3)], dim=1)  # the lecture's first, explicit version
    torch.testing.assert_close(logits, torch.tanh(concatenated @ W1 + b1) @ W2 + b2)
    assert model(X[0]).shape == (1, 27)  # one context on its own


def test_contexts_of_the_wrong_length_are_refused():
    X, _ = build_dataset(WORDS, LETTERS, block_size=4)
    with pytest.raises(ValueError, match="block_size=3 .* shape \\(\\d+, 4\\)"):
        MLP()(X)


# --- training -------------------------------------------------------------------------------

def test_step_decay():
    schedule = step_decay(0.1, 0.01, at=100)
    assert [schedule(s) for s in (0, 99, 100, 5000)] == [0.1, 0.1, 0.01, 0.01]
    assert LECTURE_LR(99_999) == 0.1 and LECTURE_LR(100_000) == 0.01


def test_training_lowers_the_loss(examples):
    X, Y = examples
    model = MLP(generator=torch.Generator().manual_seed(SEED))
    before = split_loss(model, X, Y)
    losses = train(model, X, Y, steps=300, lr=0.1, generator=torch.Generator().manual_seed(1), progress=False)
    assert len(losses) == 300 and all(isinstance(x, float) for x in losses)
    assert split_loss(model, X, Y) < before / 3
    assert sum(losses[-50:]) < sum(losses[:50]) / 3


def test_losses_are_the_minibatch_cross_entropy_before_each_update(examples):
    X, Y = examples
    model, twin = MLP(n_hidden=20), MLP(n_hidden=20)
    losses = train(model, X, Y, steps=3, batch_size=8, lr=0.1, generator=torch.Generator().manual_seed(5),
                   progress=False)
    g = torch.Generator().manual_seed(5)
    for step in range(3):  # the lecture's loop, written out
        ix = torch.randint(0, len(X), (8,), generator=g)
        loss = F.cross_entropy(twin(X[ix]), Y[ix])
        for p in twin.parameters():
            p.grad = None
        loss.backward()
        for p in twin.parameters():
            p.data += -0.1 * p.grad
        assert losses[step] == loss.item()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))


def test_training_is_deterministic_per_generator(examples):
    X, Y = examples

    def run(seed):
        return train(MLP(n_hidden=20), X, Y, steps=50, generator=torch.Generator().manual_seed(seed), progress=False)

    assert run(3) == run(3) and run(3) != run(4)
    assert train(MLP(n_hidden=20), X, Y, steps=50, progress=False) == run(SEED)  # default generator


def test_learning_rate_may_be_a_function_of_the_step(examples):
    X, Y = examples
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1

    constant = train(MLP(n_hidden=20), X, Y, steps=20, lr=0.1, progress=False)
    assert train(MLP(n_hidden=20), X, Y, steps=20, lr=schedule, progress=False) == constant
    assert seen == list(range(20))


def test_lr_sweep_trains_at_10_to_each_exponent_and_picks_the_best_window(examples):
    X, Y = examples
    exponents = torch.linspace(-3, 0, 40, dtype=torch.float64)
    model = MLP(27, 3, 2, 10, generator=torch.Generator().manual_seed(1))
    losses, chosen = lr_sweep(model, X, Y, exponents, batch_size=8, window=10,
                              generator=torch.Generator().manual_seed(2))
    again = MLP(27, 3, 2, 10, generator=torch.Generator().manual_seed(1))
    rates = (10 ** exponents).tolist()
    assert losses == train(again, X, Y, steps=40, batch_size=8, lr=lambda step: rates[step],
                           generator=torch.Generator().manual_seed(2), progress=False)
    best = torch.tensor(losses, dtype=torch.float64).view(4, 10).mean(1).argmin()
    assert chosen == pytest.approx(10 ** exponents.view(4, 10).mean(1)[best].item(), rel=1e-12)
    assert torch.equal(model.W1, again.W1)  # the sweep trains the model it is given
    with pytest.raises(ValueError, match="windows"):
        lr_sweep(model, X, Y, exponents[:35], window=10)


def test_the_thread_setting_changes_the_speed_not_the_losses(examples):
    X, Y = examples
    threads = torch.get_num_threads()
    one = train(MLP(), X, Y, steps=20, progress=False, num_threads=1)
    assert torch.get_num_threads() == threads  # restored
    two = train(MLP(), X, Y, steps=20, progress=False, num_threads=2)
    untouched = train(MLP(), X, Y, steps=20, progress=False, num_threads=None)
    assert one == two == untouched
    assert torch.get_num_threads() == threads


def test_threads_are_restored_when_training_fails(examples):
    X, Y = examples
    threads = torch.get_num_threads()

    def broken(step):
        raise RuntimeError("schedule failed")

    with pytest.raises(RuntimeError, match="schedule failed"):
        train(MLP(), X, Y, steps=5, lr=broken, progress=False, num_threads=threads + 1)
    assert torch.get_num_threads() == threads


def test_progress_bar_only_when_asked(examples, capsys):
    X, Y = examples
    train(MLP(n_hidden=20), X, Y, steps=10, progress=False)
    assert capsys.readouterr().err == ""
    train(MLP(n_hidden=20), X, Y, steps=10, progress=True)
    assert "10/10" in capsys.readouterr().err


def test_bad_training_input_is_refused(examples):
    X, Y = examples
    with pytest.raises(ValueError, match="use build_dataset"):
        train(MLP(), X, Y[:-1], steps=1, progress=False)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        train(MLP(), X, Y, steps=1, batch_size=0, progress=False)


# --- evaluation and sampling ----------------------------------------------------------------

def test_split_loss_is_the_cross_entropy_over_every_example(examples):
    X, Y = examples
    model = MLP()
    assert split_loss(model, X, Y) == F.cross_entropy(model(X), Y).item()
    assert not torch.is_grad_enabled() or all(p.grad is None for p in model.parameters())


def test_samples_are_deterministic_and_end_at_the_first_dot(examples):
    X, Y = examples
    model = MLP(n_hidden=50)
    train(model, X, Y, steps=500, lr=0.1, progress=False)
    names = sample(model, LETTERS, 10, torch.Generator().manual_seed(SEED + 10))
    assert len(names) == 10
    assert all(name.endswith(".") and "." not in name[:-1] for name in names)
    assert names == sample(model, LETTERS, 10, torch.Generator().manual_seed(SEED + 10))
    assert names != sample(model, LETTERS, 10, torch.Generator().manual_seed(SEED))
    assert sample(model, LETTERS, 3) == sample(model, LETTERS, 3, torch.Generator().manual_seed(SEED))


# --- the benchmark --------------------------------------------------------------------------

def load_bench():
    spec = importlib.util.spec_from_file_location("makemore_bench", ROOT / "bench" / "makemore_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench(monkeypatch):
    dataset_text("names")  # skips, with the reason, where the dataset is not available
    module = load_bench()
    # Asking a fresh Python for torch's default costs an import of torch; 2 is this machine's answer.
    monkeypatch.setattr(module, "torch_default_threads", lambda: 2)
    return module


def test_bench_writes_its_figures(bench, tmp_path, capsys):
    out = tmp_path / "makemore.json"
    assert bench.main(["--steps", "20", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {"machine", "date", "steps", "ms_per_step_default_threads", "ms_per_step_one_thread", "wall_s",
            "train_loss", "dev_loss"} <= report.keys()
    assert report["steps"] == 20 and report["same_losses_both_settings"] is True
    assert report["ms_per_step_one_thread"] > 0 and report["wall_s"] > 0
    assert 2 < report["dev_loss"] < 30
    assert "identical losses under both settings: True" in capsys.readouterr().out


def test_bench_fails_when_the_settings_disagree(bench, monkeypatch, capsys):
    monkeypatch.setattr(bench, "compare_threads",
                        lambda *args: ({"default": 2.0, "one": 1.0}, {"default": [3.0], "one": [3.5]}))
    assert bench.main(["--steps", "2"]) == 1
    assert "FAIL" in capsys.readouterr().err
