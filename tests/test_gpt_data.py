"""lib.gpt.data, Lesson 7's data pipeline: the character tokenizer, the train/val split, random
(B, T) batches whose targets are the inputs shifted by one, and the averaged loss estimate."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import dataset_text
from lib.gpt import GPT, CharTokenizer, GPTConfig, estimate_loss, get_batch, train_val_split

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n"


# --- tokenizer ---------------------------------------------------------------------------------

def test_vocabulary_is_the_sorted_characters():
    tok = CharTokenizer.from_text("hello")
    assert tok.chars == ["e", "h", "l", "o"] and tok.vocab_size == 4
    assert tok.encode("hello") == [1, 0, 2, 2, 3]
    assert tok.decode([1, 0, 2, 2, 3]) == "hello"


def test_tinyshakespeare_has_65_characters():
    tok = CharTokenizer.from_text(dataset_text("tinyshakespeare"))
    assert tok.vocab_size == 65
    assert "".join(tok.chars[:13]) == "\n !$&',-.3:;?"


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=sorted(set(TEXT))))
def test_round_trip(text):
    tok = CharTokenizer.from_text(TEXT)
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text
    assert tok.decode(torch.tensor(ids, dtype=torch.long)) == text


def test_unknown_character_is_named():
    tok = CharTokenizer.from_text(TEXT)
    with pytest.raises(ValueError, match="'Z' is not in the vocabulary"):
        tok.encode("Zounds")


@pytest.mark.parametrize("ids", [[0, 99], [-1], [1.5]])
def test_decode_rejects_what_is_not_an_id(ids):
    with pytest.raises(ValueError, match="not a token id"):
        CharTokenizer.from_text(TEXT).decode(ids)


def test_bad_vocabularies_are_rejected():
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.from_text("")
    with pytest.raises(ValueError, match="distinct"):
        CharTokenizer("aa")


# --- split and batches --------------------------------------------------------------------

def test_split_is_the_first_90_percent_then_the_rest():
    data = torch.arange(1000)
    train, val = train_val_split(data)
    assert torch.equal(train, data[:900]) and torch.equal(val, data[900:])
    assert len(train_val_split(data, 0.5)[0]) == 500
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_val_split(data, 1.0)


def test_targets_are_the_inputs_shifted_by_one():
    data = torch.arange(100) * 3  # value tells position: position = value / 3
    x, y = get_batch(data, block_size=8, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (16, 8) and x.dtype == data.dtype
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y[:, -1], x[:, -1] + 3)
    assert torch.equal(x, x[:, :1] + 3 * torch.arange(8))  # contiguous windows
    assert y.max() <= 99 * 3  # never past the end


def test_batches_are_repeatable_and_cover_every_start():
    data = torch.arange(12)
    a = get_batch(data, 4, 500, generator=torch.Generator().manual_seed(3))
    b = get_batch(data, 4, 500, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0])
    assert set(a[0][:, 0].tolist()) == set(range(8))  # starts 0..len-block_size-1


def test_get_batch_rejects_short_or_2d_data():
    with pytest.raises(ValueError, match="more than block_size=8"):
        get_batch(torch.arange(8), 8, 2)
    with pytest.raises(ValueError, match="1-D"):
        get_batch(torch.zeros(4, 20, dtype=torch.long), 8, 2)


# --- loss estimate ---------------------------------------------------------------------------

def test_estimate_loss_averages_batches_in_eval_mode_and_restores_the_mode():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8, dropout=0.5))
    data = torch.randint(10, (200,), generator=torch.Generator().manual_seed(0))
    splits = {"train": data[:150], "val": data[150:]}
    model.train()
    out = estimate_loss(model, splits, block_size=4, batch_size=3, eval_iters=5,
                        generator=torch.Generator().manual_seed(1))
    assert model.training and set(out) == {"train", "val"}
    # The same batches by hand, with dropout off.
    model.eval()
    g = torch.Generator().manual_seed(1)
    expected = {}
    with torch.no_grad():
        for name, split in splits.items():
            expected[name] = sum(model(*get_batch(split, 4, 3, generator=g))[1].item() for _ in range(5)) / 5
    assert out == pytest.approx(expected, rel=1e-6)
    out_eval = estimate_loss(model, splits, 4, 3, 5, generator=torch.Generator().manual_seed(1))
    assert not model.training and out_eval == pytest.approx(expected, rel=1e-6)


def test_train_steps_is_repeatable_and_lowers_the_loss():
    from lib.gpt import train_steps

    data = torch.randint(0, 65, (500,), generator=torch.Generator().manual_seed(0))

    def run():
        torch.manual_seed(0)
        model = GPT(GPTConfig(block_size=8, n_layer=1, n_head=2, n_embd=16, dropout=0.0))
        return train_steps(model, data, 30, 1e-2, 8, 4, generator=torch.Generator().manual_seed(1))

    first, second = run(), run()
    assert len(first) == 30 and first == second
    assert sum(first[-5:]) < sum(first[:5])
