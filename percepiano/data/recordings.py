"""The recording each segment is a copy of: the groups a split of one work's performances must
keep on one side.

PercePiano files some recordings under several segment names (byte-identical files, or files a
note or two apart) and cuts some segments from another segment's recording (an 8-bar excerpt
from the same performer's 16-bar take of the same music): ``data.duplicates`` finds the pairs,
by approximate-substring alignment of the performed notes. ``recording_groups`` joins the pairs
transitively (the connected components of the graph of pairs, ``scipy.sparse.csgraph``), so a
split that sends one copy to training and another to test, or one to a labelled support and
another to the query it is scored on, can be refused. ``data.music`` makes the same joins for
whole excerpts; this module keeps them per segment, for splits inside one work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse
from scipy.sparse.csgraph import connected_components

from percepiano.data.duplicates import near_identical_pairs


def recording_groups(segments: pd.DataFrame, threshold: float = 0.95,
                     by: str = "match") -> pd.Series:
    """The recording each segment of ``segments`` is a copy of: one label per segment (the
    smallest segment name among those joined, directly or through others, by
    ``near_identical_pairs(segments, threshold, by)``; a segment with no copy is its own).
    With ``by="match"``: the same notes throughout, the same recording filed under several
    names; ``by="contained"`` also joins a segment cut from another's recording. Raises what
    ``near_identical_pairs`` raises."""
    names = sorted(segments.index)
    pairs = near_identical_pairs(segments, threshold, by)
    pos = {n: i for i, n in enumerate(names)}
    edges = scipy.sparse.coo_matrix((np.ones(len(pairs)), (pairs["a"].map(pos).to_numpy(int),
                                                           pairs["b"].map(pos).to_numpy(int))),
                                    shape=(len(names), len(names)))
    _, component = connected_components(edges, directed=False)
    first = pd.Series(names).groupby(component).transform("min")  # names are sorted
    return pd.Series(first.to_numpy(), index=pd.Index(names, name=segments.index.name),
                     name="recording")

