"""Deterministic, group-aware cross-validation folds.

42 % of PercePiano's label variance lies between excerpts, so a random split rewards recognising
the music rather than judging the playing. The folds here keep every member of a group in one
fold:

* ``random``    each segment is its own group (what most published work reports);
* ``piece``     grouped by music: excerpt id (piece + bars + segment position: the same music
                across performers), with excerpts that share notes merged (a 16-bar excerpt and
                the two 8-bar excerpts inside it; literal repeats; see ``percepiano.data.music``),
                so the test music was never heard in training;
* ``performer`` grouped by performer, all deadpan score renderings (``Score``/``Score2``) forming
                one group of their own, so the test performer was never seen;
* ``composer``  leave-one-composer-out (PercePiano has two composers, so ``k=2``).

Folds depend only on the group ids and the seed, never on the order of the input rows: groups are
sorted, shuffled by a seeded generator, then assigned largest-first to the fold with the fewest
segments, which keeps fold sizes balanced even when group sizes differ (performers: 13-99).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = ("random", "piece", "performer", "composer")
SCORE_GROUP = "score"


def groups(segments: pd.DataFrame, kind: str) -> pd.Series:
    """The group id of each segment (index = segment name) for a split ``kind``."""
    if kind == "random":
        return pd.Series(segments.index, index=segments.index, name="group")
    if kind == "piece":
        column = "music_group" if "music_group" in segments else "excerpt"
        return segments[column].rename("group")
    if kind == "performer":
        perf = segments["performer"].where(~segments["is_score"], SCORE_GROUP)
        return perf.rename("group")
    if kind == "composer":
        return segments["composer"].rename("group")
    raise ValueError(f"unknown split kind {kind!r}; choose from {', '.join(KINDS)}")


def make_folds(segments: pd.DataFrame, kind: str, k: int, seed: int = 0) -> pd.Series:
    """Assign each segment a test fold in ``0..k-1``; returns a Series indexed like ``segments``
    (sorted by name), the same whatever the row order of ``segments``."""
    g = groups(segments, kind)
    sizes = g.value_counts().sort_index()  # sorted group ids: independent of row order
    n_groups = len(sizes)
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer >= 2 (got {k!r})")
    if k > n_groups:
        raise ValueError(f"k={k} is larger than the number of {kind} groups ({n_groups})")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    order = rng.permutation(n_groups)
    # largest groups first; ties in the seeded random order
    order = order[np.argsort(-sizes.to_numpy()[order], kind="stable")]
    load = np.zeros(k, dtype=int)
    fold_of = {}
    for i in order:
        f = int(np.argmin(load))  # lowest index among the least-loaded folds
        fold_of[sizes.index[i]] = f
        load[f] += sizes.iloc[i]
    folds = g.map(fold_of).astype(int).rename("fold")
    return folds.sort_index()


def nested_split(segments: pd.DataFrame, names, kind: str, seed: int = 0,
                 k_inner: int = 5) -> tuple[list[str], list[str]]:
    """Split the training portion ``names`` into (train, validation), grouped like ``kind``.

    The validation part is one of ``k_inner`` inner folds (about 1/k_inner of the segments).
    When the training portion has fewer than two groups of ``kind`` (leave-one-composer-out
    leaves one composer), validation is grouped by excerpt instead, so it still holds unseen
    music.
    """
    sub = segments.loc[sorted(names)]
    inner_kind = kind
    n_groups = groups(sub, kind).nunique()
    if n_groups < 2:
        inner_kind, n_groups = "piece", groups(sub, "piece").nunique()
    folds = make_folds(sub, inner_kind, min(k_inner, n_groups), seed=seed + 1000)
    val = folds.index[folds == 0]
    train = folds.index[folds != 0]
    return list(train), list(val)


def describe(folds: pd.Series, segments: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per fold: number of segments and of groups (for tables and sanity checks)."""
    g = groups(segments, kind).loc[folds.index]
    return pd.DataFrame({
        "segments": folds.value_counts().sort_index(),
        "groups": g.groupby(folds).nunique(),
    }).rename_axis("fold")
