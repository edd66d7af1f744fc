"""A pooled R² split over groups of rows: what it owes to placing the groups, and what to the
rows inside each.

When the rows come from a few groups (the query performances of several held-out works), a
pooled R² measures every row against the mean of all of them, so a model earns it by placing
each group's mean as well as by ordering the rows inside a group; groups with more rows weigh
more. ``r2_by_group`` gives, beside the pooled R², each group's own R² (the groups weighted
alike when averaged), the R² left within groups, and the pooled R² of the groups' true means:
the part placing the groups alone can earn (Pearson's correlation ratio, eta squared).
Each is ``metrics.r2`` (``sklearn.metrics.r2_score``) of other rows or centred values.
"""

from __future__ import annotations

import numpy as np

from percepiano.evaluation.metrics import r2


def r2_by_group(y_true, y_pred, groups) -> dict[str, np.ndarray]:
    """Pooled R² beside R² per group and within groups, per column. ``y_true``, ``y_pred``:
    (n, d); ``groups``: (n,) a label per row (e.g. each performance's work).

    * ``pooled`` (d,): ``r2`` over all rows, every row against the mean of all rows;
    * ``per_group`` (G, d): ``r2`` of each group's rows alone, against the group's own mean,
      one row per group in the order of ``names`` (the sorted group labels). A mean over its
      rows weighs the groups equally;
    * ``within`` (d,): ``r2`` of the deviations from the group means, labels and predictions
      each centred on their own group mean: ``1 - sum((y - y_g) - (p - p_g))^2 /
      sum(y - y_g)^2``. It scores only how a group's rows are spread about its mean, and a
      prediction that differs from the labels by a constant per group scores 1;
    * ``group_mean`` (d,): the pooled R² of predicting every row by its group's true mean,
      ``1 - sum(y - y_g)^2 / sum(y - y_bar)^2`` (the correlation ratio, eta squared): what a
      pooled R² credits for placing the groups alone.

    The pooled squared error splits exactly into the within part and ``n_g (y_g - p_g)^2`` per
    group, so a pooled R² above ``group_mean`` needs the groups' means right and their spread
    too. Raises ValueError when ``groups`` and the rows differ in length."""
    t, p = (np.asarray(a, np.float64).reshape(len(a), -1) for a in (y_true, y_pred))
    groups = np.asarray(groups)
    if len(groups) != len(t) or t.shape != p.shape:
        raise ValueError(f"{len(groups)} groups, labels {t.shape} and predictions {p.shape}: "
                         "one group and one prediction per labelled row expected")
    names, inverse = np.unique(groups, return_inverse=True)
    count = np.bincount(inverse)[:, None]

    def centred(a):
        sums = np.stack([np.bincount(inverse, a[:, j]) for j in range(a.shape[1])], axis=1)
        return a - (sums / count)[inverse]

    tc, pc = centred(t), centred(p)
    return {"pooled": r2(t, p), "names": names,
            "per_group": np.stack([r2(t[inverse == g], p[inverse == g])
                                   for g in range(len(names))]),
            "within": r2(tc, pc), "group_mean": r2(t, t - tc)}
