"""lib.gpt.model, Lesson 7's GPT: its configuration, the shapes through every module, causality
(no position ever sees a later one), the attention arithmetic against PyTorch's own, the
parameter count of the lecture's model, the loss, the initialisation and generation."""
import math

import pytest
import torch
import torch.nn.functional as F

from lib.gpt import GPT, Block, FeedForward, GPTConfig, Head, MultiHeadAttention

TINY = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.0)


def tiny(seed=0, **changes):
    torch.manual_seed(seed)
    config = GPTConfig(**{**TINY.__dict__, **changes})
    return GPT(config).eval()


# --- configuration ---------------------------------------------------------------------------

def test_default_config_is_the_lectures_final_model():
    assert GPTConfig() == GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.2)


def test_the_lectures_model_has_about_10_8M_parameters():
    # The lecture's script prints "10.788929 M parameters" for this configuration.
    assert GPT(GPTConfig()).num_parameters() == 10_788_929


def test_parameter_count_formula():
    c = TINY
    C, V, T = c.n_embd, c.vocab_size, c.block_size
    per_block = 3 * C * C + (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C) + 2 * 2 * C
    expected = V * C + T * C + c.n_layer * per_block + 2 * C + (C * V + V)
    assert tiny().num_parameters() == expected


@pytest.mark.parametrize("changes, words", [
    (dict(n_embd=10, n_head=3), "multiple of n_head"),
    (dict(n_layer=0), "n_layer"),
    (dict(dropout=1.0), "dropout"),
])
def test_bad_configs_are_rejected(changes, words):
    with pytest.raises(ValueError, match=words):
        GPTConfig(**changes)


def test_gpt_wants_a_config():
    with pytest.raises(TypeError, match="GPTConfig"):
        GPT(dict(n_embd=16))


# --- modules -------------------------------------------------------------------------------

def test_module_shapes():
    x = torch.randn(3, 5, 16)
    assert Head(16, 4, block_size=8)(x).shape == (3, 5, 4)
    assert MultiHeadAttention(16, 4, block_size=8)(x).shape == (3, 5, 16)
    assert FeedForward(16)(x).shape == (3, 5, 16)
    assert Block(16, 4, block_size=8)(x).shape == (3, 5, 16)


def test_head_is_scaled_masked_softmax_attention():
    # PyTorch's own implementation of the same formula is the independent reference.
    torch.manual_seed(0)
    head = Head(16, 8, block_size=10)
    x = torch.randn(2, 7, 16)
    q, k, v = head.query(x), head.key(x), head.value(x)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(head(x), expected)


def test_multi_head_is_concatenated_heads_then_projection():
    torch.manual_seed(0)
    mha = MultiHeadAttention(12, 3, block_size=6).eval()
    x = torch.randn(2, 6, 12)
    concatenated = torch.cat([h(x) for h in mha.heads], dim=-1)
    torch.testing.assert_close(mha(x), mha.proj(concatenated))
    assert all(h.key.out_features == 4 for h in mha.heads)


def test_block_is_pre_norm_with_residuals():
    torch.manual_seed(0)
    block = Block(16, 2, block_size=8).eval()
    x = torch.randn(2, 5, 16)
    h = x + block.sa(block.ln1(x))
    torch.testing.assert_close(block(x), h + block.ffwd(block.ln2(h)))


def test_attention_weights_of_one_position_sum_to_one_over_the_past():
    # With every value equal to 1, the output is the sum of the attention weights.
    head = Head(4, 4, block_size=5)
    with torch.no_grad():
        head.value.weight.zero_()
        head.value.weight[:, 0] = 1.0
    x = torch.zeros(1, 5, 4)
    x[..., 0] = 1.0
    torch.testing.assert_close(head(x), torch.ones(1, 5, 4))


# --- the whole model -------------------------------------------------------------------------

def test_forward_shapes_and_loss():
    model = tiny()
    idx = torch.randint(11, (4, 8))
    logits, loss = model(idx)
    assert logits.shape == (4, 8, 11) and loss is None
    logits, loss = model(idx, idx)
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(-1, 11), idx.reshape(-1)))
    assert model(idx[:, :3])[0].shape == (4, 3, 11)  # shorter contexts are fine


def test_initial_loss_is_near_uniform():
    # The N(0, 0.02) start makes the first logits nearly equal: loss ~ ln(vocab_size).
    model = tiny(vocab_size=65)
    idx = torch.randint(65, (8, 8), generator=torch.Generator().manual_seed(0))
    _, loss = model(idx, idx)
    assert abs(loss.item() - math.log(65)) < 0.05


def test_weights_start_small_and_biases_zero():
    model = GPT(GPTConfig(n_layer=2, n_embd=192, n_head=6))
    std = model.blocks[0].ffwd.net[0].weight.std().item()
    assert 0.019 < std < 0.021
    assert torch.count_nonzero(model.lm_head.bias) == 0


@pytest.mark.parametrize("position", [0, 3, 7])
def test_changing_a_future_token_never_changes_earlier_logits(position):
    model = tiny()
    idx = torch.randint(11, (2, 8), generator=torch.Generator().manual_seed(1))
    changed = idx.clone()
    changed[:, position] = (changed[:, position] + 1) % 11
    before, after = model(idx)[0], model(changed)[0]
    torch.testing.assert_close(before[:, :position], after[:, :position], rtol=0, atol=0)
    assert not torch.allclose(before[:, position], after[:, position])


def test_too_long_or_badly_shaped_input_is_rejected():
    model = tiny()
    with pytest.raises(ValueError, match="block_size=8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="batch dimension"):
        model(torch.zeros(8, dtype=torch.long))
    with pytest.raises(ValueError, match="targets"):
        model(torch.zeros(1, 8, dtype=torch.long), torch.zeros(1, 7, dtype=torch.long))


def test_dropout_is_active_only_in_training_mode():
    model = tiny(dropout=0.5)
    idx = torch.randint(11, (2, 8))
    torch.testing.assert_close(model(idx)[0], model(idx)[0])  # eval mode: deterministic
    model.train()
    assert not torch.equal(model(idx)[0], model(idx)[0])


# --- generation -------------------------------------------------------------------------------

def test_generate_never_reads_more_than_block_size_positions():
    model = tiny()
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[1]))
    out = model.generate(torch.zeros(2, 1, dtype=torch.long), max_new_tokens=30,
                         generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 31)
    assert seen == [min(t, 8) for t in range(1, 31)]
    assert out.min() >= 0 and out.max() < 11


def test_generate_keeps_the_prompt_and_is_repeatable():
    model = tiny()
    prompt = torch.tensor([[1, 2, 3]])
    a = model.generate(prompt, 10, generator=torch.Generator().manual_seed(5))
    b = model.generate(prompt, 10, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and torch.equal(a[:, :3], prompt)


def test_generate_samples_from_the_last_positions_distribution():
    # Make the model certain: a huge bias on token 4 means every sample is 4.
    model = tiny()
    with torch.no_grad():
        model.lm_head.bias[4] = 100.0
    out = model.generate(torch.zeros(3, 2, dtype=torch.long), 5)
    assert (out[:, 2:] == 4).all()


def test_a_short_training_run_lowers_the_loss():
    torch.manual_seed(0)
    model = tiny().train()
    idx = torch.randint(11, (4, 8), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = model(idx, idx.roll(-1, dims=1))[1].item()
    for _ in range(30):
        _, loss = model(idx, idx.roll(-1, dims=1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    assert loss.item() < first - 1.0
