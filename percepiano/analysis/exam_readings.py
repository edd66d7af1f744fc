"""The final results chapter's readings: the exam beside development, the caveat of what saw
the exam before it was locked, and the published numbers with their own splits.

Every sentence is generated from the numbers or records it states (``data.exam.history``, the
ledger of reads, the stored results of ``experiments.results``), so it stays true when they
change. Summaries are ``stats.summarise`` tables with a ``system`` column.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from percepiano.evaluation import small_g
from percepiano.evaluation.verdicts import join_items

NAMES = {"mean_r2": "R²", "mean_r": "r", "mean_within_rho": "within-excerpt ρ",
         "mean_pairwise": "pairwise accuracy"}


def side_by_side(development: pd.DataFrame, exam: pd.DataFrame) -> pd.DataFrame:
    """One row per system: each metric on the development cross-validation and on the exam,
    "estimate [lo, hi]", all performances, then R² and pairwise accuracy on the human ones."""
    rows = []
    for system in dict.fromkeys(exam.system):
        row = {"system": system}
        for part, table in (("development", development), ("exam", exam)):
            t = table[table.system == system]
            for (performances, metric), r in t.set_index(["performances", "metric"]).iterrows():
                if performances == "human" and metric not in ("mean_r2", "mean_pairwise"):
                    continue
                who = "" if performances == "all" else ", human only"
                row[f"{NAMES[metric]}{who} ({part})"] = (f"{r.estimate:.3f} [{r.ci_lo:.3f}, "
                                                         f"{r.ci_hi:.3f}]")
        rows.append(row)
    out = pd.DataFrame(rows).set_index("system")
    return out[sorted(out.columns, key=lambda c: (list(NAMES.values()).index(c.split(" (")[0]
                                                 .split(",")[0]), "human" in c, "exam" in c))]


def exam_figure(development: pd.DataFrame, exam: pd.DataFrame) -> Figure:
    """Pooled R² and within-excerpt pairwise accuracy of each system on the development
    cross-validation and on the exam (all performances), with intervals."""
    metrics = ("mean_r2", "mean_pairwise")
    systems = list(dict.fromkeys(exam.system))
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(systems) + 1.4), sharey=True)
    for ax, metric in zip(axes, metrics, strict=True):
        for i, (part, table) in enumerate((("development", development), ("exam", exam))):
            t = table[(table.metric == metric) & (table.performances == "all")]
            t = t.set_index("system").loc[systems]
            y = np.arange(len(systems)) + (i - 0.5) * 0.25
            ax.errorbar(t.estimate, y, xerr=[t.estimate - t.ci_lo, t.ci_hi - t.estimate],
                        fmt="o", ms=5, capsize=2, color=f"C{i}", label=part)
        ax.axvline(0 if metric == "mean_r2" else 0.5, color="k", lw=0.6)
        ax.set_title(NAMES[metric], fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(systems)), systems)
    axes[0].set_ylim(len(systems) - 0.5, -0.5)
    axes[0].legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def gap_text(development: pd.DataFrame, exam: pd.DataFrame, reference: str) -> str:
    """How the reference system's exam R² stands against its development one: inside the
    development interval, above or below it."""
    def row(table):
        return table[(table.system == reference) & (table.metric == "mean_r2")
                     & (table.performances == "all")].iloc[0]

    d, e = row(development), row(exam)
    where = ("inside" if d.ci_lo <= e.estimate <= d.ci_hi else
             "above" if e.estimate > d.ci_hi else "below")
    return (f"{reference}, the examined system with the best development R², scores "
            f"{e.estimate:.3f} "
            f"[{e.ci_lo:.3f}, {e.ci_hi:.3f}] pooled R² on the exam against {d.estimate:.3f} "
            f"[{d.ci_lo:.3f}, {d.ci_hi:.3f}] in development: the exam's estimate lies {where} "
            "the development interval, and the two intervals "
            + ("overlap" if e.ci_lo <= d.ci_hi and d.ci_lo <= e.ci_hi else "do not overlap")
            + ".")


def caveat(history: pd.DataFrame, exam_segments: int) -> str:
    """What saw the exam before it was drawn, and what of it has been remade since inside the
    development folds, from ``data.exam.history()`` (its ``kind`` column: ``choice``,
    ``development`` or ``stored results``)."""
    remade = history[history.remade_by.notna()]
    still = history[history.remade_by.isna()]
    text = (f"Before the {exam_segments} exam segments were drawn, {len(history)} choices and "
            "stored results had been made on data that included some of them. ")
    if len(remade):
        text += (f"{len(remade)} of them {'has' if len(remade) == 1 else 'have'} since been "
                 f"made again inside the development folds ({join_items(list(remade.short))}),"
                 " so no number of this book rests on them. ")
    if len(still):
        said = [f"{r.short} ({r.kind}; {r.exam_segments} of its {r.segments} segments now in "
                "the exam)" for r in still.itertuples()]
        text += (f"{len(still)} {'has' if len(still) == 1 else 'have'} not: "
                 f"{join_items(said)}. They were made while the exam's segments were in view, "
                 "so for the systems that use them the exam is not wholly unseen.")
    return text


def ledger_table(reads: list[dict]) -> pd.DataFrame:
    """The ledger of exam reads as a table: time, commit (short), clean tree, forced."""
    return pd.DataFrame([{"read at": r.get("time"), "commit": str(r.get("commit"))[:8],
                          "uncommitted changes": bool(r.get("dirty")),
                          "forced": bool(r.get("forced"))} for r in reads])


def published_beside(published: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """The published numbers and ours, each with its split and inputs, one table: ``ours``
    rows carry ``model``, ``input``, ``split``, ``r2`` (text with interval) and ``source``."""
    pub = published.assign(r2=published.r2.map(lambda v: f"{v:.3f}"))
    cols = ["model", "input", "split", "r2", "source"]
    return pd.concat([pub[cols], ours[cols]], ignore_index=True).rename(
        columns={"r2": "pooled R²"})


def networks_text(load, y: pd.DataFrame) -> str:
    """The development pooled R² (piece split, mean over seeds) of the week-3 networks and the
    stack that uses them beside LightGBM's, from ``week3_ensembles``'s stored predictions;
    ``load`` is ``experiments.load``, ``y`` the development labels. A configuration
    the profile did not run is left out."""
    from percepiano.analysis.systems import pooled_r2

    oof = load("week3_ensembles").oof
    score = {c: pooled_r2(y, oof[oof.config == c])
             for c in ("LightGBM", "listener", "hybrid", "stack: all six")
             if (oof.config == c).any()}
    said = [f"{c} {v:.3f}" for c, v in score.items()]
    return "the pooled R² on the piece split is " + join_items(said) if said else (
        "the week-3 ensembles were not run in this profile")


def power_text(paired: pd.DataFrame, groups: int) -> str:
    """What the exam's paired tests could show: how many differences have an interval
    excluding zero and how many of them are significant after Holm's correction, with the
    smallest p-value before and after the correction, over the exam's ``groups`` music groups
    (the units every resampling draws)."""
    excl = paired[paired.excludes_zero]
    weak = excl[~excl.significant]
    small = (f" The smallest p-value is {paired.p.min():.3g} before Holm's correction over the "
             f"{len(paired)} tests and {paired.p_holm.min():.3g} after it: the exam holds "
             f"{groups} music groups, the units both the intervals and the permutations "
             "resample, and its intervals are correspondingly rough.")
    if not len(excl):
        return f"No difference has an interval that excludes zero.{small}"
    if not len(weak):
        return (f"All {len(excl)} differences whose interval excludes zero are also "
                f"significant after Holm's correction.{small}")
    return (f"{len(weak)} of the {len(excl)} differences whose interval excludes zero "
            f"{'is' if len(weak) == 1 else 'are'} not significant after Holm's "
            f"correction.{small}")


def reach_text(groups: int, tests: int, alpha: float = 0.05) -> str:
    """Whether a family of ``tests`` paired sign-flip tests over ``groups`` music groups could
    reach significance at ``alpha`` after Holm's correction at all: the smallest two-sided
    p-value such a test gives (``small_g.sign_flip_floor``, 2 / 2^G) and the smallest
    Holm-adjusted one (``small_g.holm_floor``)."""
    floor, holm = small_g.sign_flip_floor(groups), small_g.holm_floor(groups, tests)
    said = (f"With {groups} music groups, a test that swaps whole groups between two systems "
            f"cannot give a two-sided p-value below 2/2^{groups} = {floor:.3g}, and Holm's first "
            f"step over the {tests} tests multiplies the smallest p-value by {tests}, so no "
            f"adjusted p-value could fall below {holm:.3g}: ")
    if holm >= alpha:
        return said + (f"significance at {alpha:g} was out of reach by design, however large "
                       "the differences.")
    return said + f"significance at {alpha:g} was within reach."


def _interval_words(table: pd.DataFrame) -> str:
    """The intervals of a ``summarise`` table in words; tables stored before the ``interval``
    column existed hold percentile bootstrap intervals."""
    if "interval" not in table or table["interval"].isna().all():
        return small_g.PERCENTILE + " intervals"
    kinds = [small_g.describe(k, d) for k, d in
             table[["interval", "df"]].drop_duplicates("interval").itertuples(index=False)]
    return join_items(kinds) + " intervals"


def interval_text(development: pd.DataFrame, exam: pd.DataFrame, dev_groups: int,
                  exam_groups: int) -> str:
    """Which intervals the development and exam tables hold, over how many music groups, and
    whether the exam's are percentile bootstrap intervals over fewer than ``small_g.SMALL_G``
    groups, which are too short (``small_g``)."""
    text = (f"The development table's intervals are {_interval_words(development)} over "
            f"{dev_groups} music groups; the exam's are {_interval_words(exam)} over its "
            f"{exam_groups}, computed when the exam was read.")
    stale = "interval" not in exam or (exam["interval"] == small_g.PERCENTILE).any()
    if exam_groups < 2:
        text += (" With one music group there is nothing to resample: each interval is its "
                 "estimate, and says nothing of the uncertainty.")
    elif exam_groups < small_g.SMALL_G and stale:
        text += (f" With fewer than {small_g.SMALL_G} units a percentile interval is too "
                 "short: its spread is about sqrt((G - 1) / G) of the standard error, and its "
                 "ends sit at normal quantiles where Student's t belongs. The code now gives "
                 f"jackknife t intervals with G - 1 = {exam_groups - 1} degrees of freedom "
                 "there, and a new reading of the exam would carry them; read the exam's "
                 "intervals above as too narrow.")
    return text


def our_rows(development: pd.DataFrame, exam: pd.DataFrame, folds: int) -> pd.DataFrame:
    """``published_beside``'s rows for this book: the pooled R² (all performances) of the MIDI
    forest and LightGBM on the development cross-validation (``folds`` piece-split folds) and
    on the exam, "estimate [lo, hi]"."""
    rows = []
    for system, inputs in (("MIDI forest", "performance MIDI, no score"),
                           ("LightGBM", "MIDI and audio descriptors")):
        for split, table in ((f"development, piece split ({folds} folds)", development),
                             ("final exam (unseen music groups)", exam)):
            r = table[(table.system == system) & (table.metric == "mean_r2")
                      & (table.performances == "all")].iloc[0]
            rows.append({"model": system, "input": inputs, "split": split,
                         "r2": f"{r.estimate:.3f} [{r.ci_lo:.3f}, {r.ci_hi:.3f}]",
                         "source": "this book"})
    return pd.DataFrame(rows)


def performers_text(segments: pd.DataFrame, scored, locked) -> str:
    """Who plays the exam's scored segments ``scored``: how many performers, and how many of
    them also play in the development part (``segments``: every segment's metadata;
    ``locked``: every exam segment's name)."""
    gone = set(map(str, locked))
    on_exam = set(segments.loc[sorted(set(map(str, scored))), "performer"])
    in_dev = set(segments.loc[[n for n in segments.index if n not in gone], "performer"])
    both = len(on_exam & in_dev)
    return (f"{len(on_exam)} performers, {both} of whom also play in the development part"
            if both < len(on_exam) else f"{len(on_exam)} performers, all of whom also play in "
            "the development part")
