"""Split-conformal prediction intervals and dataset percentiles for the 19 dimensions.

Split conformal prediction (Vovk, Gammerman & Shafer 2005; Lei et al. 2018): given ``n``
calibration residuals ``|y - y_hat|`` of one dimension, the interval ``y_hat +- q``, with ``q``
the ``ceil((n + 1)(1 - alpha))``-th smallest residual, contains the label of a new,
exchangeable segment with probability at least ``1 - alpha`` (marginally, for each dimension
on its own). Out-of-fold predictions of a model's recipe serve as the calibration set for the
model refitted on all the data, as in cross-conformal prediction (Vovk 2015), whose guarantee
is slightly weaker; ``coverage`` measures what the intervals achieve on held-out predictions.

Scores are on the dataset's label scale (0-1); intervals are clipped to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Conformal:
    """Per-dimension half-widths ``q`` at nominal coverage ``level`` from ``n`` residuals."""

    level: float
    dimensions: tuple[str, ...]
    q: tuple[float, ...]
    n: int

    @classmethod
    def fit(cls, y_true: pd.DataFrame, y_pred: pd.DataFrame, level: float = 0.9) -> Conformal:
        """Half-widths from calibration labels and predictions (same index and columns)."""
        if not 0 < level < 1:
            raise ValueError(f"coverage level must lie strictly between 0 and 1, got {level}")
        if list(y_true.columns) != list(y_pred.columns):
            raise ValueError("labels and predictions must have the same columns")
        y_pred = y_pred.loc[y_true.index]
        resid = np.abs(y_true.to_numpy(np.float64) - y_pred.to_numpy(np.float64))
        n = len(resid)
        rank = math.ceil((n + 1) * level)
        if rank > n:
            raise ValueError(f"{n} calibration residuals cannot give {level:.0%} coverage; "
                             f"need at least {math.ceil(level / (1 - level) - 1e-9)}")
        q = np.sort(resid, axis=0)[rank - 1]
        return cls(float(level), tuple(y_true.columns), tuple(map(float, q)), n)

    def interval(self, pred, bounds: tuple[float, float] = (0.0, 1.0)):
        """(low, high) arrays for predictions ``pred`` (..., n_dimensions), clipped to
        ``bounds``."""
        pred = np.asarray(pred, np.float64)
        q = np.array(self.q)
        return np.clip(pred - q, *bounds), np.clip(pred + q, *bounds)

    def to_dict(self) -> dict:
        return {"level": self.level, "dimensions": list(self.dimensions), "q": list(self.q),
                "n": self.n}

    @classmethod
    def from_dict(cls, d: dict) -> Conformal:
        return cls(float(d["level"]), tuple(d["dimensions"]), tuple(map(float, d["q"])),
                   int(d["n"]))


def coverage(conformal: Conformal, y_true: pd.DataFrame, y_pred: pd.DataFrame) -> pd.Series:
    """Share of labels inside their interval, per dimension (unclipped, as the guarantee)."""
    y_pred = y_pred.loc[y_true.index, list(conformal.dimensions)].to_numpy(np.float64)
    y = y_true[list(conformal.dimensions)].to_numpy(np.float64)
    inside = np.abs(y - y_pred) <= np.array(conformal.q)
    return pd.Series(inside.mean(axis=0), index=list(conformal.dimensions), name="coverage")


def percentile(values, reference: pd.DataFrame) -> np.ndarray:
    """Percentile (0-100) of each value among the reference labels of its dimension: the share
    of reference segments scoring below it, ties counted half (the mid-rank rule)."""
    ref = reference.to_numpy(np.float64)
    v = np.atleast_2d(np.asarray(values, np.float64))
    below = (ref[None, :, :] < v[:, None, :]).mean(axis=1)
    tied = (ref[None, :, :] == v[:, None, :]).mean(axis=1)
    out = 100.0 * (below + 0.5 * tied)
    return out if np.ndim(values) > 1 else out[0]


def fold_coverage(y_true: pd.DataFrame, oof: pd.DataFrame, folds, level: float = 0.9
                  ) -> pd.Series:
    """Coverage of out-of-fold predictions on music the calibration never saw: for each fold,
    intervals calibrated on the residuals of the other folds, scored on that fold; per
    dimension, over all segments. ``folds``: the fold of each row of ``oof``."""
    folds = np.asarray(folds)
    dims = list(y_true.columns)
    total = pd.Series(0.0, index=dims)
    for f in np.unique(folds):
        held = folds == f
        c = Conformal.fit(y_true.loc[oof.index[~held], dims], oof.loc[~held, dims], level)
        total += coverage(c, y_true.loc[oof.index[held]], oof.loc[held]) * held.sum()
    return (total / len(oof)).rename("coverage")
