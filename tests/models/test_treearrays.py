"""A forest stored as plain arrays predicts exactly what scikit-learn's forest predicts."""

import io

import numpy as np
import pytest

from percepiano.models import forest
from percepiano.models.treearrays import FIELDS, ArrayForest


def _data(seed=0, n=240, p=12, outputs=19):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[rng.random(size=X.shape) < 0.05] = np.nan  # the imputer's medians are carried too
    X[:, 3] = np.round(X[:, 3])  # ties at split thresholds
    signal = np.tanh(np.nan_to_num(X[:, :1]) + 0.5 * np.nan_to_num(X[:, 1:2]))
    Y = signal + rng.normal(0, 0.1, (n, outputs))
    return X, Y


@pytest.mark.parametrize("model", ["rf", "et"])
def test_array_forest_reproduces_sklearn(model):
    X, Y = _data()
    cfg = forest.ForestConfig(n_estimators=25, n_jobs=1)
    pipe = forest.make_model(model, cfg, seed=3).fit(X[:180], Y[:180])
    arr = ArrayForest.from_pipeline(pipe)
    test = X[180:].copy()
    test[0] = np.nan  # a row with every descriptor missing
    np.testing.assert_allclose(arr.predict(test), pipe.predict(test), rtol=0, atol=1e-12)
    np.testing.assert_allclose(arr.predict(test[1]), pipe.predict(test[1:2]), atol=1e-12)
    assert arr.n_features == 12 and arr.n_outputs == 19
    inner = arr.left >= 0  # covers: each tree's sample at its root, split between the children
    np.testing.assert_array_equal(arr.weight[inner], arr.weight[arr.left[inner]]
                                  + arr.weight[arr.right[inner]])
    np.testing.assert_array_equal(arr.weight[arr.roots], 180)


def test_arrays_round_trip_without_pickle():
    X, Y = _data(1)
    pipe = forest.make_model("rf", forest.ForestConfig(n_estimators=10, n_jobs=1)).fit(X, Y)
    arr = ArrayForest.from_pipeline(pipe)
    buf = io.BytesIO()
    np.savez(buf, **arr.arrays("f_"))
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        assert all(z[f"f_{f}"].dtype != object for f in FIELDS)
        back = ArrayForest.from_arrays(z, "f_")
    np.testing.assert_array_equal(back.predict(X), arr.predict(X))


def test_refuses_what_it_cannot_represent():
    X, Y = _data(2)
    pipe = forest.make_model("rf", forest.ForestConfig(n_estimators=5, n_jobs=1)).fit(X, Y)
    with pytest.raises(ValueError, match="expected 12 features, got 11"):
        ArrayForest.from_pipeline(pipe).predict(X[:, :11])
    hgb = forest.make_model("hgb", forest.ForestConfig(hgb_max_iter=3, n_jobs=1)).fit(X, Y[:, :2])
    with pytest.raises(ValueError, match="joint random forest"):
        ArrayForest.from_pipeline(hgb)
