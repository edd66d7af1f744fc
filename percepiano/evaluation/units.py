"""What a bootstrap of each split resamples: the unknown the split generalises over.

The piece split holds out music, so music groups are resampled (Field & Welsh 2007); the work
split holds out works, so works; the performer split holds out performers, but performers and
music are crossed, so both are resampled together (the pigeonhole bootstrap, Owen 2007; see
``percepiano.evaluation.bootstrap``).
"""

from __future__ import annotations

import pandas as pd

from percepiano.data import splits


def units(segments: pd.DataFrame, kind: str) -> pd.Series | pd.DataFrame:
    """What a bootstrap of split ``kind`` resamples, per segment (index = segment name): a Series
    (one-way: music groups for ``random``, ``piece`` and ``composer``, works for ``work``) or a
    DataFrame of two crossed factors (``performer``: performers, the deadpan renderings as one,
    and music groups). ``composer`` has two composers, too few to resample; its intervals are
    over music groups and do not include the variation between composers.
    Raises ValueError for an unknown kind."""
    music = splits.groups(segments, "piece").rename("music")
    if kind in ("random", "piece", "composer"):
        return music
    if kind == "work":
        return splits.groups(segments, "work").rename("work")
    if kind == "performer":
        return pd.concat([splits.groups(segments, "performer").rename("performer"), music], axis=1)
    raise ValueError(f"unknown split kind {kind!r}; choose from {', '.join(splits.KINDS)}")


def units_by_kind(segments: pd.DataFrame) -> dict[str, pd.Series | pd.DataFrame]:
    """``units`` for every split kind: what a chapter passes for ``clusters``."""
    return {kind: units(segments, kind) for kind in splits.KINDS}


def describe_units(clusters) -> str:
    """Words for what ``clusters`` resamples, e.g. "music groups" or "performers and music
    groups (two-way)"."""
    names = {"music": "music groups", "music_group": "music groups", "work": "works",
             "piece": "works", "performer": "performers"}
    cols = list(clusters.columns) if isinstance(clusters, pd.DataFrame) else [clusters.name]
    words = [names.get(c, f"{c}s" if c else "clusters") for c in cols]
    return words[0] if len(words) == 1 else " and ".join(words) + " (two-way)"


def describe_design(by_kind: dict, kinds) -> str:
    """Words for the units of several splits, e.g. "music groups on the piece split and works
    on the work split"."""
    parts = [f"{describe_units(by_kind[k])} on the {k} split" for k in kinds]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
