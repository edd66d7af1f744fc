"""The cross-validation harness: disjoint folds, every segment tested once, checked shapes."""

import numpy as np
import pytest

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.cross_validation import cross_validate


def test_cross_validate_output(ds):
    seen = []

    def fit_predict(train, val, test):
        seen.append((set(train), set(val), set(test)))
        return np.full((len(test), len(DIMENSIONS)), 0.5)

    res = cross_validate(ds, "performer", 4, 0, fit_predict, progress=False)
    tests = [t for _, _, t in seen]
    assert set().union(*tests) == set(ds.names) and sum(map(len, tests)) == 1202
    for train, val, test in seen:
        assert not (train | val) & test and not train & val
    assert res["oof"].shape == (1202, 19) and np.isfinite(res["oof"].to_numpy()).all()
    assert len(res["per_fold"]) == 4 and set(res["per_dimension"]) == set(DIMENSIONS)
    with pytest.raises(ValueError, match="expected"):
        cross_validate(ds, "piece", 4, 0, lambda a, b, c: np.zeros((1, 19)), progress=False)
