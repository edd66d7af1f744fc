"""A temporal split: the music that comes first in a work trains, the music that comes last tests.

PercePiano's segments come from four works: Beethoven's 32 Variations WoO 80 (one excerpt per
variation, each variation a ``piece``) and three Schubert pieces cut into excerpts of 4, 8 or 16
bars. An excerpt's ``segment`` number counts excerpts *of its own length* through the work (WoO
80's continue from one variation to the next), so its **first bar** is
``(segment - 1) * bars``; that, not the segment number, places 8- and 16-bar excerpts on one
time line.

The split holds out **whole music groups** (``data.music``: excerpts that share notes, such as a
16-bar excerpt and the two 8-bar excerpts inside it, or a passage and its repeat), never single
excerpts: a group's place in the work is the first bar at which its music is heard, and the last
``share`` of every work's groups, by that place, are the test. No music is then on both sides,
and the test is music the models have not heard, later in works they know: the setting of a
teacher who rated the first pages and is handed the last ones (a repeat of music already rated
does not count as a new page).

Unlike the k-fold splits of ``splits.make_folds`` it is a single split: seeds vary the model,
the nested validation fold and nothing else (``evaluation.temporal.cross_validate_temporal``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

TEMPORAL_SHARE = 0.25


def work_of(piece: str) -> str:
    """The work a ``piece`` belongs to: WoO 80's theme and variations belong to WoO 80 itself
    (``Beethoven_WoO80_var12``, ``Beethoven_WoO80_thema`` -> ``Beethoven_WoO80``); other pieces
    are their own work."""
    return re.sub(r"_(var\d+|thema)$", "", str(piece))


def first_bar(segments: pd.DataFrame) -> pd.Series:
    """Series (index = segment name) of the bar, counted from 0 in its work, at which each
    segment's excerpt starts: ``(segment - 1) * bars``."""
    return ((segments["segment"].astype(int) - 1) * segments["bars"].astype(int)).rename("bar")


def temporal_test(segments: pd.DataFrame, share: float = TEMPORAL_SHARE) -> pd.Series:
    """Boolean Series (index = segment name, sorted): True for every segment of the last
    ``ceil(share * n)`` music groups, by the first bar at which each group is heard, of each
    work of n groups (works of one group stay in training). ``segments`` needs the columns
    piece, segment, bars and music_group.

    Raises ``ValueError`` when ``share`` is not in (0, 1)."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1) (got {share!r})")
    seg = segments.assign(bar=first_bar(segments), work=segments["piece"].map(work_of))
    groups = seg.groupby("music_group").agg(work=("work", "first"), bar=("bar", "min"))
    late = set()
    for _, group in groups.groupby("work"):
        if len(group) < 2:
            continue
        n_test = int(np.ceil(share * len(group)))
        late |= set(group.sort_values(["bar"], kind="stable").index[-n_test:])
    return segments["music_group"].isin(late).rename("test").sort_index()
