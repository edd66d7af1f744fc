import numpy as np
import pandas as pd
import pytest

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import ceiling


def _synthetic(n_seg=300, n_raters=10, noise=1.0, seed=0):
    """True scores with variance 1 plus rater noise: reliability of the mean of n raters is
    n / (n + noise²) by Spearman-Brown."""
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal((n_seg, len(DIMENSIONS)))
    rows = []
    for s in range(n_seg):
        for r in range(n_raters):
            noisy = truth[s] + noise * rng.standard_normal(len(DIMENSIONS))
            rows.append({"rater": r, "name": f"s{s}", **dict(zip(DIMENSIONS, noisy, strict=True))})
    return pd.DataFrame(rows)


def test_spearman_brown():
    assert ceiling.spearman_brown(0.5, 2) == pytest.approx(2 / 3)
    assert ceiling.spearman_brown(0.0, 5) == 0


def test_split_half_recovers_known_reliability():
    ratings = _synthetic(noise=1.0)
    rel = ceiling.split_half(ratings, n_splits=30)
    expected = 10 / (10 + 1.0)
    assert rel.mean() == pytest.approx(expected, abs=0.02)
    icc = ceiling.icc(ratings.assign(**{d: ratings[d] for d in DIMENSIONS[:19]}), k=4,
                          n_draws=2)
    assert icc["icc1"].mean() == pytest.approx(0.5, abs=0.05)  # one rater: 1 / (1 + 1)
    assert icc["icc1_mean_k"].mean() == pytest.approx(expected, abs=0.03)


def test_split_half_handles_unrated_cells():
    ratings = _synthetic(n_seg=200, noise=0.5)
    ratings.loc[ratings.index[::3], DIMENSIONS[0]] = np.nan
    rel = ceiling.split_half(ratings, n_splits=10)
    assert np.isfinite(rel).all() and rel.iloc[0] > 0.9


def test_noise_ceiling_on_percepiano(ds):
    c = ceiling.noise_ceiling(ds, n_splits=40, icc_draws=1)
    assert 0.74 < c["mean_reliability"] < 0.82  # the figure the book is built around: ~0.78
    assert set(c["reliability"]) == set(DIMENSIONS)
    for d in DIMENSIONS:
        assert c["ceiling_r"][d] == pytest.approx(np.sqrt(max(c["reliability"][d], 0)))
        assert 0.5 < c["icc"][d] < 1
    assert c["reliability"]["Pedal_Sparse/dry_Saturated/wet"] > c["mean_reliability"]
