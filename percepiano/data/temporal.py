"""A temporal split: earlier excerpts of a work train, later ones test.

PercePiano's segments come from four works: Beethoven's 32 Variations WoO 80 (one excerpt per
variation, each variation a ``piece``) and three Schubert pieces cut into many excerpts. The
``segment`` number counts excerpts through a work (WoO 80's continue from one variation to
the next), so ordering a work's excerpts by it orders them in the music's time. The split holds
out the last ``share`` of every work's excerpts, whole excerpts (every performance of them);
the models train on the earlier music of the same works. It asks how a model extrapolates
*forward through a piece it knows*, the setting of a teacher who rated the first pages.

Unlike the k-fold splits of ``splits.make_folds`` it is a single split: seeds vary the model,
the nested validation fold and nothing else.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

TEMPORAL_SHARE = 0.25


def work_of(piece: str) -> str:
    """The work a ``piece`` belongs to: a WoO 80 variation's work is WoO 80 itself
    (``Beethoven_WoO80_var12`` -> ``Beethoven_WoO80``); other pieces are their own work."""
    return re.sub(r"_var\d+$", "", str(piece))


def temporal_test(segments: pd.DataFrame, share: float = TEMPORAL_SHARE) -> pd.Series:
    """Boolean Series (index = segment name, sorted): True for the segments of the last
    ``ceil(share * n)`` excerpts, by ``segment`` number, of each work of n excerpts (works of
    one excerpt stay in training).

    Raises ``ValueError`` when ``share`` is not in (0, 1)."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1) (got {share!r})")
    ex = segments.groupby("excerpt").agg(work=("piece", lambda p: work_of(p.iloc[0])),
                                         position=("segment", "min"))
    late = set()
    for _, group in ex.groupby("work"):
        if len(group) < 2:
            continue
        n_test = int(np.ceil(share * len(group)))
        late |= set(group.sort_values("position").index[-n_test:])
    return segments["excerpt"].isin(late).rename("test").sort_index()


def cross_validate_temporal(ds, seeds, make_fit_predict, share: float = TEMPORAL_SHARE,
                            ceiling=None) -> dict:
    """``evaluation.cross_validation.cross_validate_seeds``'s result for the temporal split.

    For each seed, ``make_fit_predict(seed)(train, val, test)`` is called once: ``test`` the
    later excerpts (``temporal_test``), (train, val) the earlier ones split by
    ``splits.nested_split`` grouped by excerpt with that seed. ``fold_mean_*`` and ``pooled_*``
    are then the same numbers (one fold); ``oof`` holds the test rows only (fold 0)."""
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
