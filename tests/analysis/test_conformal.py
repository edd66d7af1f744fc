"""Split-conformal intervals: the guarantee holds on fresh data, edge cases are refused."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import conformal
from percepiano.data.dataset import DIMENSIONS


def _data(n, seed, scale=None):
    rng = np.random.default_rng(seed)
    scale = np.linspace(0.02, 0.15, len(DIMENSIONS)) if scale is None else scale
    pred = rng.uniform(0.3, 0.7, (n, len(DIMENSIONS)))
    y = pred + rng.normal(0, 1, (n, len(DIMENSIONS))) * scale
    idx = [f"s{i}" for i in range(n)]
    return (pd.DataFrame(y, index=idx, columns=list(DIMENSIONS)),
            pd.DataFrame(pred, index=idx, columns=list(DIMENSIONS)))


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
def test_coverage_on_fresh_data_is_within_five_points_of_nominal(level):
    """Given its calibration set, each dimension's coverage varies by about
    sqrt(level (1 - level) / n) (1.4 points for n = 800); the mean over 19 dimensions less."""
    y_cal, p_cal = _data(800, 0)
    y_new, p_new = _data(4000, 1)
    c = conformal.Conformal.fit(y_cal, p_cal, level)
    cov = conformal.coverage(c, y_new, p_new)
    assert list(cov.index) == list(DIMENSIONS)
    assert (cov - level).abs().max() < 0.05                       # every dimension
    assert abs(cov.mean() - level) < 0.015
    # wider where the errors are larger
    assert np.all(np.diff(c.q) > -0.01) and c.q[-1] > 4 * c.q[0]


def test_interval_is_clipped_and_round_trips():
    y, p = _data(50, 2)
    c = conformal.Conformal.fit(y, p, 0.9)
    lo, hi = c.interval(np.full(len(DIMENSIONS), 0.99))
    assert (hi <= 1.0).all() and (lo < 0.99).all() and (lo >= 0).all()
    assert conformal.Conformal.from_dict(c.to_dict()) == c
    # the rank rule: with n = 50 and 90 %, the 46th smallest residual
    r = np.sort(np.abs(y - p).to_numpy(), axis=0)[45]
    np.testing.assert_allclose(c.q, r)


def test_refuses_too_few_residuals_and_bad_levels():
    y, p = _data(5, 3)
    with pytest.raises(ValueError, match="cannot give 90% coverage; need at least 9"):
        conformal.Conformal.fit(y, p, 0.9)
    with pytest.raises(ValueError, match="strictly between"):
        conformal.Conformal.fit(y, p, 1.0)
    with pytest.raises(ValueError, match="same columns"):
        conformal.Conformal.fit(y, p.iloc[:, :3], 0.5)


def test_percentile_mid_rank():
    ref = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "b": [0.5, 0.5, 0.5, 0.5]})
    np.testing.assert_allclose(conformal.percentile([0.25, 0.5], ref), [50.0, 50.0])
    np.testing.assert_allclose(conformal.percentile([[0.0, 0.9], [0.4, 0.1]], ref),
                               [[0.0, 100.0], [87.5, 0.0]])


@pytest.mark.slow
def test_forest_intervals_cover_unseen_music_at_their_nominal_level(data_root):
    """Real out-of-fold predictions (a forest on MIDI descriptors, piece split): intervals
    calibrated on the other folds' residuals cover each held-out fold's labels (unseen
    pieces) within 5 points of nominal in every dimension."""
    from percepiano.data import dataset
    from percepiano.models import forest

    ds = dataset.load(data_root)  # the development part
    res = forest.cross_validate_forest(ds, "midi", "piece", k=4, seed=0,
                                       cfg=forest.preset("smoke"))
    oof = res["oof"]
    y = ds.labels.loc[oof.index, list(DIMENSIONS)]
    for level in (0.8, 0.9):
        cov = conformal.fold_coverage(y, oof[list(DIMENSIONS)], oof["fold"], level)
        assert (cov - level).abs().max() < 0.05, cov
        assert abs(cov.mean() - level) < 0.02
