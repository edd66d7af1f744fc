"""Descriptor noise about zero is set to zero, and a forest then fits the same trees whatever
noise a descriptor cache holds."""

import numpy as np
import pandas as pd
import pytest

from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.features import exact
from percepiano.models import forest


def test_snap_zeros_sets_tiny_values_to_zero_and_keeps_the_rest():
    table = pd.DataFrame({"a": [1e-17, -3e-12, 2e-5, np.nan], "b": [0.0, -0.5, 1e-10, 7.0]})
    out = exact.snap_zeros(table)
    assert out["a"].tolist()[:3] == [0.0, 0.0, 2e-5] and np.isnan(out["a"].iloc[3])
    assert out["b"].tolist() == [0.0, -0.5, 0.0, 7.0]
    assert exact.snap_zeros(table, atol=0.0).equals(table)
    with pytest.raises(ValueError, match="non-negative"):
        exact.snap_zeros(table, atol=-1.0)


def _other_noise(X: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``X`` with each value that is noise about zero replaced by noise of another draw."""
    rng = np.random.default_rng(seed)
    tiny = ((X.abs() < exact.ZERO_ATOL) & (X != 0)).to_numpy()
    values = X.to_numpy(np.float64).copy()
    values[tiny] = rng.choice([-1.0, 1.0], tiny.sum()) * 10.0 ** rng.uniform(-18, -12, tiny.sum())
    return pd.DataFrame(values, index=X.index, columns=X.columns)


def test_a_forest_on_snapped_descriptors_ignores_the_noise_of_the_cache(ds):
    """The plain forest of ``phase2_transfer`` (trained on Beethoven, scored on Schubert), on
    the development part's MIDI descriptors and on a copy whose noise about zero is drawn
    anew: different predictions as they are, the same bits once snapped."""
    ds = dataset.subset(ds, 240)
    X = forest.feature_table(ds, "midi").loc[ds.names]
    assert ((X.abs() < exact.ZERO_ATOL) & (X != 0)).to_numpy().sum() > 20  # noise is there
    Y = ds.labels.loc[ds.names, list(DIMENSIONS)].to_numpy()
    src = (ds.segments.composer.loc[ds.names] == "Beethoven").to_numpy()

    def predict(table):
        Z = table.to_numpy(np.float64)
        model = forest.make_model("rf", forest.preset("smoke"), 0).fit(Z[src], Y[src])
        return model.predict(Z[~src])

    noisy = _other_noise(X, 1)
    assert not np.array_equal(predict(X), predict(noisy))
    assert np.array_equal(predict(exact.snap_zeros(X)), predict(exact.snap_zeros(noisy)))
