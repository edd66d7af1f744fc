"""Intervals and tests with few clusters (``small_g``): the jackknife t interval against scipy,
where it is used, its coverage at 4 and 7 music groups beside the percentile bootstrap's, and
the exact sign-flip test whose floor is 2 / 2^G."""

import numpy as np
import pytest
from scipy import stats as sps

from percepiano.evaluation import bootstrap, small_g, stats
from tests.evaluation.test_bootstrap import _crossed

# A design like the final exam's: (segments, excerpts) of each music group, its 7 groups; 4 of
# them for G = 4; its groups again after the 7th for G = 8 to 14.
EXAM = [(14, 1), (14, 1), (14, 1), (9, 1), (9, 1), (39, 3), (91, 7)]
FOUR = [EXAM[i] for i in (0, 3, 5, 6)]
# Variances of the simulated labels and errors, shares as in PercePiano's development part: a
# third of the labels' variance lies between music groups, a fifth of a forest's residual's.
LABEL_BETWEEN, LABEL_WITHIN, ERROR_BETWEEN, ERROR_WITHIN = 0.5, 1.0, 0.18, 0.63
SHRINK, EXTRA = 0.8, 0.1  # B's error: SHRINK times A's plus EXTRA of its variance, independent
METRICS = ("mean_r2", "mean_pairwise", "difference in mean_r2")


def design(g: int) -> tuple[np.ndarray, np.ndarray]:
    """Music group and excerpt of each segment (n,) for G = 4 or 7 to 14 groups."""
    groups = FOUR if g == 4 else (EXAM * 2)[:g]
    sizes = np.array([m for m, _ in groups])
    music = np.repeat(np.arange(g), sizes)
    first = np.cumsum([0] + [k for _, k in groups])[:-1]
    excerpt = np.concatenate([f + np.arange(m) % k for f, (m, k) in zip(first, groups,
                                                                          strict=True)])
    return music, excerpt


def truth() -> dict[str, float]:
    """The population values the intervals should cover."""
    var, err = LABEL_BETWEEN + LABEL_WITHIN, ERROR_BETWEEN + ERROR_WITHIN
    rho = np.sqrt(LABEL_WITHIN / (LABEL_WITHIN + ERROR_WITHIN))  # within an excerpt
    return {"mean_r2": 1 - err / var, "mean_pairwise": 0.5 + np.arcsin(rho) / np.pi,
            "difference in mean_r2": err * (1 - SHRINK**2 - EXTRA) / var}


def draw(music: np.ndarray, rng, reps: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two systems' predictions (n, reps), one simulated data set per column:
    random effects of each music group and segment; B's error is mostly A's, shrunk."""
    g, n = music.max() + 1, len(music)

    def effect(between, within):
        return (np.sqrt(between) * rng.standard_normal((g, reps))[music]
                + np.sqrt(within) * rng.standard_normal((n, reps)))

    y = effect(LABEL_BETWEEN, LABEL_WITHIN)
    a = effect(ERROR_BETWEEN, ERROR_WITHIN)
    b = SHRINK * a + effect(EXTRA * ERROR_BETWEEN, EXTRA * ERROR_WITHIN)
    return y, y + a, y + b


def per_column(prep: dict, name: str, w: np.ndarray, metric: str) -> np.ndarray:
    """(B, reps): ``bootstrap.values`` of each column of ``prep`` on its own (``values``
    averages the columns, as it does a model's dimensions), for weights ``w`` (B, C)."""
    tot = np.moveaxis(bootstrap._weighted(prep, name, w)[:, 0], 1, -1)[..., None]
    y, scale_p = prep["y"], bootstrap.statistics(prep, name)[1][0]
    return bootstrap._from_totals(tot, metric, np.abs(y - y.mean(0)).max(0)[:, None],
                                  scale_p[:, None])


def intervals(prep: dict, metric: str, name: str, base: str | None, interval: str,
              n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """95 % intervals (lo, hi), each (reps,), of ``name``'s metric (minus ``base``'s) on every
    column of ``prep``: the jackknife t interval of ``small_g`` or the percentile bootstrap."""
    def value(w):
        v = per_column(prep, name, w, metric)
        return v if base is None else v - per_column(prep, base, w, metric)

    if interval == "jackknife":
        deletions = small_g.deletions(prep["levels"], prep["n_levels"])
        return small_g.t_interval(value(bootstrap.once(prep))[0],
                                  [value(w) for w in deletions], 0.95)[:2]
    lo, hi = np.percentile(value(bootstrap.weights(prep, n_boot, seed)), [2.5, 97.5], axis=0)
    return lo, hi


def coverage(g: int, interval: str, n_rep: int, n_boot: int = 400, seed: int = 0,
             block: int = 1000) -> dict:
    """Share of ``n_rep`` simulated data sets (``draw``, ``block`` at a time, one per column)
    whose 95 % ``interval`` (``"jackknife"`` or ``"percentile"``) covers each of ``METRICS``'
    population value."""
    music, excerpt = design(g)
    rng, target, hits = np.random.default_rng([seed, g]), truth(), dict.fromkeys(METRICS, 0)
    for start in range(0, n_rep, block):
        y, a, b = draw(music, rng, min(block, n_rep - start))
        pooled = bootstrap._prepare(y, {"a": a, "b": b}, music, None, "a")
        within = bootstrap._prepare(y, {"a": a}, music, excerpt, "a")
        for m, prep, name, base in (("mean_r2", pooled, "a", None),
                                    ("mean_pairwise", within, "a", None),
                                    ("difference in mean_r2", pooled, "b", "a")):
            lo, hi = intervals(prep, m.split(" ")[-1], name, base, interval, n_boot,
                               seed + start)
            hits[m] += int(np.sum((lo <= target[m]) & (target[m] <= hi)))
    return {m: h / n_rep for m, h in hits.items()}


def test_the_simulation_scores_each_column_as_the_package_scores_one_data_set():
    """``intervals`` of column k equal ``cluster_bootstrap_ci`` and ``compare`` on data set k
    alone: the coverage below is the package's."""
    music, excerpt = design(7)
    y, a, b = draw(music, np.random.default_rng(1), reps=3)
    pooled = bootstrap._prepare(y, {"a": a, "b": b}, music, None, "a")
    within = bootstrap._prepare(y, {"a": a}, music, excerpt, "a")
    for interval in ("jackknife", "percentile"):
        r2 = intervals(pooled, "mean_r2", "a", None, interval, 200, 5)
        pw = intervals(within, "mean_pairwise", "a", None, interval, 200, 5)
        diff = intervals(pooled, "mean_r2", "b", "a", interval, 200, 5)
        for k in range(3):
            one = stats.cluster_bootstrap_ci(y[:, k], a[:, k], music, ["mean_r2", "mean_pairwise"],
                                             excerpt, n_boot=200, seed=5, interval=interval)
            pair = stats.compare(y[:, k], {"a": a[:, k], "b": b[:, k]}, "a", music,
                                 metrics=("mean_r2",), n_boot=200, seed=5,
                                 interval=interval).iloc[0]
            for got, (lo, hi) in ((one.loc["mean_r2"], r2), (one.loc["mean_pairwise"], pw),
                                  (pair, diff)):
                assert (got.ci_lo, got.ci_hi) == pytest.approx((lo[k], hi[k]), abs=1e-9)


@pytest.mark.parametrize("g", [4, 7])
def test_jackknife_t_covers_within_three_points_where_the_percentile_bootstrap_does_not(g):
    """On the exam's design (7 music groups of 9 to 91 segments, and 4 of them), the
    jackknife t interval of pooled R², within-excerpt pairwise accuracy and a paired
    difference in R² covers within 3 points of 95 %; the percentile bootstrap covers at most
    90 %. 20000 and 2000 simulated data sets: Monte Carlo errors of about 0.2 and 0.8 points."""
    jackknife, percentile = coverage(g, "jackknife", 20000), coverage(g, "percentile", 2000)
    for m in METRICS:
        assert abs(jackknife[m] - 0.95) <= 0.03, (m, jackknife[m])
        assert percentile[m] <= 0.90, (m, percentile[m])


def test_jackknife_t_of_equal_clusters_is_the_one_sample_t_interval_of_their_values():
    """A metric that is the mean of G equal-sized clusters' values (here the MSE of an error
    constant within each cluster): the interval is scipy's t interval of those values."""
    rng = np.random.default_rng(0)
    per_cluster = rng.random(5) + 1.0
    music = np.repeat(np.arange(5), 4)
    y, p = np.zeros((20, 1)), np.sqrt(per_cluster)[music][:, None]
    row = stats.cluster_bootstrap_ci(y, p, music, ["mean_mse"]).iloc[0]
    lo, hi = sps.t.interval(0.95, 4, loc=per_cluster.mean(), scale=sps.sem(per_cluster))
    assert row.estimate == pytest.approx(per_cluster.mean())
    assert (row.ci_lo, row.ci_hi) == pytest.approx((lo, hi))
    assert row.interval == small_g.JACKKNIFE and row.df == 4
    assert row.ci_lo_mc_se == 0 and row.ci_hi_mc_se == 0  # analytic: no Monte Carlo error
    forced = stats.cluster_bootstrap_ci(y, p, music, ["mean_mse"], interval="percentile")
    assert forced.interval.iloc[0] == small_g.PERCENTILE and np.isnan(forced.df.iloc[0])
    assert forced.ci_hi.iloc[0] - forced.ci_lo.iloc[0] < hi - lo


def test_the_jackknife_is_used_below_twelve_units_of_any_factor():
    assert small_g.method([11]) == small_g.JACKKNIFE
    assert small_g.method([12]) == small_g.method([40, 20]) == small_g.PERCENTILE
    assert small_g.method([40, 5]) == small_g.JACKKNIFE  # a small factor of a crossed design
    assert small_g.method([1]) == small_g.PERCENTILE  # one unit: nothing to leave out
    assert small_g.method([40], "jackknife") == small_g.JACKKNIFE
    assert small_g.method([4], "percentile") == small_g.PERCENTILE
    with pytest.raises(ValueError, match="unknown interval"):
        small_g.method([4], "bca")


def test_two_factors_add_their_jackknife_variances_with_the_smaller_degrees_of_freedom():
    a, b = np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.0, 2.0, 1.0])
    var = 2 / 3 * np.sum((a - a.mean()) ** 2) + 4 / 5 * np.sum((b - b.mean()) ** 2)
    lo, hi, df = small_g.t_interval(10.0, [a, b], 0.9)
    assert df == 2 and (hi - lo) / 2 == pytest.approx(sps.t.ppf(0.95, 2) * np.sqrt(var))


def test_a_paired_difference_over_few_groups_has_a_jackknife_interval_and_an_exact_test():
    """Five music groups: the interval of B - A is the jackknife t interval of the difference,
    and the permutation test enumerates all 2^5 swaps, so a clear improvement gets exactly the
    floor 2/2^5 with no Monte Carlo error."""
    music, excerpt = design(7)
    keep = music < 5
    music, excerpt = music[keep], excerpt[keep]
    y, a, _ = draw(music, np.random.default_rng(3))
    better = y + 0.3 * (a - y)
    table = stats.compare(y, {"a": a, "better": better}, "a", music, excerpt, n_boot=200)
    assert (table.interval == small_g.JACKKNIFE).all() and (table.df == 4).all()
    assert (table.ci_lo_mc_se == 0).all() and (table.p_mc_se == 0).all()
    assert (table.p == small_g.sign_flip_floor(5)).all() and small_g.sign_flip_floor(5) == 2 / 32
    assert not table.borderline.any()  # no Monte Carlo error: nothing to resample again
    prep = bootstrap._prepare(y, {"a": a, "b": better}, music, excerpt, "a")
    without = [np.array([bootstrap.values(prep, [(k, w[None])], "mean_r2")[0, 0]
                         for k in ("b", "a")]) @ [1, -1]
               for w in small_g.deletions(prep["levels"], prep["n_levels"])[0]]
    r2 = table[table.metric == "mean_r2"].iloc[0]
    assert (r2.ci_lo, r2.ci_hi) == pytest.approx(
        small_g.t_interval(r2.difference, [np.array(without)], 0.95)[:2])
    again = stats.compare(y, {"a": a, "better": better}, "a", music, excerpt, n_boot=200,
                          interval="percentile")
    assert (again.interval == small_g.PERCENTILE).all() and (again.ci_lo_mc_se > 0).all()


def test_the_floor_of_a_sign_flip_test_and_of_holms_first_step():
    assert small_g.sign_flip_floor(7) == 2 / 128
    assert small_g.holm_floor(7, 16) == 0.25  # the final exam: out of reach at 0.05
    assert small_g.holm_floor(12, 16) == pytest.approx(16 * 2 / 4096)
    assert small_g.holm_floor(2, 16) == 1.0
    assert stats.holm([small_g.sign_flip_floor(7)] + [0.5] * 15).min() == 0.25


def test_with_four_performers_crossed_with_music_the_jackknife_covers_and_the_pigeonhole_not():
    """Two crossed factors, one small (4 performers x 20 music groups, random effects of both,
    the MSE of ``test_bootstrap._crossed``): the sum of the factors' jackknife variances with 3
    degrees of freedom covers within 3 points of 95 %; the pigeonhole bootstrap under 90 %."""
    hits = {"jackknife": [], "percentile": []}
    for interval, n_rep in (("jackknife", 600), ("percentile", 300)):
        for rep in range(n_rep):
            y, p, units = _crossed(n_perf=4, n_music=20, seed=100 + rep)
            _, lo, hi = stats.cluster_bootstrap_ci(y, p, units, "mean_mse", n_boot=400,
                                                   seed=rep, interval=interval)
            hits[interval].append(lo <= 9 + 1 + 1 + 0.25 <= hi)
    assert abs(np.mean(hits["jackknife"]) - 0.95) <= 0.03
    assert np.mean(hits["percentile"]) < 0.9
