"""Identity baselines: predictions that know *which* music or *who* plays, not *how*.

* ``global_mean``    the training mean of each dimension;
* ``excerpt_mean``   the training mean of segments of the same excerpt (the same music by other
                     performers), the global mean when the excerpt is unseen;
* ``performer_mean`` the training mean of the same performer's segments, the global mean when
                     the performer is unseen;
* ``performer_work_mean`` the training mean of the same performer playing the same work (other
                     excerpts of it), else the performer mean, else the global mean;
* ``work_performer_offset`` the work's training mean (global mean when the work is unseen) plus
                     the performer's mean offset from the work means over their training segments.

The strongest of them on a split (``bar``) is what every listening model is measured against: it
knows who plays and which music, and never hears a note.

Fitted on training folds only. On a random split the excerpt mean scores well because every
test excerpt was heard in training: that is what a random split rewards. On the piece split it
cannot (every test excerpt is unseen) and falls back to the global mean.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from percepiano.data.dataset import DIMENSIONS, PercePiano
from percepiano.evaluation.cross_validation import cross_validate

BASELINES = ("global_mean", "excerpt_mean", "performer_mean", "performer_work_mean",
             "work_performer_offset")


def group_mean_predictor(ds: PercePiano, column: str | None):
    """``fit_predict`` for the mean of training segments sharing ``column`` (None: global)."""

    def fit_predict(train, val, test):
        fit = list(train) + list(val)  # no selection to make: use the whole training portion
        y = ds.labels.loc[fit, list(DIMENSIONS)]
        glob = y.mean().to_numpy()
        if column is None:
            return np.tile(glob, (len(test), 1))
        means = y.groupby(ds.segments.loc[fit, column]).mean()
        keys = ds.segments.loc[test, column]
        return np.stack([means.loc[k].to_numpy() if k in means.index else glob for k in keys])

    return fit_predict


def performer_work_predictor(ds: PercePiano):
    """``fit_predict`` for the mean of the same performer on the same work, falling back to the
    performer mean, then the global mean."""
    seg = ds.segments

    def fit_predict(train, val, test):
        fit = list(train) + list(val)
        y = ds.labels.loc[fit, list(DIMENSIONS)]
        glob = y.mean().to_numpy()
        pair = y.groupby([seg.loc[fit, "performer"], seg.loc[fit, "piece"]]).mean()
        perf = y.groupby(seg.loc[fit, "performer"]).mean()
        out = []
        for name in test:
            who, work = seg.loc[name, "performer"], seg.loc[name, "piece"]
            if (who, work) in pair.index:
                out.append(pair.loc[(who, work)].to_numpy())
            elif who in perf.index:
                out.append(perf.loc[who].to_numpy())
            else:
                out.append(glob)
        return np.stack(out)

    return fit_predict


def work_offset_predictor(ds: PercePiano):
    """``fit_predict`` for the work's mean plus the performer's mean offset from work means."""
    seg = ds.segments

    def fit_predict(train, val, test):
        fit = list(train) + list(val)
        y = ds.labels.loc[fit, list(DIMENSIONS)]
        glob = y.mean()
        work = y.groupby(seg.loc[fit, "piece"]).mean()
        offset = (y - work.loc[seg.loc[fit, "piece"]].to_numpy()).groupby(
            seg.loc[fit, "performer"]).mean()
        zero = pd.Series(0.0, index=glob.index)
        return np.stack([
            (work.loc[w] if w in work.index else glob).to_numpy()
            + (offset.loc[p] if p in offset.index else zero).to_numpy()
            for w, p in zip(seg.loc[test, "piece"], seg.loc[test, "performer"], strict=True)])

    return fit_predict


def predictors(ds: PercePiano) -> dict:
    """{baseline name: fit_predict} for every identity baseline."""
    return {"global_mean": group_mean_predictor(ds, None),
            "excerpt_mean": group_mean_predictor(ds, "excerpt"),
            "performer_mean": group_mean_predictor(ds, "performer"),
            "performer_work_mean": performer_work_predictor(ds),
            "work_performer_offset": work_offset_predictor(ds)}


def identity_baselines(ds: PercePiano, kind: str, k: int = 4, seed: int = 0,
                       ceiling: Mapping | None = None, progress: bool = False) -> dict:
    """{baseline name: cross-validation result} for one split kind."""
    return {name: cross_validate(ds, kind, k, seed, fit_predict, desc=name, ceiling=ceiling,
                                 progress=progress)
            for name, fit_predict in predictors(ds).items()}


def bar(results: Mapping, metric: str = "mean_r2") -> str:
    """The name of the strongest identity baseline in ``results`` ({name: result}) on ``metric``:
    the bar a listening model must clear on that split."""
    return max(results, key=lambda name: results[name][metric])
