"""`percepiano model`'s look-up of the transcription chapter's results: once per model asked
for, since each look-up hashes the package's code."""

import pytest

from percepiano.cli import model as model_cli
from percepiano.errors import UserError


def test_ensure_looks_the_route_results_up_once(fresh_cache, monkeypatch):
    calls = []

    def route_results():
        calls.append(1)
        return None

    monkeypatch.setattr(model_cli, "route_results", route_results)
    with pytest.raises(UserError, match="percepiano run transcription_route"):
        model_cli.ensure("notes")
    assert len(calls) == 1
    assert model_cli.unavailable("midi") is None and len(calls) == 1  # only notes needs them
    assert model_cli.model_key("notes", None) == model_cli.model_key("notes")
    assert len(calls) == 2
