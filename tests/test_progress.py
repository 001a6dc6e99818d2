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


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def estimating_bar(steps, clock, monkeypatch, profile):
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    monkeypatch.setenv("COURSE_PROFILE", profile)
    bar = progress.progress_bar(steps, unit="step", desc="training")
    assert isinstance(bar, progress.EstimatingBar)
    bar._clock, bar._start = clock, clock()
    return bar


def test_a_long_loop_says_how_long_it_will_take_once_it_has_timed_its_pace(monkeypatch, capsys):
    clock = Clock()
    bar = estimating_bar(200_000, clock, monkeypatch, "full")
    clock.now = 1.0
    bar.update(1000)  # a second in: too early to trust the pace
    assert bar.estimate is None
    clock.now = 2.5
    bar.update(1000)  # 2,000 steps in 2.5 s: 250 s for all 200,000
    bar.update(1000)
    bar.close()
    out, _ = capsys.readouterr()
    assert bar.estimate == pytest.approx(250.0)
    assert out.count("about") == 1  # said once, not at every update
    assert "training: about 4 min 10 s for 200,000 steps on this machine (profile 'full'); " \
           "with COURSE_PROFILE=fast it runs a short preview instead." in out


def test_a_short_loop_or_the_fast_profile_says_nothing_it_need_not(monkeypatch, capsys):
    clock = Clock()
    bar = estimating_bar(2_000, clock, monkeypatch, "fast")
    clock.now = 2.0
    bar.update(1000)  # 4 s in all: short, no line
    assert bar.estimate == pytest.approx(4.0)
    bar.close()
    assert "about" not in capsys.readouterr().out
    bar = estimating_bar(100_000, clock, monkeypatch, "fast")
    clock.now += 3.0
    bar.update(1000)
    bar.close()
    out = capsys.readouterr().out
    assert "about 5 min 00 s for 100,000 steps on this machine (profile 'fast')." in out
    assert "preview" not in out  # already the preview


@pytest.mark.parametrize("seconds, said", [(4.4, "4 s"), (59.6, "1 min 00 s"), (190, "3 min 10 s"),
                                           (3900, "1 h 05 min")])
def test_durations_read_as_a_reader_says_them(seconds, said):
    assert progress.duration(seconds) == said
