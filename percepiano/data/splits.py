"""Deterministic, group-aware cross-validation folds, and the locked final exam.

Much of PercePiano's label variance lies between excerpts (about two fifths on average over the
dimensions: ``percepiano.data.structure.between_share``, measured in the data chapter), so a
random split rewards recognising the music rather than judging the playing. The folds here keep
every member of a group in one fold. What each kind holds out (the test fold) and what stays in
training:

* ``random``    holds out single segments, so every excerpt, work, performer and composer of the
                test fold is also in training (what most published work reports);
* ``piece``     holds out whole music groups (an excerpt with every performance of it, merged
                with the excerpts that share its notes, see ``percepiano.data.music``), so the test
                music was never heard in training while its performers, its composer and the
                rest of its work (a Schubert work has several groups) were;
* ``performer`` holds out whole performers (all deadpan score renderings ``Score``/``Score2``
                forming one group), so the test performer was never seen while the same music
                by other performers stays in training;
* ``composer``  holds out a whole composer (leave-one-composer-out; PercePiano has two, so
                ``k=2``), so training holds only the other composer's music;
* ``work``      holds out whole works (``segments["piece"]``: a Beethoven WoO 80 variation, a
                Schubert movement or impromptu), so the test work was never heard in training
                while the composer's other works (other variations on the same Beethoven theme)
                and all performers were.

Folds depend only on the group ids and the seed, never on the order of the input rows: groups are
sorted, shuffled by a seeded generator, then assigned largest-first to the fold with the fewest
segments, which keeps fold sizes balanced even when group sizes differ (performers: 13-99). Works
differ most (14 to 559 segments), so ``work`` folds cannot be balanced.

``draw_final_exam`` draws the locked final-exam set: about 15 % of the segments as whole music
groups, stratified over works and composers. The drawn names are frozen in
``percepiano/data/final_exam.txt``, and ``percepiano.data.dataset.load`` leaves them out by
default; reading them takes the capability of ``percepiano.data.exam``.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

KINDS = ("random", "piece", "performer", "composer", "work")  # append only: the index seeds folds
SCORE_GROUP = "score"
EXAM_FRACTION = 0.15  # the share of segments locked away for the final results chapter
EXAM_SEED = 2024  # fixed once; changing it moves the exam (see ``draw_final_exam``)


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
    if kind == "work":
        return segments["piece"].rename("group")
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

    The validation part is one of ``k_inner`` inner folds (about 1/k_inner of the segments):
    fold 0, unless it holds more than twice its share (one big group, as a Schubert movement
    under ``work``), then the inner fold whose size is nearest 1/k_inner. When the training
    portion has fewer than two groups of ``kind`` (leave-one-composer-out leaves one composer),
    validation is grouped by excerpt instead, so it still holds unseen music.
    """
    sub = segments.loc[sorted(names)]
    inner_kind = kind
    n_groups = groups(sub, kind).nunique()
    if n_groups < 2:
        inner_kind, n_groups = "piece", groups(sub, "piece").nunique()
    k = min(k_inner, n_groups)
    folds = make_folds(sub, inner_kind, k, seed=seed + 1000)
    sizes = folds.value_counts().reindex(range(k), fill_value=0)
    share = len(folds) / k
    chosen = 0 if sizes[0] <= 2 * share else int((sizes - share).abs().idxmin())
    val = folds.index[folds == chosen]
    train = folds.index[folds != chosen]
    return list(train), list(val)


def describe(folds: pd.Series, segments: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per fold: number of segments and of groups (for tables and sanity checks)."""
    g = groups(segments, kind).loc[folds.index]
    return pd.DataFrame({
        "segments": folds.value_counts().sort_index(),
        "groups": g.groupby(folds).nunique(),
    }).rename_axis("fold")


# --------------------------------------------------------------------------- the final exam


def exam_strata(segments: pd.DataFrame, fraction: float = EXAM_FRACTION) -> pd.Series:
    """The stratum of each music group (index = group id) that ``draw_final_exam`` draws within.

    A work with at least ``1/fraction`` music groups (each Schubert work) is a stratum of its
    own; a composer's smaller works (a Beethoven variation is a single group) are pooled into one
    stratum per composer. A group belongs to the work holding most of its segments.
    """
    g = groups(segments, "piece")
    work = (segments.assign(group=g).groupby(["group", "piece"]).size().rename("n")
            .reset_index().sort_values(["group", "n", "piece"], ascending=[True, False, True])
            .drop_duplicates("group").set_index("group")["piece"])
    composer = segments.drop_duplicates("piece").set_index("piece")["composer"]
    own = work.value_counts() >= math.ceil(1 / fraction - 1e-9)
    return work.map(lambda w: w if own[w] else composer[w]).rename("stratum")


def _group_key(group: str, seed: int) -> str:
    # a stable pseudo-random rank per group: adding or regrouping other groups leaves it alone
    return hashlib.sha256(f"{seed}/{group}".encode()).hexdigest()


def draw_final_exam(segments: pd.DataFrame, fraction: float = EXAM_FRACTION,
                    seed: int = EXAM_SEED) -> list[str]:
    """The locked final-exam set: sorted names of about ``fraction`` of the segments.

    Whole music groups are drawn (the ``piece`` groups, so no music of the exam is heard in
    development), stratified by ``exam_strata``: within each stratum the groups are ranked by a
    hash of their id and ``seed``, and taken in that order while a group brings the stratum's
    exam closer to ``fraction`` of its segments. A stratum of two or more groups gives at least
    one. The result depends only on the segments' groups, works and composers and on ``seed``;
    it is frozen in ``percepiano/data/final_exam.txt`` (redraw: ``percepiano splits
    --redraw-exam --force``).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1 (got {fraction!r})")
    g = groups(segments, "piece")
    sizes = g.value_counts()
    taken = []
    strata = exam_strata(segments, fraction)
    for stratum in sorted(strata.unique()):
        ranked = sorted(strata.index[strata == stratum], key=lambda x: _group_key(x, seed))
        target = fraction * sizes[ranked].sum()
        chosen, total = [], 0
        for group in ranked:
            if sizes[group] < 2 * (target - total):  # closer to the target with it than without
                chosen.append(group)
                total += sizes[group]
        if not chosen and len(ranked) > 1:
            chosen = [min(ranked, key=lambda x: abs(sizes[x] - target))]
        taken += chosen
    return sorted(g.index[g.isin(taken)])
