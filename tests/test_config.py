"""lib.config: one environment variable picks the run profile."""
import pytest

from lib import config


def test_default_profile_is_full(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert config.profile() == "full"
    assert config.pick(full=200_000, fast=2_000) == 200_000
    assert "'full'" in config.describe()


def test_fast_profile_picks_the_fast_value(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", " FAST ")
    assert config.profile() == "fast"
    assert config.pick(full=200_000, fast=2_000) == 2_000
    assert "COURSE_PROFILE=full" in config.describe()


def test_unknown_profile_is_rejected_with_the_choices(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="'turbo'.*full, fast"):
        config.profile()
