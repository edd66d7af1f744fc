"""What the Phase 2 chapter says and draws about few-shot adaptation to a new work
(``experiments.phase2.phase2_fewshot``), generated from the stored predictions so the text
stays true when the numbers change."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from percepiano.evaluation.verdicts import join_items

METRIC_NAMES = {"mean_r2": "pooled R²", "mean_pairwise": "within-excerpt pairwise accuracy"}


def against_no_labels(page, oof: pd.DataFrame) -> pd.DataFrame:
    """Each learner with ``k`` labelled performances against the same learner with none, paired
    over the same query segments and draws, intervals over works (``page.compare``, Holm within
    each learner): ``compare``'s rows with a ``method`` column; ``config`` is ``k`` as text."""
    from percepiano.evaluation.comparison import by_config

    out = []
    for method, part in oof.groupby("method", sort=False):
        preds = by_config(part.drop(columns=["method", "work"]), "k")
        out.append(page.compare(preds, "0", kind="work").assign(method=method))
    return pd.concat(out, ignore_index=True)


def least_that_helps(table: pd.DataFrame, metric: str = "mean_r2") -> str:
    """For each learner, the fewest labelled performances that lift ``metric`` significantly
    above the same learner with none (``against_no_labels``' table), or that none does."""
    part = table[table.metric == metric]
    helped, never = [], []
    for method, rows in part.groupby("method", sort=False):
        up = rows[rows.significant & rows.excludes_zero & (rows.difference > 0)]
        if len(up):
            first = up.assign(k=up.config.astype(int)).sort_values("k").iloc[0]
            helped.append(f"{method} from k = {int(first.k)} ({first.difference:+.3f} "
                          f"[{first.ci_lo:+.3f}, {first.ci_hi:+.3f}])")
        else:
            never.append(method)
    name = METRIC_NAMES[metric]
    if not helped:
        return (f"No number of labelled performances of the new work, up to the largest tried, "
                f"raises the {name} significantly for {join_items(never)}.")
    text = (f"Labelled performances of the new work raise the {name} significantly for "
            f"{join_items(helped)}")
    if never:
        text += f"; no number of them up to the largest tried does for {join_items(never)}"
    return text + "."


def best_at(summary: pd.DataFrame, metric: str = "mean_r2") -> Mapping[int, str]:
    """{k: the learner with the highest ``metric`` estimate at that k} from ``page.summary``'s
    rows (columns method, k, metric, estimate)."""
    part = summary[summary.metric == metric]
    return {int(k): str(rows.sort_values("estimate").iloc[-1].method)
            for k, rows in part.groupby("k", sort=True)}


PLACING = {"pooled_r2": "pooled R²", "per_work_r2": "per work, mean",
           "per_work_r2_median": "per work, median", "within_work_r2": "within works"}
PLACED = "each work's true query mean"  # the reference row: placing the works, nothing else


def placing_table(table, ks=None) -> pd.DataFrame:
    """The pooled R² beside the per-work and within-work R² (``evaluation.fewshot.scores``,
    means over draws) of each learner at each of ``ks`` (default: the smallest and the
    largest k of ``table``: ``phase2_fewshot``'s ``table`` records), and a last row, the
    prediction of each work's true query mean (``work_mean_r2``; 0 per work and within works
    by construction). Columns: learner, k (None on the reference row), then ``PLACING``."""
    t = pd.DataFrame(table)
    ks = sorted({int(t.k.min()), int(t.k.max())}) if ks is None else list(ks)
    shown = t[t.k.isin(ks)].sort_values(["k"], kind="stable")
    out = shown[["method", "k", *PLACING]].rename(columns={"method": "learner", **PLACING})
    ref = {"learner": PLACED, "k": None, PLACING["pooled_r2"]: float(t.work_mean_r2.iloc[0]),
           **{PLACING[c]: 0.0 for c in list(PLACING)[1:]}}
    out = pd.concat([out, pd.DataFrame([ref])], ignore_index=True)
    out["k"] = out.k.astype("Int64")
    return out


def placing_numbers(table, oof: pd.DataFrame, learner: str = "forest", top: int = 3) -> dict:
    """What the sentence on the pooled R² glues: the query size (``query_rows``), the rows of
    its ``top`` largest works (``top_rows``, ``top``), the largest k (``kmax``), what each
    work's true query mean scores (``placed_r2``), and ``learner``'s R² at the smallest and the
    largest k: ``pooled_k0``, ``per_work_k0`` (mean over works), ``per_work_median_k0``,
    ``within_k0`` and the same ending ``_kmax``. ``table``: ``phase2_fewshot``'s ``table``
    records; ``oof``: its predictions (the same query for every method, k and draw)."""
    t = pd.DataFrame(table)
    one = oof[(oof.method == oof.method.iloc[0]) & (oof.k == oof.k.iloc[0])
              & (oof.seed == oof.seed.iloc[0])]
    sizes = one.work.value_counts()
    out = {"query_rows": int(sizes.sum()), "top_rows": int(sizes.head(top).sum()), "top": top,
           "placed_r2": float(t.work_mean_r2.iloc[0]), "kmax": int(t.k.max())}
    rows = t[t.method == learner].set_index("k")
    for name, k in (("k0", int(t.k.min())), ("kmax", int(t.k.max()))):
        for col, short in (("pooled_r2", "pooled"), ("per_work_r2", "per_work"),
                           ("per_work_r2_median", "per_work_median"),
                           ("within_work_r2", "within")):
            out[f"{short}_{name}"] = float(rows.loc[k, col])
    return out


def curve_figure(summary: pd.DataFrame):
    """Pooled R² and within-excerpt pairwise accuracy against k, one line per learner, with
    the bootstrap intervals over works as bars."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    methods = list(dict.fromkeys(summary.method))
    for ax, metric in zip(axes, METRIC_NAMES, strict=True):
        part = summary[summary.metric == metric]
        for i, method in enumerate(methods):
            rows = part[part.method == method].sort_values("k")
            x = rows.k.astype(float) + (i - (len(methods) - 1) / 2) * 0.06 * rows.k.clip(
                lower=0.5)
            ax.errorbar(x, rows.estimate, yerr=[rows.estimate - rows.ci_lo,
                                                rows.ci_hi - rows.estimate],
                        marker="o", ms=4, capsize=2, label=method)
        ax.set_xscale("symlog", linthresh=1)
        ks = sorted(set(part.k.astype(int)))
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("labelled performances of the new work (k)")
        ax.set_ylabel(METRIC_NAMES[metric])
    axes[1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def transfer_summary(page, oof: pd.DataFrame) -> pd.DataFrame:
    """``page.summary`` of ``experiments.phase2.phase2_transfer``'s predictions per
    configuration, on each composer (scored by models trained on the other) and on both
    (column ``scored on``); intervals over music groups."""
    parts = []
    for target in [*sorted(set(oof.target)), "both"]:
        part = oof if target == "both" else oof[oof.target == target]
        parts.append(page.summary(part.drop(columns="target"), ["config"], kind="composer",
                                  human=False).assign(**{"scored on": target}))
    return pd.concat(parts, ignore_index=True)


def transfer_against_plain(page, oof: pd.DataFrame) -> pd.DataFrame:
    """Each adaptation (configuration ``learner + adaptation``) against the same learner on the
    descriptors as they are (configuration ``learner``), paired over
    every segment (each scored by a model trained on the other composer), intervals over music
    groups, Holm within each learner: ``compare``'s rows with a ``learner`` column."""
    from percepiano.evaluation.comparison import by_config

    out = []
    learners = oof.config.str.split(" + ", regex=False).str[0]
    for learner in dict.fromkeys(learners):
        part = oof[learners == learner].drop(columns="target")
        out.append(page.compare(by_config(part, "config"), learner, kind="composer")
                   .assign(learner=learner))
    return pd.concat(out, ignore_index=True)


def transfer_text(table: pd.DataFrame) -> str:
    """Generated sentences from ``transfer_against_plain``'s table, one paragraph per
    learner (``verdicts.tally``)."""
    from percepiano.evaluation.verdicts import tally

    return "\n\n".join(tally(part, f"{learner} on the descriptors as they are")
                       for learner, part in table.groupby("learner", sort=False))


def label_shift(labels: pd.DataFrame, composer: pd.Series, top: int = 3) -> str:
    """The dimensions whose mean rating differs most between the composers, in points of the
    1-7 scale (``labels`` on the 0-1 scale, rows by segment; ``composer`` per segment): what
    no alignment of the descriptors can learn without the other composer's ratings."""
    from percepiano.data.dataset import SCALE_MAX
    from percepiano.plots import short_name

    means = labels.groupby(composer.loc[labels.index]).mean() * SCALE_MAX
    if len(means) != 2:
        raise ValueError(f"two composers expected, got {len(means)}")
    a, b = means.index
    diff = (means.loc[b] - means.loc[a]).sort_values(key=abs, ascending=False).head(top)
    items = [f"{short_name(d)} ({v:+.2f})" for d, v in diff.items()]
    return (f"The mean ratings of the two composers' performances differ most on "
            f"{join_items(items)} (points of the 1-7 scale, {b} minus {a}).")


def agreement_text(agreement: pd.DataFrame, segments: int) -> str:
    """What ``experiments.phase2_explain``'s ``agreement`` rows (one per dimension: ``agrees``,
    ``strongest_agrees``) say, generated from them."""
    from percepiano.plots import short_name

    a = agreement.set_index("dimension")
    lo, hi = a.agrees.idxmin(), a.agrees.idxmax()
    below = [short_name(d) for d in a.index[a.agrees < 0.5]]
    text = (f"Over the {segments} development performances, each explained by a forest that "
            f"never saw its ratings, the reason a sentence gives pushes the score the way the "
            f"raters' rating lies from the mean on {a.agrees.mean():.0%} of the "
            f"(performance, dimension) pairs, averaged over the dimensions: from "
            f"{a.agrees[lo]:.0%} ({short_name(lo)}) to {a.agrees[hi]:.0%} ({short_name(hi)}). "
            f"The descriptor with the largest attribution, whichever way it points, does so on "
            f"{a.strongest_agrees.mean():.0%}.")
    if below:
        text += (f" On {join_items(below)} the reasons point the raters' way less than half "
                 f"the time.")
    return text


def example_table(explanations: pd.DataFrame, name: str, rows: int = 6) -> pd.DataFrame:
    """One example performance's explanations (``phase2_explain``'s ``explanations`` rows) on
    the ``rows`` dimensions whose rating lies furthest from the mean rating: the dimension, the
    raters' mean rating (1-7) and the sentence ``percepiano explain`` prints."""
    from percepiano.plots import short_name

    part = explanations[explanations.name == name]
    far = (part.rating - part.mean_rating).abs().sort_values(ascending=False).index[:rows]
    out = part.loc[far]
    return pd.DataFrame({"dimension": out.dimension.map(short_name).to_numpy(),
                         "raters": out.rating.round(1).to_numpy(),
                         "explanation": out.sentence.to_numpy()})


def transfer_figure(summary: pd.DataFrame):
    """``transfer_summary``'s pooled R² and within-excerpt pairwise accuracy: one group of bars
    per composer scored (and both), one bar per configuration, with its bootstrap interval."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    targets = list(dict.fromkeys(summary["scored on"]))
    configs = list(dict.fromkeys(summary.config))
    width = 0.8 / len(configs)
    for ax, metric in zip(axes, METRIC_NAMES, strict=True):
        part = summary[summary.metric == metric].set_index(["scored on", "config"])
        for i, config in enumerate(configs):
            rows = part.xs(config, level="config").reindex(targets)
            x = np.arange(len(targets)) + (i - (len(configs) - 1) / 2) * width
            ax.bar(x, rows.estimate, width, label=config,
                   yerr=[rows.estimate - rows.ci_lo, rows.ci_hi - rows.estimate], capsize=2)
        ax.set_xticks(range(len(targets)), [f"scored on\n{t}" if t != "both" else "both"
                                             for t in targets])
        ax.axhline(0.5 if metric == "mean_pairwise" else 0.0, color="grey", lw=0.8)
        ax.set_ylabel(METRIC_NAMES[metric])
    axes[1].set_ylim(bottom=0.45)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig
