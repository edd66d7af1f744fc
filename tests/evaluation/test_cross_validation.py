"""The cross-validation harness: disjoint folds, every segment tested once, checked shapes."""

import numpy as np
import pytest

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.cross_validation import cross_validate, cross_validate_seeds


def test_cross_validate_output(ds):
    seen = []

    def fit_predict(train, val, test):
        seen.append((set(train), set(val), set(test)))
        return np.full((len(test), len(DIMENSIONS)), 0.5)

    res = cross_validate(ds, "performer", 4, 0, fit_predict, progress=False)
    tests = [t for _, _, t in seen]
    assert set().union(*tests) == set(ds.names) and sum(map(len, tests)) == len(ds.names)
    for train, val, test in seen:
        assert not (train | val) & test and not train & val
    assert res["oof"].shape == (len(ds.names), 20) and np.isfinite(res["oof"].to_numpy()).all()
    assert list(res["oof"].columns) == [*DIMENSIONS, "fold"]
    assert [set(res["oof"].index[res["oof"].fold == f]) for f in range(4)] == tests
    assert len(res["per_fold"]) == 4 and set(res["per_dimension"]) == set(DIMENSIONS)
    # the fold-averaged metrics and the pooled ones, each under its own name
    assert res["fold_mean_r2"] == pytest.approx(np.mean([f["mean_r2"] for f in res["per_fold"]]))
    assert "mean_r2" not in res and "mean_r2" in res["pooled"]
    with pytest.raises(ValueError, match="expected"):
        cross_validate(ds, "piece", 4, 0, lambda a, b, c: np.zeros((1, 19)), progress=False)


def test_cross_validate_seeds_gathers_every_seed(ds):
    def make(seed):
        rng = np.random.default_rng(seed)
        return lambda train, val, test: rng.random((len(test), len(DIMENSIONS)))

    res = cross_validate_seeds(ds, "piece", 3, [0, 1], make)
    assert [r["seed"] for r in res["seeds"]] == [0, 1]
    assert {"fold_mean_r2", "pooled_r2", "fold_mean_pairwise", "pooled_pairwise"} <= set(
        res["seeds"][0])
    assert not any(k.startswith("mean_") for k in res["seeds"][0])
    assert len(res["per_fold"]) == 6 and {r["seed"] for r in res["per_fold"]} == {0, 1}
    assert len(res["oof"]) == 2 * len(ds.names) and set(res["oof"].seed) == {0, 1}
    assert res["oof"].index.name == "name"
    # random predictions: no skill within excerpts either
    assert abs(res["seeds"][0]["pooled_pairwise"] - 0.5) < 0.05


def test_pooled_within_excerpt_pairs_stay_inside_a_test_fold(ds):
    """The excerpt mean gives every performance of an excerpt in one test fold the same
    prediction, so within a fold it orders nothing (pairwise accuracy 0.5); pairs across folds
    would compare different folds' models and are not counted."""
    from percepiano.models.identity import group_mean_predictor

    res = cross_validate(ds, "performer", 4, 0, group_mean_predictor(ds, "excerpt"),
                         progress=False)
    assert res["pooled"]["mean_pairwise"] == pytest.approx(0.5)
    assert all(f["mean_pairwise"] == pytest.approx(0.5) for f in res["per_fold"])
