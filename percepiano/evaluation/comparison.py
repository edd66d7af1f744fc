"""Paired comparisons (the A/B framework): intervals, permutation tests, Holm, Monte Carlo error.

* **Paired**: configurations A and B are scored on the same segments, folds and seeds, and every
  bootstrap resample (``bootstrap``: the units each split generalises over) uses the same draw
  for both, so the interval is for the difference B - A; with fewer than ``small_g.SMALL_G``
  units, the jackknife t interval of B - A (``small_g``) instead.
* **Permutation test** (``permutation``): swaps the predictions of A and B for whole units, a
  sign flip of unit-level differences (exact with few units). With fold ids, the **corrected
  resampled t-test** (Nadeau & Bengio 2003; Bouckaert & Frank 2004) over per-fold and per-seed
  differences also accounts for the variance of training sets (``test="corrected_t"``).
  Effect size: Cohen's d_z of per-fold differences.
* **Holm** (1979) step-down adjustment over all rows of one family.
* **Monte Carlo error**: a p-value from n random swaps has standard error
  sqrt(p(1-p)/n); the bootstrap interval ends have the batch error of
  ``bootstrap.percentile_interval`` (an exact test and a jackknife interval have none). A row
  whose adjusted p-value or interval end lies within ``Z_MC`` standard errors of its threshold
  is resampled again with ``ESCALATE`` times as many draws; if it is still that close, it is
  marked **borderline**: its verdict could change with the resampling seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats as sps

from percepiano.evaluation import bootstrap as B
from percepiano.evaluation import metrics as M
from percepiano.evaluation import small_g
from percepiano.evaluation.permutation import permutation_p

Z_MC = 3.0  # Monte Carlo standard errors from a threshold that make a verdict borderline
ESCALATE = 5  # a borderline row is resampled again with this many times more draws


def holm(pvalues) -> np.ndarray:
    """Holm-adjusted p-values (NaN entries are left out of the family and stay NaN)."""
    p = np.asarray(pvalues, dtype=np.float64)
    return p.copy() if p.size == 0 else np.asarray(pg.multicomp(p, method="holm")[1])


def corrected_ttest(differences, n_train: int, n_test: int) -> tuple[float, float]:
    """Corrected resampled t-test (Nadeau & Bengio 2003) of J per-fold (and per-seed) score
    differences: t = mean / sqrt((1/J + n_test/n_train) * var), J - 1 degrees of freedom,
    two-sided. Returns (t, p). Raises ValueError for fewer than two differences."""
    d = np.asarray(differences, dtype=np.float64).ravel()
    if len(d) < 2:
        raise ValueError(f"need at least two differences for a t-test, got {len(d)}")
    se = np.sqrt((1 / len(d) + n_test / n_train) * d.var(ddof=1))
    if se == 0:
        return (0.0, 1.0) if d.mean() == 0 else (float(np.sign(d.mean()) * np.inf), 0.0)
    t = d.mean() / se
    return float(t), float(2 * sps.t.sf(abs(t), len(d) - 1))


def _metric(y, p, groups, metric: str) -> float:
    """One metric of ``metrics.evaluate`` (mean over dimensions), computing only that one."""
    if metric in ("mean_within_rho", "mean_pairwise"):
        v = M.within_excerpt(y, p, groups)[metric[5:]]
    else:
        v = {"mean_r2": M.r2, "mean_r": M.pearson, "mean_rho": M.spearman,
             "mean_mse": M.mse}[metric](y, p)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def _fold_scores(prep: dict, name: str, metric: str) -> np.ndarray:
    """The metric within each (seed, fold) test fold: the unit of the corrected t-test."""
    cache = prep.setdefault("folds_scored", {})
    if (name, metric) not in cache and metric == "mean_pairwise" and prep["groups"] is not None:
        cache[name, metric] = _pairwise_by_fold(prep, name)
    if (name, metric) not in cache:
        y, g, folds, p = prep["y"], prep["groups"], prep["folds"], prep["preds"][name]
        cache[name, metric] = np.array([
            _metric(y[rows], p[s, rows], None if g is None else g[rows], metric)
            for s in range(len(p)) for f in np.unique(folds[s])
            for rows in [np.flatnonzero(folds[s] == f)]])
    return cache[name, metric]


def _pairwise_by_fold(prep: dict, name: str) -> np.ndarray:
    """``_metric(..., "mean_pairwise")`` of each (seed, fold) test fold, summed from the shares
    of the pairs that the bootstrap keeps per segment (``bootstrap.statistics``): whole quarters,
    so the same sums in any order."""
    B.statistics(prep, name)
    out = []
    for s, within in enumerate(prep["within"][name]):
        folds = prep["folds"][s]
        for f in np.unique(folds):
            agree, pairs = within[folds == f][:, 2:].sum(0)
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where(pairs > 0, agree / np.maximum(pairs, 1), np.nan)
            out.append(float(np.nanmean(v)) if np.isfinite(v).any() else float("nan"))
    return np.array(out)


def _row(prep, baseline, name, m, test, n, level, seed) -> dict:
    one, kind = B.once(prep), prep.get("interval") or small_g.method(prep["n_levels"])
    a, b = (B.values(prep, [(k, one)], m)[0] for k in (baseline, name))
    if kind == small_g.JACKKNIFE:
        (lo, hi, df), se_lo, se_hi = B.jackknife(prep, name, m, level, baseline), 0.0, 0.0
    else:
        w, df = B.weights(prep, n, seed), float("nan")
        boot = B.values(prep, [(name, w)], m) - B.values(prep, [(baseline, w)], m)
        lo, hi, se_lo, se_hi = B.percentile_interval(boot.mean(1), level)
    effect = p = float("nan")
    folds = prep["folds"]
    if folds is not None:
        fa, fb = _fold_scores(prep, baseline, m), _fold_scores(prep, name, m)
        d, n_test = fb - fa, len(prep["y"]) / len(np.unique(folds[0]))
        effect = 0.0 if not d.any() else float(
            pg.compute_effsize(fb, fa, paired=True, eftype="cohen_dz"))
        p = corrected_ttest(d, len(prep["y"]) - n_test, n_test)[1]
    p_se = 0.0
    if test == "permutation":
        p, p_se = permutation_p(prep, baseline, name, m, n, seed)
    return {"config": name, "baseline": baseline, "metric": m,
            "estimate_baseline": float(a.mean()), "estimate_config": float(b.mean()),
            "difference": float((b - a).mean()), "ci_lo": lo, "ci_hi": hi,
            "seed_sd": B.sd(b - a), "n_seeds": len(a), "effect_size": effect, "p": p,
            "test": test, "ci_lo_mc_se": se_lo, "ci_hi_mc_se": se_hi, "p_mc_se": p_se,
            "n_resamples": n, "interval": kind, "df": df}


def _rows(jobs: list, which, baseline: str, test: str, n: int, level: float,
          seed: int) -> list[dict]:
    """``_row`` of the jobs numbered ``which``, in order; a block's draws and weighted sums are
    let go when the next block starts (they are made again, equal, if asked for again)."""
    out, last = [], None
    for i in which:
        _, prep, name, m = jobs[i]
        if last is not None and last is not prep:
            last.pop("weighted", None)
            last.pop("draws", None)
        out.append(_row(prep, baseline, name, m, test, n, level, seed))
        last = prep
    return out


def mark(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Holm's adjustment over all rows, then ``excludes_zero``, ``significant``, ``borderline``
    (the verdict lies within ``Z_MC`` Monte Carlo standard errors of a threshold) and
    ``verdict`` (``above``, ``below``, ``interval only``, ``indistinguishable``)."""
    t = table.copy()
    t["p_holm"] = holm(t["p"]) if len(t) else []
    t["excludes_zero"] = (t["ci_lo"] > 0) | (t["ci_hi"] < 0)
    t["significant"] = t["p_holm"] < alpha
    scale = np.where(t["p"] > 0, t["p_holm"] / t["p"].where(t["p"] > 0, 1), 1.0)
    near_p = (t["p_holm"] - alpha).abs() < Z_MC * t["p_mc_se"] * scale
    near_ci = ((t["ci_lo"].abs() < Z_MC * t["ci_lo_mc_se"])
               | (t["ci_hi"].abs() < Z_MC * t["ci_hi_mc_se"]))
    t["borderline"] = near_ci | (near_p & t["excludes_zero"])
    sure = t["significant"] & t["excludes_zero"]
    t["verdict"] = np.where(sure, np.where(t["difference"] > 0, "above", "below"),
                            np.where(t["excludes_zero"], "interval only", "indistinguishable"))
    return t


def compare(y_true, predictions: Mapping, baseline: str, clusters, groups=None,
            metrics: Sequence[str] = ("mean_r2", "mean_pairwise"), test: str = "permutation",
            n_boot: int = B.N_RESAMPLES, n_perm: int | None = None, level: float = B.LEVEL,
            alpha: float = 0.05, seed: int | Sequence[int] = 0,
            interval: str = "auto") -> pd.DataFrame:
    """Every configuration against ``baseline``, on every metric: one tidy row per pair.

    ``predictions``: {name: DataFrame indexed by segment with the dimension columns (and
    ``seed``, and ``fold`` for the per-fold statistics) or array (n, d) / (seeds, n, d)}; all
    on the same segments, seeds and folds (``by_config`` splits a stored OOF table).
    ``clusters``: the units to resample (``units.units``). ``test``: ``"permutation"``
    (default) or ``"corrected_t"`` (needs folds). One number of resamples serves the bootstrap
    and the permutations (``n_perm`` is kept for old calls and must equal it when given); rows
    near a threshold are redone with ``ESCALATE`` times as many; with 2^G <= that number for G
    units, the permutation test enumerates every assignment (exact, no Monte Carlo error).
    ``interval``: the difference's interval, ``"auto"`` (the percentile bootstrap; the jackknife
    t interval of ``small_g`` where a factor has fewer than ``small_g.SMALL_G`` units),
    ``"percentile"`` or ``"jackknife"``. Columns: config, baseline, metric, estimate_baseline,
    estimate_config, difference (config - baseline), ci_lo, ci_hi, seed_sd, n_seeds,
    effect_size, p, test, ci_lo_mc_se, ci_hi_mc_se, p_mc_se (0 where analytic or exact),
    n_resamples, interval (``small_g.PERCENTILE`` or ``small_g.JACKKNIFE``), df (its degrees
    of freedom; NaN for the bootstrap), p_holm, excludes_zero, significant, borderline,
    verdict. Several resampling ``seed`` values
    give one table per seed (the models' statistics computed once), stacked with a
    ``resampling_seed`` column: how far the verdicts depend on the draws. Raises ValueError on
    misaligned, unpaired or unknown inputs.
    """
    n = n_boot if n_perm is None else max(n_boot, n_perm)
    prep = _prepared(y_true, predictions, baseline, clusters, groups, metrics, test, interval)
    names = [name for name in predictions if name != baseline]
    return _family([(None, prep, names)], baseline, metrics, test, n, level, alpha, seed)


def _prepared(y_true, predictions, baseline, clusters, groups, metrics, test,
              interval: str = "auto") -> dict:
    if baseline not in predictions:
        raise ValueError(f"baseline {baseline!r} is not among {list(predictions)}")
    if test not in ("permutation", "corrected_t"):
        raise ValueError(f"unknown test {test!r}; choose from permutation, corrected_t")
    prep = B._prepare(y_true, predictions, clusters, groups, baseline)
    prep["interval"] = small_g.method(prep["n_levels"], interval)
    if test == "corrected_t" and prep["folds"] is None:
        raise ValueError("corrected_t needs a 'fold' column in the predictions")
    for m in metrics:
        B.check(m, groups)
    if len(predictions) < 2:
        raise ValueError(f"nothing to compare with {baseline!r}: give at least two configurations")
    return prep


def _family(blocks: list, baseline: str, metrics, test: str, n: int, level: float,
            alpha: float, seed) -> pd.DataFrame:
    """Rows of every (block, configuration, metric) of ``blocks`` ([(block, prep, names)]),
    Holm's adjustment over all of them; rows then within Monte Carlo error of a threshold are
    redone with ``ESCALATE`` times the resamples, and the family marked again."""
    jobs = [(block, prep, name, m) for block, prep, names in blocks for name in names
            for m in metrics]
    seeds = [seed] if isinstance(seed, (int, np.integer)) else list(seed)
    tables = []
    for s in seeds:
        rows = _rows(jobs, range(len(jobs)), baseline, test, n, level, s)
        again = np.flatnonzero(mark(pd.DataFrame(rows), alpha)["borderline"])
        for i, row in zip(again, _rows(jobs, again, baseline, test, n * ESCALATE, level, s),
                          strict=True):
            rows[i] = row
        table = mark(pd.DataFrame(rows), alpha)
        if blocks[0][0] is not None:
            table["block"] = [block for block, *_ in jobs]
        tables.append(table if len(seeds) == 1 else table.assign(resampling_seed=s))
    return pd.concat(tables, ignore_index=True)


def paired_difference(y_true, pred_a, pred_b, clusters, metric: str = "mean_r2", groups=None,
                      **options) -> dict:
    """B - A on one metric: ``compare``'s row for the pair (``options`` as for ``compare``)."""
    row = compare(y_true, {"a": pred_a, "b": pred_b}, "a", clusters, groups, (metric,),
                  **options).iloc[0]
    return {k: row[k] for k in row.index if k not in ("config", "baseline")}


def by_config(oof: pd.DataFrame, by: str, **where) -> dict[str, pd.DataFrame]:
    """A stored out-of-fold table split into ``compare``'s input: {value of ``by``: rows}, after
    keeping the rows where each keyword's column equals its value (e.g. ``kind="piece"``)."""
    for column, value in where.items():
        oof = oof[oof[column] == value]
    return {str(k): v.drop(columns=[by, *where]) for k, v in oof.groupby(by, sort=False)}


def _units_of(clusters, kind):
    if not isinstance(clusters, Mapping):
        return clusters
    if kind not in clusters:
        raise ValueError(f"no resampling units for {kind!r}: pass units for one split, or a "
                         "table with a 'kind' column")
    return clusters[kind]


def summarise(y_true, oof: pd.DataFrame, by: Sequence[str], clusters, groups=None,
              metrics: Sequence[str] = ("mean_r2", "mean_r", "mean_pairwise"),
              n_boot: int = B.N_RESAMPLES, level: float = B.LEVEL, seed: int = 0,
              deadpan: pd.Series | None = None, interval: str = "auto") -> pd.DataFrame:
    """Every configuration of a stored out-of-fold table (one per combination of the ``by``
    columns, e.g. ``["kind", "features"]``) with each metric's seed-averaged estimate and
    bootstrap interval: one row per (configuration, metric), columns ``by`` + metric, estimate,
    ci_lo, ci_hi, Monte Carlo errors of the ends, seed_sd, n_seeds, interval, df (as
    ``bootstrap.cluster_bootstrap_ci``, whose ``interval`` it passes on). ``clusters``: units, or
    {split kind: units} (``units.units_by_kind``) read through a ``kind`` column. With
    ``deadpan`` (a boolean per segment: a rendering of the score without expression), every
    row is given twice, ``performances`` = ``all`` and ``human`` (the same predictions scored
    on the human performances only)."""
    by, rows = list(by), []
    populations = {"all": oof}
    if deadpan is not None:
        populations["human"] = oof[~deadpan.reindex(oof.index).fillna(False).to_numpy(bool)]
    for population, table in populations.items():
        for key, part in table.groupby(by, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            keys = dict(zip(by, key, strict=True))
            ci = B.cluster_bootstrap_ci(y_true, part.drop(columns=by), _units_of(
                clusters, keys.get("kind")), list(metrics), groups, n_boot, level, seed,
                interval)
            extra = {"performances": population} if deadpan is not None else {}
            rows += [{**keys, **extra, "metric": m, **r.to_dict()} for m, r in ci.iterrows()]
    return pd.DataFrame(rows)


def compare_each(y_true, predictions: Mapping[str, Mapping], baseline: str, clusters,
                 groups=None, metrics: Sequence[str] = ("mean_r2", "mean_pairwise"),
                 test: str = "permutation", n_boot: int = B.N_RESAMPLES,
                 n_perm: int | None = None, level: float = B.LEVEL, alpha: float = 0.05,
                 seed: int | Sequence[int] = 0, interval: str = "auto") -> pd.DataFrame:
    """``compare`` within each block of ``predictions`` ({block, e.g. a split kind: {name:
    predictions}}; ``baseline`` names the reference in every block), with a ``block`` column,
    Holm's adjustment, the borderline marks and the extra resamples of borderline rows done
    over all rows: a chapter's family. ``clusters``: units, or {block: units}; the other
    arguments as for ``compare``."""
    blocks = [(block, _prepared(y_true, preds, baseline, _units_of(clusters, block), groups,
                                metrics, test, interval), [k for k in preds if k != baseline])
              for block, preds in predictions.items()]
    n = n_boot if n_perm is None else max(n_boot, n_perm)
    return _family(blocks, baseline, metrics, test, n, level, alpha, seed)
