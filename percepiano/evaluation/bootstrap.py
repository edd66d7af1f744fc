"""Bootstrap intervals over the units a split generalises over: one-way and two-way (pigeonhole).

* **What is resampled** (``percepiano.evaluation.units``): the unknown of each split. The piece
  split holds out music, so music groups are resampled (Field & Welsh 2007, "Bootstrapping
  clustered data", JRSS B); the work split holds out works, so works; the performer split holds
  out performers, but performers and music are *crossed* (every performer plays several
  excerpts, every excerpt is played by several performers), so performers and music groups are
  resampled together by the **pigeonhole bootstrap** (Owen 2007, "The pigeonhole bootstrap",
  Ann. Appl. Stat.): each draw takes performers with replacement and, independently, music
  groups with replacement, and a segment of performer i and music j counts ``w_i * v_j`` times.
* **The interval** is the percentile interval (Efron & Tibshirani 1993, ch. 13) of the metric on
  the pooled out-of-fold predictions of each resample. Its **Monte Carlo error** (how far the
  ends would move with another resampling seed) is estimated from 20 disjoint batches of the
  resamples: the standard deviation of the batch ends over sqrt(20). With fewer than
  ``small_g.SMALL_G`` units of a factor the percentile interval under-covers, and the
  jackknife t interval of ``small_g`` (the same leave-one-unit-out sums) replaces it.
* **Fast path**: the metric of a resample is computed from sufficient statistics summed per
  *cell* (one unit, or one performer x music combination), weighted by the cell's multiplicity.
  Within-excerpt pairs are formed inside one excerpt and one test fold; a pair whose two
  performances lie in different cells (two performers of one excerpt, in a two-way design) counts
  half in each, and an excerpt's Spearman correlation is shared equally among its performances'
  cells. Where every excerpt lies inside one cell (one-way designs) this is exact (tested
  against ``metrics.evaluate`` on the replicated rows); across cells it is the linear
  approximation of the pair's weight ``w_i w_i'`` by ``(w_i + w_i') / 2``.

Seeds: a metric is computed on each seed's pooled out-of-fold predictions and averaged over seeds
(predictions are never averaged into a seed ensemble). Every seed sees the same resample, so the
interval is conditional on the trained models; ``seed_sd`` reports the training noise beside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import metrics as M
from percepiano.evaluation import small_g
from percepiano.evaluation.within import within_shares

LEVEL = 0.95  # of every interval the book shows
N_RESAMPLES = 2000  # default bootstrap resamples and permutations; see ``comparison`` for more
FAST = ("mean_r2", "mean_r", "mean_mse", "mean_within_rho", "mean_pairwise")
METRICS = (*FAST, "mean_rho")
WITHIN = ("mean_within_rho", "mean_pairwise")
MC_BATCHES = 20  # disjoint batches of resamples that estimate the Monte Carlo error
MEMO = 16  # weighted sums kept per comparison: a permutation row of a two-way design uses ten
_EPS = 1e-12  # a column whose sum of squares is below _EPS * n * max|x|^2 is constant


# ---- inputs: labels, predictions per seed, cells of the design, excerpts ----------------------

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


def _align(values, index, names):
    if values is None or index is None:
        return None if values is None else values
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return values.loc[names]
    return pd.Series(np.asarray(values), index).loc[names]


def _design(clusters, n: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Cell of each segment (n,), the level of each factor per cell (C, F), levels per factor."""
    frame = clusters.to_frame() if isinstance(clusters, pd.Series) else (
        clusters if isinstance(clusters, pd.DataFrame) else pd.DataFrame({"unit": clusters}))
    if len(frame) != n or frame.isna().any().any() or frame.shape[1] not in (1, 2):
        raise ValueError("clusters must give one music group (or one or two crossed units) "
                         "for every segment")
    codes = np.stack([pd.factorize(frame[c].to_numpy())[0] for c in frame.columns], axis=1)
    levels, cell = np.unique(codes, axis=0, return_inverse=True)
    return cell.ravel(), levels, [int(codes[:, f].max()) + 1 for f in range(codes.shape[1])]


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
    cell, levels, n_levels = _design(_align(clusters, index, names), len(y))
    g = _align(groups, index, names)
    return {"y": y, "preds": preds, "seeds": seeds, "folds": folds, "cell": cell,
            "levels": levels, "n_levels": n_levels,
            "groups": None if g is None else pd.factorize(np.asarray(g))[0]}


# ---- sufficient statistics per cell, and metrics from their (weighted) sums -------------------

def _cell_stats(prep: dict, name: str) -> np.ndarray:
    """(S, C, 10, d) per seed and cell: n, sums of t, t², p, p², tp (both shifted by the labels'
    mean), then the within-excerpt shares of ``within.within_shares`` (kept per seed in
    ``prep["within"][name]``). With fold ids, within-excerpt pairs are formed inside a test fold
    only: two performances scored by different folds' models (an excerpt split over folds, as on
    the performer split) are not one model's ordering."""
    y, p, cell, groups, folds = (prep["y"], prep["preds"][name], prep["cell"], prep["groups"],
                                 prep["folds"])
    t, (S, _, d), n_c = y - y.mean(0), p.shape, len(prep["levels"])
    out = np.zeros((S, n_c, 10, d))
    for s in range(S):
        q = p[s] - y.mean(0)  # one shift for both keeps t - q the residual
        rows = [np.ones_like(t), t, t * t, q, q * q, t * q]
        if groups is not None:
            gs = groups if folds is None else pd.factorize(
                pd.Series(groups).astype(str) + "|" + pd.Series(folds[s]).astype(str))[0]
            within = prep.setdefault("within", {}).setdefault(name, [None] * S)
            within[s] = within_shares(y, p[s], gs)
            rows += list(np.moveaxis(within[s], 1, 0))
        np.add.at(out[s, :, :len(rows)], cell, np.stack(rows, axis=1))  # in row order
    return out


def _from_totals(tot: np.ndarray, metric: str, scale_t, scale_p) -> np.ndarray:
    """The metric, averaged over dimensions, from summed statistics (..., 10, d); only the sums
    the metric reads are combined."""
    n, st, stt, sp, spp, stp, rs, rc, agree, pairs = np.moveaxis(tot, -2, 0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if metric == "mean_within_rho":
            return np.nanmean(rs / rc, axis=-1)
        if metric == "mean_pairwise":
            return np.nanmean(agree / pairs, axis=-1)
        ss_t, ss_res = stt - st**2 / n, stt - 2 * stp + spp
        flat_t = ss_t <= _EPS * n * scale_t**2
        if metric == "mean_r2":
            v = np.where(flat_t, np.where(ss_res <= _EPS * n * scale_t**2, 1.0, 0.0),
                         1 - ss_res / ss_t)
        elif metric == "mean_r":
            ss_p = spp - sp**2 / n
            r = (stp - st * sp / n) / np.sqrt(ss_t * ss_p)
            v = np.clip(np.where(flat_t | (ss_p <= _EPS * n * scale_p**2), 0.0, r), -1, 1)
        else:
            v = ss_res / n
        return np.nanmean(v, axis=-1)


def statistics(prep: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``name``'s cell statistics (``_cell_stats``) and the largest |prediction - mean label| per
    seed and dimension (S, d), computed once per ``prep``."""
    cache = prep.setdefault("stats", {})
    if name not in cache:
        p, y = prep["preds"][name], prep["y"]
        cache[name] = (_cell_stats(prep, name), np.abs(p - y.mean(0)).max(1))
    return cache[name]


def _weighted(prep: dict, name: str, w: np.ndarray) -> np.ndarray:
    """(B, S, 10, d) sums of ``name``'s cell statistics (S, C, 10, d) weighted by ``w`` (B, C):
    one matrix product (BLAS). The last ``MEMO`` products are kept in ``prep``: a chapter asks
    for the same sums once per metric, and for the reference's once per configuration."""
    memo, key = prep.setdefault("weighted", {}), (name, id(w))
    if key in memo and memo[key][0] is w:  # the array itself is held, so its id is not reused
        memo[key] = memo.pop(key)  # most recently used last
        return memo[key][1]
    cells = statistics(prep, name)[0]
    S, C, k, d = cells.shape
    out = (w @ np.moveaxis(cells, 1, 0).reshape(C, S * k * d)).reshape(len(w), S, k, d)
    memo[key] = (w, out)
    while len(memo) > MEMO:
        memo.pop(next(iter(memo)))
    return out


def check(metric: str, groups) -> None:
    """Raise ValueError for an unknown metric, or a within-excerpt one without excerpts."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    if metric in WITHIN and groups is None:
        raise ValueError(f"{metric} needs groups (the excerpt of each segment)")


def values(prep: dict, mix: list, metric: str) -> np.ndarray:
    """(B, S): the metric on each resample and seed. ``mix`` lists (configuration, weights (B, C)):
    resample b takes cell c ``weights[b, c]`` times from that configuration's predictions (one
    configuration with multiplicities: the bootstrap; two with 0/1 swaps: a permutation)."""
    y, cell = prep["y"], prep["cell"]
    if metric in FAST:
        tot = _weighted(prep, *mix[0])  # the memo's own array: only read below
        for name, w in mix[1:]:
            tot = tot + _weighted(prep, name, w)
        scale_p = np.max([statistics(prep, name)[1] for name, _ in mix], axis=0)
        return _from_totals(tot, metric, np.abs(y - y.mean(0)).max(0), scale_p)
    members = [np.flatnonzero(cell == c) for c in range(len(prep["levels"]))]
    dims = [str(i) for i in range(y.shape[1])]
    out = np.empty((len(mix[0][1]), len(prep["seeds"])))
    for b, s in np.ndindex(out.shape):
        rows, preds = [], []
        for name, w in mix:
            for c in np.flatnonzero(w[b]):
                rows.append(np.tile(members[c], int(round(w[b, c]))))
                preds.append(prep["preds"][name][s, rows[-1]])
        rows = np.concatenate(rows)
        out[b, s] = M.evaluate(y[rows], np.concatenate(preds), dimensions=dims)[metric]
    return out


def weights(prep: dict, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, C) multiplicity of each cell: units drawn with replacement, independently per
    factor, a cell counting the product of its factors' multiplicities (Owen 2007). Drawn once
    per ``prep``, number and seed."""
    draws = prep.setdefault("draws", {})
    if ("bootstrap", n_boot, seed) not in draws:
        out = np.ones((n_boot, len(prep["levels"])))
        for f, n_units in enumerate(prep["n_levels"]):
            d = np.random.default_rng([seed, f]).integers(0, n_units, (n_boot, n_units))
            counts = np.bincount((d + n_units * np.arange(n_boot)[:, None]).ravel(),
                                 minlength=n_boot * n_units).reshape(n_boot, n_units)
            out *= counts.astype(np.float64)[:, prep["levels"][:, f]]
        draws["bootstrap", n_boot, seed] = out
    return draws["bootstrap", n_boot, seed]


def once(prep: dict) -> np.ndarray:
    """(1, C) every cell once: the weights of the estimate itself (one array per ``prep``)."""
    return prep.setdefault("draws", {}).setdefault("once", np.ones((1, len(prep["levels"]))))


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float, float, float]:
    """Percentile interval of ``samples`` (B,) and the Monte Carlo standard error of each end."""
    q = [50 * (1 - level), 50 * (1 + level)]
    lo, hi = np.nanpercentile(samples, q)
    k = MC_BATCHES if len(samples) >= 10 * MC_BATCHES else max(2, len(samples) // 10)
    ends = np.array([np.nanpercentile(b, q) for b in np.array_split(samples, k)])
    se = ends.std(0, ddof=1) / np.sqrt(k) if len(samples) >= 20 else np.full(2, np.nan)
    return float(lo), float(hi), float(se[0]), float(se[1])


def sd(v: np.ndarray) -> float:
    return float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")


def jackknife(prep: dict, name: str, metric: str, level: float,
              baseline: str | None = None) -> tuple[float, float, float]:
    """``small_g.t_interval`` of ``name``'s metric (minus ``baseline``'s: a paired difference),
    seed-averaged, around its estimate: (lo, hi, degrees of freedom)."""
    def value(w):
        v = values(prep, [(name, w)], metric)
        return (v if baseline is None else v - values(prep, [(baseline, w)], metric)).mean(1)

    draws = prep.setdefault("draws", {})
    if "deletions" not in draws:  # one array per factor and ``prep``: the sums are memoised
        draws["deletions"] = small_g.deletions(prep["levels"], prep["n_levels"])
    lo, hi, df = small_g.t_interval(value(once(prep))[0], [value(w) for w in draws["deletions"]],
                                    level)
    return float(lo), float(hi), df


def cluster_bootstrap_ci(y_true, y_pred, clusters, metric: str | Sequence[str] = "mean_r2",
                         groups=None, n_boot: int = N_RESAMPLES, level: float = LEVEL,
                         seed: int = 0, interval: str = "auto"):
    """Seed-averaged metric with an interval over ``clusters``: the bootstrap percentile
    interval, or with fewer than ``small_g.SMALL_G`` units the jackknife t interval
    (``small_g``; ``interval``: ``"auto"``, ``"percentile"`` or ``"jackknife"`` forces one).

    ``y_pred``: an array (n, d) or (seeds, n, d) in the rows of ``y_true``, or a DataFrame
    indexed by segment (long, with a ``seed`` column, for several seeds). ``clusters``: what is
    resampled (``units``): a Series (one-way) or a two-column DataFrame (crossed, two-way), or an
    array in the rows of ``y_true``; ``groups``: the excerpt of each segment, for within-excerpt
    metrics. One metric gives ``(estimate, lo, hi)``; a list gives a DataFrame indexed by metric:
    estimate, ci_lo, ci_hi, ci_lo_mc_se, ci_hi_mc_se (0 for the jackknife), seed_sd, n_seeds,
    interval (``small_g.PERCENTILE`` or ``small_g.JACKKNIFE``), df (its degrees of freedom;
    NaN for the bootstrap). Raises ValueError on misaligned inputs or an unknown metric or
    interval.
    """
    names = [metric] if isinstance(metric, str) else list(metric)
    prep = _prepare(y_true, {"pred": y_pred}, clusters, groups, "pred")
    kind, one, rows = small_g.method(prep["n_levels"], interval), once(prep), []
    for m in names:
        check(m, groups)
        per_seed = values(prep, [("pred", one)], m)[0]
        if kind == small_g.JACKKNIFE:
            (lo, hi, df), se_lo, se_hi = jackknife(prep, "pred", m, level), 0.0, 0.0
        else:
            boot, df = values(prep, [("pred", weights(prep, n_boot, seed))], m), float("nan")
            lo, hi, se_lo, se_hi = percentile_interval(boot.mean(1), level)
        rows.append({"metric": m, "estimate": float(per_seed.mean()), "ci_lo": lo, "ci_hi": hi,
                     "ci_lo_mc_se": se_lo, "ci_hi_mc_se": se_hi, "seed_sd": sd(per_seed),
                     "n_seeds": len(per_seed), "interval": kind, "df": df})
    if isinstance(metric, str):
        return rows[0]["estimate"], rows[0]["ci_lo"], rows[0]["ci_hi"]
    return pd.DataFrame(rows).set_index("metric")
