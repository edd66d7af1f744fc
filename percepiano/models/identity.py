"""Identity baselines: predictions that know *which* music or *who* plays, not *how*.

* ``global_mean``    the training mean of each dimension;
* ``excerpt_mean``   the training mean of segments of the same excerpt (the same music by other
                     performers), the global mean when the excerpt is unseen;
* ``performer_mean`` the training mean of the same performer's segments, the global mean when
                     the performer is unseen.

Fitted on training folds only. On a random split the excerpt mean scores well because every
test excerpt was heard in training: that is what a random split rewards. On the piece split it
cannot (every test excerpt is unseen) and falls back to the global mean.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from percepiano.data.dataset import DIMENSIONS, PercePiano
from percepiano.evaluation.cross_validation import cross_validate

BASELINES = ("global_mean", "excerpt_mean", "performer_mean")


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


def identity_baselines(ds: PercePiano, kind: str, k: int = 4, seed: int = 0,
                       ceiling: Mapping | None = None, progress: bool = False) -> dict:
    """{baseline name: cross-validation result} for one split kind."""
    columns = {"global_mean": None, "excerpt_mean": "excerpt", "performer_mean": "performer"}
    return {name: cross_validate(ds, kind, k, seed, group_mean_predictor(ds, col),
                                 desc=name, ceiling=ceiling, progress=progress)
            for name, col in columns.items()}
