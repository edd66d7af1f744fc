"""Each segment's share of the within-excerpt statistics, for the bootstrap's cells.

``metrics.within_excerpt`` scores the performances of one excerpt at a time: the Spearman
correlation across them (excerpts of at least ``metrics.MIN_GROUP``) and the share of their pairs
with different labels that the predictions order alike (a prediction tie counts one half). The
bootstrap (``evaluation.bootstrap``) resamples *cells* of segments, so it needs those statistics
per segment: an excerpt's correlation shared equally among its performances, each pair counted
half in each of its two. ``within_shares`` computes them for all excerpts of one size at once,
with the same floating-point operations as ``metrics`` does one excerpt at a time (the pair
counts are whole quarters, exact in any order), so the numbers are the same to the last bit.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from percepiano.evaluation.metrics import MIN_GROUP


def _pearson_rows(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``metrics.pearson`` of every block of (G, k, d) along its k rows: (G, d), the same
    floating-point operations in the same order as one call per block."""
    tc, pc = t - t.mean(axis=1, keepdims=True), p - p.mean(axis=1, keepdims=True)
    tm, pm = np.abs(tc).max(axis=1, keepdims=True), np.abs(pc).max(axis=1, keepdims=True)
    tc, pc = tc / np.where(tm > 0, tm, 1.0), pc / np.where(pm > 0, pm, 1.0)
    constant = (np.ptp(t, axis=1) == 0) | (np.ptp(p, axis=1) == 0)
    denom = np.sqrt((tc**2).sum(axis=1) * (pc**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (tc * pc).sum(axis=1) / denom
    r[constant] = 0.0
    return np.clip(r, -1.0, 1.0)


def within_shares(y, p, groups) -> np.ndarray:
    """(n, 4, d) each segment's share of the within-excerpt statistics: rho sum, excerpts with a
    rho, pairs ordered alike (a prediction tie counts one half), pairs with different labels.
    ``y``, ``p``: (n, d) labels and predictions; ``groups``: (n,) the excerpt of each segment
    (labels of any kind; an excerpt and a test fold where pairs must stay within a fold).
    Excerpts of one size are computed together, as (excerpts, size, d) blocks."""
    out = np.zeros((len(y), 4, y.shape[1]))
    order = np.argsort(groups, kind="stable")  # rows of one excerpt together, in row order
    _, start, size = np.unique(np.asarray(groups)[order], return_index=True, return_counts=True)
    for k in np.unique(size[size >= 2]):
        idx = order[start[size == k][:, None] + np.arange(k)]  # (G, k) rows of each excerpt
        yk, pk = y[idx], p[idx]
        if k >= MIN_GROUP:
            rho = _pearson_rows(rankdata(yk, axis=1), rankdata(pk, axis=1))
            out[idx, 0] = rho[:, None, :] / k
            out[idx, 1] = 1 / k
        i, j = np.triu_indices(k, k=1)
        dt, dp = np.sign(yk[:, i] - yk[:, j]), np.sign(pk[:, i] - pk[:, j])
        differ = dt != 0
        agree = np.where(differ, np.where(dp == 0, 0.5, (dt == dp).astype(float)), 0.0)
        member = np.zeros((k, len(i)))  # member[a, q]: row a is one of pair q's two
        member[i, np.arange(len(i))] = member[j, np.arange(len(i))] = 0.5
        for col, v in ((2, agree), (3, differ.astype(float))):
            out[idx, col] = member @ v  # whole quarters: exact in any order
    return out
