import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import bootstrap, metrics, permutation, stats

D = len(DIMENSIONS)


def _data(n_clusters=12, per_cluster=12, noise=0.3, shared=0.0, seed=0):
    """Labels, predictions, music groups and excerpts (two excerpts per group, nested).
    ``shared`` adds a prediction error common to all rows of a group."""
    rng = np.random.default_rng(seed)
    n = n_clusters * per_cluster
    clusters = np.repeat(np.arange(n_clusters), per_cluster)
    excerpts = clusters * 2 + (np.arange(n) % 2)
    y = rng.random((n, D))
    pred = (y + noise * rng.standard_normal((n, D))
            + shared * rng.standard_normal((n_clusters, D))[clusters])
    return y, pred, clusters, excerpts


def _frame(values, names, **extra):
    return pd.DataFrame(values, index=names, columns=list(DIMENSIONS)).assign(**extra)


def _resampled(y, p, clusters, excerpts, w):
    """Rows of a resample with multiplicities ``w`` per cluster; each copy its own excerpts."""
    rows, groups = [], []
    for c, k in enumerate(w.astype(int)):
        members = np.flatnonzero(clusters == c)
        for copy in range(k):
            rows.append(members)
            groups.append([f"{copy}/{e}" for e in excerpts[members]])
    rows = np.concatenate(rows)
    return y[rows], p[rows], np.concatenate(groups)


def test_holm_matches_hand_pingouin_and_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(1)
    q = rng.random(9) ** 3
    np.testing.assert_allclose(stats.holm(q), pg.multicomp(q, method="holm")[1])
    np.testing.assert_allclose(stats.holm(q), multipletests(q, method="holm")[1])
    with_nan = stats.holm([0.01, np.nan, 0.03])
    assert np.isnan(with_nan[1]) and np.allclose(with_nan[[0, 2]], [0.02, 0.03])


def test_corrected_ttest_by_hand():
    d = [0.1, 0.2, 0.0, 0.1]  # mean 0.1, sample variance 0.02 / 3
    t, p = stats.corrected_ttest(d, n_train=300, n_test=100)
    t_hand = 0.1 / np.sqrt((1 / 4 + 100 / 300) * 0.02 / 3)
    assert t == pytest.approx(t_hand) and t == pytest.approx(1.6035674514745464)
    assert p == pytest.approx(2 * sps.t.sf(t_hand, df=3))
    # without the correction term it is the ordinary one-sample t-test
    plain = sps.ttest_1samp(d, 0.0)
    assert stats.corrected_ttest(d, 300, 0) == pytest.approx((plain.statistic, plain.pvalue))
    assert stats.corrected_ttest([0.0, 0.0, 0.0], 3, 1) == (0.0, 1.0)
    with pytest.raises(ValueError, match="at least two"):
        stats.corrected_ttest([0.1], 3, 1)


@pytest.mark.parametrize("metric", [*stats.FAST, "mean_rho"])
def test_resampled_metric_matches_evaluate(metric):
    y, p, cl, ex = _data(n_clusters=6, per_cluster=9)
    q = p + 0.2
    prep = bootstrap._prepare(y, {"a": p, "b": q}, cl, ex, "a")
    weights = bootstrap.weights(prep, 3, seed=4)
    got = bootstrap.values(prep, [("a", weights)], metric)[:, 0]
    for w, value in zip(weights, got, strict=True):
        ty, tp, tg = _resampled(y, p, cl, ex, w)
        assert value == pytest.approx(metrics.evaluate(ty, tp, groups=tg)[metric], abs=1e-10)
    flips = permutation.flips(prep, 0, 3, seed=4)  # a with some groups swapped for b's
    got = bootstrap.values(prep, [("a", 1 - flips), ("b", flips)], metric)[:, 0]
    for f, value in zip(flips, got, strict=True):
        mixed = np.where(f[cl][:, None] == 1, q, p)
        expected = metrics.evaluate(y, mixed, groups=ex)[metric]
        assert value == pytest.approx(expected, abs=1e-10)


def test_constant_predictions_score_as_evaluate_scores_them():
    y, _, cl, _ = _data(n_clusters=5, per_cluster=6)
    constant = np.full_like(y, 0.7)
    for metric in ("mean_r", "mean_r2", "mean_mse"):
        estimate, lo, hi = stats.cluster_bootstrap_ci(y, constant, cl, metric, n_boot=20)
        assert estimate == pytest.approx(metrics.evaluate(y, constant)[metric], abs=1e-12)
    assert stats.cluster_bootstrap_ci(y, constant, cl, "mean_r", n_boot=20) == (0, 0, 0)


def test_bootstrap_estimate_interval_and_seeds():
    y, p, cl, ex = _data()
    names = [f"s{i}" for i in range(len(y))]
    labels = _frame(y, names)
    p2 = p + 0.05 * np.random.default_rng(3).standard_normal(p.shape)
    oof = pd.concat([_frame(p, names, seed=0), _frame(p2, names, seed=1)]).sample(frac=1.0,
                                                                              random_state=0)
    clusters, groups = pd.Series(cl, index=names), pd.Series(ex, index=names)
    table = stats.cluster_bootstrap_ci(labels, oof, clusters, ["mean_r2", "mean_pairwise"],
                                       groups, n_boot=200)
    per_seed = [metrics.evaluate(y, q, groups=ex)["mean_r2"] for q in (p, p2)]
    row = table.loc["mean_r2"]
    assert row.estimate == pytest.approx(np.mean(per_seed))
    assert row.seed_sd == pytest.approx(np.std(per_seed, ddof=1)) and row.n_seeds == 2
    assert (table.ci_lo < table.estimate).all() and (table.estimate < table.ci_hi).all()
    one = stats.cluster_bootstrap_ci(y, p, cl, n_boot=200, seed=5)
    assert one == stats.cluster_bootstrap_ci(y, p, cl, n_boot=200, seed=5)  # deterministic
    assert one != stats.cluster_bootstrap_ci(y, p, cl, n_boot=200, seed=6)
    assert one[0] == pytest.approx(metrics.evaluate(y, p)["mean_r2"])


def test_interval_shrinks_with_more_music_groups():
    widths = []
    for n_clusters in (8, 80):
        y, p, cl, _ = _data(n_clusters=n_clusters, per_cluster=6, shared=0.2)
        _, lo, hi = stats.cluster_bootstrap_ci(y, p, cl, "mean_r", n_boot=300)
        widths.append(hi - lo)
    assert widths[1] < 0.5 * widths[0]


def test_bootstrap_resamples_clusters_not_rows():
    # errors shared within a music group: rows are not independent, so treating each row as
    # its own cluster understates the uncertainty
    y, p, cl, _ = _data(n_clusters=10, per_cluster=40, noise=0.05, shared=0.3)
    _, lo, hi = stats.cluster_bootstrap_ci(y, p, cl, "mean_mse", n_boot=300)
    _, row_lo, row_hi = stats.cluster_bootstrap_ci(y, p, np.arange(len(y)), "mean_mse",
                                                   n_boot=300)
    assert hi - lo > 2.5 * (row_hi - row_lo)


def test_compare_finds_a_strong_improvement_and_nothing_against_itself():
    y, p, cl, ex = _data(n_clusters=16, per_cluster=8)
    better = y + 0.5 * (p - y)  # the same errors, halved
    table = stats.compare(y, {"a": p, "same": p.copy(), "better": better}, "a", cl, ex,
                          n_boot=1000)
    assert list(table.columns) == [
        "config", "baseline", "metric", "estimate_baseline", "estimate_config", "difference",
        "ci_lo", "ci_hi", "seed_sd", "n_seeds", "effect_size", "p", "test", "ci_lo_mc_se",
        "ci_hi_mc_se", "p_mc_se", "n_resamples", "interval", "df", "p_holm", "excludes_zero",
        "significant",
        "borderline", "verdict"]
    assert len(table) == 4 and set(table.metric) == {"mean_r2", "mean_pairwise"}
    same, good = table[table.config == "same"], table[table.config == "better"]
    assert (same.difference == 0).all() and (same.ci_lo == 0).all() and (same.ci_hi == 0).all()
    assert (same.p == 1).all() and not same.excludes_zero.any()
    assert (good.difference > 0).all() and (good.ci_lo > 0).all() and good.excludes_zero.all()
    assert (good.p <= 1 / 1001 + 1e-12).all() and good.significant.all()
    assert np.allclose(table.p_holm, stats.holm(table.p))
    assert not table.borderline.any() and (table.n_resamples == 1000).all()
    r2 = good[good.metric == "mean_r2"].iloc[0]
    assert r2.estimate_config - r2.estimate_baseline == pytest.approx(r2.difference)
    assert r2.estimate_config == pytest.approx(metrics.evaluate(y, better)["mean_r2"])
    single = stats.paired_difference(y, p, better, cl, n_boot=1000)
    assert single["difference"] == pytest.approx(r2.difference)
    assert single["ci_lo"] == pytest.approx(r2.ci_lo)
    assert stats.paired_permutation_test(y, p, better, cl, n_perm=1000) == pytest.approx(r2.p)


def test_compare_with_folds_and_seeds_from_a_stored_table():
    y, p, cl, ex = _data(n_clusters=12, per_cluster=8)
    names = [f"s{i}" for i in range(len(y))]
    rng = np.random.default_rng(7)
    rows = []
    for seed in range(3):
        fold = rng.permutation(np.arange(len(y)) % 4)
        for config, scale in (("base", 1.0), ("half", 0.5)):
            noise = 0.02 * rng.standard_normal(p.shape)
            rows.append(_frame(y + scale * (p - y) + noise, names, features=config,
                               kind="piece", seed=seed, fold=fold))
    oof = pd.concat(rows).rename_axis("name")
    preds = stats.by_config(oof, "features", kind="piece")
    assert list(preds) == ["base", "half"] and "kind" not in preds["base"]
    labels = _frame(y, names)
    clusters, groups = pd.Series(cl, index=names), pd.Series(ex, index=names)
    table = stats.compare(labels, preds, "base", clusters, groups, metrics=("mean_r2",),
                          test="corrected_t", n_boot=100)
    row = table.iloc[0]
    assert row.n_seeds == 3 and row.seed_sd > 0 and row.test == "corrected_t"
    assert row.effect_size > 1 and row.p < 0.01
    perm = stats.compare(labels, preds, "base", clusters, groups, metrics=("mean_r2",),
                         n_boot=100, n_perm=100).iloc[0]
    assert perm.effect_size == pytest.approx(row.effect_size) and perm.test == "permutation"
    shifted = {**preds, "half": preds["half"].assign(fold=(preds["half"].fold + 1) % 4)}
    with pytest.raises(ValueError, match="other folds"):
        stats.compare(labels, shifted, "base", clusters, groups, n_boot=10, n_perm=10)


def test_bad_inputs_say_what_is_wrong():
    y, p, cl, ex = _data(n_clusters=4, per_cluster=6)
    with pytest.raises(ValueError, match="unknown metric"):
        stats.cluster_bootstrap_ci(y, p, cl, "mean_accuracy")
    with pytest.raises(ValueError, match="needs groups"):
        stats.cluster_bootstrap_ci(y, p, cl, "mean_pairwise")
    with pytest.raises(ValueError, match="baseline"):
        stats.compare(y, {"a": p}, "b", cl)
    with pytest.raises(ValueError, match="corrected_t needs"):
        stats.compare(y, {"a": p, "b": p}, "a", cl, test="corrected_t")
    with pytest.raises(ValueError, match="seeds"):
        stats.compare(y, {"a": p, "b": np.stack([p, p])}, "a", cl)
    with pytest.raises(ValueError, match="for every segment"):
        stats.cluster_bootstrap_ci(y, p, cl[:-1], "mean_r2")


def test_summarise_gives_one_interval_per_configuration_and_metric():
    rng = np.random.default_rng(3)
    names = [f"s{i}" for i in range(60)]
    y = pd.DataFrame(rng.random((60, 19)), index=names, columns=list(DIMENSIONS))
    clusters = pd.Series(np.repeat(np.arange(12), 5), index=names)
    parts = []
    for config, noise in (("good", 0.05), ("bad", 1.0)):
        for seed in (0, 1):
            pred = y + noise * rng.normal(size=y.shape)
            parts.append(pred.assign(config=config, seed=seed))
    table = stats.summarise(y, pd.concat(parts), ["config"], clusters,
                            metrics=("mean_r2", "mean_r"), n_boot=200)
    assert len(table) == 4 and set(table.config) == {"good", "bad"}
    est = table.set_index(["config", "metric"])
    assert est.loc[("good", "mean_r2"), "estimate"] > est.loc[("bad", "mean_r2"), "estimate"]
    assert (table.ci_lo <= table.estimate).all() and (table.estimate <= table.ci_hi).all()
    assert (table.n_seeds == 2).all()
    alone = stats.cluster_bootstrap_ci(y, parts[0].drop(columns="config").iloc[:0].pipe(
        lambda _: pd.concat(parts[:2]).drop(columns="config")), clusters, "mean_r2", n_boot=200)
    assert alone[0] == pytest.approx(est.loc[("good", "mean_r2"), "estimate"])


def test_compare_each_adjusts_over_the_whole_family_and_verdicts_follow_the_numbers():
    rng = np.random.default_rng(4)
    names = [f"s{i}" for i in range(80)]
    y = pd.DataFrame(rng.random((80, 19)), index=names, columns=list(DIMENSIONS))
    clusters = pd.Series(np.repeat(np.arange(16), 5), index=names)
    blocks = {kind: {"bar": y + rng.normal(size=y.shape),
                     "good": y + 0.05 * rng.normal(size=y.shape),
                     "same": y + rng.normal(size=y.shape)} for kind in ("piece", "work")}
    table = stats.compare_each(y, blocks, "bar", clusters, metrics=("mean_r2",), n_boot=200,
                               n_perm=200)
    assert len(table) == 4 and set(table.block) == {"piece", "work"}
    np.testing.assert_allclose(table.p_holm, stats.holm(table.p))
    good = table[(table.config == "good") & (table.block == "piece")].iloc[0]
    assert good.significant and good.excludes_zero
    assert stats.verdict(good, "the model", "the bar").startswith("the model scores above the bar")
    flipped = good.copy()
    flipped[["difference", "ci_lo", "ci_hi"]] = -good[["difference", "ci_hi", "ci_lo"]].to_numpy()
    assert " below the bar" in stats.verdict(flipped, "the model", "the bar")
    unclear = good.copy()
    unclear[["ci_lo", "significant", "excludes_zero"]] = [-0.1, False, False]
    assert "cannot be told apart" in stats.verdict(unclear, "the model", "the bar")
    split = good.copy()
    split["significant"] = False
    assert "not significantly" in stats.verdict(split, "the model", "the bar")


def test_within_excerpt_pairs_are_formed_inside_a_fold_when_folds_are_known():
    """Predictions constant within each (excerpt, fold) order nothing inside a fold (0.5), even
    when fold-specific offsets would order pairs across folds."""
    rng = np.random.default_rng(5)
    names = [f"s{i}" for i in range(40)]
    y = pd.DataFrame(rng.random((40, 19)), index=names, columns=list(DIMENSIONS))
    excerpt = pd.Series(np.repeat(np.arange(10), 4), index=names)
    fold = np.tile([0, 1], 20)
    pred = pd.DataFrame(np.where(fold[:, None] == 0, 0.0, 1.0) * np.ones((40, 19)),
                        index=names, columns=list(DIMENSIONS)).assign(fold=fold)
    with_folds = stats.cluster_bootstrap_ci(y, pred, excerpt, "mean_pairwise", excerpt,
                                            n_boot=20)[0]
    without = stats.cluster_bootstrap_ci(y, pred.drop(columns="fold"), excerpt,
                                         "mean_pairwise", excerpt, n_boot=20)[0]
    assert with_folds == pytest.approx(0.5) and without != pytest.approx(0.5)
