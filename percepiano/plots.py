"""Figures shared by the chapters (seaborn on matplotlib).

Every function takes plain tables and returns a ``matplotlib.figure.Figure``; the chapter glues it
into the book with a caption. Dimensions are labelled with ``short_name`` (``Timbre: bright –
dark``) and coloured by their category, in the dataset's order unless a figure sorts them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

from percepiano.data.dataset import CATEGORIES, CATEGORY_NAMES, DIMENSIONS
from percepiano.data.poles import POLES, category_label  # noqa: F401 (re-exported)


def short_name(dim: str) -> str:
    """A readable label for a dimension: ``Timbre: bright – dark``."""
    low, high = POLES[dim]
    return f"{category_label(CATEGORIES[dim])}: {low} – {high}"


def category_colours() -> dict[str, tuple]:
    """One colour per category, stable across figures."""
    return dict(zip(CATEGORY_NAMES, sns.color_palette("tab10", len(CATEGORY_NAMES)), strict=True))


# the identity baselines keep their colours in every figure; other models take the next ones
BASELINE_LABELS = {"global_mean": "global mean", "excerpt_mean": "excerpt mean",
                   "performer_mean": "performer mean",
                   "performer_work_mean": "performer × work mean",
                   "work_performer_offset": "work mean + performer offset"}
BASELINE_COLOURS = dict(zip(BASELINE_LABELS.values(), sns.color_palette("tab10")[:5],
                            strict=True))


def style() -> None:
    """The book's look: seaborn's white grid, a readable size, crisp PNGs."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "figure.autolayout": False})


def _colour_ticks(ax, dims, axis="y") -> None:
    colours = category_colours()
    ticks = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    for tick, dim in zip(ticks, dims, strict=True):
        tick.set_color(colours[CATEGORIES[dim]])


def crosstab_heatmap(segments: pd.DataFrame, rows: str, cols: str) -> Figure:
    """Segments per (``rows``, ``cols``) pair (e.g. piece x performer), counts written in."""
    table = pd.crosstab(segments[rows], segments[cols])
    table = table[sorted(table.columns, key=lambda c: (not str(c).isdigit(), _natural(c)))]
    fig, ax = plt.subplots(figsize=(0.42 * table.shape[1] + 3, 0.32 * table.shape[0] + 1.5))
    sns.heatmap(table, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=0.5,
                annot_kws={"size": 7}, ax=ax, mask=table == 0)
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    return fig


def _natural(value) -> tuple:
    text = str(value)
    return (int(text), "") if text.isdigit() else (0, text)


def label_distributions(labels: pd.DataFrame, scale: float = 7.0) -> Figure:
    """Box plots of each dimension on the raters' 1-7 scale (labels are mean rating / 7)."""
    dims = [d for d in DIMENSIONS if d in labels.columns]
    long = (labels[dims] * scale).melt(var_name="dimension", value_name="rating")
    long["dimension"] = long["dimension"].map(short_name)
    long["category"] = long["dimension"].str.split(":").str[0]
    fig, ax = plt.subplots(figsize=(7.5, 0.33 * len(dims) + 1.2))
    palette = {category_label(c): col for c, col in category_colours().items()}
    with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated `vert`
        warnings.filterwarnings("ignore", message=".*vert: bool.*")
        sns.boxplot(long, x="rating", y="dimension", hue="category", palette=palette, ax=ax,
                    fliersize=1.5, linewidth=0.8, legend=False)
    ax.set_xlim(1, scale)
    ax.set_xlabel("mean rating (1-7)")
    ax.set_ylabel("")
    _colour_ticks(ax, dims)
    return fig


def correlation_clustermap(labels: pd.DataFrame) -> Figure:
    """Pearson correlations between dimensions, ordered by average-linkage clustering on 1 - r."""
    dims = [d for d in DIMENSIONS if d in labels.columns]
    corr = labels[dims].corr()
    dist = squareform(np.clip(1 - corr.to_numpy(), 0, None), checks=False)
    tree = linkage(dist, method="average")
    named = corr.rename(index=short_name, columns=short_name)
    colours = category_colours()
    side = pd.Series([colours[CATEGORIES[d]] for d in dims], index=named.index, name="category")
    grid = sns.clustermap(named, row_linkage=tree, col_linkage=tree, cmap="vlag", vmin=-1,
                          vmax=1, annot=True, fmt=".1f", annot_kws={"size": 6},
                          row_colors=side, figsize=(11, 10), dendrogram_ratio=0.12,
                          cbar_pos=(0.015, 0.86, 0.02, 0.11), linewidths=0.3)
    grid.ax_cbar.set_title("r", fontsize=9)
    grid.ax_row_colors.set_xticks([])
    grid.ax_heatmap.set_xlabel("")
    grid.ax_heatmap.set_ylabel("")
    return grid.figure


def count_histograms(counts: Mapping[str, pd.Series], bins: int = 30) -> Figure:
    """One histogram per named count series (e.g. ratings per segment, ratings per rater)."""
    fig, axes = plt.subplots(1, len(counts), figsize=(4.2 * len(counts), 3.2), squeeze=False)
    for ax, (title, series) in zip(axes[0], counts.items(), strict=True):
        values = pd.Series(series).astype(float)
        discrete = values.max() - values.min() <= bins
        sns.histplot(values, ax=ax, discrete=discrete, bins="auto" if discrete else bins)
        ax.axvline(values.median(), color="k", ls="--", lw=1, label=f"median {values.median():g}")
        ax.set_xlabel(title)
        ax.set_ylabel("count")
        ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def dimension_bars(frame: pd.DataFrame, xlabel: str, sort_by: str | None = None,
                   xlim: tuple[float, float] | None = None) -> Figure:
    """Horizontal bars per dimension (index) for each column of ``frame``, side by side."""
    frame = frame.loc[[d for d in DIMENSIONS if d in frame.index]]
    if sort_by is not None:
        frame = frame.sort_values(sort_by, ascending=False)
    dims = list(frame.index)
    long = frame.rename(index=short_name).rename_axis("dimension").reset_index().melt(
        id_vars="dimension", var_name="measure", value_name="value")
    fig, ax = plt.subplots(figsize=(7.5, 0.33 * len(dims) * max(1, frame.shape[1] / 1.6) + 1.2))
    sns.barplot(long, x="value", y="dimension", hue="measure" if frame.shape[1] > 1 else None,
                ax=ax, orient="h", color=None if frame.shape[1] > 1 else "C0")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    if xlim is not None:
        ax.set_xlim(*xlim)
    if frame.shape[1] > 1:
        ax.legend(title="", frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncol=frame.shape[1])
    _colour_ticks(ax, dims)
    return fig


def split_bars(table: pd.DataFrame, value: str = "mean_r2", x: str = "kind",
               hue: str = "baseline", ylabel: str = "mean R² over dimensions",
               reference: Mapping[str, float] | None = None,
               ci: tuple[str, str] | None = None) -> Figure:
    """Grouped bars of ``value`` per split kind (``x``) and model (``hue``), with a zero line,
    optional horizontal reference lines ({label: value}, e.g. the noise ceiling) and, with
    ``ci=(lo column, hi column)``, each bar's interval as an error bar (one row per bar then)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    names = list(dict.fromkeys(table[hue]))
    others = iter(c for c in sns.color_palette("tab10") if c not in BASELINE_COLOURS.values())
    palette = {n: BASELINE_COLOURS.get(n) or next(others) for n in names}
    sns.barplot(table, x=x, y=value, hue=hue, ax=ax, errorbar=None, palette=palette,
                hue_order=names)
    ax.axhline(0, color="k", lw=0.8)
    for i, (label, level) in enumerate((reference or {}).items()):
        ax.axhline(level, color=f"C{7 + i}", ls="--", lw=1.2, label=label)
    for bars in ax.containers:
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    if ci is not None:
        _interval_bars(ax, table, x, hue, names, ci)
    ax.set_xlabel("split")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _interval_bars(ax, table: pd.DataFrame, x: str, hue: str, names: list, ci) -> None:
    """Error bars from the ``ci`` columns on the bars seaborn drew (one container per hue)."""
    xs = list(dict.fromkeys(table[x]))
    rows = table.set_index([hue, x])
    for name, bars in zip(names, ax.containers, strict=False):
        for level, bar in zip(xs, bars, strict=False):
            height = bar.get_height()
            if (name, level) not in rows.index or np.isnan(height):
                continue
            lo, hi = rows.loc[(name, level), list(ci)]
            # a percentile interval need not contain the estimate: draw the interval itself
            mid, cap = bar.get_x() + bar.get_width() / 2, bar.get_width() / 6
            ax.vlines(mid, lo, hi, color="k", lw=0.8)
            ax.hlines([lo, hi], mid - cap, mid + cap, color="k", lw=0.8)


def with_intervals(summary: pd.DataFrame, index: list[str], metrics: Mapping[str, str],
                   digits: int = 3) -> pd.DataFrame:
    """A ``stats.summarise`` table as text, one row per ``index`` combination and one column per
    metric ({metric: column title}): "estimate [ci_lo, ci_hi]"."""
    cell = summary.assign(text=[f"{r.estimate:.{digits}f} [{r.ci_lo:.{digits}f}, "
                                f"{r.ci_hi:.{digits}f}]" for r in summary.itertuples()])
    wide = cell[cell.metric.isin(list(metrics))].pivot(index=index, columns="metric",
                                                        values="text")
    order = summary.drop_duplicates(index).set_index(index).index
    return wide.loc[order, list(metrics)].rename(columns=dict(metrics))


def glue_figure(name: str, fig: Figure) -> None:
    """Store ``fig`` under ``name`` for a captioned ``{glue:figure}`` in the chapter's text, and
    close it so it is not shown a second time as the cell's output."""
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)


def table(frame: pd.DataFrame, caption: str, digits: int = 3):
    """A captioned table for a chapter: floats to ``digits`` places, missing values as a dash,
    styled like the theme's tables (a pandas ``Styler``; the notebook renders it as HTML)."""
    if any(name is not None for name in frame.index.names):  # the index becomes a named column
        frame = frame.reset_index()
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return (frame.style.format({c: f"{{:.{digits}f}}" for c in floats}, na_rep="–")
            .hide(axis="index").set_caption(caption).set_table_attributes('class="table"'))


def tradeoff_scatter(table: pd.DataFrame, x: str = "s_per_epoch", y: str = "val_r",
                     label: str = "variant", xlabel: str = "seconds per epoch",
                     ylabel: str = "validation mean r") -> Figure:
    """One labelled point per row: cost (``x``) against accuracy (``y``)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    sns.scatterplot(table, x=x, y=y, hue=label, s=70, ax=ax, legend=False)
    for row in table.itertuples():
        ax.annotate(getattr(row, label), (getattr(row, x), getattr(row, y)), fontsize=8,
                    xytext=(5, 4), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.margins(x=0.25, y=0.15)
    return fig


def differences(table: pd.DataFrame, label: str = "config",
                xlabel: str = "difference from the baseline") -> Figure:
    """Forest plot of ``evaluation.stats.compare``'s table: one row per comparison (``label``),
    one panel per metric, each difference with its bootstrap interval and a line at zero. Filled
    points are significant after Holm's correction (``significant``), open points are not."""
    names = {"mean_r2": "mean R²", "mean_r": "mean r", "mean_rho": "mean ρ",
             "mean_mse": "mean MSE", "mean_within_rho": "within-excerpt ρ",
             "mean_pairwise": "pairwise accuracy"}
    metrics = list(dict.fromkeys(table["metric"]))
    rows = list(dict.fromkeys(table[label]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics) + 1.6,
                                                       0.4 * len(rows) + 1.3),
                             sharey=True, squeeze=False)
    for ax, metric, colour in zip(axes[0], metrics, sns.color_palette("tab10"), strict=False):
        part = table[table["metric"] == metric]
        y = np.array([rows.index(r) for r in part[label]])
        diff = part["difference"].to_numpy()
        ax.errorbar(diff, y, xerr=[diff - part["ci_lo"], part["ci_hi"] - diff], fmt="none",
                    ecolor=colour, elinewidth=1.4, capsize=3)
        filled = part.get("significant", pd.Series(True, index=part.index)).to_numpy(bool)
        ax.scatter(diff, y, s=36, zorder=3, edgecolors=[colour] * len(y),
                   facecolors=[colour if f else "white" for f in filled])
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(names.get(metric, metric), fontsize=10)
        ax.set_xlabel(xlabel)
    axes[0][0].set_yticks(range(len(rows)), rows)
    axes[0][0].set_ylim(len(rows) - 0.5, -0.5)  # the table's first row on top
    fig.tight_layout()
    return fig


def scaling(table: pd.DataFrame, xs: Mapping[str, str], hue: str = "layout",
            value: str = "estimate", ci: tuple[str, str] = ("ci_lo", "ci_hi"),
            ylabel: str = "mean R² (piece split)", label: str | None = None) -> Figure:
    """Accuracy against cost: one panel per column of ``xs`` ({column: axis title}, drawn on a
    log scale), one line per value of ``hue`` through its points sorted by x, each point with
    its interval; ``label`` names a column whose text marks each point."""
    fig, axes = plt.subplots(1, len(xs), figsize=(4.2 * len(xs) + 1.2, 3.8), sharey=True,
                             squeeze=False)
    groups = list(dict.fromkeys(table[hue]))
    colours = dict(zip(groups, sns.color_palette("tab10"), strict=False))
    for ax, (x, title) in zip(axes[0], xs.items(), strict=True):
        for name in groups:
            part = table[table[hue] == name].sort_values(x)
            c = colours[name]
            ax.plot(part[x], part[value], "-o", color=c, label=name, ms=5, lw=1.2)
            ax.vlines(part[x], part[ci[0]], part[ci[1]], color=c, lw=1.0, alpha=0.8)
            if label is not None:
                for row in part.itertuples():
                    if str(getattr(row, label)):  # an empty label marks nothing
                        ax.annotate(str(getattr(row, label)),
                                    (getattr(row, x), getattr(row, value)),
                                    fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks collide
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xlabel(title)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def profile(prof: Mapping, reference: np.ndarray, scale: float = 7.0) -> Figure:
    """One performance's profile (``analysis.scoring.score``): each dimension's score and
    interval over the distribution its percentile ranks against (``reference``: (n, 19) on the
    0-1 label scale, the development performances' out-of-fold predictions, described by the
    profile's ``percentile_of``), poles at either end of each row."""
    import textwrap

    dims = [d["dimension"] for d in prof["dimensions"]]
    ref = pd.DataFrame(np.asarray(reference) * scale, columns=list(DIMENSIONS))[dims]
    long = ref.melt(var_name="dimension", value_name="rating")
    fig, ax = plt.subplots(figsize=(9.5, 0.42 * len(dims) + 1.6))
    with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated `vert`
        warnings.filterwarnings("ignore", message=".*vert: bool.*")
        sns.violinplot(long, x="rating", y="dimension", order=dims, color="0.88", inner=None,
                       cut=0, linewidth=0, density_norm="width", width=0.8, ax=ax)
    colours = category_colours()
    for i, d in enumerate(prof["dimensions"]):
        colour = colours[CATEGORIES[d["dimension"]]]
        if d.get("low") is not None:
            ax.plot([d["low"], d["high"]], [i, i], color=colour, lw=3.2, alpha=0.55,
                    solid_capstyle="butt")
        ax.plot(d["score"], i, "o", color=colour, ms=6.5, mec="k", mew=0.6)
    ax.set_xlim(1, scale)
    ax.set_ylim(len(dims) - 0.5, -0.5)
    ax.set_yticks(range(len(dims)),
                  [f"{category_label(CATEGORIES[d])}: {POLES[d][0]}" for d in dims])
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(range(len(dims)), [POLES[d][1] for d in dims])
    for axis in (ax, right):
        axis.tick_params(axis="y", length=0, labelsize=8.5)
    _colour_ticks(ax, dims)
    ax.set_ylabel("")
    ax.set_xlabel("score on the raters' 1-7 scale")
    ax.grid(axis="x", color="0.92", lw=0.6)
    level = prof.get("level")
    grey = prof.get("percentile_of") or f"{len(ref)} reference performances"
    what = (f"dot: score; bar: {level:.0%} interval; " if level else "dot: score; ") + (
        f"grey: {grey}, among which the percentile ranks the dot")
    what = "\n".join(textwrap.wrap(what, 95))
    ax.set_title(f"{Path(prof['file']).name}\n{what}", fontsize=9.5)
    fig.tight_layout()
    return fig


def save_profile(prof: Mapping, reference: np.ndarray, path) -> None:
    """``profile`` written to a PNG (atomically: a failed draw leaves no file)."""
    from percepiano.io import atomic_path

    fig = profile(prof, reference)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, format="png")
    finally:
        plt.close(fig)


def grouped_bars(values: pd.Series, groups: pd.Series, xlabel: str) -> Figure:
    """Horizontal bars of ``values`` (indexed by item), ordered and coloured by ``groups``
    (same index), with a line at zero."""
    frame = pd.DataFrame({"value": values, "group": groups.loc[values.index]})
    frame = frame.sort_values(["group", "value"], ascending=[True, False])
    fig, ax = plt.subplots(figsize=(7.0, 0.22 * len(frame) + 1.2))
    sns.barplot(frame.reset_index(names="item"), x="value", y="item", hue="group", dodge=False,
                ax=ax, palette="tab10")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    ax.tick_params(axis="y", labelsize=7.5)
    ax.legend(title="", frameon=False, loc="lower right")
    fig.tight_layout()
    return fig
