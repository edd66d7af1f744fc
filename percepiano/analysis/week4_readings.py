"""The week-4 chapter's readings: figures and generated sentences over the results table
(``analysis.systems``) and the calibration of the book's systems (``analysis.conformal``,
``analysis.tail_conformal``, ``analysis.calibration``); the robustness readings are
``analysis.robustness_readings``.

Every sentence is generated from the numbers it states, so the text stays true when they
change. Inputs are ``stats.summarise`` tables (columns ``estimate``, ``ci_lo``, ``ci_hi``,
``metric`` and the grouping columns) unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from percepiano.evaluation.verdicts import join_items

METRIC_TITLES = {"mean_r2": "pooled R²", "mean_pairwise": "within-excerpt pairwise accuracy"}
WEAK = 0.1  # a median Spearman correlation below this in size is read as barely any


def systems_figure(summary: pd.DataFrame, references: Mapping[str, Mapping],
                   kinds=("piece", "performer", "work")) -> Figure:
    """One panel per (metric, split): each system's estimate on all performances with its
    interval, best first on the piece split, and each split's ``references`` ({split kind:
    {metric: {label: value}}}, e.g. the noise ceiling and the split's identity bar) as
    vertical lines."""
    part = summary[summary.performances == "all"]
    order = (part[(part.metric == "mean_r2") & (part.kind == "piece")]
             .sort_values("estimate", ascending=False).system.tolist())
    order += [s for s in dict.fromkeys(part.system) if s not in order]
    metrics = [m for m in METRIC_TITLES if m in set(part.metric)]
    fig, axes = plt.subplots(len(metrics), len(kinds), figsize=(4.0 * len(kinds) + 3.0,
                             (0.28 * len(order) + 1.2) * len(metrics)), sharey=True,
                             squeeze=False)
    for row, metric in zip(axes, metrics, strict=True):
        for ax, kind in zip(row, kinds, strict=True):
            p = part[(part.metric == metric) & (part.kind == kind)].set_index("system")
            y = np.array([order.index(s) for s in p.index])
            ax.errorbar(p.estimate, y, xerr=[p.estimate - p.ci_lo, p.ci_hi - p.estimate],
                        fmt="o", ms=4, color="C0", elinewidth=1, capsize=2)
            for i, (label, value) in enumerate(references.get(kind, {}).get(metric,
                                                                             {}).items()):
                ax.axvline(value, color=f"C{i + 1}", ls="--", lw=1, label=label)
            ax.set_title(f"{kind} split: {METRIC_TITLES[metric]}", fontsize=9)
            ax.grid(axis="x", alpha=0.3)
        row[0].set_yticks(range(len(order)), order, fontsize=8)
        row[0].set_ylim(len(order) - 0.5, -0.5)
        row[-1].legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def best_text(summary: pd.DataFrame, kind: str = "piece",
              exclude: tuple = ()) -> tuple[str, str]:
    """(The system with the highest pooled R² point estimate on all performances of ``kind``,
    leaving out ``exclude``, a sentence naming it with its interval and the runner-up's.)
    Raises IndexError when fewer than two systems remain."""
    part = summary[(summary.performances == "all") & (summary.metric == "mean_r2")
                   & (summary.kind == kind) & ~summary.system.isin(list(exclude))
                   ].sort_values("estimate", ascending=False)
    a, b = part.iloc[0], part.iloc[1]
    overlap = "overlap" if b.ci_hi >= a.ci_lo else "do not overlap"
    return str(a.system), (
        f"On the {kind} split the highest pooled R² is that of {a.system}, {a.estimate:.3f} "
        f"[{a.ci_lo:.3f}, {a.ci_hi:.3f}]; next comes {b.system}, {b.estimate:.3f} "
        f"[{b.ci_lo:.3f}, {b.ci_hi:.3f}], and their intervals {overlap}.")


def targets_figure(table: pd.DataFrame, target_r: float) -> Figure:
    """Pooled r per dimension of the roadmap's targets with its interval, the target line and
    each dimension's noise ceiling (open diamonds)."""
    from percepiano import plots

    fig, ax = plt.subplots(figsize=(7.0, 0.32 * len(table) + 1.2))
    y = np.arange(len(table))
    colours = [sns.color_palette("tab10")[list(dict.fromkeys(table.target)).index(t)]
               for t in table.target]
    for yi, row, colour in zip(y, table.itertuples(), colours, strict=True):
        ax.errorbar(row.r, yi, xerr=[[row.r - row.ci_lo], [row.ci_hi - row.r]], fmt="none",
                    ecolor=colour, elinewidth=1.2, capsize=2)
    ax.scatter(table.r, y, c=colours, s=30, zorder=3, label="pooled r")
    ax.scatter(table.ceiling_r, y, marker="D", facecolors="none", edgecolors="grey", s=26,
               label="noise ceiling")
    ax.axvline(target_r, color="k", ls="--", lw=1, label="target")
    ax.set_yticks(y, [plots.short_name(d) for d in table.dimension], fontsize=8)
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_xlabel("pooled out-of-fold r")
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def targets_text(table: pd.DataFrame, target_r: float, system: str) -> str:
    """Which of the roadmap's targets the ``system`` meets, per target: met when every one of
    its dimensions has its interval above ``target_r``, missed when every interval lies below,
    undecided when every interval spans it, met on some dimensions only otherwise."""
    from percepiano import plots

    out = []
    for target, part in table.groupby("target", sort=False):
        counts = part.status.value_counts()
        verdict = ("met" if counts.get("met", 0) == len(part) else
                   "missed" if counts.get("missed", 0) == len(part) else
                   "undecided (every interval spans the target)"
                   if counts.get("unsure", 0) == len(part) else "met on some dimensions only")
        names = [f"{plots.short_name(d)} {r:.2f} [{lo:.2f}, {hi:.2f}]" for d, r, lo, hi in
                 part[["dimension", "r", "ci_lo", "ci_hi"]].itertuples(index=False)]
        out.append(f"{target} ({join_items(names)}): {verdict}")
    met = (table.status == "met").sum()
    return (f"Targets of r above {target_r:g} for {system}: " + "; ".join(out)
            + f". {met} of {len(table)} dimensions have their whole interval above it.")


def coverage_by_split(y: pd.DataFrame, oof: pd.DataFrame, level: float) -> pd.DataFrame:
    """Split-conformal coverage per dimension on held-out folds, per split and seed, averaged
    over seeds: ``oof`` rows with the dimensions, ``seed``, ``fold`` and ``kind``. Columns
    ``kind``, ``dimension``, ``coverage``."""
    from percepiano.analysis.conformal import fold_coverage

    rows = []
    for kind, part in oof.groupby("kind", sort=False):
        cov = np.mean([fold_coverage(y, p[list(y.columns)], p["fold"], level).to_numpy()
                       for _, p in part.groupby("seed")], axis=0)
        rows += [{"kind": kind, "dimension": d, "coverage": float(c)}
                 for d, c in zip(y.columns, cov, strict=True)]
    return pd.DataFrame(rows)


def coverage_figure(table: pd.DataFrame, level: float) -> Figure:
    """Coverage per dimension, one row of points per split, the nominal level as a line."""
    from percepiano import plots

    fig, ax = plt.subplots(figsize=(8.5, 5.0))
    dims = list(dict.fromkeys(table.dimension))
    for i, (kind, p) in enumerate(table.groupby("kind", sort=False)):
        ax.plot([dims.index(d) for d in p.dimension], p.coverage, "o", ms=4, color=f"C{i}",
                label=f"{kind} split")
    ax.axhline(level, color="k", ls="--", lw=1, label=f"nominal {level:.0%}")
    ax.set_xticks(range(len(dims)), [plots.short_name(d) for d in dims], rotation=90,
                  fontsize=7)
    ax.set_ylabel("coverage on held-out folds")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def coverage_text(table: pd.DataFrame, level: float, tolerance: float = 0.05) -> str:
    """Per split: mean (marginal) coverage of one-width intervals, its range over dimensions,
    and the dimensions more than ``tolerance`` below the nominal ``level``."""
    from percepiano import plots

    out = []
    for kind, p in table.groupby("kind", sort=False):
        low = p[p.coverage < level - tolerance]
        out.append(f"on the {kind} split one width per dimension covers "
                   f"{p.coverage.mean():.1%} of the held-out mean ratings on average, its "
                   f"marginal coverage ({p.coverage.min():.1%} to "
                   f"{p.coverage.max():.1%} by dimension"
                   + (f"; below {level - tolerance:.0%} on "
                      + join_items([plots.short_name(d) for d in low.dimension])
                      if len(low) else "") + ")")
    return f"At a nominal {level:.0%}, " + "; ".join(out) + "."


def shrinkage_text(table: pd.DataFrame, system: str, band: float = 0.1) -> str:
    """A sentence on ``calibration.shrinkage``'s table of ``system``: median variance ratio and
    calibration slope over dimensions, their ranges, and what the slope says: within ``band``
    of 1, predictions move with the ratings one for one; above, they are shrunk further toward
    the mean than the ratings support; below, they overreach."""
    v, s = table.variance_ratio, table.calibration_slope
    slope = s.median()
    side = ("shrunk toward the mean further than the ratings support (a slope above 1: the "
            "ratings move further than the predictions do)" if slope > 1 + band else
            "spread beyond what the ratings support (a slope below 1)" if slope < 1 - band else
            "calibrated in scale: a prediction one point above the mean comes with ratings "
            "about one point above it, and the lower variance is what a model that explains "
            "part of the ratings should have")
    return (f"The predictions of {system} vary {v.median():.2f} times as much as the ratings "
            f"(median over dimensions; {v.min():.2f} to {v.max():.2f}); the median calibration "
            f"slope is {slope:.2f} ({s.min():.2f} to {s.max():.2f}): they are {side}.")


def disagreement_text(table: pd.DataFrame) -> str:
    """Sentences on ``errors.against_disagreement``'s table: the median over dimensions of
    the correlation of a segment's error with its raters' disagreement, how many dimensions
    have it positive, and what that says; then the same with its number of ratings, when the
    table has them."""
    rho = table.rho_disagreement
    reading = ("the errors grow where the raters disagree, whose mean rating is itself noisier "
               "there, so part of what counts as error may be the raters' own"
               if rho.median() >= WEAK else
               "the errors shrink where the raters disagree, perhaps because such segments' mean "
               "ratings lie near the middle of the scale, where a model's predictions gather"
               if rho.median() <= -WEAK else
               "the errors barely depend on the raters' disagreement")
    text = (f"Across dimensions the median Spearman correlation between a segment's absolute "
            f"error and the standard deviation of its ratings is {rho.median():.2f}, positive "
            f"on {int((rho > 0).sum())} of {len(rho)} dimensions: {reading}.")
    n = table.rho_ratings.dropna() if "rho_ratings" in table else pd.Series(dtype=float)
    if len(n):
        text += (f" With the number of ratings a segment received, the median correlation is "
                 f"{n.median():.2f}" + (": segments rated by more listeners are predicted "
                                        "better" if n.median() < 0 else ": more ratings do "
                                        "not make a segment easier to predict") + ".")
    return text


GROUPS = {"marginal": "all ratings (marginal)", "outer": "outer tenths",
          "middle": "middle 80 %", "deadpan": "deadpan renderings"}
INTERVALS = {"marginal": "one width per dimension", "tail": "stretched, scaled (shipped)"}


def coverage_group_table(table: pd.DataFrame) -> pd.DataFrame:
    """``tail_conformal.coverage_table`` as shown: one row per (split, intervals), coverage
    in per cent by group of ratings (floats) and the middle ratings' interval width in points
    (text to two places, so that a one-place table format leaves it)."""
    from percepiano.data.dataset import SCALE_MAX

    shown = table.assign(split=table.kind, intervals=table.intervals.map(INTERVALS))
    shown = shown.set_index(["split", "intervals"])[[g for g in GROUPS if g in table]]
    return (100 * shown).round(1).rename(columns=GROUPS).assign(
        **{"middle width (points)": [f"{w * SCALE_MAX:.2f}" for w in table.width]})


def coverage_group_text(table: pd.DataFrame, level: float, tail_level: float) -> str:
    """Per split: how often each kind of intervals covers the ratings in the outer tenths and
    the middle ones, whether the shipped ones reach ``tail_level`` there at the nominal
    ``level``, their marginal coverage, and how much wider or narrower they are in the
    middle."""
    out = []
    for kind, p in table.groupby("kind", sort=False):
        one, new = (p[p.intervals == m].iloc[0] for m in ("marginal", "tail"))
        change = new.width / one.width - 1
        out.append(f"on the {kind} split, one width covers {one.outer:.0%} of the outer "
                   f"tenths and {one.middle:.0%} of the middle; the shipped intervals "
                   f"{new.outer:.0%} ({'reaching' if new.outer >= tail_level else 'short of'} "
                   f"{tail_level:.0%}) and {new.middle:.0%} ({new.marginal:.0%} of all "
                   "ratings), their middle intervals "
                   + ("as wide" if abs(change) < 0.005 else
                      f"{abs(change):.0%} {'wider' if change > 0 else 'narrower'}"))
    return f"At a nominal {level:.0%}, " + "; ".join(out) + "."
