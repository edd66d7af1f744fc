"""A fresh results root for tests that run experiments."""

import pytest


@pytest.fixture
def results_root(tmp_path, monkeypatch):
    """``PERCEPIANO_RESULTS`` pointed at an empty folder, ``PERCEPIANO_RERUN`` unset."""
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("PERCEPIANO_RERUN", raising=False)
    return tmp_path / "results"
