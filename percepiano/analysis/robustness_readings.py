"""The week-4 chapter's robustness readings: each perturbed level against the clean score of
the same system, paired (``experiments.week4``'s ``week4_robustness``).

Every level scores the same held-out segments with the same fitted models, so a level is
compared with the clean score the way the book compares systems everywhere else: the paired
difference over the same segments, its bootstrap interval over music groups and a permutation
test, Holm's correction over all levels of all systems (``evaluation.comparison``). A level
"hurts" when that verdict says so, not when its own interval happens to clear the clean point
estimate, which ignores the pairing.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.verdicts import join_items

METRIC_TITLES = {"mean_r2": "pooled R²", "mean_pairwise": "within-excerpt pairwise accuracy"}
LEVEL_WORDS = {"noise": "{:g} dB SNR", "reverb": "wet level {:g}", "gain": "{:+g} dB",
               "tempo": "{:g} times the tempo",
               "velocity": "{:g} times the velocity", "jitter": "{:g} ms"}
WHOLE = {"piano": "the unseen piano", "telephone": "the telephone band limit"}  # on/off
PERTURBATION_UNITS = {"noise": "SNR (dB)", "reverb": "wet level", "gain": "gain (dB)",
                      "tempo": "tempo factor", "telephone": "band limit (0 off, 1 on)",
                      "velocity": "velocity factor", "jitter": "onset jitter (ms)"}


def level_name(perturbation: str, level: float) -> str:
    """How a level reads in text and tables: "noise at 20 dB SNR", "the unseen piano"."""
    return WHOLE.get(perturbation) or (
        f"{perturbation} at {LEVEL_WORDS.get(perturbation, '{:g}').format(level)}")


def levels(oof: pd.DataFrame, clean: Mapping[str, tuple[str, float]],
           identities: Mapping[str, float]) -> dict[str, dict]:
    """{system: {name: predictions}} for ``evaluation.stats.compare``: the clean row first
    (named "clean"), then every level that perturbs (``level_name``), each a DataFrame indexed
    by segment with the 19 dimensions (and ``seed`` where stored; the fold is left out: the
    experiment may hold out a single fold, too few for per-fold statistics). ``oof``: the
    experiment's out-of-fold table (columns ``system``, ``perturbation``, ``level``);
    ``clean``: {system: (perturbation, identity level)} naming its clean rows; ``identities``:
    {perturbation: its identity level} (the experiment's ``levels``, identity first), whose
    rows repeat the clean score and are left out. Raises ValueError when a system has no
    clean rows."""
    keep = [c for c in (*DIMENSIONS, "seed") if c in oof]
    out = {}
    for system, rows in oof.groupby("system", sort=False):
        name, identity = clean[system]
        is_clean = (rows.perturbation == name) & (rows.level == identity)
        if not is_clean.any():
            raise ValueError(f"{system!r} has no clean rows ({name} at {identity:g})")
        preds = {"clean": rows.loc[is_clean, keep]}
        for (p, lv), part in rows.groupby(["perturbation", "level"], sort=False):
            if identities.get(p) != lv:
                preds[level_name(p, lv)] = part[keep]
        out[system] = preds
    return out


def versus_clean(page, oof: pd.DataFrame, clean: Mapping[str, tuple[str, float]],
                 identities: Mapping[str, float],
                 metrics=("mean_r2", "mean_pairwise")) -> pd.DataFrame:
    """Every level of every system against that system's clean score (``levels``), paired:
    ``page.compare`` (``analysis.page.Page``: the piece split's units, permutation test, Holm
    within each system's family), the tables stacked with a ``system`` column."""
    return pd.concat([page.compare(preds, "clean", metrics=metrics).assign(system=system)
                      for system, preds in levels(oof, clean, identities).items()],
                     ignore_index=True)


def robustness_text(versus: pd.DataFrame, summary: pd.DataFrame,
                    clean: Mapping[str, tuple[str, float]], units: int,
                    alpha: float = 0.05) -> str:
    """Per system: its clean pooled R² with its interval (``summary``: ``stats.summarise``
    rows by system, perturbation, level), the levels whose paired R² difference from clean
    is significant after Holm's correction, and those whose interval alone excludes zero
    (``versus``: ``stats.compare`` tables stacked with a ``system`` column, ``config``
    naming the level), largest drop first; and, when the ``units`` music groups scored are
    too few for any of the family's tests to pass Holm's first step (a sign-flip test cannot
    go below ``2 / 2**units``), says so."""
    floor = 2.0 / 2 ** units
    out = []
    for system, (name, identity) in clean.items():
        c = summary[(summary.system == system) & (summary.perturbation == name)
                    & (summary.level == identity) & (summary.metric == "mean_r2")].iloc[0]
        fam = versus[versus.system == system]
        v = fam[fam.metric == "mean_r2"].sort_values("difference")

        def said(rows):
            return join_items([f"{r.config} ({r.difference:+.3f} [{r.ci_lo:+.3f}, "
                               f"{r.ci_hi:+.3f}])" for r in rows.itertuples()])
        sure = v[v.verdict == "below"]
        loose = v[(v.verdict == "interval only") & (v.difference < 0)]
        text = (f"The {system} scores {c.estimate:.3f} [{c.ci_lo:.3f}, {c.ci_hi:.3f}] in R² on "
                "clean inputs. Paired with that on the same segments, "
                + (f"{said(sure)} {'lowers' if len(sure) == 1 else 'lower'} it significantly"
                   if len(sure) else "no level lowers it significantly"))
        if len(loose):
            text += (f"; {said(loose)} {'lowers' if len(loose) == 1 else 'lower'} it by an "
                     "interval that excludes zero, not significantly after Holm's correction")
        if floor * len(fam) >= alpha:
            text += (f" (on {units} music groups no sign-flip test can go below "
                     f"p = {floor:.2g}, so Holm's correction over the {len(fam)} tests of this "
                     f"family could not reach {alpha:g}: only the intervals can speak)")
        out.append(text + ".")
    return " ".join(out)


def versus_table(versus: pd.DataFrame) -> pd.DataFrame:
    """The paired comparisons as a table: one row per (system, level), per metric the
    difference from clean with its interval ("+0.012 [-0.010, +0.031]") and the verdict."""
    rows = {}
    for r in versus.itertuples():
        cell = rows.setdefault((r.system, r.config), {})
        title = METRIC_TITLES.get(r.metric, r.metric)
        cell[title] = f"{r.difference:+.3f} [{r.ci_lo:+.3f}, {r.ci_hi:+.3f}]"
        cell[f"verdict ({title})"] = r.verdict
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["system", "level"])


def robustness_figure(summary: pd.DataFrame, metric: str = "mean_r2") -> Figure:
    """One panel per perturbation: the metric against the level, one line per system, with
    intervals; the unseen piano as a point beside the clean score."""
    part = summary[(summary.metric == metric) & (summary.perturbation != "piano")]
    names = list(dict.fromkeys(part.perturbation))
    colours = {system: f"C{i}" for i, system in enumerate(dict.fromkeys(part.system))}
    fig, axes = plt.subplots(1, len(names), figsize=(2.4 * len(names) + 1, 3.0), sharey=True,
                             squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        rows = part[part.perturbation == name]
        finite = rows.level[np.isfinite(rows.level)]
        clean = finite.max() + (np.ptp(finite) or 1) / 3  # where an infinite level is drawn
        for system, p in rows.groupby("system", sort=False):
            p = p.assign(x=p.level.where(np.isfinite(p.level), clean)).sort_values("x")
            ax.plot(p.x, p.estimate, "o-", ms=3, color=colours[system])
            ax.fill_between(p.x, p.ci_lo, p.ci_hi, color=colours[system], alpha=0.2)
        if not np.isfinite(rows.level).all():
            ticks = sorted(set(finite)) + [clean]
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks[:-1]] + ["∞"], fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(PERTURBATION_UNITS.get(name, "level"), fontsize=8)
        ax.axhline(0, color="k", lw=0.6)
    axes[0][0].set_ylabel(METRIC_TITLES.get(metric, metric))
    handles = [plt.Line2D([], [], color=c, marker="o", ms=3) for c in colours.values()]
    axes[0][-1].legend(handles, list(colours), frameon=False, fontsize=8, loc="upper left",
                       bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig
