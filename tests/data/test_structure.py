"""Label structure: between-group variance share, principal components, correlated pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import r2_score

from percepiano.data import structure


def test_between_share_exact_on_a_tiny_table():
    values = pd.DataFrame({"x": [1.0, 3.0, 5.0, 7.0], "y": [1.0, 1.0, 2.0, 2.0]})
    groups = pd.Series(["a", "a", "b", "b"])
    share = structure.between_share(values, groups)
    # x: group means 2, 6 around 4 -> SS_between 16, SS_total 20
    assert share["x"] == pytest.approx(16 / 20)
    assert share["y"] == pytest.approx(1.0)  # constant within groups


def test_between_share_is_the_r2_of_the_group_mean():
    rng = np.random.default_rng(1)
    groups = pd.Series(rng.integers(0, 6, 80))
    values = pd.DataFrame({"v": rng.normal(size=80) + groups.to_numpy() * 0.3})
    pred = values.groupby(groups).transform("mean")
    assert structure.between_share(values, groups)["v"] == pytest.approx(
        r2_score(values["v"], pred["v"]))


def test_between_share_zero_when_group_means_agree_and_nan_without_variance():
    values = pd.DataFrame({"v": [1.0, 3.0, 3.0, 1.0], "c": [2.0] * 4})
    share = structure.between_share(values, pd.Series([0, 0, 1, 1]))
    assert share["v"] == pytest.approx(0.0)
    assert np.isnan(share["c"])


def test_between_share_refuses_rows_without_a_group():
    values = pd.DataFrame({"v": [1.0, 2.0]}, index=["a", "b"])
    with pytest.raises(ValueError, match="no group for rows"):
        structure.between_share(values, pd.Series({"a": "g"}))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.floats(-10, 10)), min_size=3, max_size=40))
def test_between_share_lies_in_the_unit_interval(rows):
    groups = pd.Series([g for g, _ in rows])
    values = pd.DataFrame({"v": [v for _, v in rows]})
    share = structure.between_share(values, groups)["v"]
    assert np.isnan(share) or -1e-9 <= share <= 1 + 1e-9


def test_principal_shares_of_rank_one_data():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(50, 1))
    values = pd.DataFrame(f @ rng.normal(size=(1, 5)) + 1e-6 * rng.normal(size=(50, 5)))
    shares = structure.principal_shares(values)
    assert shares.sum() == pytest.approx(1.0)
    assert shares[0] > 0.999


def test_correlation_pairs_strongest_first():
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    values = pd.DataFrame({"a": a, "b": -a + 0.01 * rng.normal(size=100),
                           "c": rng.normal(size=100), "d": rng.normal(size=100)})
    pairs = structure.correlation_pairs(values)
    assert len(pairs) == 6
    assert set(pairs.iloc[0][["a", "b"]]) == {"a", "b"} and pairs.iloc[0].r < -0.99
    assert (pairs.r.abs().diff().dropna() <= 1e-12).all()


def test_real_labels_have_much_variance_between_excerpts(ds):
    share = structure.between_share(ds.labels, ds.segments.excerpt)
    assert len(share) == 19 and share.between(0, 1).all()
    # most of the excerpt structure: far more than chance groupings of the same sizes
    shuffled = structure.between_share(
        ds.labels, pd.Series(np.random.default_rng(0).permutation(ds.segments.excerpt.to_numpy()),
                             index=ds.segments.index))
    assert share.mean() > 2 * shuffled.mean()
