import numpy as np
import pandas as pd
import pytest
from scipy import stats

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import ceiling, metrics


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


def _table(cells):
    """Ratings from (rater, segment, value) triples, the same value on every dimension."""
    return pd.DataFrame([{"rater": r, "name": s, **dict.fromkeys(DIMENSIONS, float(v))}
                         for r, s, v in cells])


def _excerpts(n_excerpts=3, n_perf=4, y=lambda e, p: 3 * e + p, x=lambda e, p: 3 * e + p):
    """Raters Y and X rate performance p of excerpt e; returns ratings and excerpt per segment."""
    cells, groups = [], {}
    for e in range(n_excerpts):
        for p in range(n_perf):
            name = f"e{e}_p{p}"
            groups[name] = f"e{e}"
            cells += [("Y", name, y(e, p)), ("X", name, x(e, p))]
    return _table(cells), pd.Series(groups)


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


def test_rater_means_averages_a_raters_repeats():
    ratings = _table([("a", "s1", 2), ("a", "s1", 4), ("b", "s1", 5), ("a", "s2", 1)])
    ratings.loc[1, DIMENSIONS[0]] = np.nan  # the repeat left the first dimension unrated
    table = ceiling.rater_means(ratings)
    assert list(zip(table["name"], table["rater"], strict=True)) == [
        ("s1", "a"), ("s1", "b"), ("s2", "a")]
    assert table[DIMENSIONS[1]].tolist() == [3.0, 5.0, 1.0]
    assert table[DIMENSIONS[0]].tolist() == [2.0, 5.0, 1.0]


def test_two_raters_who_agree_have_reliability_one():
    values = [1, 3, 2, 7, 5, 4]
    ratings = _table([(r, f"s{i}", v) for i, v in enumerate(values) for r in ("a", "b")])
    rel = ceiling.split_half(ratings, n_splits=5)
    assert rel.to_numpy() == pytest.approx(1.0)


def test_a_raters_repeats_do_not_count_as_agreement():
    """Rater X rates every segment twice (the same way), rater Y once, independently of X.
    Splitting rows puts X's two ratings in different halves two times out of three: one half X,
    the other (X + Y) / 2, correlated 0.71, so the row split finds agreement (SB ~0.58).
    Splitting raters always sets X against Y: no agreement. Labelling the repeat as a rater of
    its own reproduces the row split."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 400, len(DIMENSIONS)))
    rows = []
    for i in range(400):
        for rater, v in (("X", x[i]), ("X", x[i]), ("Y", y[i])):
            rows.append({"rater": rater, "name": f"s{i}", **dict(zip(DIMENSIONS, v, strict=True))})
    ratings = pd.DataFrame(rows)
    by_rater = ceiling.split_half(ratings, n_splits=20)
    assert abs(by_rater.mean()) < 0.08 and by_rater.abs().max() < 0.3
    by_row = ceiling.split_half(ratings.assign(rater=[f"X{i % 3}" for i in range(len(rows))]),
                                n_splits=20)
    assert by_row.mean() == pytest.approx(0.58, abs=0.1) and (by_row > 0.3).all()


def test_splits_are_by_rater_and_reproducible():
    ratings = _synthetic(n_seg=40, n_raters=5, seed=1)
    ratings = pd.concat([ratings, ratings.iloc[::4]])  # some raters rated a segment twice
    table = ceiling.rater_means(ratings)
    names, splits = ceiling.half_panels(table, n_splits=3, seed=7)
    _, again = ceiling.half_panels(table, n_splits=3, seed=7)
    for (a, b), (a2, b2) in zip(splits, again, strict=True):
        np.testing.assert_array_equal(a, a2)
        np.testing.assert_array_equal(b, b2)
        # each half mean is the mean of whole raters: two raters in A, three in B
        both = (2 * a + 3 * b) / 5
        np.testing.assert_allclose(both, table.groupby("name")[list(DIMENSIONS)].mean()
                                   .loc[names].to_numpy())
    one = ceiling.panel_agreement(ratings, n_splits=5, seed=3, n_boot=20)
    two = ceiling.panel_agreement(ratings, n_splits=5, seed=3, n_boot=20)
    other = ceiling.panel_agreement(ratings, n_splits=5, seed=4, n_boot=20)
    for key in ("reliability", "reliability_boot"):
        pd.testing.assert_frame_equal(one[key], two[key])
        assert not one[key].equals(other[key])


def test_pearson_sums_weighted_like_duplicated_rows():
    """A bootstrap replicate weighs clusters by how often they were drawn: the same as Pearson
    on the drawn rows repeated (scipy), unrated cells left out."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 3)), rng.standard_normal((30, 3))
    a[[2, 5], 1] = np.nan
    w = rng.integers(0, 3, 30)
    sums = np.einsum("n,nkd->kd", w.astype(float), ceiling._pearson_sums(a, b, 0.3))
    r = ceiling._pearson_from_sums(sums)
    rows = np.repeat(np.arange(30), w)
    for j in range(3):
        ta, tb = a[rows, j], b[rows, j]
        ok = ~np.isnan(ta)
        assert r[j] == pytest.approx(stats.pearsonr(ta[ok], tb[ok]).statistic)
    flat = ceiling._pearson_from_sums(ceiling._pearson_sums(np.ones((4, 1)), b[:4, :1], 0).sum(0))
    assert flat == pytest.approx(0.0)  # a constant side scores 0, as in metrics.pearson


def test_within_excerpt_ceiling_is_metrics_within_excerpt_of_the_halves():
    ratings = _synthetic(n_seg=40, n_raters=6, seed=2)
    groups = pd.Series({f"s{s}": f"e{s // 5}" for s in range(40)})
    res = ceiling.panel_agreement(ratings, n_splits=1, seed=5, groups=groups, n_boot=10)
    names, splits = ceiling.half_panels(ceiling.rater_means(ratings), n_splits=1, seed=5)
    a, b = next(splits)
    expected = metrics.within_excerpt(a, b, groups.loc[names])
    np.testing.assert_allclose(res["within_rho"].iloc[0], expected["within_rho"])
    np.testing.assert_allclose(res["pairwise"].iloc[0], expected["pairwise"])
    np.testing.assert_allclose(res["reliability"].iloc[0],
                               ceiling.spearman_brown(metrics.pearson(a, b), 2))


def test_within_excerpt_ceiling_known_cases():
    same, groups = _excerpts()
    res = ceiling.panel_agreement(same, n_splits=4, groups=groups, n_boot=50)
    for key in ("reliability", "within_rho", "pairwise", "within_rho_boot", "pairwise_boot"):
        assert res[key].to_numpy() == pytest.approx(1.0)
    # X orders each excerpt's performances the other way round, but agrees on the excerpts
    flipped, groups = _excerpts(x=lambda e, p: 3 * e + 3 - p)
    res = ceiling.panel_agreement(flipped, n_splits=4, groups=groups, n_boot=50)
    assert res["within_rho"].to_numpy() == pytest.approx(-1.0)
    assert res["pairwise"].to_numpy() == pytest.approx(0.0)
    assert (res["reliability"].to_numpy() > 0).all()


def test_within_excerpt_ceiling_on_noisy_raters():
    """Six raters rank four performances per excerpt with noise: the halves agree, not fully."""
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((60, 4))
    cells, groups = [], {}
    for e in range(60):
        for p in range(4):
            groups[f"e{e}_p{p}"] = f"e{e}"
            cells += [(r, f"e{e}_p{p}", truth[e, p] + 0.5 * rng.standard_normal())
                      for r in range(6)]
    res = ceiling.panel_agreement(_table(cells), n_splits=10, groups=pd.Series(groups),
                                  n_boot=100)
    rho = res["within_rho"].mean()
    assert (rho > 0.5).all() and (rho < 0.99).all()
    assert ((res["pairwise"].mean() > 0.7) & (res["pairwise"].mean() < 1)).all()


def test_excerpts_must_lie_in_one_cluster():
    ratings, groups = _excerpts()
    clusters = pd.Series({n: n for n in groups.index})  # splits every excerpt apart
    with pytest.raises(ValueError, match="one cluster"):
        ceiling.panel_agreement(ratings, n_splits=1, groups=groups, clusters=clusters)
    with pytest.raises(ValueError, match="no excerpt"):
        ceiling.panel_agreement(ratings, n_splits=1, groups=groups.iloc[1:])


def test_noise_ceiling_on_percepiano(ds):
    c = ceiling.noise_ceiling(ds, n_splits=40, icc_draws=1)
    # rater-level splits (a rater's repeats averaged): ~0.75; splitting rating rows gave ~0.78
    assert 0.72 < c["mean_reliability"] < 0.78
    assert set(c["reliability"]) == set(DIMENSIONS)
    for d in DIMENSIONS:
        assert c["ceiling_r"][d] == pytest.approx(np.sqrt(max(c["reliability"][d], 0)))
        assert 0.5 < c["icc"][d] < 1
    assert c["reliability"]["Pedal_Sparse/dry_Saturated/wet"] > c["mean_reliability"]
    assert c["repeated_pairs"] > 0 and 4 <= c["mean_raters"] <= 17
    for key in ("reliability", "ceiling_r", "ceiling_r2", "within_rho_ceiling",
                "pairwise_ceiling", "within_rho_half", "pairwise_half"):
        lo, hi = c[f"mean_{key}_ci"]
        assert lo <= c[f"mean_{key}"] <= hi and hi - lo < 0.2
        for d in DIMENSIONS:
            lo, hi = c[f"{key}_ci"][d]
            assert lo <= c[key][d] <= hi
    # two half panels rank an excerpt's performances alike, but far from perfectly
    assert 0.1 < c["mean_within_rho_half"] < 0.7
    assert 0.5 < c["mean_pairwise_half"] < 0.8
    # a perfect model against whole panels does better than half a panel against the other half
    for d in DIMENSIONS:
        half = max(c["within_rho_half"][d], 0)
        assert c["within_rho_ceiling"][d] == pytest.approx(np.sqrt(2 * half / (1 + half)))
        assert c["pairwise_ceiling"][d] == pytest.approx(
            0.5 + np.arcsin(c["within_rho_ceiling"][d]) / np.pi)
    assert c["mean_within_rho_ceiling"] > c["mean_within_rho_half"]
    assert c["mean_pairwise_ceiling"] > c["mean_pairwise_half"]
    assert c["mean_ceiling_r2"] == pytest.approx(c["mean_reliability"])
