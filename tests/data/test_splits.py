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
                         "composer": f"c{g % 3}", "piece": f"c{g % 3}_w{min(g % 5, 2)}"})
    return pd.DataFrame(rows).set_index("name")


@pytest.mark.parametrize("kind,k", [("random", 5), ("piece", 4), ("performer", 4),
                                    ("composer", 2), ("work", 4)])
def test_split_laws_on_real_data(full, kind, k):
    folds = splits.make_folds(full.segments, kind, k, seed=0)
    assert folds.index.equals(full.segments.index)  # every segment in exactly one test fold
    assert set(folds) == set(range(k))
    g = splits.groups(full.segments, kind)
    assert folds.groupby(g).nunique().max() == 1  # no group in two folds
    sizes = folds.value_counts()
    if kind not in ("composer", "work"):  # groups of 14 to 559 segments cannot balance
        assert sizes.max() - sizes.min() <= max(g.value_counts().max(), 2)
        assert sizes.min() >= 0.8 * len(folds) / k


def test_score_renderings_form_one_performer_group(full):
    g = splits.groups(full.segments, "performer")
    assert set(g[full.segments.is_score]) == {splits.SCORE_GROUP}
    assert g.nunique() == 21


def test_same_folds_whatever_the_order(full):
    a = splits.make_folds(full.segments, "piece", 4, seed=3)
    shuffled = full.segments.sample(frac=1.0, random_state=1)
    b = splits.make_folds(shuffled, "piece", 4, seed=3)
    pd.testing.assert_series_equal(a, b)
    c = splits.make_folds(full.segments, "piece", 4, seed=4)
    assert not a.equals(c)  # the seed matters


@settings(max_examples=40, deadline=None)
@given(n_groups=st.integers(4, 40), seed=st.integers(0, 10_000), k=st.integers(2, 4),
       kind=st.sampled_from(["random", "piece", "performer", "work"]))
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


@pytest.mark.parametrize("kind", ["piece", "performer", "composer", "random", "work"])
def test_nested_split_is_grouped_and_inside_training(full, kind):
    k = 2 if kind == "composer" else 4
    folds = splits.make_folds(full.segments, kind, k, 0)
    train_all = folds.index[folds != 0]
    train, val = splits.nested_split(full.segments, train_all, kind, seed=0)
    assert set(train) | set(val) == set(train_all) and not set(train) & set(val)
    inner = "piece" if kind == "composer" else kind
    g = splits.groups(full.segments, inner)
    assert not set(g[train]) & set(g[val])
    assert 0.1 < len(val) / len(train_all) < 0.35


def test_bad_arguments(full):
    with pytest.raises(ValueError, match="unknown split kind 'pieces'"):
        splits.make_folds(full.segments, "pieces", 4)
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        splits.make_folds(full.segments, "piece", 1)
    with pytest.raises(ValueError, match="k=3 is larger than the number of composer groups"):
        splits.make_folds(full.segments, "composer", 3)


def test_work_split_holds_out_whole_works(full):
    folds = splits.make_folds(full.segments, "work", 4, seed=0)
    assert folds.groupby(full.segments.piece).nunique().max() == 1
    by_work = folds.groupby(full.segments.piece).first()
    assert by_work["Schubert_D960_mv3"] != by_work["Schubert_D960_mv2"]  # the two largest works
    other = splits.make_folds(full.segments, "work", 4, seed=1)
    assert not folds.equals(other)  # the seed matters
    # appending the kind left the folds of the older kinds as they were
    assert splits.KINDS[:4] == ("random", "piece", "performer", "composer")


@pytest.mark.parametrize("kind", ["piece", "performer", "composer", "random"])
def test_nested_split_validates_on_inner_fold_zero_for_balanced_kinds(full, kind):
    """The largest-fold rule only changes the validation fold where one group dominates."""
    k = 2 if kind == "composer" else 4
    for seed in (0, 1):
        folds = splits.make_folds(full.segments, kind, k, seed)
        for f in range(k):
            names = folds.index[folds != f]
            _, val = splits.nested_split(full.segments, names, kind, seed=seed)
            sub = full.segments.loc[sorted(names)]
            inner_kind = "piece" if splits.groups(sub, kind).nunique() < 2 else kind
            n_groups = splits.groups(sub, inner_kind).nunique()
            inner = splits.make_folds(sub, inner_kind, min(5, n_groups), seed=seed + 1000)
            assert list(val) == list(inner.index[inner == 0])


def test_nested_split_work_validation_is_not_the_largest_work(full):
    folds = splits.make_folds(full.segments, "work", 4, 0)
    train_all = folds.index[folds == 1].union(folds.index[folds >= 2])  # all but mv3
    train, val = splits.nested_split(full.segments, train_all, "work", seed=0)
    assert "Schubert_D960_mv2" not in set(full.segments.piece[val])
    assert 0.1 < len(val) / len(train_all) < 0.35


# --------------------------------------------------------------------------- the final exam


@settings(max_examples=30, deadline=None)
@given(n_groups=st.integers(6, 60), seed=st.integers(0, 10_000),
       draw_seed=st.integers(0, 100))
def test_draw_final_exam_laws_property(n_groups, seed, draw_seed):
    seg = _toy(n_groups, seed)
    exam = splits.draw_final_exam(seg, 0.2, draw_seed)
    assert exam == sorted(exam) and set(exam) <= set(seg.index)
    g = splits.groups(seg, "piece")
    assert not set(g[exam]) & set(g.drop(exam))  # whole groups only
    assert splits.draw_final_exam(seg.iloc[::-1], 0.2, draw_seed) == exam  # order-free
    strata = g.map(splits.exam_strata(seg, 0.2))
    for stratum, members in strata.groupby(strata):
        if g[members.index].nunique() > 1:  # every stratum of two groups or more gives one
            assert members.index.isin(exam).any(), stratum


def test_draw_final_exam_is_stable_under_regrouping_elsewhere():
    """Groups are ranked by a hash of their id, so splitting a group in another stratum leaves
    the draw of the other strata as it was."""
    seg = _toy(40, 0)
    exam = splits.draw_final_exam(seg, 0.2, 5)
    moved = seg.copy()
    moved.loc[moved.composer == "c0", "excerpt"] += "x"  # renames every group of c0
    again = splits.draw_final_exam(moved, 0.2, 5)
    keep = seg.index[seg.composer != "c0"]
    assert set(exam) & set(keep) == set(again) & set(keep)


def test_exam_strata_pool_small_works():
    seg = _toy(60, 2)
    strata = splits.exam_strata(seg, 0.2)
    per_work = splits.groups(seg, "piece").groupby(seg.piece).nunique()
    for group, stratum in strata.items():
        work = seg.piece[seg.excerpt == group].iloc[0]
        expected = work if per_work[work] >= 5 else seg.composer[seg.excerpt == group].iloc[0]
        assert stratum == expected
    with pytest.raises(ValueError, match="fraction must be between 0 and 1"):
        splits.draw_final_exam(seg, 1.5)
