"""Error analysis of stored out-of-fold predictions: where the models fail, and whether the
raters' own disagreement explains it.

* ``group_errors``: the mean absolute error (points of the 1-7 scale) of each group of
  segments (a dimension, a work, a performer), with a percentile interval from a cluster
  bootstrap over resampling units (music groups): which groups are hardest, and how sure.
* ``against_disagreement``: per dimension, Spearman's correlation of a segment's absolute error
  with the raters' disagreement (the standard deviation of its ratings) and with its number of
  ratings: errors that grow with disagreement are partly the raters' noise, not the model's.
* ``always_wrong``: the segments in the worst share of every system's errors (mean absolute
  error over the dimensions): what no model gets right.
* ``reading``: a short description of a performance from its descriptors, the ones on which it
  stands furthest from the development performances, in the words of
  ``analysis.descriptor_words``.

Shapes: labels and predictions (n, 19) DataFrames on the 0-1 label scale indexed by segment;
errors are reported on the 1-7 scale (times ``SCALE_MAX``). Raises ValueError on misaligned
inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from percepiano.data.dataset import SCALE_MAX

WORST_SHARE = 0.1  # ``always_wrong``: the worst tenth of every system's errors


def _abs_errors(y: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
    if not p.index.isin(y.index).all() or list(p.columns) != list(y.columns):
        raise ValueError("predictions must have the labels' columns and segments among theirs")
    return (p - y.loc[p.index]).abs() * SCALE_MAX


def group_errors(y: pd.DataFrame, p: pd.DataFrame, groups: pd.Series | None, units: pd.Series,
                 n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Mean absolute error per group, hardest first: ``groups`` gives each segment's group
    (None: each dimension is a group); ``units`` each segment's resampling unit. Columns
    ``group``, ``segments``, ``mae``, ``ci_lo``, ``ci_hi`` (points of the 1-7 scale); the
    interval resamples units with replacement and keeps each unit's segments together."""
    err = _abs_errors(y, p)
    long = (err.stack().rename("e").reset_index(level=1).rename(columns={"level_1": "group"})
            if groups is None else err.mean(axis=1).rename("e").to_frame()
            .assign(group=groups.loc[err.index].to_numpy()))
    long = long.assign(unit=units.loc[long.index].to_numpy())
    # per (group, unit): error sum and count, then resample units
    cells = long.groupby(["group", "unit"], sort=True).e.agg(["sum", "count"]).unstack(
        fill_value=0)
    sums, counts = cells["sum"].to_numpy(), cells["count"].to_numpy()
    rng = np.random.default_rng(seed)
    n_units = sums.shape[1]
    w = np.stack([np.bincount(rng.integers(0, n_units, n_units), minlength=n_units)
                  for _ in range(n_boot)])  # (n_boot, units)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (w @ sums.T) / (w @ counts.T)  # (n_boot, groups)
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
    out = pd.DataFrame({"group": cells.index, "segments": counts.sum(axis=1),
                        "mae": sums.sum(axis=1) / counts.sum(axis=1), "ci_lo": lo, "ci_hi": hi})
    return out.sort_values("mae", ascending=False, ignore_index=True)


def against_disagreement(y: pd.DataFrame, p: pd.DataFrame, label_std: pd.DataFrame,
                         n_ratings: pd.Series) -> pd.DataFrame:
    """Per dimension: Spearman's rho of the absolute error with the ratings' standard
    deviation (``rho_disagreement``) and with the number of ratings (``rho_ratings``; NaN when
    every segment has as many), over the predicted segments."""
    from scipy.stats import spearmanr

    err = _abs_errors(y, p)
    sd = label_std.loc[err.index, err.columns]
    n = n_ratings.loc[err.index].to_numpy(np.float64)
    rows = []
    for d in err.columns:
        e = err[d].to_numpy()
        rows.append({"dimension": d,
                     "rho_disagreement": float(spearmanr(e, sd[d].to_numpy()).statistic),
                     "rho_ratings": (np.nan if np.ptp(n) == 0
                                     else float(spearmanr(e, n).statistic))})
    return pd.DataFrame(rows).set_index("dimension")


def always_wrong(y: pd.DataFrame, systems: Mapping[str, pd.DataFrame],
                 share: float = WORST_SHARE) -> pd.DataFrame:
    """The segments whose mean absolute error (over the dimensions) is among the
    ``ceil(share * n)`` largest of every system in ``systems`` ({name: predictions}, each over
    the same ``n`` segments), worst first: one row per segment with each system's error (1-7
    points) and their ``mean``."""
    if not 0 < share < 1:
        raise ValueError(f"share must lie strictly between 0 and 1, got {share}")
    errs = {name: _abs_errors(y, p).mean(axis=1) for name, p in systems.items()}
    frame = pd.DataFrame(errs).dropna()
    k = int(np.ceil(share * len(frame)))
    worst = (frame.rank(ascending=False, method="first") <= k).all(axis=1)
    return frame[worst].assign(mean=frame[worst].mean(axis=1)).sort_values(
        "mean", ascending=False)


def reading(row: pd.Series, reference: pd.DataFrame, top: int = 3) -> str:
    """A sentence on the ``top`` descriptors of ``row`` (one segment's descriptors, named as
    ``forest.feature_table``'s columns) on which it stands furthest from the middle of
    ``reference`` (the development performances' values of the same columns), each with its
    value and standing (``descriptor_words``); descriptors without words are skipped."""
    from percepiano.analysis import descriptor_words as W
    from percepiano.evaluation.verdicts import join_items

    scored = []
    for column, value in row.items():
        try:
            w = W.words(str(column))
        except KeyError:
            continue
        ref = reference[column].to_numpy(np.float64)
        if not np.isfinite(value) or not np.isfinite(ref).any():
            continue
        s = W.shares(float(value), ref)
        scored.append((abs(s["below"] - s["above"]), str(column), float(value), w, ref))
    scored.sort(key=lambda t: (-t[0], t[1]))
    said = [f"{w.say(v)}, {W.standing(v, ref, w.more, w.less)}"
            for _, _, v, w, ref in scored[:top]]
    if not said:
        raise ValueError("no descriptor of this segment has words to read it with")
    text = join_items(said)
    return text[0].upper() + text[1:] + "."
