"""Cross-validation harness shared by every model in the book.

For each test fold of a split, the model sees only the training portion, itself divided into
train and validation by ``splits.nested_split`` (grouped like the outer split), so any model or
epoch selection happens inside the training folds. The test fold is used once, for scoring.

Reported numbers:

* headline ``mean_r2``/``mean_r``: metrics computed within each test fold, then averaged over
  folds (the usual k-fold estimate; each fold's R² is relative to that fold's own mean);
* ``pooled``: the same metrics on all out-of-fold predictions at once;
* ``per_fold``: each fold's means, for the spread across folds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from percepiano.data.dataset import DIMENSIONS, PercePiano
from percepiano.data.splits import make_folds, nested_split
from percepiano.evaluation.metrics import evaluate

FitPredict = Callable[[list[str], list[str], list[str]], np.ndarray]


def cross_validate(ds: PercePiano, kind: str, k: int, seed: int, fit_predict: FitPredict,
                   desc: str = "cross-validation", ceiling: Mapping | None = None,
                   progress: bool = True) -> dict:
    """Run ``fit_predict(train_names, val_names, test_names)`` on every fold of a split.

    ``fit_predict`` returns predictions for ``test_names`` as an array (len(test), 19).
    """
    folds = make_folds(ds.segments, kind, k, seed)
    y = ds.labels.loc[folds.index, list(DIMENSIONS)]
    oof = pd.DataFrame(np.nan, index=folds.index, columns=list(DIMENSIONS))
    per_fold, fold_metrics = [], []
    for f in tqdm(range(k), desc=desc, disable=not progress, leave=False):
        test = list(folds.index[folds == f])
        train, val = nested_split(ds.segments, folds.index[folds != f], kind, seed)
        pred = np.asarray(fit_predict(train, val, test), dtype=np.float64)
        if pred.shape != (len(test), len(DIMENSIONS)):
            raise ValueError(f"fit_predict returned shape {pred.shape}, expected "
                             f"{(len(test), len(DIMENSIONS))}")
        oof.loc[test] = pred
        m = evaluate(y.loc[test].to_numpy(), pred, ceiling)
        fold_metrics.append(m)
        per_fold.append({"fold": f, "n_test": len(test), "n_train": len(train),
                         "n_val": len(val), **{k_: v for k_, v in m.items()
                                               if k_.startswith("mean_")}})
    mean_keys = [k_ for k_ in fold_metrics[0] if k_.startswith("mean_")]
    per_dim = {d: {m_: float(np.nanmean([fm["per_dimension"][d][m_] for fm in fold_metrics]))
                   for m_ in fold_metrics[0]["per_dimension"][d]} for d in DIMENSIONS}
    return {
        **{k_: float(np.mean([fm[k_] for fm in fold_metrics])) for k_ in mean_keys},
        "per_dimension": per_dim,
        "per_fold": per_fold,
        "pooled": evaluate(y.to_numpy(), oof.to_numpy(), ceiling),
        "split": {"kind": kind, "k": k, "seed": seed},
        "oof": oof,
    }


def without_oof(result: dict) -> dict:
    """The result without its DataFrame (for JSON output)."""
    return {k: v for k, v in result.items() if k != "oof"}
