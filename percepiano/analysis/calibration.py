"""How well a model's predictions are calibrated beyond its intervals: how far they are shrunk
toward the mean, and whether an ensemble's disagreement says where it errs.

* ``shrinkage``: per dimension, the ratio of the predictions' variance to the labels'
  (1: as spread as the ratings; a model that knows little predicts near the mean and the ratio
  falls toward 0) and the **calibration slope**, the least-squares slope of the labels on the
  predictions (Cox 1958; Van Calster et al. 2019, "Calibration: the Achilles heel of predictive
  analytics"): 1 when a prediction one point above the mean comes with ratings one point above
  on average; above 1 when predictions are shrunk, below 1 when they overreach;
  ``calibration_in_the_large`` is the mean label minus the mean prediction.
* ``spread_skill``: per dimension, Spearman's correlation between an ensemble's spread (the
  standard deviation of its members' predictions for a segment) and the absolute error of
  their mean (the spread-skill relationship of ensemble forecasting; Whitaker & Loughe 1998):
  above 0 when the members disagree more where the mean errs more.

Inputs are (n, d) arrays or DataFrames on any one scale, one row per segment, with no missing
value; ``members`` (m, n, d). Results are DataFrames indexed by dimension (the columns of a
DataFrame input, else 0..d-1). Raises ValueError on mismatched shapes, fewer than three
segments, or fewer than two members.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _frame(y, p) -> tuple[np.ndarray, np.ndarray, list]:
    names = list(y.columns) if isinstance(y, pd.DataFrame) else None
    y, p = np.asarray(y, np.float64), np.asarray(p, np.float64)
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(f"labels and predictions of one (n, d) shape expected, got {y.shape} "
                         f"and {p.shape}")
    if len(y) < 3:
        raise ValueError(f"at least three segments are needed, got {len(y)}")
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise ValueError("labels and predictions must be finite")
    return y, p, names or list(range(y.shape[1]))


def shrinkage(y_true, y_pred) -> pd.DataFrame:
    """Per dimension: ``variance_ratio`` (var(pred) / var(label)), ``calibration_slope``
    (slope of label on prediction; NaN for constant predictions) and
    ``calibration_in_the_large`` (mean label minus mean prediction)."""
    y, p, names = _frame(y_true, y_pred)
    pc, yc = p - p.mean(axis=0), y - y.mean(axis=0)
    var_p, var_y = (pc ** 2).mean(axis=0), (yc ** 2).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(var_p > 0, (pc * yc).mean(axis=0) / var_p, np.nan)
        ratio = np.where(var_y > 0, var_p / var_y, np.nan)
    return pd.DataFrame({"variance_ratio": ratio, "calibration_slope": slope,
                         "calibration_in_the_large": y.mean(axis=0) - p.mean(axis=0)},
                        index=pd.Index(names, name="dimension"))


def spread_skill(y_true, members) -> pd.DataFrame:
    """Per dimension: ``spread_skill_rho`` (Spearman's rho between the members' standard
    deviation and the absolute error of their mean, over segments; NaN where either is
    constant), ``mean_spread`` and ``mean_abs_error``."""
    from scipy.stats import spearmanr

    members = np.asarray(members, np.float64)
    if members.ndim != 3 or len(members) < 2:
        raise ValueError(f"(members >= 2, n, d) predictions expected, got {members.shape}")
    y, mean, names = _frame(y_true, members.mean(axis=0))
    spread, err = members.std(axis=0), np.abs(mean - y)
    rho = []
    for j in range(y.shape[1]):
        flat = np.ptp(spread[:, j]) == 0 or np.ptp(err[:, j]) == 0
        rho.append(np.nan if flat else float(spearmanr(spread[:, j], err[:, j]).statistic))
    return pd.DataFrame({"spread_skill_rho": rho, "mean_spread": spread.mean(axis=0),
                         "mean_abs_error": err.mean(axis=0)},
                        index=pd.Index(names, name="dimension"))
