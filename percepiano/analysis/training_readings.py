"""Tables and generated sentences of the week-2 chapter (losses, small-data regimes, fusion,
descriptors), so the text that interprets a number stays true when the number changes.

Every function is pure: it takes stored tables (``stats.compare`` rows, ``Page.summary`` rows,
per-configuration prediction tables from ``stats.by_config``) and returns a string or a
DataFrame. A verdict of "significant" always means what ``evaluation.verdicts`` means by it:
the paired interval excludes zero and the Holm-adjusted test agrees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from percepiano import config
from percepiano.analysis.page import METRICS
from percepiano.data.dataset import DIMENSIONS, SCALE_MAX
from percepiano.evaluation import stats
from percepiano.evaluation.verdicts import join_items, tally

FASTER = 0.8  # a bf16 epoch must take at most this share of an fp32 one to count as faster
SAME = 1e-3  # two runs whose predictions differ by less than this (0-1 scale) are the same
FOREST = "forest (MIDI descriptors)"


def _sure(table: pd.DataFrame) -> pd.Series:
    """Rows of a ``compare`` table whose difference is significant after Holm's correction."""
    return table.significant & table.excludes_zero


def in_family(predictions: Mapping, table: list, *families: str) -> dict:
    """The ``predictions`` ({config: predictions}, ``stats.by_config``) of the configurations
    that the experiment's ``table`` (rows of {"config", "family", ...}) puts in one of
    ``families`` or in the "reference" family, in the predictions' order."""
    keep = {r["config"] for r in table if r["family"] in (*families, "reference")}
    return {k: v for k, v in predictions.items() if k in keep}


def per_learner(oof: pd.DataFrame, keep: Callable[[str], bool], compare: Callable,
                more: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Each learner's configurations against its own reference, stacked.

    ``oof``: a stored out-of-fold table with ``learner``, ``config`` and ``kind`` columns (the
    piece split's rows are read); ``keep(config)``: whether a configuration takes part;
    ``compare(predictions)``: the ``compare`` table of {config: predictions} (``Page.compare``
    with its reference). A learner left with fewer than two configurations is skipped.
    ``more``: {learner: compare table} appended after them. Returns the rows with ``learner``
    and ``row`` ("learner: config") columns added."""
    out = []
    for learner in dict.fromkeys(oof.learner):
        preds = stats.by_config(oof[oof.learner == learner].drop(columns="learner"), "config",
                                kind="piece")
        preds = {k: v for k, v in preds.items() if keep(k)}
        if len(preds) < 2:  # a profile that leaves this learner's comparison out
            continue
        out.append(compare(preds).assign(learner=learner))
    out += [t.assign(learner=learner) for learner, t in (more or {}).items()]
    table = pd.concat(out, ignore_index=True)
    table["row"] = table.learner + ": " + table.config
    return table


def max_gap(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The largest absolute difference, on the labels' 0-1 scale, between two prediction tables
    (one row per segment and seed, as ``stats.by_config`` gives them), paired by segment and
    seed. Raises ValueError when they do not hold the same (segment, seed) rows."""
    dims = list(DIMENSIONS)

    def keyed(t):
        return t.set_index("seed", append=True).sort_index()[dims] if "seed" in t else \
            t.sort_index()[dims]

    a, b = keyed(a), keyed(b)
    if not a.index.equals(b.index):
        raise ValueError("the two prediction tables hold different (segment, seed) rows")
    return float((a - b).abs().to_numpy().max())


def best(summary: pd.DataFrame, metric: str = "mean_r2") -> str:
    """The configuration of a ``Page.summary`` table with the highest ``metric`` on all
    performances."""
    rows = summary[(summary.performances == "all") & (summary.metric == metric)]
    return rows.set_index("config").estimate.idxmax()


def reproduces(ref: pd.DataFrame, theirs: pd.DataFrame | None) -> str:
    """Whether the chapter's reference (``ref``, its predictions) is the listener chapter's
    "both" run (``theirs``, or None when that chapter stored none: then "")."""
    if theirs is None:
        return ""
    same = len(ref) == len(theirs) and (gap := max_gap(ref, theirs)) < SAME
    return ("The reference fine-tunes exactly as the listener chapter's \"both\" recipe did, "
            "from the same pretrained weights; "
            + (f"its out-of-fold predictions match that chapter's to within "
               f"{gap * SCALE_MAX:.1e} on the raters' 1-7 scale, so the two chapters' numbers "
               "are the same model's." if same else
               "its predictions differ from that chapter's (floating-point order, or a changed "
               "recipe), so the reference here is its own run."))


def bf16(comparison: pd.DataFrame, fits: pd.DataFrame, predictions: Mapping, cpu: Mapping,
         reference: str) -> str:
    """What bf16 arithmetic did on this machine, or "" when no bf16 run is stored.

    ``comparison``: the regimes' ``compare`` table against ``reference``; ``fits``: mean
    ``s_per_epoch`` per configuration (index: config); ``predictions``: {config: predictions};
    ``cpu``: {"model", "amx_bf16", "avx512_bf16"}. bf16 is called faster when its epoch takes
    at most ``FASTER`` of the reference's, and suits the machine when it is also as accurate
    (no metric differs significantly)."""
    bf = comparison[comparison.config == "bf16"].set_index("metric")
    if not len(bf):
        return ""
    speed = fits.loc["bf16", "s_per_epoch"] / fits.loc[reference, "s_per_epoch"]
    same = not _sure(bf).any()
    moved = max_gap(predictions["bf16"], predictions[reference])
    units = ("with AMX" if cpu["amx_bf16"] else "with AVX-512 BF16" if cpu["avx512_bf16"]
             else "without bf16 matrix units (no AMX, no AVX-512 BF16)")
    return (f"On this CPU ({cpu['model']}, {units}) a bf16 epoch takes {speed:.2f} times as "
            "long as an fp32 one; bf16 "
            + ("cannot be told apart from fp32 in any metric" if same else
               "differs from fp32 in " + join_items([METRICS[m] for m in bf.index[_sure(bf)]]))
            + ", and its out-of-fold predictions differ from fp32's by at most "
            f"{moved * SCALE_MAX:.3f} on the raters' 1-7 scale (XLA's CPU backend may keep "
            "excess precision between bf16 operations). "
            + (f"It is faster here (under {FASTER:.0%} of the fp32 time) and as accurate, so "
               "bf16 suits this machine." if speed <= FASTER and same else
               f"It is not faster here (a bf16 epoch would need to take under {FASTER:.0%} of "
               f"the fp32 time), so the {config.profile()} profile keeps fp32 on this machine; "
               "bf16 pays "
               "where the CPU multiplies bf16 matrices natively (AMX) or on a GPU."))


def ablation(table: pd.DataFrame, sizes: Mapping[str, int]) -> str:
    """Up to three groups whose removal costs the forest most R² (in the estimate; a removal
    that raises R² costs nothing and is not named), and the forest's verdicts.

    ``table``: ``per_learner`` rows of "without <group>" against "base"; ``sizes``: {group:
    number of descriptors}. "" when the table holds no forest rows."""
    forest = table[table.learner == "forest"]
    if not len(forest):
        return ""
    hurt = forest[(forest.metric == "mean_r2") & (forest.difference < 0)]
    names = [f"{r.config.removeprefix('without ')} ({r.difference:+.3f}, "
             f"{sizes[r.config.removeprefix('without ')]} descriptors)"
             for r in hurt.sort_values("difference").head(3).itertuples()]
    return (("Removing a group costs the forest most R² for " + join_items(names) + ". "
             if names else "Removing any one group costs the forest no R² in the estimate. ")
            + "Paired against the forest with every group (Holm within each learner): "
            + tally(forest, "all groups"))


def new_descriptors(table: pd.DataFrame) -> str:
    """Each learner's verdicts on the added descriptors (``per_learner`` rows against "base"),
    and how many additions raise R² in the estimate and significantly."""
    lifted = table[table.metric == "mean_r2"]
    return ("Paired against the same learner on the base descriptors (Holm within each "
            "learner): "
            + " ".join(f"**{learner}**: " + tally(table[table.learner == learner],
                                                  "its base set")
                       for learner in dict.fromkeys(table.learner))
            + f" Of the {len(lifted)} additions, {int((lifted.difference > 0).sum())} raise R² "
            "in the estimate and "
            + str(int((_sure(lifted) & (lifted.difference > 0)).sum())) + " significantly.")


def against_forest(bar: pd.DataFrame | None, forest: str = FOREST) -> str:
    """The best models against the forest (``bar``: their ``compare`` table against
    ``forest``, or None when no forest is stored). A model reaches the forest in R² unless
    its difference is negative with an interval that excludes zero."""
    if bar is None:
        return "No random forest results are stored for this profile to compare with."
    reach = bar[(bar.metric == "mean_r2")].set_index("config")
    below = [c for c, r in reach.iterrows() if r.excludes_zero and r.difference < 0]
    reached = [c for c in reach.index if c not in below]
    return ("Against the random forest on MIDI descriptors, the same folds and seeds: "
            + tally(bar, "it") + " "
            + ("In R², " + join_items(reached) + (" reaches" if len(reached) == 1 else " reach")
               + " the forest: the interval of the difference includes zero or favours the "
               "model." if reached else
               "No listening or hybrid model reaches the forest in R²: each lies below it by "
               "an interval that excludes zero (the verdicts above say whether that survives "
               "Holm's correction)."))


def choices_table(choices: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """How far each choice moved each metric from its reference (configurations x metric
    names, and "pairwise, human only").

    ``choices``: ``compare`` tables stacked with a ``reference`` column; ``summary``: the
    ``Page.summary`` rows of every configuration and reference (the first row of a
    configuration counts)."""
    moves = choices.pivot_table(index="config", columns="metric", values="difference",
                                sort=False)
    human = summary[(summary.performances == "human") & (summary.metric == "mean_pairwise")
                    ].drop_duplicates("config").set_index("config").estimate
    refs = choices.drop_duplicates("config").set_index("config").reference
    moves["pairwise, human only"] = human.reindex(moves.index) - human.reindex(refs).to_numpy()
    return moves.rename(columns=METRICS)


def _said(rows: pd.DataFrame) -> str:
    """'config (metrics)' for each configuration among ``rows``."""
    return join_items([f"{c} ({', '.join(METRICS[m] for m in rows[rows.config == c].metric)})"
                       for c in dict.fromkeys(rows.config)])


def choices(table: pd.DataFrame) -> str:
    """Which choices (``choices_table``'s input) improve on their reference significantly and
    which make things significantly worse."""
    better = table[_sure(table) & (table.difference > 0)]
    worse = table[_sure(table) & (table.difference < 0)]
    return (("Choices that improve on their reference significantly: " + _said(better) + ". "
             if len(better) else "No choice improves on its reference significantly in any "
             "metric, so the best recipe remains the reference: the listener's \"both\" recipe "
             "fine-tuned with mean squared error, and for the hybrid, concatenation on the "
             "forests' descriptors. ")
            + ("Choices that make things significantly worse: " + _said(worse) + "."
               if len(worse) else "None makes things significantly worse."))
