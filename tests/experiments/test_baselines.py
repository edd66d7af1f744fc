"""The baselines chapter's experiments run in the smoke profile."""

import numpy as np
import pandas as pd
import pytest

from percepiano import experiments
from percepiano.data import dataset


@pytest.mark.slow
def test_identity_baselines_run_in_smoke(ds, smoke_run):
    ident = smoke_run("identity_baselines")
    table = pd.DataFrame(ident["table"])
    assert set(table.kind) == {"random", "piece", "performer", "work", "composer"}
    assert set(ident["bar"]) == set(table.kind)  # the strongest baseline of every split
    dataset.assert_no_exam(ident.oof.index, "identity_baselines' predictions")
    head = table.query("kind == 'random' and baseline == 'excerpt_mean'")
    assert ident["pooled_r2"] == pytest.approx(head.pooled_r2.mean())  # headline: pooled OOF
    assert ident["headline"]["keys"] == ["pooled_r2", "pooled_r"]
    # the leak: the excerpt mean scores on a random split and not on the piece split
    piece = table.query("kind == 'piece' and baseline == 'excerpt_mean'").fold_mean_r2.mean()
    assert ident["pooled_r2"] > 0.1 > piece


@pytest.mark.skipif("forest_baselines" not in experiments.REGISTRY,
                    reason="percepiano.models.forest is not importable")
@pytest.mark.slow
def test_forest_baselines_run_in_smoke(ds, smoke_run):
    res = smoke_run("forest_baselines")
    table = pd.DataFrame(res["table"])
    cfg = res.provenance["config"]
    assert set(table.kind) == set(cfg["splits"]) and set(table.features) == set(cfg["features"])
    assert res.oof is not None and len(res.oof) == len(table) * res["n_segments"]
    assert np.isfinite(res["pooled_r2"])
    dataset.assert_no_exam(res.oof.index, "forest_baselines' predictions")
