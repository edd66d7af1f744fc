"""Per-dimension evaluation metrics: Pearson r, Spearman rho, R², MSE, and their means; and the
within-excerpt metrics that judge the playing rather than the music.

Within-excerpt metrics compare only performances of the same excerpt, so recognising which music
is playing earns nothing: ``within_rho`` is the mean over excerpts (with at least
``MIN_GROUP`` performances) of the Spearman correlation between predictions and labels across that
excerpt's performances; ``pairwise`` is the fraction of same-excerpt pairs with different labels
that the predictions order the same way (a tie in the predictions counts one half), so 0.5 is
chance.

R² is the coefficient of determination exactly as ``sklearn.metrics.r2_score`` computes it
(uniform average over outputs; a constant target gives 1.0 for a perfect prediction and 0.0
otherwise). Pearson and Spearman with a constant vector are mathematically undefined; we score
them 0 (a constant prediction carries no ordering), so that means over dimensions and folds stay
defined and a constant baseline reads as "no correlation". Ceiling-normalised values divide by
the noise ceiling of each dimension (see ``percepiano.evaluation.ceiling``): 1.0 means "as good
as the raters agree with each other".
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from percepiano.data.dataset import DIMENSIONS


def _as_2d(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y[:, None] if y.ndim == 1 else y


def r2(y_true, y_pred) -> np.ndarray:
    """Per-column R², identical to ``r2_score(..., multioutput='raw_values')``."""
    t, p = _as_2d(y_true), _as_2d(y_pred)
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    out = np.where(ss_res == 0, 1.0, 0.0)
    ok = ss_tot != 0
    out[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    return out


def _unit_scale(c: np.ndarray) -> np.ndarray:
    """Columns divided by their largest absolute value. Correlation does not change with scale,
    and squares of tiny (1e-200) or huge values would underflow to 0 or overflow to inf."""
    m = np.abs(c).max(axis=0)
    return c / np.where(m > 0, m, 1.0)


def pearson(y_true, y_pred) -> np.ndarray:
    """Per-column Pearson correlation (0 where either column is constant)."""
    t, p = _as_2d(y_true), _as_2d(y_pred)
    tc, pc = _unit_scale(t - t.mean(axis=0)), _unit_scale(p - p.mean(axis=0))
    constant = (np.ptp(t, axis=0) == 0) | (np.ptp(p, axis=0) == 0)
    denom = np.sqrt((tc**2).sum(axis=0) * (pc**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (tc * pc).sum(axis=0) / denom
    r[constant] = 0.0  # no ordering to agree with: scored 0, not undefined
    return np.clip(r, -1.0, 1.0)


def spearman(y_true, y_pred) -> np.ndarray:
    """Per-column Spearman rank correlation (average ranks for ties)."""
    t, p = _as_2d(y_true), _as_2d(y_pred)
    return pearson(stats.rankdata(t, axis=0), stats.rankdata(p, axis=0))


MIN_GROUP = 3  # a Spearman correlation over two performances is always +-1


def within_excerpt(y_true, y_pred, groups) -> dict[str, np.ndarray]:
    """Per-column ``within_rho`` and ``pairwise`` accuracy over the rows sharing a ``groups``
    value (see the module docstring); NaN where no group qualifies."""
    t, p = _as_2d(y_true), _as_2d(y_pred)
    groups = np.asarray(groups)
    if len(groups) != len(t):
        raise ValueError(f"groups has {len(groups)} entries for {len(t)} rows")
    rhos, agree, pairs = [], np.zeros(t.shape[1]), np.zeros(t.shape[1])
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        if len(idx) < 2:
            continue
        gt, gp = t[idx], p[idx]
        if len(idx) >= MIN_GROUP:
            rhos.append(spearman(gt, gp))
        i, j = np.triu_indices(len(idx), k=1)
        dt, dp = np.sign(gt[i] - gt[j]), np.sign(gp[i] - gp[j])
        differ = dt != 0
        agree += np.where(differ, np.where(dp == 0, 0.5, (dt == dp).astype(float)), 0).sum(0)
        pairs += differ.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pairwise = np.where(pairs > 0, agree / np.maximum(pairs, 1), np.nan)
    rho = np.mean(rhos, axis=0) if rhos else np.full(t.shape[1], np.nan)
    return {"within_rho": rho, "pairwise": pairwise}


def mse(y_true, y_pred) -> np.ndarray:
    t, p = _as_2d(y_true), _as_2d(y_pred)
    return ((t - p) ** 2).mean(axis=0)


def evaluate(y_true, y_pred, ceiling: Mapping | None = None,
             dimensions: Sequence[str] = DIMENSIONS, groups=None) -> dict:
    """All metrics per dimension and their means.

    ``ceiling`` (optional) is ``noise_ceiling(...)``'s result (or any mapping with ``ceiling_r``
    and ``ceiling_r2`` per dimension); it adds ``r_norm`` and ``r2_norm`` (value / ceiling).
    ``groups`` (optional, one excerpt id per row) adds ``within_rho`` and ``pairwise``.
    """
    t, p = _as_2d(y_true), _as_2d(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has {p.shape}")
    if t.shape[1] != len(dimensions):
        raise ValueError(f"expected {len(dimensions)} columns, got {t.shape[1]}")
    if t.shape[0] < 2:
        raise ValueError("need at least two rows to compute correlations")
    cols = {"r2": r2(t, p), "r": pearson(t, p), "rho": spearman(t, p), "mse": mse(t, p)}
    if groups is not None:
        cols.update(within_excerpt(t, p, groups))
    if ceiling is not None:
        cr = np.array([ceiling["ceiling_r"][d] for d in dimensions])
        cr2 = np.array([ceiling["ceiling_r2"][d] for d in dimensions])
        cols["r_norm"] = cols["r"] / cr
        cols["r2_norm"] = cols["r2"] / cr2
    with warnings.catch_warnings():  # an all-NaN column (no qualifying group) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        out = {f"mean_{k}": float(np.nanmean(v)) for k, v in cols.items()}
    out["per_dimension"] = {d: {k: float(v[i]) for k, v in cols.items()}
                            for i, d in enumerate(dimensions)}
    return out
