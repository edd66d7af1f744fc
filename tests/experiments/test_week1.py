"""The week-1 chapter's experiments run in the smoke profile and keep their promises."""

import numpy as np
import pandas as pd
import pytest

from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS


@pytest.mark.slow
def test_week1_hybrid_runs_in_smoke(ds, smoke_run):
    res = smoke_run("week1_hybrid")
    cfg = res.provenance["config"]
    table = pd.DataFrame(res["table"])
    assert set(table.config) == {"descriptor net", "hybrid"}
    assert set(table.kind) == set(cfg["splits"]) == {"piece", "performer", "work"}
    assert len(res.oof) == len(table) * res["n_segments"]        # every seed predicts each once
    assert np.isfinite(res.oof[list(DIMENSIONS)].to_numpy()).all()
    dataset.assert_no_exam(res.oof.index, "week1_hybrid's predictions")
    assert res["n_params"]["descriptor net"] < res["n_params"]["hybrid"]
    assert res["n_descriptors"] > 100                             # MIDI and audio descriptors
    assert (table.epochs_run >= 1).all() and (table.n_train > 0).all()
    head = table.query("config == 'hybrid' and kind == 'piece'")
    assert res["pooled_r2"] == head.pooled_r2.mean() and res["pooled_r"] == head.pooled_r.mean()


@pytest.mark.slow
def test_week1_architecture_records_shapes_and_costs(ds, smoke_run):
    res = smoke_run("week1_architecture")
    models = pd.DataFrame(res["models"]).T
    configs = res.provenance["config"]["configs"]
    assert list(models.index) == list(configs)
    assert (models.train_gflop_per_step > 0).all() and (models.n_params > 0).all()
    # 16-band patches: four times the tokens of whole-band ones, and more FLOPs a step
    assert models.loc["16-band patches", "n_tokens"] == 4 * models.loc["size: micro", "n_tokens"]
    assert (models.loc["16-band patches", "train_gflop_per_step"]
            > models.loc["size: micro", "train_gflop_per_step"])
    assert models.loc["learned positions", "positional"] == "learned"
    dataset.assert_no_exam(res.oof.index, "week1_architecture's predictions")
