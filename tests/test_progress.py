"""lib.progress: a live bar for readers, one stdout line for the book."""
import pytest

from lib import progress


def run(steps, **kwargs):
    bar = progress.progress_bar(steps, unit="step", **kwargs)
    for _ in range(steps):
        bar.update(1)
    bar.set_postfix(loss="2.3412", refresh=False)
    bar.close()


def test_summary_style_prints_one_line_on_stdout(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROGRESS", "summary")
    run(2000)
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("\n") == 1
    assert out.startswith("training: 2,000/2,000 steps in ") and out.endswith("(loss=2.3412)\n")


def test_disabled_bar_prints_nothing_in_either_style(monkeypatch, capsys):
    for style in ("summary", "bar"):
        monkeypatch.setenv("COURSE_PROGRESS", style)
        run(10, disable=True)
    assert capsys.readouterr() == ("", "")


def test_bar_style_draws_a_tqdm_bar_on_stderr(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    run(10)
    out, err = capsys.readouterr()
    assert out == "" and "10/10" in err


def test_unknown_style_names_the_choices(monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS", "loud")
    with pytest.raises(ValueError, match="bar, summary"):
        progress.progress_bar(1)
