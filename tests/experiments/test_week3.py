"""The week-3 chapter's experiments run in the smoke profile and keep their promises."""

import numpy as np
import pandas as pd
import pytest

from percepiano.data import dataset, temporal
from percepiano.data.dataset import DIMENSIONS
from percepiano.experiments import week3


def _finite(res):
    assert np.isfinite(res.oof[list(DIMENSIONS)].to_numpy()).all()
    dataset.assert_no_exam(res.oof.index, f"{res.provenance['experiment']}'s predictions")


@pytest.mark.slow
def test_week3_ensembles_runs_in_smoke(ds, smoke_run):
    res = smoke_run("week3_ensembles")
    _finite(res)
    table = pd.DataFrame(res["table"])
    m = res.provenance["config"]["members"]
    names = set(table.config)
    assert set(week3.SINGLES) | set(week3.AVERAGES) | set(week3.STACKS) <= names
    assert {f"hybrid × {m} seeds", f"descriptor net × {m} bags"} <= names
    cost = table.groupby("config").fit_s_per_fold.mean()
    # an ensemble costs at least its members; a stack also pays for its inner fits
    assert cost["forest + LightGBM"] >= cost["forest"] + cost["LightGBM"] - 1e-9
    assert cost["stack: trees"] > sum(cost[t] for t in week3.TREES)
    fits = pd.DataFrame(res["fits"])
    k = res.provenance["config"]["k_inner"]
    seeds, folds = len(res.provenance["config"]["seeds"]), res.provenance["config"]["folds"]
    # each member fitted once per (seed, fold) however many ensembles use it
    assert (fits.member == "forest").sum() == seeds * folds
    assert (fits.member == "forest (inner)").sum() == seeds * folds * k
    w = np.asarray(res["stack_weights"][0]["weights"])
    assert (w >= 0).all() and w.shape[1] == len(DIMENSIONS)


@pytest.mark.slow
def test_week3_splits_runs_in_smoke(ds, smoke_run):
    res = smoke_run("week3_splits")
    _finite(res)
    table = pd.DataFrame(res["table"])
    assert set(table.kind) == set(week3.SPLITS)
    assert set(table.learner) == set(week3.SPLIT_LEARNERS)
    t = res.oof[(res.oof.kind == "temporal") & (res.oof.learner == "forest")]
    held = temporal.temporal_test(dataset.subset(ds, res.provenance["config"]["max_segments"])
                                  .segments)
    assert set(t.index) == set(held.index[held])
