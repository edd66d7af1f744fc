"""Figures and summaries of the week-3 chapter: ensembles' members, their errors, the ranking of
models across splits, the hybrid's pathways.

matplotlib and seaborn; each figure function returns the ``Figure`` for the chapter to glue.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter, ScalarFormatter

from percepiano.data.dataset import CATEGORIES, DIMENSIONS

FLOOR = -0.5  # lowest R² drawn in ``split_ranking``


def error_correlation(preds: Mapping[str, pd.DataFrame], y: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation between members' errors: each member's residuals (prediction minus
    label, rows = segments averaged over seeds, as ``stats.by_config`` gives) standardised per
    dimension, then pooled over dimensions. (members x members); 1 = the same mistakes, so
    averaging them cannot help."""
    res = {}
    for name, p in preds.items():
        r = p[list(DIMENSIONS)] - y.loc[p.index, list(DIMENSIONS)]
        res[name] = ((r - r.mean()) / r.std()).to_numpy().ravel()
    return pd.DataFrame(res).corr()


def members_curve(table: pd.DataFrame, families: Mapping[str, str], metric: str = "pooled_r2",
                  ylabel: str = "pooled R²") -> Figure:
    """Accuracy against the number of members: ``table`` rows (config, seed, metric,
    fit_s_per_fold) with configs named "<base> × <m> seeds|bags"; ``families`` maps each
    curve's label to the config prefix (e.g. {"hybrid, seeds": "hybrid × "}). Mean over seeds
    with the seeds' range as a band; right panel: the same against fitting seconds per fold."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for label, (prefix, suffix, single) in families.items():
        rows = table[table.config.str.startswith(prefix) & table.config.str.endswith(suffix)]
        rows = rows.assign(m=rows.config.str.extract(r"× (\d+)")[0].astype(int))
        if single is not None:
            one = table[table.config == single].assign(m=1)
            rows = pd.concat([one, rows]) if not (rows.m == 1).any() else rows
        g = rows.groupby("m").agg(v=(metric, "mean"), lo=(metric, "min"), hi=(metric, "max"),
                                  cost=("fit_s_per_fold", "mean")).sort_index()
        a.plot(g.index, g.v, marker="o", label=label)
        a.fill_between(g.index, g.lo, g.hi, alpha=0.15)
        b.plot(g.cost, g.v, marker="o", label=label)
    a.set(xlabel="members", ylabel=ylabel)
    a.xaxis.set_major_locator(MaxNLocator(integer=True))
    b.set(xlabel="fitting seconds per fold (all members)")
    b.set_xscale("log")
    b.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    b.xaxis.set_major_formatter(ScalarFormatter())
    b.xaxis.set_minor_formatter(NullFormatter())
    a.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cost_scatter(points: pd.DataFrame, x: str = "fit_s_per_fold", y: str = "estimate",
                 label: str = "config", hue: str = "family") -> Figure:
    """Each configuration's accuracy (``y``, with ``lo``/``hi`` interval columns when present)
    against its fitting cost (``x``, log scale), coloured by ``hue``, labelled by ``label``."""
    fig, ax = plt.subplots(figsize=(8, 5.2))
    palette = dict(zip(points[hue].unique(), sns.color_palette("tab10"), strict=False))
    placed: list[tuple[float, float]] = []  # label anchors (log10 x, points up), to dodge
    for r in points.sort_values(y, ascending=False).itertuples():
        c = palette[getattr(r, hue)]
        if hasattr(r, "lo"):
            ax.plot([getattr(r, x)] * 2, [r.lo, r.hi], color=c, alpha=0.4, lw=1)
        ax.scatter(getattr(r, x), getattr(r, y), color=c, s=25, zorder=3)
        lx, dy = np.log10(max(getattr(r, x), 1e-9)), 2.0
        span = np.ptp(points[y]) or 1.0
        ly = getattr(r, y) / span * 300  # in points of a 300-point-high axis, roughly
        while any(abs(lx - px) < 0.45 and abs(ly + dy - py) < 8 for px, py in placed):
            dy -= 8  # the next line down, until it no longer overlaps a placed label
        placed.append((lx, ly + dy))
        ax.annotate(getattr(r, label), (getattr(r, x), getattr(r, y)), fontsize=7,
                    xytext=(4, dy), textcoords="offset points",
                    arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"} if dy < 0
                    else None)
    for name, c in palette.items():
        ax.scatter([], [], color=c, label=name)
    ax.set_xscale("log")
    ax.set(xlabel="fitting seconds per fold, all members (log scale)", ylabel="pooled R²")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def correlation_heatmap(corr: pd.DataFrame) -> Figure:
    """The members' error correlation (``error_correlation``) as an annotated heatmap."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.heatmap(corr, vmin=0, vmax=1, cmap="rocket_r", annot=True, fmt=".2f", square=True,
                cbar_kws={"label": "correlation of errors"}, ax=ax)
    fig.tight_layout()
    return fig


def split_ranking(table: pd.DataFrame, order, metric: str = "estimate") -> Figure:
    """Left: each learner's pooled R² per split (``table`` rows kind, learner, ``metric``,
    lo, hi); right: its rank within each split (1 = best), so crossing lines show a ranking
    that depends on the split."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    kinds = [k for k in order if k in set(table.kind)]
    x = np.arange(len(kinds))
    learners = list(dict.fromkeys(table.learner))
    width = 0.8 / len(learners)
    for i, name in enumerate(learners):
        t = table[table.learner == name].set_index("kind").reindex(kinds)
        a.bar(x + i * width, t[metric], width, label=name,
              yerr=[t[metric] - t.lo, t.hi - t[metric]] if "lo" in t else None, capsize=2)
        ranks = table.pivot(index="kind", columns="learner", values=metric).reindex(kinds).rank(
            axis=1, ascending=False)
        b.plot(x, ranks[name], marker="o", label=name)
    a.set_xticks(x + 0.4 - width / 2, kinds, rotation=20)
    a.set(ylabel="pooled R²")
    low = a.get_ylim()[0]
    if low < FLOOR:  # a learner far below zero would flatten the others: cut, and say so
        a.set_ylim(FLOOR, None)
        a.set_title(f"axis cut at R² = {FLOOR}", fontsize=8)
    a.axhline(0, color="grey", lw=0.8)
    b.set_xticks(x, kinds, rotation=20)
    b.set(ylabel="rank within the split", yticks=range(1, len(learners) + 1))
    b.invert_yaxis()
    a.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pathway_heatmap(frame: pd.DataFrame, value: str, title: str) -> Figure:
    """Rows group, columns dimension category: ``value`` (e.g. R² lost when a group is
    permuted, or mean |SHAP|) averaged over the dimensions of each category."""
    t = frame.assign(category=frame.dimension.map(CATEGORIES))
    wide = t.pivot_table(index="group", columns="category", values=value, aggfunc="mean")
    wide = wide.loc[wide.mean(axis=1).sort_values(ascending=False).index]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(wide) + 1.5))
    sns.heatmap(wide, cmap="vlag", center=0, annot=True, fmt=".3f", ax=ax,
                cbar_kws={"label": value.replace("_", " ")})
    ax.set(title=title, xlabel="", ylabel="")
    fig.tight_layout()
    return fig
