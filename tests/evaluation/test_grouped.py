"""The pooled R² split over groups agrees with sklearn's R² of the parts, and each part
answers to what it should."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from percepiano.evaluation.grouped import r2_by_group


def test_r2_by_group_against_sklearn_and_its_decomposition():
    rng = np.random.default_rng(0)
    groups = np.repeat(["b", "a", "c"], [5, 8, 4])[rng.permutation(17)]
    level = {"a": 0.0, "b": 1.0, "c": -1.0}
    t = rng.normal(size=(17, 2)) + np.array([level[g] for g in groups])[:, None]
    p = t + rng.normal(scale=0.5, size=(17, 2))
    out = r2_by_group(t, p, groups)
    assert list(out["names"]) == ["a", "b", "c"] and out["per_group"].shape == (3, 2)
    np.testing.assert_allclose(out["pooled"], r2_score(t, p, multioutput="raw_values"))
    for i, g in enumerate(out["names"]):
        np.testing.assert_allclose(out["per_group"][i], r2_score(
            t[groups == g], p[groups == g], multioutput="raw_values"))
    frame = pd.DataFrame(np.hstack([t, p])).groupby(groups)
    centred = (pd.DataFrame(np.hstack([t, p])) - frame.transform("mean")).to_numpy()
    np.testing.assert_allclose(out["within"], r2_score(centred[:, :2], centred[:, 2:],
                                                       multioutput="raw_values"))
    means = frame.transform("mean").to_numpy()[:, :2]  # each group's true mean
    np.testing.assert_allclose(out["group_mean"], r2_score(t, means, multioutput="raw_values"))
    # a constant offset per group costs the pooled R², not the within-group one
    shifted = r2_by_group(t, p + np.array([level[g] for g in groups])[:, None], groups)
    np.testing.assert_allclose(shifted["within"], out["within"])
    assert (shifted["pooled"] < out["pooled"]).all()
    # predicting each group's true mean: the pooled R² is group_mean, nothing within groups
    placed = r2_by_group(t, means, groups)
    np.testing.assert_allclose(placed["pooled"], out["group_mean"])
    np.testing.assert_allclose(placed["within"], 0.0, atol=1e-12)
    np.testing.assert_allclose(placed["per_group"], 0.0, atol=1e-12)


def test_one_column_and_bad_lengths():
    t, g = np.array([0.1, 0.4, 0.3, 0.9, 0.7]), np.array([1, 1, 1, 2, 2])
    out = r2_by_group(t, t[::-1], g)
    assert out["pooled"].shape == (1,) and out["per_group"].shape == (2, 1)
    with pytest.raises(ValueError, match="one group"):
        r2_by_group(t, t, g[:-1])
