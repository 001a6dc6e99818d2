"""lib.makemore.backprop: the manual backward pass equals torch autograd, step by step and fused."""
import pytest
import torch
import torch.nn.functional as F

from lib.makemore import backprop as bp


def batch(seed=0, n=32, block_size=3, vocab_size=27):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, vocab_size, (n, block_size), generator=g),
            torch.randint(0, vocab_size, (n,), generator=g))


def params64(seed=1, **sizes):
    return bp.init_parameters(generator=torch.Generator().manual_seed(seed), dtype=torch.float64, **sizes)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_manual_gradient_equals_autograd_in_float64(seed):
    params, (Xb, Yb) = params64(seed), batch(seed)
    steps, reference = bp.autograd_step_gradients(params, Xb, Yb)
    manual = bp.manual_backward(steps, params, Xb, Yb)
    assert set(manual) == set(bp.STEP_NAMES) | set(bp.PARAMETER_NAMES) == set(reference)
    for name, grad in reference.items():
        assert manual[name].shape == grad.shape, name
        torch.testing.assert_close(manual[name], grad, rtol=1e-10, atol=1e-14, msg=name)


def test_float32_gradients_agree_to_rounding():
    params = bp.init_parameters()
    Xb, Yb = batch(3)
    steps, reference = bp.autograd_step_gradients(params, Xb, Yb)
    manual = bp.manual_backward(steps, params, Xb, Yb)
    for name, grad in reference.items():
        assert (manual[name] - grad).abs().max() < 1e-7, name


def test_the_forward_steps_compute_the_cross_entropy_of_the_network():
    params, (Xb, Yb) = params64(), batch()
    steps = bp.forward(params, Xb, Yb)
    hprebn = params["C"][Xb].view(len(Xb), -1) @ params["W1"] + params["b1"]
    hpreact = params["bngain"] * (hprebn - hprebn.mean(0)) / (hprebn.var(0) + bp.BN_EPS).sqrt() + params["bnbias"]
    logits = torch.tanh(hpreact) @ params["W2"] + params["b2"]
    torch.testing.assert_close(steps["loss"], F.cross_entropy(logits, Yb))
    assert set(steps) == set(bp.STEP_NAMES) | {"loss"}


def test_autograd_reference_leaves_the_parameters_alone():
    params, (Xb, Yb) = bp.init_parameters(), batch()
    before = {k: v.clone() for k, v in params.items()}
    bp.autograd_step_gradients(params, Xb, Yb)
    assert all(torch.equal(params[k], before[k]) and not params[k].requires_grad for k in params)


@pytest.mark.parametrize("seed", [0, 5])
def test_fused_formulas_equal_the_step_by_step_gradients(seed):
    params, (Xb, Yb) = params64(seed), batch(seed)
    steps = bp.forward(params, Xb, Yb)
    manual = bp.manual_backward(steps, params, Xb, Yb)
    torch.testing.assert_close(bp.cross_entropy_grad(steps["logits"], Yb), manual["logits"], rtol=1e-10, atol=1e-15)
    dhprebn = bp.batchnorm_grad(manual["hpreact"], params["bngain"], steps["bnvar_inv"], steps["bnraw"])
    torch.testing.assert_close(dhprebn, manual["hprebn"], rtol=1e-10, atol=1e-15)


def test_fused_dlogits_rows_sum_to_zero_and_pull_only_at_the_target():
    params, (Xb, Yb) = params64(), batch()
    dlogits = bp.cross_entropy_grad(bp.forward(params, Xb, Yb)["logits"], Yb)
    torch.testing.assert_close(dlogits.sum(1), torch.zeros(len(Yb), dtype=torch.float64))
    negative = dlogits < 0
    assert torch.equal(negative, F.one_hot(Yb, 27).bool())


def test_embedding_grad_accumulates_repeated_characters():
    Xb = torch.tensor([[0, 0, 1]])
    demb = torch.tensor([[[1.0, 2.0], [10.0, 20.0], [5.0, 5.0]]])
    assert bp.embedding_grad(Xb, demb, 3).tolist() == [[11.0, 22.0], [5.0, 5.0], [0.0, 0.0]]


@pytest.mark.parametrize("seed", [0, 4])
def test_fast_gradients_equal_loss_backward(seed):
    params, (Xb, Yb) = params64(seed, n_hidden=200), batch(seed)
    loss, grads = bp.fast_gradients(params, Xb, Yb)
    ref_loss, ref_grads = bp.autograd_gradients(params, Xb, Yb)
    torch.testing.assert_close(loss, ref_loss)
    for name in bp.PARAMETER_NAMES:
        torch.testing.assert_close(grads[name], ref_grads[name], rtol=1e-10, atol=1e-15, msg=name)
    assert not any(p.requires_grad for p in params.values())


def training_pair(dtype, steps=60):
    X, Y = batch(7, n=500)
    runs = []
    for gradients in (bp.fast_gradients, bp.autograd_gradients):
        params = bp.init_parameters(n_hidden=40, dtype=dtype)
        losses = bp.train(params, X, Y, steps, lr=bp.LECTURE_LR, generator=torch.Generator().manual_seed(3),
                          gradients=gradients, progress=False)
        runs.append((losses, params))
    return runs


def test_manual_training_gives_the_losses_of_autograd_training():
    (manual, p_manual), (auto, p_auto) = training_pair(torch.float64)
    assert manual == pytest.approx(auto, rel=1e-12)
    assert manual[-1] < manual[0] - 0.1  # it learns
    for name in bp.PARAMETER_NAMES:
        torch.testing.assert_close(p_manual[name], p_auto[name], rtol=1e-10, atol=1e-13)
    (manual32, _), (auto32, _) = training_pair(torch.float32)
    assert manual32 == pytest.approx(auto32, rel=1e-5)


def test_init_parameters_are_the_lectures_shapes_and_leave_the_generator_where_the_lecture_does():
    g = torch.Generator().manual_seed(bp.LECTURE_SEED)
    params = bp.init_parameters(generator=g)
    assert sum(p.numel() for p in params.values()) == 4137  # the lecture's count for n_hidden 64
    assert sum(p.numel() for p in bp.init_parameters(n_hidden=200).values()) == 12297
    assert params["bngain"].shape == params["bnbias"].shape == (1, 64)
    lecture = torch.Generator().manual_seed(bp.LECTURE_SEED)
    for shape in [(27, 10), (30, 64), (64,), (64, 27), (27,)]:  # C, W1, b1, W2, b2 only
        torch.randn(shape, generator=lecture)
    assert torch.equal(torch.randint(0, 1000, (32,), generator=g), torch.randint(0, 1000, (32,), generator=lecture))
    again = bp.init_parameters()
    assert all(torch.equal(params[k], again[k]) for k in params)


def test_calibrated_statistics_of_the_same_batch_give_the_training_loss():
    params, (X, Y) = params64(), batch(2, n=100)
    bnmean, bnvar = bp.calibrate_batchnorm(params, X)
    assert bp.split_loss(params, X, Y, bnmean, bnvar) == pytest.approx(bp.forward(params, X, Y)["loss"].item(), rel=1e-12)


def test_bad_batches_are_refused_with_a_reason():
    params = bp.init_parameters()
    with pytest.raises(ValueError, match="at least 2"):
        bp.forward(params, *batch(n=1))
    with pytest.raises(KeyError, match="init_parameters"):
        bp.forward({"C": params["C"]}, *batch())
    with pytest.raises(ValueError, match="batch_size"):
        bp.train(params, *batch(n=50), steps=1, batch_size=1)


def test_step_decay_object_pickles_and_matches_step_decay():
    import pickle

    from lib.makemore import step_decay
    from lib.makemore.backprop_train import StepDecay

    schedule = pickle.loads(pickle.dumps(StepDecay(0.1, 0.01, at=3)))
    assert [schedule(s) for s in range(6)] == [step_decay(0.1, 0.01, at=3)(s) for s in range(6)]
