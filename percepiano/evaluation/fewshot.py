"""Few-shot evaluation on new music: every work held out in turn, k of its performances labelled.

The protocol follows few-shot benchmarks (Triantafillou et al. 2020, "Meta-Dataset"; Chen et al.
2019, "A closer look at few-shot classification"), with a work of PercePiano (a Beethoven WoO 80
variation, a Schubert movement or impromptu: ``segments["piece"]``) as the new task:

* **training** sees every segment of the other works, and none of this one;
* the work's segments are split once (seeded by the seed and the work) into a **pool** of
  at least ``max(max(ks), n // 2)`` segments that may be labelled and the **query**, the rest,
  which every ``k`` and every draw is scored on: the points of a curve differ only in how much
  of the work was labelled, and draws are seeds over the same segments (``evaluation.stats``
  averages a metric over them). The split moves whole **recordings**: PercePiano files some
  recordings under several segment names, or cuts one segment from another's recording
  (``data.recordings.recording_groups``), and the copies of one recording all go to the pool
  or all to the query, so no query performance is heard, labelled, in a support;
* the pool is shuffled once per **draw**; its first ``k`` segments are the labelled
  **support**, so supports are nested (the one labelled performance of ``k = 1`` is also among
  those of ``k = 2``).

Meta-learning draws its episodes (``episodes``) from the training works only: a performance of
the held-out work never reaches meta-training (``tests/evaluation/test_fewshot.py``).

A "performance" here is a segment: one performer's rendition of one excerpt, the unit PercePiano
rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Task:
    """One held-out work in one draw. ``pool``: the segments that may be labelled, in this
    draw's order; ``support(k)`` its first ``k``; ``query``: the others, the same in every
    draw."""

    work: str
    draw: int
    train: tuple[str, ...]
    pool: tuple[str, ...]
    query: tuple[str, ...]

    def support(self, k: int) -> list[str]:
        if not 0 <= k <= len(self.pool):
            raise ValueError(f"k={k} is outside 0..{len(self.pool)} for work {self.work!r}")
        return list(self.pool[:k])


def tasks(segments: pd.DataFrame, ks, draws: int, seed: int = 0, min_query: int = 2,
          recordings: pd.Series | None = None) -> tuple[list[Task], list[str]]:
    """Every work of ``segments`` (rows named by segment, column ``piece``) with at least
    ``max(ks) + min_query`` segments, ``draws`` times; and the works left out for having fewer
    (or fewer than ``min_query`` left for the query once whole recordings fill the pool).
    ``recordings``: the recording of each segment (index: segment names; default: each its
    own), whose copies stay on one side of the pool and query split; with every segment its own
    recording the draws are those of the segments one by one. Raises ValueError for an empty or
    negative ``ks``, ``draws < 1`` or a segment without a recording."""
    ks = sorted(set(int(k) for k in ks))
    if not ks or ks[0] < 0:
        raise ValueError(f"ks must be non-negative shot counts, got {ks}")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    kmax = ks[-1]
    if recordings is None:
        recordings = pd.Series(segments.index, index=segments.index)
    missing = segments.index.difference(recordings.index)
    if len(missing):
        raise ValueError(f"{len(missing)} segments have no recording (e.g. {missing[0]!r})")
    works = sorted(segments["piece"].unique())
    out, skipped = [], []
    for i, work in enumerate(works):
        inside = segments["piece"] == work
        names = sorted(segments.index[inside])
        copies = recordings.loc[names].groupby(recordings.loc[names], sort=True)
        units = [sorted(g.index) for _, g in copies]  # one per recording, in label order
        size = max(kmax, len(names) // 2)
        pool = []
        for u in np.random.default_rng([seed, i]).permutation(len(units)):
            if len(pool) >= size:
                break
            pool += units[u]
        pool, query = sorted(pool), tuple(sorted(set(names) - set(pool)))
        if len(names) < kmax + min_query or len(query) < min_query:
            skipped.append(work)
            continue
        train = tuple(sorted(segments.index[~inside]))
        for d in range(draws):
            order = tuple(np.random.default_rng([seed, i, d + 1]).permutation(pool))
            out.append(Task(work, d, train, order, query))
    return out, skipped


def episodes(segments: pd.DataFrame, train, k: int, n: int, rng: np.random.Generator,
             query: int = 8) -> list[tuple[list[str], list[str]]]:
    """``n`` meta-training episodes (support of ``k`` segments, query of up to ``query`` other
    segments) of works drawn at random among those of the ``train`` segments with more than
    ``k`` of them. Raises ValueError when no training work is large enough."""
    pool = segments.loc[sorted(train), "piece"]
    groups = {w: list(g.index) for w, g in pool.groupby(pool, sort=True) if len(g) > k}
    if not groups:
        raise ValueError(f"no training work has more than k={k} segments")
    works = list(groups)
    out = []
    for _ in range(n):
        names = list(rng.permutation(groups[works[rng.integers(len(works))]]))
        out.append((names[:k], names[k:k + query]))
    return out


def scores(oof: pd.DataFrame, labels: pd.DataFrame, excerpts: pd.Series) -> pd.DataFrame:
    """One row per (method, k, seed) of a few-shot prediction table ``oof`` (rows named by the
    query segment; columns: ``labels``' dimensions, ``method``, ``k``, ``seed`` (the draw) and
    ``work``), each score the mean over the dimensions (``metrics.r2_by_group``, the works as
    groups; labels on the 0-1 scale, ``excerpts`` per segment):

    * ``pooled_r2``: R² over every query performance of every work at once, each against the
      mean of all of them. It credits placing each work's ratings as a whole, which
      ``work_mean_r2`` measures alone, as well as telling a work's performances apart, and
      weighs the works by their query size;
    * ``per_work_r2``, ``per_work_r2_median``: each work's R² on its own query (against the
      work's own mean), the mean and the median over works, each work weighted equally;
    * ``within_work_r2``: R² of the deviations from the work means, labels and predictions each
      centred on their work's query mean: telling a work's performances apart, nothing else;
    * ``work_mean_r2``: the pooled R² of predicting every query performance by its work's true
      query mean (the same for every method, k and draw: what placing the works scores);
    * ``pairwise``: within-excerpt pairwise accuracy (``metrics.within_excerpt``)."""
    from percepiano.evaluation.grouped import r2_by_group
    from percepiano.evaluation.metrics import within_excerpt

    dims, out = list(labels.columns), []
    for (method, k, s), part in oof.groupby(["method", "k", "seed"], sort=False):
        y, p = labels.loc[part.index, dims].to_numpy(), part[dims].to_numpy()
        r = r2_by_group(y, p, part["work"].to_numpy())
        per_work = r["per_group"].mean(axis=1)
        pw = within_excerpt(y, p, excerpts.loc[part.index])["pairwise"]
        out.append({"method": method, "k": int(k), "seed": int(s),
                    "pooled_r2": float(r["pooled"].mean()),
                    "per_work_r2": float(per_work.mean()),
                    "per_work_r2_median": float(np.median(per_work)),
                    "within_work_r2": float(r["within"].mean()),
                    "work_mean_r2": float(r["group_mean"].mean()),
                    "pairwise": float(np.nanmean(pw))})
    return pd.DataFrame(out)
