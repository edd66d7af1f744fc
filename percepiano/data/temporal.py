"""A temporal split: earlier excerpts of a work train, later ones test.

PercePiano's segments come from four works: Beethoven's 32 Variations WoO 80 (one excerpt per
variation, each variation a ``piece``) and three Schubert pieces cut into many excerpts. The
``segment`` number counts excerpts through a work (WoO 80's continue from one variation to
the next), so ordering a work's excerpts by it orders them in the music's time. The split holds
out the last ``share`` of every work's excerpts, whole excerpts (every performance of them);
the models train on the earlier music of the same works. It asks how a model extrapolates
*forward through a piece it knows*, the setting of a teacher who rated the first pages.

Unlike the k-fold splits of ``splits.make_folds`` it is a single split: seeds vary the model,
the nested validation fold and nothing else (``evaluation.temporal.cross_validate_temporal``).
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

