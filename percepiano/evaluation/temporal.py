"""Cross-validation on the temporal split (``data.temporal``): one split, several seeds, the
result shaped as ``cross_validation.cross_validate_seeds``'s so chapters read both alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from percepiano.data.temporal import TEMPORAL_SHARE, temporal_test


def cross_validate_temporal(ds, seeds, make_fit_predict, share: float = TEMPORAL_SHARE,
                            ceiling=None) -> dict:
    """``evaluation.cross_validation.cross_validate_seeds``'s result for the temporal split.

    For each seed, ``make_fit_predict(seed)(train, val, test)`` is called once: ``test`` the
    later excerpts (``temporal_test``), (train, val) the earlier ones split by
    ``splits.nested_split`` grouped as the piece split groups, with that seed. ``fold_mean_*``
    and ``pooled_*`` are then the same numbers (one fold); ``oof`` holds the test rows only
    (fold 0)."""
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.data.splits import nested_split
    from percepiano.evaluation.metrics import evaluate

    is_test = temporal_test(ds.segments, share)
    test = list(is_test.index[is_test])
    y = ds.labels.loc[test, list(DIMENSIONS)]
    groups = ds.segments.loc[test, "excerpt"]
    rows, per_fold, oofs, per_dim = [], [], [], []
    for seed in seeds:
        train, val = nested_split(ds.segments, is_test.index[~is_test], "piece", seed)
        pred = np.asarray(make_fit_predict(seed)(train, val, test), dtype=np.float64)
        m = evaluate(y.to_numpy(), pred, ceiling, groups=groups)
        means = {k: v for k, v in m.items() if k.startswith("mean_")}
        rows.append({"seed": seed, **{f"fold_{k}": v for k, v in means.items()},
                     **{f"pooled_{k[5:]}": v for k, v in means.items()}})
        per_fold.append({"seed": seed, "fold": 0, "n_test": len(test), "n_train": len(train),
                         "n_val": len(val), **means})
        oofs.append(pd.DataFrame(pred, index=test, columns=list(DIMENSIONS))
                    .assign(fold=0, seed=seed))
        per_dim.append(m["per_dimension"])
    per_dimension = {d: {k: float(np.nanmean([p[d][k] for p in per_dim])) for k in per_dim[0][d]}
                     for d in DIMENSIONS}
    return {"seeds": rows, "per_fold": per_fold, "per_dimension": per_dimension,
            "oof": pd.concat(oofs).rename_axis("name"),
            "split": {"kind": "temporal", "k": 1, "seeds": list(seeds), "share": share}}
