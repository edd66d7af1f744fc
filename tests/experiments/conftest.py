"""A fresh results root for tests that run experiments."""

import pytest


@pytest.fixture
def results_root(tmp_path, monkeypatch):
    """``PERCEPIANO_RESULTS`` pointed at an empty folder, ``PERCEPIANO_RERUN`` unset."""
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("PERCEPIANO_RERUN", raising=False)
    return tmp_path / "results"


@pytest.fixture
def git(monkeypatch):
    """Set what the results store sees of git: ``git(dirty=False)`` is a clean checkout."""
    from percepiano.experiments import store

    def set_state(dirty: bool | None, commit: str | None = "c" * 40):
        monkeypatch.setattr(store, "_git", lambda: {"commit": commit, "dirty": dirty})

    return set_state
