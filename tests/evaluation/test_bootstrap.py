"""The resampling units of each split, the two-way (pigeonhole) bootstrap, its coverage, and the
Monte Carlo error that marks borderline verdicts."""

import numpy as np
import pandas as pd
import pytest

from percepiano.evaluation import bootstrap, comparison, metrics, permutation, stats, within


def _crossed(n_perf=15, n_music=20, sd_perf=1.0, sd_music=1.0, sd_noise=0.5, offset=3.0,
             seed=0):
    """One segment per (performer, music group) cell; labels 0, predictions ``offset`` plus a
    performer effect, a music effect and noise. Its MSE is offset² + the three variances."""
    rng = np.random.default_rng(seed)
    perf, music = np.meshgrid(np.arange(n_perf), np.arange(n_music), indexing="ij")
    perf, music = perf.ravel(), music.ravel()
    err = (sd_perf * rng.standard_normal(n_perf)[perf]
           + sd_music * rng.standard_normal(n_music)[music]
           + sd_noise * rng.standard_normal(len(perf)))
    units = pd.DataFrame({"performer": perf, "music": music})
    return np.zeros((len(perf), 1)), (offset + err)[:, None], units


def test_units_follow_what_each_split_holds_out():
    seg = pd.DataFrame({"music_group": ["m1", "m1", "m2", "m2"], "piece": ["w1", "w1", "w1", "w2"],
                        "performer": ["p1", "Score", "p1", "Score2"],
                        "is_score": [False, True, False, True], "composer": ["c"] * 4,
                        "excerpt": ["e1", "e1", "e2", "e2"]}, index=list("abcd"))
    assert stats.units(seg, "piece").tolist() == ["m1", "m1", "m2", "m2"]
    assert stats.units(seg, "work").tolist() == ["w1", "w1", "w1", "w2"]
    two = stats.units(seg, "performer")
    assert list(two.columns) == ["performer", "music"]
    assert two.performer.nunique() == 2  # the deadpan renderings are one performer
    assert stats.describe_units(two) == "performers and music groups (two-way)"
    assert stats.describe_units(stats.units(seg, "work")) == "works"
    assert set(stats.units_by_kind(seg)) == {"random", "piece", "performer", "composer", "work"}
    with pytest.raises(ValueError, match="unknown split kind"):
        stats.units(seg, "decade")


def test_two_way_weights_multiply_and_match_replicated_rows():
    y, p, units = _crossed(n_perf=4, n_music=5)
    y = y + np.random.default_rng(1).random(y.shape)
    prep = bootstrap._prepare(y, {"a": p}, units, None, "a")
    w = bootstrap.weights(prep, 4, seed=3)
    perf_draw = np.random.default_rng([3, 0]).integers(0, 4, (4, 4))
    music_draw = np.random.default_rng([3, 1]).integers(0, 5, (4, 5))
    for b in range(4):
        wp = np.bincount(perf_draw[b], minlength=4)
        wm = np.bincount(music_draw[b], minlength=5)
        expected = wp[units.performer] * wm[units.music]
        np.testing.assert_array_equal(w[b], expected)  # one cell per segment here
        rows = np.repeat(np.arange(len(y)), expected.astype(int))
        for m in ("mean_r2", "mean_mse"):
            got = bootstrap.values(prep, [("a", w[b:b + 1])], m)[0, 0]
            want = metrics.evaluate(y[rows], p[rows], dimensions=["x"])[m]
            assert got == pytest.approx(want, abs=1e-10)


def _coverage(clusters_of, n_rep=150, n_boot=400):
    hits = 0
    for rep in range(n_rep):
        y, p, units = _crossed(seed=100 + rep)
        truth = 3.0**2 + 1.0 + 1.0 + 0.25
        _, lo, hi = stats.cluster_bootstrap_ci(y, p, clusters_of(units), "mean_mse",
                                               n_boot=n_boot, seed=rep)
        hits += lo <= truth <= hi
    return hits / n_rep


def test_two_way_bootstrap_covers_near_nominal_where_one_way_does_not():
    """Performers and music crossed, both with random effects: resampling music groups alone
    ignores the performers' share of the uncertainty and undercovers; the pigeonhole bootstrap
    covers near the nominal 95 % (Owen 2007 finds it mildly conservative)."""
    two_way = _coverage(lambda u: u)
    assert 0.9 <= two_way <= 0.99
    for one_way in (_coverage(lambda u: u.music), _coverage(lambda u: u.performer)):
        assert one_way < 0.85 and one_way < two_way - 0.1


def test_one_way_bootstrap_covers_near_nominal_for_clustered_errors():
    rng = np.random.default_rng(0)
    hits = 0
    for rep in range(300):
        c = np.repeat(np.arange(40), 5)
        err = rng.standard_normal(40)[c] + 0.5 * rng.standard_normal(200)
        p = (3.0 + err)[:, None]
        _, lo, hi = stats.cluster_bootstrap_ci(np.zeros((200, 1)), p, c, "mean_mse",
                                               n_boot=400, seed=rep)
        hits += lo <= 9 + 1 + 0.25 <= hi
    # the percentile interval of a mean over 40 clusters covers a little under 95 %
    assert 0.87 <= hits / 300 <= 0.99


def test_interval_ends_carry_their_monte_carlo_error_which_shrinks_with_resamples():
    y, p, units = _crossed()
    few = stats.cluster_bootstrap_ci(y, p, units, ["mean_mse"], n_boot=400).iloc[0]
    many = stats.cluster_bootstrap_ci(y, p, units, ["mean_mse"], n_boot=6400).iloc[0]
    assert 0 < many.ci_lo_mc_se < 0.5 * few.ci_lo_mc_se
    assert 0 < many.ci_hi_mc_se < 0.5 * few.ci_hi_mc_se


def test_permutation_swaps_whole_units_of_each_factor():
    _, _, units = _crossed(n_perf=3, n_music=4)
    prep = bootstrap._prepare(np.zeros((12, 1)), {"a": np.zeros((12, 1))}, units, None, "a")
    for factor, column in enumerate(("performer", "music")):
        f = permutation.flips(prep, factor, 50, seed=0)
        for unit in units[column].unique():
            cells = prep["levels"][:, factor] == unit
            assert (f[:, cells] == f[:, cells][:, :1]).all()


def test_a_verdict_at_the_threshold_is_borderline_and_resampled_more():
    y, p, units = _crossed(n_perf=10, n_music=12, sd_perf=0.3, sd_music=0.3)
    y = y + np.random.default_rng(2).standard_normal(y.shape)
    far = y + 0.3 * (p - y)  # clearly better
    table = stats.compare(y, {"a": p, "far": far, "same": p.copy()}, "a", units,
                          metrics=("mean_r2",), n_boot=400)
    assert not table.borderline.any() and (table.n_resamples == 400).all()
    assert table.set_index("config").verdict.to_dict() == {"far": "above",
                                                           "same": "indistinguishable"}
    # an interval end sitting on zero is within its Monte Carlo error of the threshold
    row = table.iloc[0].copy()
    row[["ci_lo", "ci_lo_mc_se"]] = [0.001, 0.002]
    marked = stats.mark(pd.DataFrame([row]))
    assert marked.borderline.all()
    assert "borderline" in stats.verdict(marked.iloc[0], "x", "y")
    assert "borderline" in stats.tally(marked, "y")


def _within_one_excerpt_at_a_time(y, p, groups):
    """The within-excerpt shares computed excerpt by excerpt with ``metrics``: the reference."""
    out = np.zeros((len(y), 4, y.shape[1]))
    for e in np.unique(groups):
        idx = np.flatnonzero(groups == e)
        if len(idx) < 2:
            continue
        if len(idx) >= metrics.MIN_GROUP:
            out[idx, 0] += metrics.spearman(y[idx], p[idx]) / len(idx)
            out[idx, 1] += 1 / len(idx)
        i, j = np.triu_indices(len(idx), k=1)
        dt, dp = np.sign(y[idx][i] - y[idx][j]), np.sign(p[idx][i] - p[idx][j])
        agree = np.where(dt != 0, np.where(dp == 0, 0.5, (dt == dp).astype(float)), 0.0)
        for k, v in ((2, agree), (3, (dt != 0).astype(float))):
            np.add.at(out[:, k], idx[i], v / 2)
            np.add.at(out[:, k], idx[j], v / 2)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_within_excerpt_shares_of_all_excerpts_at_once_equal_one_at_a_time(seed):
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 60, 240)  # excerpts of 1 to about 10 performances
    y = np.round(rng.random((240, 4)) * 6) / 6  # tied labels
    p = rng.standard_normal((240, 4))
    p[:, 0] = np.round(p[:, 0])  # tied predictions
    p[groups == groups[0], 1] = 0.5  # a constant prediction within one excerpt
    got = within.within_shares(y, p, groups)
    np.testing.assert_array_equal(got, _within_one_excerpt_at_a_time(y, p, groups))  # bit for bit
    assert got[:, 3].sum() > 0 and np.isfinite(got).all()


def test_per_fold_pairwise_from_the_bootstrap_shares_equals_the_metric_of_each_fold():
    rng = np.random.default_rng(4)
    names = [f"s{i}" for i in range(120)]
    y = pd.DataFrame(rng.random((120, 3)), index=names, columns=["a", "b", "c"])
    excerpt = pd.Series(rng.integers(0, 25, 120), index=names)
    pred = pd.concat([pd.DataFrame(np.round(rng.random((120, 3)) * 4), index=names,
                                   columns=list(y)).assign(seed=s, fold=rng.integers(0, 3, 120))
                      for s in range(2)])
    prep = bootstrap._prepare(y, {"m": pred}, excerpt, excerpt, "m")
    fast = comparison._pairwise_by_fold(prep, "m")
    slow = [comparison._metric(prep["y"][rows], prep["preds"]["m"][s, rows],
                               prep["groups"][rows], "mean_pairwise")
            for s in range(2) for f in np.unique(prep["folds"][s])
            for rows in [np.flatnonzero(prep["folds"][s] == f)]]
    assert len(fast) == 6
    np.testing.assert_array_equal(fast, slow)


def test_draws_and_weighted_sums_are_made_once_per_comparison():
    y, p, units = _crossed(n_perf=4, n_music=5)
    prep = bootstrap._prepare(y, {"a": p, "b": p + 1}, units, None, "a")
    w = bootstrap.weights(prep, 30, seed=1)
    assert bootstrap.weights(prep, 30, seed=1) is w
    assert permutation.flips(prep, 0, 30, seed=1) is permutation.flips(prep, 0, 30, seed=1)
    first = bootstrap.values(prep, [("a", w)], "mean_r2")
    assert bootstrap._weighted(prep, "a", w) is bootstrap._weighted(prep, "a", w)
    fresh = bootstrap._prepare(y, {"a": p, "b": p + 1}, units, None, "a")
    np.testing.assert_array_equal(first, bootstrap.values(fresh, [("a", w)], "mean_r2"))
    for seed in range(2 * bootstrap.MEMO):  # the memo keeps the most recent sums only
        bootstrap._weighted(prep, "b", bootstrap.weights(prep, 30, seed=100 + seed))
    assert len(prep["weighted"]) == bootstrap.MEMO


def test_cell_statistics_sum_each_cells_segments_in_row_order():
    y, p, units = _crossed(n_perf=5, n_music=6)
    y = y + np.random.default_rng(5).random(y.shape)
    units = units.assign(music=units.music % 3)  # several segments per cell
    prep = bootstrap._prepare(y, {"a": p}, units, None, "a")
    cells = bootstrap.statistics(prep, "a")[0]
    t, q = y - y.mean(0), p - y.mean(0)
    rows = np.stack([np.ones_like(t), t, t * t, q, q * q, t * q], axis=1)
    onehot = np.zeros((len(prep["levels"]), len(y)))
    onehot[prep["cell"], np.arange(len(y))] = 1.0
    assert cells.shape == (1, 15, 10, 1)
    np.testing.assert_array_equal(cells[0, :, :6], np.einsum("cn,nkd->ckd", onehot, rows))
    assert (cells[0, :, 6:] == 0).all()  # no excerpts: no within-excerpt statistics


def test_a_family_lets_each_blocks_weighted_sums_go_when_the_next_block_starts():
    y, p, units = _crossed(n_perf=4, n_music=5)
    preds = {"a": p, "b": p + 1}
    one, two = (bootstrap._prepare(y, preds, units, None, "a") for _ in range(2))
    jobs = [(k, prep, "b", "mean_r2") for k, prep in (("one", one), ("two", two))]
    rows = comparison._rows(jobs, [0, 1], "a", "permutation", 40, 0.95, seed=0)
    assert "weighted" not in one and "draws" not in one and len(two["weighted"]) > 0
    alone = comparison._row(bootstrap._prepare(y, preds, units, None, "a"), "a", "b",
                            "mean_r2", "permutation", 40, 0.95, 0)
    same = pd.DataFrame([*rows, alone]).drop(columns=["seed_sd", "effect_size"])  # NaN: 1 seed
    assert (same.nunique(dropna=False) == 1).all()  # the same numbers, whichever block
