import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from percepiano.data import splits


def _toy(n_groups: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 12, n_groups)
    rows = []
    for g, s in enumerate(sizes):
        for j in range(s):
            rows.append({"name": f"seg{g:03d}_{j:02d}", "excerpt": f"ex{g}",
                         "performer": f"p{g % 7}", "is_score": g % 7 == 6,
                         "composer": f"c{g % 3}"})
    return pd.DataFrame(rows).set_index("name")


@pytest.mark.parametrize("kind,k", [("random", 5), ("piece", 4), ("performer", 4),
                                    ("composer", 2)])
def test_split_laws_on_real_data(ds, kind, k):
    folds = splits.make_folds(ds.segments, kind, k, seed=0)
    assert folds.index.equals(ds.segments.index)  # every segment in exactly one test fold
    assert set(folds) == set(range(k))
    g = splits.groups(ds.segments, kind)
    assert folds.groupby(g).nunique().max() == 1  # no group in two folds
    sizes = folds.value_counts()
    if kind != "composer":  # two composers of unequal size cannot balance
        assert sizes.max() - sizes.min() <= max(g.value_counts().max(), 2)
        assert sizes.min() >= 0.8 * len(folds) / k


def test_score_renderings_form_one_performer_group(ds):
    g = splits.groups(ds.segments, "performer")
    assert set(g[ds.segments.is_score]) == {splits.SCORE_GROUP}
    assert g.nunique() == 21


def test_same_folds_whatever_the_order(ds):
    a = splits.make_folds(ds.segments, "piece", 4, seed=3)
    shuffled = ds.segments.sample(frac=1.0, random_state=1)
    b = splits.make_folds(shuffled, "piece", 4, seed=3)
    pd.testing.assert_series_equal(a, b)
    c = splits.make_folds(ds.segments, "piece", 4, seed=4)
    assert not a.equals(c)  # the seed matters


@settings(max_examples=40, deadline=None)
@given(n_groups=st.integers(4, 40), seed=st.integers(0, 10_000), k=st.integers(2, 4),
       kind=st.sampled_from(["random", "piece", "performer"]))
def test_split_laws_property(n_groups, seed, k, kind):
    seg = _toy(n_groups, seed)
    g = splits.groups(seg, kind)
    if k > g.nunique():
        with pytest.raises(ValueError, match="larger than the number"):
            splits.make_folds(seg, kind, k, seed)
        return
    folds = splits.make_folds(seg, kind, k, seed)
    assert len(folds) == len(seg) and set(folds) == set(range(k))
    assert folds.groupby(g).nunique().max() == 1
    # greedy balancing: no fold exceeds the lightest by more than the largest group
    sizes = folds.value_counts()
    assert sizes.max() - sizes.min() <= g.value_counts().max()
    rev = splits.make_folds(seg.iloc[::-1], kind, k, seed)
    pd.testing.assert_series_equal(folds, rev)


@pytest.mark.parametrize("kind", ["piece", "performer", "composer", "random"])
def test_nested_split_is_grouped_and_inside_training(ds, kind):
    k = 2 if kind == "composer" else 4
    folds = splits.make_folds(ds.segments, kind, k, 0)
    train_all = folds.index[folds != 0]
    train, val = splits.nested_split(ds.segments, train_all, kind, seed=0)
    assert set(train) | set(val) == set(train_all) and not set(train) & set(val)
    inner = "piece" if kind == "composer" else kind
    g = splits.groups(ds.segments, inner)
    assert not set(g[train]) & set(g[val])
    assert 0.1 < len(val) / len(train_all) < 0.35


def test_bad_arguments(ds):
    with pytest.raises(ValueError, match="unknown split kind 'pieces'"):
        splits.make_folds(ds.segments, "pieces", 4)
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        splits.make_folds(ds.segments, "piece", 1)
    with pytest.raises(ValueError, match="k=3 is larger than the number of composer groups"):
        splits.make_folds(ds.segments, "composer", 3)
