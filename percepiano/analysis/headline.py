"""Headline tables: what every chapter reports for a model, read the same way everywhere.

For each model and split: pooled out-of-fold R² and within-excerpt pairwise accuracy (averaged
over the 19 dimensions and over seeds) with bootstrap intervals over what the split generalises
over (``stats.units``), on **all** development performances and on the **human** ones only.
About a tenth of the segments are the score rendered without expression (performers ``Score``
and ``Score2``): they are rated lower on most dimensions and are trivially told apart (no timing
deviation at all), so they lift every metric without saying anything about how people play.
Beside the models stands the **identity bar** of each split and metric: the best of the identity
baselines (``percepiano.models.identity``), which know who plays and which music, and nothing of
how it was played. Within-excerpt pairwise accuracy is not immune to identity: knowing who plays
already orders pairs of performances of the same excerpt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from percepiano.evaluation import stats

METRICS = ("mean_r2", "mean_pairwise")
POPULATIONS = {"all": "all performances", "human": "human performances only"}


def deadpan(segments: pd.DataFrame) -> pd.Series:
    """True for the renderings of the score without expression (index = segment name)."""
    return segments["is_score"].astype(bool)


def summary(y: pd.DataFrame, models: Mapping[str, pd.DataFrame], segments: pd.DataFrame,
            kinds: Sequence[str] | None = None, metrics: Sequence[str] = METRICS,
            n_boot: int = stats.N_RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """Long table: model, kind, performances (``all``/``human``), metric, estimate, ci_lo, ci_hi.

    ``models``: {name: out-of-fold table of one configuration with ``kind`` and ``seed``
    columns}; ``kinds``: the splits to report (default: those of each table). Raises ValueError
    when a table lacks a ``kind`` column."""
    units, parts = stats.units_by_kind(segments), []
    for name, oof in models.items():
        if "kind" not in oof:
            raise ValueError(f"{name!r}: the out-of-fold table needs a 'kind' column")
        oof = oof if kinds is None else oof[oof["kind"].isin(kinds)]
        part = stats.summarise(y, oof, ["kind"], units, segments["excerpt"], metrics, n_boot,
                               seed=seed, deadpan=deadpan(segments))
        parts.append(part.assign(model=name))
    return pd.concat(parts, ignore_index=True)


def identity_bar(y: pd.DataFrame, identity_oof: pd.DataFrame, segments: pd.DataFrame,
                 kinds: Sequence[str], metrics: Sequence[str] = METRICS,
                 n_boot: int = stats.N_RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """The identity bar: for each split, metric and population, the identity baseline with the
    highest estimate, in ``summary``'s columns with ``model`` = "identity bar" and ``baseline``
    naming which one it is."""
    oof = identity_oof[identity_oof["kind"].isin(kinds)]
    table = stats.summarise(y, oof, ["kind", "baseline"], stats.units_by_kind(segments),
                            segments["excerpt"], metrics, n_boot, seed=seed,
                            deadpan=deadpan(segments))
    best = table.loc[table.groupby(["kind", "performances", "metric"]).estimate.idxmax()]
    return best.assign(model="identity bar").reset_index(drop=True)


def wide(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``summary``'s long table as one row per model and columns (split, metric, performances),
    each cell "estimate [lo, hi]"."""
    names = {"mean_r2": "R²", "mean_pairwise": "pairwise", "mean_r": "r",
             "mean_within_rho": "within-excerpt ρ"}
    cells = table.assign(
        cell=lambda t: t.apply(lambda r: f"{r.estimate:.{digits}f} [{r.ci_lo:.{digits}f}, "
                                         f"{r.ci_hi:.{digits}f}]", axis=1),
        metric=lambda t: t.metric.map(lambda m: names.get(m, m)),
        performances=lambda t: t.performances.map(lambda p: "human only" if p == "human"
                                                  else p))
    out = cells.pivot_table(index="model", columns=["kind", "metric", "performances"],
                            values="cell", aggfunc="first", sort=False)
    first = {level: list(dict.fromkeys(cells[level])) for level in
             ("kind", "metric", "performances")}
    columns = sorted(out.columns, key=lambda c: tuple(
        first[level].index(v) for level, v in zip(first, c, strict=True)))
    return (out.reindex(index=list(dict.fromkeys(table.model)), columns=columns)
            .rename_axis(index="model", columns=["split", "metric", ""]))
