"""Cross-validation harness shared by every model in the book.

For each test fold of a split, the model sees only the training portion, itself divided into
train and validation by ``splits.nested_split`` (grouped like the outer split), so any model or
epoch selection happens inside the training folds. The test fold is used once, for scoring.

Reported numbers, each under its own name:

* ``fold_mean_r2``, ``fold_mean_r``, ... (``fold_mean_*``): each metric computed within each test
  fold, then averaged over folds (the usual k-fold estimate; each fold's R² is relative to that
  fold's own mean);
* ``pooled``: the same metrics on all out-of-fold predictions at once (``evaluate``'s output,
  ``mean_r2`` and so on: the mean over the 19 dimensions); ``cross_validate_seeds`` reports them
  per seed as ``pooled_r2``, ``pooled_r``, ...;
* ``per_fold``: each fold's metrics (``evaluate``'s ``mean_*`` on that fold alone), for the
  spread across folds;
* ``oof``: the out-of-fold predictions, with the ``fold`` each segment was tested in.

Every set of metrics includes the within-excerpt ones (``within_rho``, ``pairwise``; see
``percepiano.evaluation.metrics``), computed over the performances of each excerpt present.
``POOLED`` and ``FOLD_MEAN`` say in words what the two headline kinds measure (the ``metric`` of
an experiment's ``headline`` in the results store).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from percepiano.data.dataset import DIMENSIONS, PercePiano
from percepiano.data.splits import make_folds, nested_split
from percepiano.evaluation.metrics import evaluate

FitPredict = Callable[[list[str], list[str], list[str]], np.ndarray]
POOLED = ("pooled out-of-fold R² and r: all out-of-fold predictions at once, mean over the 19 "
          "dimensions, then over seeds")
FOLD_MEAN = ("fold-mean R² and r: within each test fold, mean over the 19 dimensions, then "
             "averaged over folds")


def cross_validate(ds: PercePiano, kind: str, k: int, seed: int, fit_predict: FitPredict,
                   desc: str = "cross-validation", ceiling: Mapping | None = None,
                   progress: bool = True) -> dict:
    """Run ``fit_predict(train_names, val_names, test_names)`` on every fold of a split.

    ``fit_predict`` returns predictions for ``test_names`` as an array (len(test), 19).
    """
    folds = make_folds(ds.segments, kind, k, seed)
    y = ds.labels.loc[folds.index, list(DIMENSIONS)]
    excerpt = ds.segments.loc[folds.index, "excerpt"]
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
        m = evaluate(y.loc[test].to_numpy(), pred, ceiling, groups=excerpt.loc[test])
        fold_metrics.append(m)
        per_fold.append({"fold": f, "n_test": len(test), "n_train": len(train),
                         "n_val": len(val), **{k_: v for k_, v in m.items()
                                               if k_.startswith("mean_")}})
    mean_keys = [k_ for k_ in fold_metrics[0] if k_.startswith("mean_")]
    with warnings.catch_warnings():  # a metric no fold could compute stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        per_dim = {d: {m_: float(np.nanmean([fm["per_dimension"][d][m_] for fm in fold_metrics]))
                       for m_ in fold_metrics[0]["per_dimension"][d]} for d in DIMENSIONS}
    return {
        **{f"fold_{k_}": _nanmean([fm[k_] for fm in fold_metrics]) for k_ in mean_keys},
        "per_dimension": per_dim,
        "per_fold": per_fold,
        # within-excerpt pairs only inside a test fold: one model's ordering (an excerpt may
        # be split over folds, as on the performer split)
        "pooled": evaluate(y.to_numpy(), oof.to_numpy(), ceiling,
                           groups=excerpt.astype(str) + "|" + folds.astype(str)),
        "oof": oof.assign(fold=folds.loc[oof.index].astype(int)),
        "split": {"kind": kind, "k": k, "seed": seed},
    }


def without_oof(result: dict) -> dict:
    """The result without its DataFrame (for JSON output)."""
    return {k: v for k, v in result.items() if k != "oof"}


def _nanmean(values) -> float:
    """Mean over folds ignoring a fold where a metric was undefined (NaN if all were)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values[~np.isnan(values)].mean()) if (~np.isnan(values)).any() else float("nan")


def cross_validate_seeds(ds: PercePiano, kind: str, k: int, seeds, make_fit_predict,
                         desc: str = "cross-validation", ceiling: Mapping | None = None,
                         progress: bool = False) -> dict:
    """``cross_validate`` once per seed (the seed sets the fold assignment and is passed to
    ``make_fit_predict(seed)``, which returns that seed's ``fit_predict``), gathered:

    * ``seeds``: one row per seed with the fold-mean metrics (``fold_mean_*``) and the pooled
      ones (``pooled_*``);
    * ``per_fold``: one row per (seed, fold), the pairs a corrected resampled t-test needs;
    * ``per_dimension``: each dimension's fold-mean metrics averaged over seeds;
    * ``oof``: the out-of-fold predictions of every seed, with a ``seed`` column.
    """
    seeds = list(seeds)
    runs = {seed: cross_validate(ds, kind, k, seed, make_fit_predict(seed), desc=desc,
                                 ceiling=ceiling, progress=progress) for seed in seeds}
    rows, per_fold = [], []
    for seed, res in runs.items():
        rows.append({"seed": seed, **{m: v for m, v in res.items()
                                      if m.startswith("fold_mean_")},
                     **{f"pooled_{m[5:]}": v for m, v in res["pooled"].items()
                        if m.startswith("mean_")}})
        per_fold += [{"seed": seed, **row} for row in res["per_fold"]]
    first = runs[seeds[0]]["per_dimension"]
    per_dim = {d: {m: _nanmean([runs[s]["per_dimension"][d][m] for s in seeds])
                   for m in first[d]} for d in DIMENSIONS}
    oof = pd.concat([res["oof"].assign(seed=seed) for seed, res in runs.items()])
    return {"seeds": rows, "per_fold": per_fold, "per_dimension": per_dim,
            "oof": oof.rename_axis("name"), "split": {"kind": kind, "k": k, "seeds": seeds}}
