"""The human noise ceiling: how well can any model agree with the mean rating?

Each label is the mean of 4-19 crowd ratings, so it holds rater noise that no model can predict.
Two estimates per dimension:

* **Split-half reliability** (Spearman 1910; Brown 1910): split each segment's raters at random
  into two halves, correlate the two half-means across segments, step the correlation up to the
  full number of raters with the Spearman-Brown formula ``2r / (1 + r)``, and average over many
  random splits. This is the reliability of the label as it is (the mean of all its raters).
* **ICC(1,k)** (Shrout & Fleiss 1979, one-way random effects, average measures) from pingouin.
  One-way because each segment is rated by a different subset of raters, so rater effects cannot
  be separated from error (the two-way models assume the same raters for every target). pingouin
  needs the same number of ratings for each segment, so we draw ``k`` ratings per segment
  (segments with fewer are left out of that draw), average over draws, and step the ICC(1,k) up
  to the mean number of ratings per segment with Spearman-Brown, which makes it comparable with
  the split-half figure.

If the label has reliability ``rel``, a model that predicted the true (noise-free) mean rating
exactly would reach Pearson ``r = sqrt(rel)`` and ``R² = rel`` against the noisy labels: these
are the ceilings every number in the book is shown against.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg

from percepiano.data.dataset import DIMENSIONS, PercePiano
from percepiano.evaluation.metrics import pearson


def spearman_brown(r, factor):
    """Reliability of a test ``factor`` times as long as one with reliability ``r``."""
    r = np.asarray(r, dtype=float)
    return factor * r / (1 + (factor - 1) * r)


def split_half(ratings: pd.DataFrame, n_splits: int = 200, seed: int = 0) -> pd.Series:
    """Spearman-Brown corrected split-half reliability per dimension, averaged over splits.

    ``ratings`` has a ``name`` column and one column per dimension (NaN = not rated).
    """
    names, seg = np.unique(ratings["name"].to_numpy(), return_inverse=True)
    values = ratings[list(DIMENSIONS)].to_numpy(dtype=float)
    rated = ~np.isnan(values)
    values = np.nan_to_num(values)
    n_seg = len(names)
    rng = np.random.default_rng(seed)
    rel = np.zeros((n_splits, len(DIMENSIONS)))
    counts = np.bincount(seg, minlength=n_seg)
    n_dim = values.shape[1]
    flat = (seg[:, None] * n_dim + np.arange(n_dim)).ravel()  # (segment, dimension) cell
    size = n_seg * n_dim
    for s in range(n_splits):
        # random rank of each rating within its segment; first half of ranks -> half A
        order = np.lexsort((rng.random(len(seg)), seg))
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.empty(len(seg), dtype=int)
        rank[order] = np.arange(len(seg)) - start[seg[order]]
        half_a = rank < counts[seg] // 2  # odd counts: the extra rating goes to half B
        means = []
        for half in (half_a, ~half_a):
            w = rated & half[:, None]
            tot = np.bincount(flat, weights=(values * w).ravel(), minlength=size)
            cnt = np.bincount(flat, weights=w.ravel(), minlength=size)
            with np.errstate(invalid="ignore"):
                means.append((tot / cnt).reshape(n_seg, n_dim))
        a, b = means
        ok = ~(np.isnan(a) | np.isnan(b))
        r = np.array([pearson(a[ok[:, j], j], b[ok[:, j], j])[0] for j in range(a.shape[1])])
        rel[s] = spearman_brown(r, 2.0)
    return pd.Series(rel.mean(axis=0), index=list(DIMENSIONS), name="split_half")


def icc(ratings: pd.DataFrame, k: int = 4, n_draws: int = 5, seed: int = 0) -> pd.DataFrame:
    """Per dimension: ICC(1,1) and ICC(1,k) from pingouin (averaged over random draws of ``k``
    ratings per segment) and ICC(1,k) stepped up to the mean number of ratings per segment."""
    rng = np.random.default_rng(seed)
    rows = []
    for dim in DIMENSIONS:
        sub = ratings[["name", dim]].dropna()
        n_mean = sub.groupby("name").size().mean()
        draws = []
        for _ in range(n_draws):
            keys = rng.random(len(sub))
            rank = pd.Series(keys, index=sub.index).groupby(sub["name"]).rank(method="first")
            pick = sub[rank <= k].assign(slot=rank[rank <= k].astype(int))
            full = pick.groupby("name").filter(lambda g: len(g) == k)
            with warnings.catch_warnings():  # pingouin's own pandas deprecation, not ours
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                res = pg.intraclass_corr(full, targets="name", raters="slot", ratings=dim)
            res = res.set_index("Type")["ICC"]
            draws.append((res["ICC(1,1)"], res["ICC(1,k)"]))  # pingouin >= 0.7 names
        icc1, icc1k = np.mean(draws, axis=0)
        rows.append({"dimension": dim, "icc1": icc1, "icc1k": icc1k, "k": k,
                     "mean_ratings": n_mean,
                     "icc1_mean_k": float(spearman_brown(icc1, n_mean))})
    return pd.DataFrame(rows).set_index("dimension")


def noise_ceiling(ds: PercePiano, n_splits: int = 200, seed: int = 0, icc_draws: int = 5) -> dict:
    """Reliability and the implied ceilings per dimension, with their means."""
    rel = split_half(ds.ratings, n_splits=n_splits, seed=seed)
    ic = icc(ds.ratings, n_draws=icc_draws, seed=seed)
    clipped = rel.clip(lower=0.0)
    return {
        "mean_reliability": float(rel.mean()),
        "mean_icc": float(ic["icc1_mean_k"].mean()),
        "mean_ceiling_r": float(np.sqrt(clipped).mean()),
        "mean_ceiling_r2": float(clipped.mean()),
        "reliability": rel.to_dict(),
        "icc": ic["icc1_mean_k"].to_dict(),
        "icc1": ic["icc1"].to_dict(),
        "icc1k": ic["icc1k"].to_dict(),
        "ceiling_r": np.sqrt(clipped).to_dict(),
        "ceiling_r2": clipped.to_dict(),
        "method": {
            "split_half": f"Spearman-Brown corrected, mean over {n_splits} random rater splits",
            "icc": f"ICC(1,k) one-way random (pingouin), k=4 ratings drawn per segment "
                   f"x {icc_draws} draws, stepped up to the mean number of ratings",
            "seed": seed,
        },
    }
