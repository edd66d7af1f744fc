"""Few-shot evaluation on new music: every work held out in turn, k of its performances labelled.

The protocol follows few-shot benchmarks (Triantafillou et al. 2020, "Meta-Dataset"; Chen et al.
2019, "A closer look at few-shot classification"), with a work of PercePiano (a Beethoven WoO 80
variation, a Schubert movement or impromptu: ``segments["piece"]``) as the new task:

* **training** sees every segment of the other works, and none of this one;
* the work's segments are split once (seeded by the seed and the work) into a **pool** of
  ``max(max(ks), n // 2)`` segments that may be labelled and the **query**, the rest, which
  every ``k`` and every draw is scored on: the points of a curve differ only in how much of the
  work was labelled, and draws are seeds over the same segments (``evaluation.stats``
  averages a metric over them);
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


def tasks(segments: pd.DataFrame, ks, draws: int, seed: int = 0,
          min_query: int = 2) -> tuple[list[Task], list[str]]:
    """Every work of ``segments`` (rows named by segment, column ``piece``) with at least
    ``max(ks) + min_query`` segments, ``draws`` times; and the works left out for having fewer.
    Raises ValueError for an empty or negative ``ks`` or ``draws < 1``."""
    ks = sorted(set(int(k) for k in ks))
    if not ks or ks[0] < 0:
        raise ValueError(f"ks must be non-negative shot counts, got {ks}")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    kmax = ks[-1]
    works = sorted(segments["piece"].unique())
    out, skipped = [], []
    for i, work in enumerate(works):
        inside = segments["piece"] == work
        names = sorted(segments.index[inside])
        if len(names) < kmax + min_query:
            skipped.append(work)
            continue
        train = tuple(sorted(segments.index[~inside]))
        split = list(np.random.default_rng([seed, i]).permutation(names))
        size = max(kmax, len(names) // 2)
        pool, query = sorted(split[:size]), tuple(sorted(split[size:]))
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
