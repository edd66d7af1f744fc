"""Statistics for honest comparisons: cluster-bootstrap intervals, paired tests, Holm correction.

* **Cluster bootstrap** (Field & Welsh 2007, "Bootstrapping clustered data", JRSS B): segments of
  the same music are not independent, so whole music groups are resampled with replacement and
  the metric is recomputed on the pooled out-of-fold predictions of the drawn groups. The
  interval is the *percentile* interval (Efron & Tibshirani 1993, ch. 13): it respects monotone
  transformations and needs no jackknife; with about fifty music groups the acceleration that
  BCa estimates from a jackknife would itself be noisy.
* **Paired comparison**: configurations A and B are scored on the same segments, folds and
  seeds, and every bootstrap resample uses the same drawn groups for both, so the interval is
  for the difference B - A. Its p-value comes from a **paired permutation test** that swaps the
  predictions of A and B for whole music groups (a sign flip of group-level differences; p-value
  (1 + #{|null| >= |observed|}) / (1 + n_perm), Phipson & Smyth 2010). It is the default because
  it needs only the stored out-of-fold predictions, works for every metric (within-excerpt ones
  too) and has the same unit of resampling as the interval. It conditions on the trained models;
  when fold ids are known, the **corrected resampled t-test** (Nadeau & Bengio 2003, "Inference
  for the generalization error"; Bouckaert & Frank 2004 for repeated k-fold) over the per-fold
  and per-seed differences also accounts for the variance of training sets (``test=
  "corrected_t"``). The effect size is Cohen's d_z of those per-fold differences (Lakens 2013).
* **Holm** (1979) step-down adjustment over all rows of one ``compare`` call.

Seeds: a metric is computed on each seed's pooled out-of-fold predictions and then averaged over
seeds (predictions are never averaged into a seed ensemble, which would flatter every model).
Every seed sees the same resampled groups, so the interval is conditional on the trained models;
``seed_sd``, the spread of the per-seed values, reports the training noise beside it. The fast
path computes R², r, MSE, within-excerpt rho and pairwise accuracy from sufficient statistics per
music group (a resample is a weighted sum of them; tested against ``metrics.evaluate``);
``mean_rho`` calls ``metrics.evaluate`` on each resample (seconds per thousand resamples and
seed instead of milliseconds).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats as sps

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import metrics as M

LEVEL = 0.95  # of every interval the book shows
FAST = ("mean_r2", "mean_r", "mean_mse", "mean_within_rho", "mean_pairwise")
METRICS = (*FAST, "mean_rho")
WITHIN = ("mean_within_rho", "mean_pairwise")
_EPS = 1e-12  # a column whose sum of squares is below _EPS * n * max|x|^2 is constant


def holm(pvalues) -> np.ndarray:
    """Holm-adjusted p-values (NaN entries are left out of the family and stay NaN)."""
    p = np.asarray(pvalues, dtype=np.float64)
    return p.copy() if p.size == 0 else np.asarray(pg.multicomp(p, method="holm")[1])


def corrected_ttest(differences, n_train: int, n_test: int) -> tuple[float, float]:
    """Corrected resampled t-test (Nadeau & Bengio 2003) of J per-fold (and per-seed) score
    differences: t = mean / sqrt((1/J + n_test/n_train) * var), J - 1 degrees of freedom,
    two-sided. Returns (t, p)."""
    d = np.asarray(differences, dtype=np.float64).ravel()
    if len(d) < 2:
        raise ValueError(f"need at least two differences for a t-test, got {len(d)}")
    se = np.sqrt((1 / len(d) + n_test / n_train) * d.var(ddof=1))
    if se == 0:
        return (0.0, 1.0) if d.mean() == 0 else (float(np.sign(d.mean()) * np.inf), 0.0)
    t = d.mean() / se
    return float(t), float(2 * sps.t.sf(abs(t), len(d) - 1))


# ---- inputs: align labels, predictions per seed, clusters and excerpts ------------------------

def _seeds(pred, names, dims) -> tuple[np.ndarray, list, np.ndarray | None]:
    """(S, n, d) predictions, their seed labels, and (S, n) fold ids when a ``fold`` column
    exists. A DataFrame may be long, one block of rows per value of its ``seed`` column."""
    if not isinstance(pred, pd.DataFrame):
        p = np.asarray(pred, dtype=np.float64)
        p = p[None] if p.ndim == 2 else p[None, :, None] if p.ndim == 1 else p
        return p, list(range(len(p))), None
    blocks = dict(list(pred.groupby("seed", sort=True))) if "seed" in pred else {0: pred}
    arrays, folds = [], []
    for s, block in blocks.items():
        if not block.index.is_unique or set(block.index) != set(names):
            raise ValueError(f"seed {s}: predictions must cover the same segments, once each "
                             "(keep one split and one configuration of an OOF table)")
        arrays.append(block.loc[names, dims].to_numpy(np.float64))
        folds.append(block.loc[names, "fold"].to_numpy() if "fold" in block else None)
    has_folds = all(f is not None for f in folds)
    return np.stack(arrays), list(blocks), np.stack(folds) if has_folds else None


def _align(values, index, names) -> np.ndarray | None:
    if values is None or index is None:
        return None if values is None else np.asarray(values)
    values = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values), index)
    return values.loc[names].to_numpy()


def _prepare(y_true, predictions: Mapping, clusters, groups, reference: str) -> dict:
    """Everything aligned on the reference configuration's segments."""
    ref, index = predictions[reference], getattr(y_true, "index", None)
    if isinstance(y_true, pd.DataFrame):
        names = list(dict.fromkeys(ref.index if isinstance(ref, pd.DataFrame) else index))
        dims = [d for d in DIMENSIONS if d in y_true.columns] or list(y_true.columns)
        y = y_true.loc[names, dims].to_numpy(np.float64)
    elif any(isinstance(p, pd.DataFrame) for p in predictions.values()):
        raise ValueError("predictions are DataFrames: pass y_true as a DataFrame too")
    else:
        names, dims, y = None, None, M._as_2d(y_true)
    preds, seeds, folds = {}, None, None
    for name, pred in predictions.items():
        p, s, f = _seeds(pred, names, dims)
        if p.shape[1:] != y.shape or not np.isfinite(p).all():
            raise ValueError(f"{name!r}: predictions of shape {p.shape[1:]} (finite) expected "
                             f"to match the labels' {y.shape}")
        if seeds is not None and s != seeds:
            raise ValueError(f"{name!r} has seeds {s} but {reference!r} has {seeds}: not paired")
        if folds is not None and f is not None and not np.array_equal(f, folds):
            raise ValueError(f"{name!r} was scored on other folds than {reference!r}: not paired")
        preds[name], seeds, folds = p, s, folds if folds is not None else f
    cl = _align(clusters, index, names)
    if cl is None or len(cl) != len(y) or pd.isna(cl).any():
        raise ValueError("clusters must give one music group for every segment")
    g = _align(groups, index, names)
    return {"y": y, "preds": preds, "seeds": seeds, "folds": folds,
            "cl": pd.factorize(cl)[0], "groups": None if g is None else pd.factorize(g)[0]}


# ---- sufficient statistics per cluster, and metrics from their (weighted) sums ----------------

def _cluster_stats(y, p, cl, groups, folds=None) -> np.ndarray:
    """(S, C, 10, d) per seed and cluster: n, sums of t, t², p, p², tp (both shifted by the
    labels' mean), then the within-excerpt rho sum, the number of excerpts with a rho, pairs
    ordered alike, pairs with different labels. With ``folds`` (S, n), within-excerpt pairs are
    formed inside a test fold only: two performances scored by different folds' models (an
    excerpt split over folds, as on the performer split) are not one model's ordering."""
    n_c, (S, n, d) = cl.max() + 1, p.shape
    t = y - y.mean(0)
    onehot = np.zeros((n_c, n))
    onehot[cl, np.arange(n)] = 1.0
    out = np.zeros((S, n_c, 10, d))
    for s in range(S):
        q = p[s] - y.mean(0)  # one shift for both keeps t - q the residual
        rows = np.stack([np.ones_like(t), t, t * t, q, q * q, t * q], axis=1)
        out[s, :, :6] = np.einsum("cn,nkd->ckd", onehot, rows)
        if groups is None:
            continue
        gs = groups if folds is None else pd.factorize(
            pd.Series(groups).astype(str) + "|" + pd.Series(folds[s]).astype(str))[0]
        for e in np.unique(gs):
            idx = np.flatnonzero(gs == e)
            c = np.unique(cl[idx])
            if len(c) > 1:
                raise ValueError("every excerpt must lie within one music group")
            res = M.within_excerpt(y[idx], p[s, idx], np.zeros(len(idx)))
            i, j = np.triu_indices(len(idx), k=1)
            pairs = (y[idx][i] != y[idx][j]).sum(0)
            if len(idx) >= M.MIN_GROUP:
                out[s, c[0], 6] += res["within_rho"]
                out[s, c[0], 7] += 1
            out[s, c[0], 8] += np.nan_to_num(res["pairwise"]) * pairs
            out[s, c[0], 9] += pairs
    return out


def _from_totals(tot: np.ndarray, metric: str, scale_t, scale_p) -> np.ndarray:
    """The metric, averaged over dimensions, from summed statistics (..., 10, d)."""
    n, st, stt, sp, spp, stp, rs, rc, agree, pairs = np.moveaxis(tot, -2, 0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ss_t, ss_p = stt - st**2 / n, spp - sp**2 / n
        ss_res = stt - 2 * stp + spp
        flat_t, flat_p = ss_t <= _EPS * n * scale_t**2, ss_p <= _EPS * n * scale_p**2
        if metric == "mean_r2":
            v = np.where(flat_t, np.where(ss_res <= _EPS * n * scale_t**2, 1.0, 0.0),
                         1 - ss_res / ss_t)
        elif metric == "mean_r":
            r = (stp - st * sp / n) / np.sqrt(ss_t * ss_p)
            v = np.clip(np.where(flat_t | flat_p, 0.0, r), -1, 1)
        elif metric == "mean_mse":
            v = ss_res / n
        elif metric == "mean_within_rho":
            v = rs / rc
        else:
            v = agree / pairs
        return np.nanmean(v, axis=-1)


def _check(metric: str, groups) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    if metric in WITHIN and groups is None:
        raise ValueError(f"{metric} needs groups (the excerpt of each segment)")


def _values(prep: dict, mix: list, metric: str) -> np.ndarray:
    """(B, S): the metric on each resample and seed. ``mix`` lists (configuration, weights):
    resample b takes cluster c ``weights[b, c]`` times from that configuration's predictions
    (one configuration with multiplicities: the bootstrap; two with 0/1 swaps: a permutation)."""
    y, cl = prep["y"], prep["cl"]
    if metric in FAST:
        cache = prep.setdefault("stats", {})
        for name, _ in mix:
            if name not in cache:
                p = prep["preds"][name]
                cache[name] = (_cluster_stats(y, p, cl, prep["groups"], prep["folds"]),
                               np.abs(p - y.mean(0)).max(1))
        tot = sum(np.einsum("bc,sckd->bskd", w, cache[name][0]) for name, w in mix)
        scale_p = np.max([cache[name][1] for name, _ in mix], axis=0)
        return _from_totals(tot, metric, np.abs(y - y.mean(0)).max(0), scale_p)
    members = [np.flatnonzero(cl == c) for c in range(cl.max() + 1)]
    dims = [str(i) for i in range(y.shape[1])]
    out = np.empty((len(mix[0][1]), len(prep["seeds"])))
    for b, s in np.ndindex(out.shape):
        rows, preds = [], []
        for name, w in mix:
            for c in np.flatnonzero(w[b]):
                rows.append(np.tile(members[c], int(w[b, c])))
                preds.append(prep["preds"][name][s, rows[-1]])
        rows = np.concatenate(rows)
        out[b, s] = M.evaluate(y[rows], np.concatenate(preds), dimensions=dims)[metric]
    return out


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.nanpercentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def _weights(n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_clusters) multiplicities of clusters drawn with replacement."""
    draws = np.random.default_rng(seed).integers(0, n_clusters, (n_boot, n_clusters))
    return np.stack([np.bincount(d, minlength=n_clusters) for d in draws]).astype(np.float64)


def _flips(n_clusters: int, n_perm: int, seed: int) -> np.ndarray:
    """(n_perm, n_clusters) 0/1: which clusters swap their two predictions."""
    rng = np.random.default_rng([seed, 1])
    return rng.integers(0, 2, (n_perm, n_clusters)).astype(np.float64)


def _permutation_p(prep: dict, a: str, b: str, metric: str, flips: np.ndarray) -> float:
    keep, one = 1 - flips, np.ones((1, flips.shape[1]))
    observed = (_values(prep, [(b, one)], metric) - _values(prep, [(a, one)], metric)).mean()
    null = (_values(prep, [(b, keep), (a, flips)], metric)
            - _values(prep, [(a, keep), (b, flips)], metric)).mean(1)
    extreme = np.sum(np.abs(null) >= abs(observed) - 1e-12)  # ties count against H1
    return float((1 + extreme) / (1 + len(flips)))


def cluster_bootstrap_ci(y_true, y_pred, clusters, metric: str | Sequence[str] = "mean_r2",
                         groups=None, n_boot: int = 1000, level: float = LEVEL, seed: int = 0):
    """Seed-averaged metric with a cluster-bootstrap percentile interval.

    ``y_pred``: an array (n, d) or (seeds, n, d) in the rows of ``y_true``, or a DataFrame
    indexed by segment (long, with a ``seed`` column, for several seeds). ``clusters`` and
    ``groups`` (excerpts, for within-excerpt metrics): Series indexed by segment or arrays in
    the rows of ``y_true``. One metric gives ``(estimate, lo, hi)``; a list of metrics gives a
    DataFrame indexed by metric: estimate, ci_lo, ci_hi, seed_sd, n_seeds.
    """
    names = [metric] if isinstance(metric, str) else list(metric)
    prep = _prepare(y_true, {"pred": y_pred}, clusters, groups, "pred")
    n_c = prep["cl"].max() + 1
    weights, rows = _weights(n_c, n_boot, seed), []
    for m in names:
        _check(m, groups)
        per_seed = _values(prep, [("pred", np.ones((1, n_c)))], m)[0]
        lo, hi = _interval(_values(prep, [("pred", weights)], m).mean(1), level)
        rows.append({"metric": m, "estimate": float(per_seed.mean()), "ci_lo": lo, "ci_hi": hi,
                     "seed_sd": _sd(per_seed), "n_seeds": len(per_seed)})
    if isinstance(metric, str):
        return rows[0]["estimate"], rows[0]["ci_lo"], rows[0]["ci_hi"]
    return pd.DataFrame(rows).set_index("metric")


def paired_permutation_test(y_true, pred_a, pred_b, clusters, metric: str = "mean_r2",
                            groups=None, n_perm: int = 1000, seed: int = 0) -> float:
    """Two-sided p-value for "A and B score alike", swapping their predictions per cluster."""
    _check(metric, groups)
    prep = _prepare(y_true, {"a": pred_a, "b": pred_b}, clusters, groups, "a")
    return _permutation_p(prep, "a", "b", metric, _flips(prep["cl"].max() + 1, n_perm, seed))


def _fold_scores(prep: dict, name: str, metric: str) -> np.ndarray:
    """The metric within each (seed, fold) test fold: the unit of the corrected t-test."""
    cache = prep.setdefault("folds_scored", {})
    if name not in cache:
        y, g, folds, p = prep["y"], prep["groups"], prep["folds"], prep["preds"][name]
        dims = [str(i) for i in range(y.shape[1])]
        cache[name] = [M.evaluate(y[rows], p[s, rows], dimensions=dims,
                                  groups=None if g is None else g[rows])
                       for s in range(len(p)) for f in np.unique(folds[s])
                       for rows in [np.flatnonzero(folds[s] == f)]]
    return np.array([scores[metric] for scores in cache[name]])


def compare(y_true, predictions: Mapping, baseline: str, clusters, groups=None,
            metrics: Sequence[str] = ("mean_r2", "mean_pairwise"), test: str = "permutation",
            n_boot: int = 1000, n_perm: int = 1000, level: float = LEVEL, alpha: float = 0.05,
            seed: int = 0) -> pd.DataFrame:
    """Every configuration against ``baseline``, on every metric: one tidy row per pair.

    ``predictions``: {name: DataFrame indexed by segment with the dimension columns (and
    ``seed``, and ``fold`` for the per-fold statistics) or array (n, d) / (seeds, n, d)}; all
    on the same segments, seeds and folds (``by_config`` splits a stored OOF table). ``test``:
    ``"permutation"`` (default) or ``"corrected_t"`` (needs folds; n_train counts the rows
    outside a test fold). Columns: config, baseline, metric, estimate_baseline, estimate_config,
    difference (config - baseline), ci_lo, ci_hi, seed_sd (of the per-seed difference),
    n_seeds, effect_size (Cohen's d_z over per-fold-and-seed differences, NaN without folds),
    p, test, p_holm (over all rows), excludes_zero, significant (p_holm < alpha).
    """
    if baseline not in predictions:
        raise ValueError(f"baseline {baseline!r} is not among {list(predictions)}")
    if test not in ("permutation", "corrected_t"):
        raise ValueError(f"unknown test {test!r}; choose from permutation, corrected_t")
    prep = _prepare(y_true, predictions, clusters, groups, baseline)
    folds = prep["folds"]
    if test == "corrected_t" and folds is None:
        raise ValueError("corrected_t needs a 'fold' column in the predictions")
    n_c = prep["cl"].max() + 1
    one, weights, flips = np.ones((1, n_c)), _weights(n_c, n_boot, seed), _flips(n_c, n_perm, seed)
    rows = []
    for name in (k for k in predictions if k != baseline):
        for m in metrics:
            _check(m, groups)
            a, b = (_values(prep, [(k, one)], m)[0] for k in (baseline, name))
            boot = (_values(prep, [(name, weights)], m) - _values(prep, [(baseline, weights)], m))
            lo, hi = _interval(boot.mean(1), level)
            effect = p = float("nan")
            if folds is not None:
                fa, fb = _fold_scores(prep, baseline, m), _fold_scores(prep, name, m)
                d, n_test = fb - fa, len(prep["y"]) / len(np.unique(folds[0]))
                effect = 0.0 if not d.any() else float(
                    pg.compute_effsize(fb, fa, paired=True, eftype="cohen_dz"))
                p = corrected_ttest(d, len(prep["y"]) - n_test, n_test)[1]
            if test == "permutation":
                p = _permutation_p(prep, baseline, name, m, flips)
            rows.append({"config": name, "baseline": baseline, "metric": m,
                         "estimate_baseline": float(a.mean()), "estimate_config": float(b.mean()),
                         "difference": float((b - a).mean()), "ci_lo": lo, "ci_hi": hi,
                         "seed_sd": _sd(b - a), "n_seeds": len(a), "effect_size": effect,
                         "p": p, "test": test})
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p"]) if len(table) else []
    table["excludes_zero"] = (table["ci_lo"] > 0) | (table["ci_hi"] < 0)
    table["significant"] = table["p_holm"] < alpha
    return table


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


def summarise(y_true, oof: pd.DataFrame, by: Sequence[str], clusters, groups=None,
              metrics: Sequence[str] = ("mean_r2", "mean_r", "mean_pairwise"),
              n_boot: int = 1000, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Every configuration of a stored out-of-fold table (one per combination of the ``by``
    columns, e.g. ``["kind", "features"]``) with each metric's seed-averaged estimate and
    cluster-bootstrap interval: one row per (configuration, metric), columns ``by`` + metric,
    estimate, ci_lo, ci_hi, seed_sd, n_seeds."""
    by, rows = list(by), []
    for key, part in oof.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        ci = cluster_bootstrap_ci(y_true, part.drop(columns=by), clusters, list(metrics),
                                  groups, n_boot, level, seed)
        rows += [{**dict(zip(by, key, strict=True)), "metric": m, **r.to_dict()}
                 for m, r in ci.iterrows()]
    return pd.DataFrame(rows)


def compare_each(y_true, predictions: Mapping[str, Mapping], baseline: str, clusters,
                 groups=None, alpha: float = 0.05, **options) -> pd.DataFrame:
    """``compare`` within each block of ``predictions`` ({block, e.g. a split kind: {name:
    predictions}}; ``baseline`` names the reference in every block), concatenated with a
    ``block`` column and Holm's adjustment redone over all rows: a chapter's family."""
    parts = [compare(y_true, preds, baseline, clusters, groups, alpha=alpha, **options)
             .assign(block=block) for block, preds in predictions.items()]
    table = pd.concat(parts, ignore_index=True)
    table["p_holm"] = holm(table["p"])
    table["significant"] = table["p_holm"] < alpha
    return table


def verdict(row, subject: str, reference: str, metric_name: str = "R²") -> str:
    """One sentence, generated from a ``compare`` row, saying whether ``subject`` scored above,
    below or indistinguishably from ``reference``: above or below only when the interval
    excludes zero *and* the Holm-adjusted test agrees; an interval that excludes zero under a
    test that does not is said as such."""
    diff = f"{row['difference']:+.3f} [{row['ci_lo']:+.3f}, {row['ci_hi']:+.3f}]"
    numbers = f"{metric_name} difference {diff}, Holm-adjusted p = {row['p_holm']:.2g}"
    side = "above" if row["difference"] > 0 else "below"
    if row["significant"] and row["excludes_zero"]:
        return f"{subject} scores {side} {reference} ({numbers})"
    if row["excludes_zero"]:
        return (f"{subject} scores {side} {reference} by an interval that excludes zero, but "
                f"not significantly after Holm's correction ({numbers})")
    return f"{subject} cannot be told apart from {reference} ({numbers})"


def join_items(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def tally(table: pd.DataFrame, reference: str, label=lambda r: r.config) -> str:
    """Generated sentences from a ``compare`` table: per metric, which rows score
    significantly above or below ``reference`` (interval excluding zero and Holm-adjusted test
    agreeing), which only by an interval that excludes zero, and which cannot be told apart
    from it. ``label(row)`` names a row."""
    names = {"mean_r2": "R²", "mean_pairwise": "within-excerpt pairwise accuracy",
             "mean_r": "r", "mean_within_rho": "within-excerpt Spearman"}
    out = []
    for metric in dict.fromkeys(table.metric):
        part = table[table.metric == metric]
        sure = part.significant & part.excludes_zero
        groups = {"significantly above": part[sure & (part.difference > 0)],
                  "significantly below": part[sure & (part.difference < 0)],
                  "holm": part[~sure & part.excludes_zero],
                  "not significantly different from": part[~sure & ~part.excludes_zero]}
        said = []
        for verb, rows in groups.items():
            if not len(rows):
                continue
            items = [f"{label(r)} ({r.difference:+.3f} [{r.ci_lo:+.3f}, {r.ci_hi:+.3f}])"
                     for r in rows.itertuples()]
            if verb == "holm":
                verb = ("not significantly different after Holm's correction, though "
                        + ("its interval excludes zero, from" if len(items) == 1
                           else "their intervals exclude zero, from"))
            said.append(f"{join_items(items)} {'is' if len(items) == 1 else 'are'} {verb} "
                        f"{reference}")
        out.append(f"In {names.get(metric, metric)}: " + "; ".join(said) + ".")
    return " ".join(out)
