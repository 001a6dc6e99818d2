"""lib.grading: the checks that exercise test cells call, and the messages a student sees."""
import pytest
import torch

from lib.grading import ATOL, RTOL, Mistake, check, check_all, compare, diagnose


def test_exact_close_and_max_difference_are_reported(capsys):
    result = compare("dW", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-9], dtype=torch.float64))
    assert (result.exact, result.close) == (False, True)
    assert result.max_diff == pytest.approx(1e-9, rel=1e-3)
    assert capsys.readouterr().out == "✓ dW: matches (max diff 1.0e-09)\n"


def test_passing_lines_read_as_passing(capsys):
    check("db", 2.0, 2.0)
    check_all({"a": 1.0 + 1e-12, "b": 3.0}, {"a": 1.0, "b": 3.0})
    assert capsys.readouterr().out.splitlines() == [
        "✓ db: matches exactly", "✓ a: matches (max diff 1.0e-12)", "✓ b: matches exactly"]
    failing = str(compare("c", 2.0, 1.0, show=False))
    assert failing.startswith("✗ c:") and "max difference 1" in failing


def test_a_failure_shows_its_message_instead_of_a_traceback(capsys):
    mistakes = [Mistake("the 1/n of the mean is missing", 3.0)]
    with pytest.raises(AssertionError) as err:
        check("dx", 3.0, 1.0, mistakes=mistakes)
    assert capsys.readouterr().out == ""  # nothing printed above the failure: it says it all
    # IPython shows _render_traceback_ in place of the traceback: no frames from lib.
    shown = err.value._render_traceback_()
    assert shown == str(err.value).splitlines()
    assert shown == ["✗ dx: max difference 2 from the reference (allowed: 1e-08 + 1e-06 x |reference|).",
                     "  Likely mistake: the 1/n of the mean is missing"]


def test_check_all_fails_on_one_screen_with_the_mistake_first(capsys):
    expected = {f"k{i}": float(i) for i in range(12)}
    wrong = {k: v + 1.0 for k, v in expected.items()}
    wrong["k0"] = 0.0
    mistakes = [Mistake("everything is shifted by one", {k: v + 1.0 for k, v in expected.items()})]
    with pytest.raises(AssertionError) as err:
        check_all(wrong, expected, mistakes=mistakes)
    shown = err.value._render_traceback_()
    assert capsys.readouterr().out == ""
    assert shown[0].startswith("✗ 11 of 12 do not match the reference (k1, k2,")
    assert shown[1] == "  Likely mistake: everything is shifted by one"
    assert shown[-2:] == ["  ... and 6 more", "  ✓ k0 match"] and len(shown) <= 9


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
    assert "a: " not in message and "✓ a match" in message
    assert capsys.readouterr().out == ""


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


def test_a_known_mistake_is_named_in_the_failure():
    reference = torch.tensor([1.0, 2.0, 3.0])
    mistakes = [Mistake("the gradient was overwritten instead of accumulated", reference / 2),
                Mistake("the 1/n of the mean is missing", reference * 3)]
    with pytest.raises(AssertionError, match=r"(?s)max difference 6 .*Likely mistake: the 1/n of the mean"):
        check("dx", reference * 3, reference, mistakes=mistakes)


def test_an_unrelated_wrong_answer_gets_only_the_difference():
    mistakes = [Mistake("the sign is flipped", -torch.ones(3))]
    with pytest.raises(AssertionError) as err:
        check("dx", torch.full((3,), 5.0), torch.ones(3), mistakes=mistakes)
    assert "max difference 4" in str(err.value) and "Likely mistake" not in str(err.value)


def test_a_diagnosis_never_changes_a_pass():
    # The mistake's value equals the reference on these inputs: a correct answer passes silently.
    assert check("dx", torch.ones(3), torch.ones(3), mistakes=[Mistake("harmless here", torch.ones(3))]).close
    assert diagnose(torch.ones(3), torch.ones(3), [Mistake("harmless here", torch.ones(3))]) is None


def test_check_all_diagnoses_each_failing_key():
    expected = {"a": 1.0, "b": 2.0}
    mistakes = [Mistake("b's chain-rule factor is missing", {"b": 0.5})]
    with pytest.raises(AssertionError) as err:
        check_all({"a": 3.0, "b": 0.5}, expected, mistakes=mistakes)
    lines = str(err.value).splitlines()
    assert "Likely mistake" not in lines[0] and lines[1].endswith("b's chain-rule factor is missing")
