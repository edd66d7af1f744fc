"""Prediction intervals that cover the unusual ratings too: split conformal with a stretched
centre and a locally weighted width, and coverage read by group.

Split conformal (``analysis.conformal``) covers a share ``level`` of the labels *marginally*:
on average over segments, not for the segments a user cares about. Out-of-fold predictions
shrink toward the mean, so a segment rated in the outer tenths of a dimension (below its 10th
or above its 90th percentile) lies farther from the mean than its prediction, and intervals
of one width per dimension miss it more than half the time while the middle of the range is
covered more often than nominal. ``TailConformal`` moves those misses:

* **centre** ``m + (1 + c)(y_hat - m)``: the prediction's offset from the calibration labels'
  mean ``m`` stretched by ``1 + c``, with ``c`` the smallest of ``STRETCHES`` at which the
  intervals of a nominal ``STRETCH_LEVEL`` cover at least ``tail_level`` of the calibration
  labels in the outer tenths (mean over the dimensions); chosen on the calibration set alone,
  and once for every level, so that the intervals of two levels share their centre and nest;
* **width** ``q * sigma(x)``: locally weighted (normalised) conformal (Papadopoulos et al.
  2008; Lei et al. 2018, section 5.2): ``sigma`` a random forest's estimate of the absolute
  residual from the descriptors and the predictions, cross-fitted over the calibration folds
  so that no segment's residual scales itself, and ``q`` the conformal quantile of
  ``|y - centre| / sigma`` per dimension.

The interval always holds the prediction itself. Its guarantee stays marginal (at least
``level`` of exchangeable new segments, each dimension on its own); what changes is where the
misses fall, which ``group_coverage`` measures out of fold (``fold_intervals``): on the outer
tenths, the middle 80 % and the deadpan renderings of the score. Scores are on the label scale
(0-1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TAIL = 0.1  # the outer tenths: below the 10th or above the 90th percentile of a dimension
STRETCH_LEVEL, TAIL_LEVEL = 0.8, 0.7  # the stretch: the outer tenths at 70 % at nominal 80 %
STRETCHES = tuple(round(0.1 * i, 1) for i in range(11))  # c: at most twice the offset
DIFFICULTY_STRETCH = 0.5  # sigma learns the residual around this centre (mid-grid), once
DIFFICULTY_TREES, DIFFICULTY_LEAF = 50, 10  # a smooth estimate; ~0.3 s per fit on 1000 rows
FLOOR = 1e-3  # sigma below a seventh of a hundredth of a point would divide by ~0


def _rank(n: int, level: float) -> int:
    if not 0 < level < 1:
        raise ValueError(f"coverage level must lie strictly between 0 and 1, got {level}")
    rank = math.ceil((n + 1) * level)
    if rank > n:
        raise ValueError(f"{n} calibration residuals cannot give {level:.0%} coverage; "
                         f"need at least {math.ceil(level / (1 - level) - 1e-9)}")
    return rank


def _difficulty(F: np.ndarray, target: np.ndarray, seed: int):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(DIFFICULTY_TREES, min_samples_leaf=DIFFICULTY_LEAF,
                                 max_features=0.33, random_state=seed, n_jobs=1).fit(F, target)


def outer(y: np.ndarray, reference: np.ndarray | None = None, tail: float = TAIL) -> np.ndarray:
    """True where a label (n, d) lies in the outer tenths of its dimension: below the
    ``tail`` or above the ``1 - tail`` quantile of ``reference`` (default: ``y``)."""
    ref = y if reference is None else reference
    return (y < np.quantile(ref, tail, axis=0)) | (y > np.quantile(ref, 1 - tail, axis=0))


@dataclass(frozen=True, eq=False)
class TailConformal:
    """Fitted intervals: ``mean`` (d,) and ``stretch`` c of the centre, ``q`` (d,) the
    quantile of the scaled residuals, ``difficulty`` the fitted sigma forest, ``with_rows``
    whether it reads descriptors besides the predictions, ``n`` calibration segments."""

    level: float
    tail_level: float
    mean: np.ndarray
    stretch: float
    q: np.ndarray
    difficulty: object
    with_rows: bool
    n: int

    @classmethod
    def fit(cls, y_true, y_pred, level: float = 0.8, rows=None, folds=None,
            tail_level: float = TAIL_LEVEL, seed: int = 0) -> TailConformal:
        """Fit on calibration labels and predictions (n, d; arrays or frames, same order),
        optional descriptor ``rows`` (n, k) that sigma also reads, and ``folds`` (n,), the
        cross-validation fold of each row (sigma is cross-fitted over them; default, or when
        they hold a single fold, four seeded random folds, which flatter sigma where the folds
        hold out groups);
        ``tail_level``: the outer tenths' coverage the stretch seeks at ``STRETCH_LEVEL``.
        Raises ValueError for a level outside (0, 1), shapes that differ, or too few
        segments for the level."""
        y, p = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
        if y.shape != p.shape or y.ndim != 2:
            raise ValueError(f"labels and predictions must be two arrays of the same (n, d) "
                             f"shape, got {y.shape} and {p.shape}")
        n = len(y)
        rank, at = _rank(n, level), _rank(n, STRETCH_LEVEL)
        F = p if rows is None else np.hstack([np.asarray(rows, np.float64), p])
        if len(F) != n:
            raise ValueError(f"{len(F)} descriptor rows for {n} calibration segments")
        if folds is None or len(np.unique(folds)) < 2:  # one fold cannot cross-fit itself
            folds = np.random.default_rng(seed).permutation(n) % 4
        folds = np.asarray(folds)
        m = y.mean(axis=0)
        resid = np.abs(y - (m + (1 + DIFFICULTY_STRETCH) * (p - m)))
        sigma = np.empty_like(resid)
        for f in np.unique(folds):  # cross-fitted: no residual scales itself
            held = folds == f
            sigma[held] = _difficulty(F[~held], resid[~held], seed).predict(F[held])
        sigma = np.maximum(sigma, FLOOR)
        tails = outer(y)
        stretch = STRETCHES[-1]
        for c in STRETCHES:  # the least stretch whose outer tenths reach tail_level
            scores = np.abs(y - (m + (1 + c) * (p - m))) / sigma
            q = np.sort(scores, axis=0)[at - 1]
            if np.mean([(scores[tails[:, d], d] <= q[d]).mean()
                        for d in range(y.shape[1]) if tails[:, d].any()] or [1.0]) >= tail_level:
                stretch = c
                break
        scores = np.abs(y - (m + (1 + stretch) * (p - m))) / sigma
        q = np.sort(scores, axis=0)[rank - 1]
        return cls(float(level), float(tail_level), m, float(stretch), q,
                   _difficulty(F, resid, seed), rows is not None, n)

    def interval(self, pred, bounds: tuple[float, float] = (0.0, 1.0), rows=None):
        """(low, high) arrays, each the shape of ``pred`` ((d,) or (n, d)), clipped to
        ``bounds``; ``rows`` ((k,) or (n, k)) the descriptors of the same segments, needed
        when fitted with rows. Raises ValueError when they are needed and missing."""
        pred = np.asarray(pred, np.float64)
        p = np.atleast_2d(pred)
        if self.with_rows:
            if rows is None:
                raise ValueError("these intervals read descriptor rows beside the predictions")
            p_rows = np.atleast_2d(np.asarray(rows, np.float64))
            F = np.hstack([p_rows, p])
        else:
            F = p
        sigma = np.maximum(np.atleast_2d(self.difficulty.predict(F)), FLOOR)
        centre = self.mean + (1 + self.stretch) * (p - self.mean)
        low = np.minimum(centre - self.q * sigma, p)
        high = np.maximum(centre + self.q * sigma, p)
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
        return (low, high) if pred.ndim > 1 else (low[0], high[0])


def fold_intervals(y_true, y_pred, folds, level: float, method: str = "tail", rows=None,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold intervals (low, high), each (n, d): every fold's segments scored with
    intervals fitted on the other folds (cross-conformal, Vovk 2015). ``method``: ``"tail"``
    (``TailConformal``, sigma cross-fitted over the other folds) or ``"marginal"``
    (``conformal.Conformal``, one half-width per dimension)."""
    import pandas as pd

    from percepiano.analysis.conformal import Conformal

    if method not in ("tail", "marginal"):
        raise ValueError(f"unknown method {method!r}; choose from tail, marginal")
    y, p, folds = (np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64),
                   np.asarray(folds))
    rows = None if rows is None else np.asarray(rows, np.float64)
    low, high = np.empty_like(p), np.empty_like(p)
    for f in np.unique(folds):
        held = folds == f
        if method == "marginal":
            c = Conformal.fit(pd.DataFrame(y[~held]), pd.DataFrame(p[~held]), level)
            low[held], high[held] = c.interval(p[held], (-np.inf, np.inf))
            continue
        c = TailConformal.fit(y[~held], p[~held], level,
                              None if rows is None else rows[~held], folds[~held], seed=seed)
        low[held], high[held] = c.interval(p[held], (-np.inf, np.inf),
                                           None if rows is None else rows[held])
    return low, high


def group_coverage(y_true, low, high, deadpan=None, tail: float = TAIL) -> dict:
    """Share of labels (n, d) inside their intervals: over all (``marginal``), over the labels
    in the outer tenths of their dimension (``outer``) and in the middle (``middle``), over
    the deadpan renderings (``deadpan``, when the boolean ``deadpan`` (n,) is given), and the
    mean ``width`` of the intervals of the middle labels (label scale); ``per_dimension``:
    the marginal coverage of each dimension (d,)."""
    y = np.asarray(y_true, np.float64)
    inside = (y >= low) & (y <= high)
    tails = outer(y, tail=tail)
    out = {"marginal": float(inside.mean()), "outer": float(inside[tails].mean()),
           "middle": float(inside[~tails].mean()),
           "width": float((np.asarray(high) - np.asarray(low))[~tails].mean()),
           "per_dimension": inside.mean(axis=0)}
    if deadpan is not None:
        out["deadpan"] = float(inside[np.asarray(deadpan, bool)].mean())
    return out


def coverage_by_method(y_true, y_pred, folds, levels, rows=None, deadpan=None,
                       seed: int = 0) -> dict:
    """JSON-able out-of-fold coverage at each of ``levels`` of the ``tail`` intervals
    (``coverage``) and of the plain split-conformal ones (``coverage_marginal``):
    {key: {level: {mean, min, max (of the dimensions' marginal coverage), outer, middle,
    deadpan (when given), width (of the middle labels' intervals, label scale)}}}."""
    out: dict = {"coverage": {}, "coverage_marginal": {}}
    for level in levels:
        for method, key in (("tail", "coverage"), ("marginal", "coverage_marginal")):
            low, high = fold_intervals(y_true, y_pred, folds, level, method, rows, seed)
            g = group_coverage(y_true, low, high, deadpan)
            per = g.pop("per_dimension")
            out[key][f"{level:g}"] = {"mean": float(per.mean()), "min": float(per.min()),
                                      "max": float(per.max()), **g}
    return out


def coverage_table(y_true, oof, level: float, rows=None, deadpan=None):
    """``group_coverage`` of both kinds of intervals, out of fold, per split, averaged over
    seeds: ``y_true`` labels (segments, d) indexed by name; ``oof`` rows with the dimensions,
    ``seed``, ``fold`` and ``kind``, indexed by name; ``rows`` descriptors and ``deadpan``
    flags indexed by name. Columns ``kind``, ``intervals`` (``tail``, ``marginal``),
    ``marginal``, ``outer``, ``middle``, ``deadpan`` (when given), ``width`` (label scale)."""
    import pandas as pd

    dims = list(y_true.columns)
    out = []
    for kind, part in oof.groupby("kind", sort=False):
        for method in ("marginal", "tail"):
            runs = []
            for _, p in part.groupby("seed"):
                y = y_true.loc[p.index, dims].to_numpy(np.float64)
                low, high = fold_intervals(y, p[dims], p["fold"], level, method,
                                           None if rows is None else rows.loc[p.index])
                g = group_coverage(y, low, high,
                                   None if deadpan is None else deadpan.loc[p.index])
                g.pop("per_dimension")
                runs.append(g)
            out.append({"kind": kind, "intervals": method,
                        **pd.DataFrame(runs).mean().to_dict()})
    return pd.DataFrame(out)
