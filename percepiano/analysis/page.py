"""What a results chapter sets up before its first table, in one call.

Every chapter that compares configurations reads its stored out-of-fold predictions the same
way: on the development part's labels, with bootstrap intervals over the resampling units of
the split (``evaluation.units``), on all performances and on the human ones only
(``analysis.headline``), and paired against a reference with Holm's correction
(``evaluation.comparison``). ``open_page`` loads all of that once and glues the two values
every chapter's text reads (``profile`` and ``level``); the ``Page`` it returns gives the three
views: ``summary`` (metrics with intervals), ``compare`` (paired differences) and ``shown`` (the
table a chapter displays).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pandas as pd

from percepiano import config, plots
from percepiano.analysis import headline
from percepiano.evaluation import stats

METRICS = {"mean_r2": "R²", "mean_r": "r", "mean_pairwise": "pairwise accuracy"}
AB = tuple(METRICS)  # the metrics of every paired comparison
GLUED = ("profile", "level")  # what ``open_page`` glues for the chapter's text


@dataclasses.dataclass(frozen=True)
class Page:
    """The development part as a chapter reads it.

    ``ds``: the loaded development part; ``y``: its labels (n segments, 19 dimensions, 0-1
    scale); ``excerpts``: each segment's excerpt, the groups of within-excerpt pairwise
    accuracy; ``units``: {split kind: resampling units}; ``deadpan``: True for the renderings of
    the score without expression; ``n_boot``: bootstrap resamples of the profile."""

    ds: object
    y: pd.DataFrame
    excerpts: pd.Series
    units: Mapping
    deadpan: pd.Series
    n_boot: int

    def summary(self, oof: pd.DataFrame, by: Sequence[str] = ("config",),
                kind: str | None = "piece", human: bool = True,
                clusters=None) -> pd.DataFrame:
        """``stats.summarise`` of a stored out-of-fold table: one row per (configuration,
        performances, metric) with estimate and interval; ``human=False`` scores all
        performances only (no ``performances`` column). ``kind=None`` reads each row's split
        from a ``kind`` column, which ``by`` must then hold; ``clusters`` (units per segment)
        replaces the split's units."""
        if clusters is None:
            clusters = self.units if kind is None else self.units[kind]
        return stats.summarise(self.y, oof, list(by), clusters, self.excerpts,
                               metrics=list(METRICS), n_boot=self.n_boot,
                               deadpan=self.deadpan if human else None)

    def compare(self, predictions: Mapping, reference: str, kind: str = "piece",
                metrics: Sequence[str] = AB, clusters=None) -> pd.DataFrame:
        """``stats.compare``: every configuration of ``predictions`` against ``reference``,
        paired over the same folds and seeds, Holm within the family; ``clusters`` replaces
        the split's units. Raises ValueError on unpaired inputs."""
        return stats.compare(self.y, predictions, reference,
                             self.units[kind] if clusters is None else clusters,
                             self.excerpts, metrics=metrics, n_boot=self.n_boot)

    @staticmethod
    def shown(summary: pd.DataFrame, by: str = "config") -> pd.DataFrame:
        """A ``summary`` as the chapter's table: "estimate [lo, hi]" per metric on all
        performances, and the pairwise accuracy on the human performances alone."""
        wide = plots.with_intervals(summary[summary.performances == "all"]
                                    .drop(columns="performances"), [by], METRICS)
        human = summary[(summary.performances == "human") & (summary.metric == "mean_pairwise")]
        return wide.join(human.set_index(by).estimate.rename("pairwise, human only"))


def open_page() -> Page:
    """Load the development part (the final exam stays locked), set the figures' style, and
    glue ``profile`` and ``level`` for the chapter's text. Raises what ``dataset.load`` raises
    when the data cannot be found."""
    from myst_nb import glue

    from percepiano.data import dataset
    from percepiano.data.dataset import DIMENSIONS

    plots.style()
    ds = dataset.load()
    for name, value in zip(GLUED, (config.profile(), stats.LEVEL), strict=True):
        glue(name, value, display=False)
    units = stats.units_by_kind(ds.segments)
    units["temporal"] = units["piece"]  # whole music groups held out (data.temporal)
    return Page(ds=ds, y=ds.labels[list(DIMENSIONS)], excerpts=ds.segments.excerpt,
                units=units, deadpan=headline.deadpan(ds.segments),
                n_boot=config.settings().n_boot)
