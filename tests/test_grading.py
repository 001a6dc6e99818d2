"""lib.grading: the checks that exercise test cells call, and the messages a student sees."""
import pytest
import torch

from lib.grading import ATOL, RTOL, check, check_all, compare


def test_exact_close_and_max_difference_are_reported(capsys):
    result = compare("dW", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-9], dtype=torch.float64))
    assert (result.exact, result.close) == (False, True)
    assert result.max_diff == pytest.approx(1e-9, rel=1e-3)
    assert "dW" in capsys.readouterr().out


def test_float32_answers_are_judged_in_float64():
    # float32 rounding (~1e-7 relative) passes; a real error of 1e-3 does not.
    reference = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert compare("x", reference.float(), reference, show=False).close
    assert not compare("x", reference.float() + 1e-3, reference, show=False).close


def test_tolerances_are_stated_once():
    assert compare("a", 1.0 + RTOL * 0.5, 1.0, show=False).close
    assert not compare("a", 1.0 + ATOL + RTOL * 2, 1.0, show=False).close


def test_check_raises_with_the_difference_and_the_allowance():
    with pytest.raises(AssertionError, match=r"db: max difference 0.5 .*allowed"):
        check("db", 1.5, 1.0)


def test_shape_mismatch_points_at_broadcasting():
    with pytest.raises(AssertionError, match=r"shape \(32, 64\) where \(1, 64\).*summed back"):
        check("dbias", torch.zeros(32, 64), torch.zeros(1, 64))


def test_missing_return_and_wrong_types_are_explained():
    with pytest.raises(AssertionError, match="None: does your code `return`"):
        check("loss", None, 1.0)
    with pytest.raises(AssertionError, match="is a str"):
        check("loss", "2.0", 2.0)


def test_nan_is_never_close():
    assert not compare("x", float("nan"), 1.0, show=False).close


def test_check_all_names_every_problem(capsys):
    with pytest.raises(AssertionError) as err:
        check_all({"a": 1.0, "b": 5.0, "z": 0.0}, {"a": 1.0, "b": 2.0, "c": 3.0})
    message = str(err.value)
    assert "missing key 'c'" in message and "unexpected key 'z'" in message and "b: max difference 3" in message
    assert "a: " not in message
    printed = capsys.readouterr().out
    assert printed.count("exact:") == 2


def test_check_all_passes_a_correct_dict():
    results = check_all({"a": torch.tensor(2.0)}, {"a": 2.0})
    assert [r.name for r in results] == ["a"] and results[0].exact


def test_checks_survive_monkeypatched_torch(monkeypatch):
    # A student cell that makes torch's comparisons always succeed cannot fool the check.
    monkeypatch.setattr(torch, "equal", lambda *a, **k: True)
    monkeypatch.setattr(torch, "isfinite", lambda t: torch.ones_like(t, dtype=torch.bool))
    with pytest.raises(AssertionError):
        check("x", float("inf"), 1.0)
    assert not compare("x", 1.5, 1.0, show=False).exact
