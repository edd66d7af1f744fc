"""The experiment of the chapter on what the models use runs in the smoke profile."""

import numpy as np
import pandas as pd
import pytest

from percepiano.experiments import interpret


@pytest.mark.slow
def test_week3_interpret_runs_in_smoke(ds, smoke_run):
    res = smoke_run("week3_interpret")
    perm = pd.DataFrame(res["permutation"])
    assert "audio branch" in set(perm.group)
    assert set(res["groups"].values()) <= set(perm.group)
    assert set(pd.DataFrame(res["shap"]).group) == set(res["groups"].values())
    assert set(res["alignment"]) == {"onsets", "pedal_changes", "loudness_peaks"}
    for ex in res["examples"]:
        assert len(ex["rollout"]) == len(ex["times"]) == len(ex["ig"])
        assert abs(sum(ex["rollout"]) - 1) < 1e-3  # rollout relevance sums to one
        assert ex["end"] in ("high", "low")
    assert len({e["dimension"] for e in res["examples"]}) == len(interpret.IG_DIMS)
    assert np.isfinite(np.asarray(res["distance"])).all()
