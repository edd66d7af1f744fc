"""Every system the book built, read from the out-of-fold predictions its chapter stored: the
results table of the week-4 chapter.

``SYSTEMS`` names each system, the experiment that stored it and the rows of its table that are
that system (``where``). ``collect`` gathers them into one long out-of-fold table (19 dimension
columns, ``seed``, ``fold``, ``kind``, ``system``), with the best week-2 recipe added under
``BEST_WEEK2``: the configuration of the week-2 experiments with the highest pooled R² on the
piece split, chosen on the same folds it is scored on, which flatters it, and said so where it
is shown. Every system of the piece split was cross-validated on the same development
segments, seeds and folds, so their predictions pair (``pairable``); the transcription route
(scored on its own subset of segments) and the few-shot adaptation (a work held out with k of
its performances labelled) are shown beside them with their own designs and are not paired.

``targets`` reads the roadmap's per-dimension targets (pooled r above ``TARGET_R`` on timing,
dynamics and musical expression) from a system's predictions, with cluster-bootstrap intervals
(``evaluation.bootstrap``) and the noise ceiling of each dimension.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

from percepiano.data.dataset import DIMENSIONS

# name: (experiment, rows of its out-of-fold table), or a list of them (one per split)
SYSTEMS: dict[str, tuple[str, dict] | list[tuple[str, dict]]] = {
    "forest (MIDI descriptors)": ("forest_baselines", {"features": "midi"}),
    "forest (audio descriptors)": ("forest_baselines", {"features": "audio"}),
    "forest (MIDI + audio)": ("forest_baselines", {"features": "both"}),
    "extra trees (MIDI + audio)": ("week3_splits", {"learner": "extra trees"}),
    # the piece split's LightGBM is the ensembles table's (one run of the recipe per split)
    "LightGBM (MIDI + audio)": [("week3_ensembles", {"config": "LightGBM"}),
                                *(("week3_splits", {"learner": "LightGBM", "kind": kind})
                                  for kind in ("performer", "work"))],
    "descriptor net": ("week3_splits", {"learner": "descriptor net"}),
    "AST micro (the default)": ("ast_cv", {}),  # week1_architecture's "size: micro" too
    **{f"AST {size}": ("week1_architecture", {"config": f"size: {size}"})
       for size in ("nano", "mini", "tiny", "small")},
    "listener (masked + descriptor pretraining)": ("listener_pretraining", {"config": "both"}),
    "hybrid (AST + descriptor net)": ("week1_hybrid", {"config": "hybrid"}),
    "trees averaged (forest + extra trees + LightGBM)": ("week3_ensembles",
                                                       {"config": "trees (mean of three)"}),
    "hybrid, seed ensemble": ("week3_ensembles", {"config": "hybrid × *"}),  # × its members
    "stack: trees": ("week3_ensembles", {"config": "stack: trees"}),
    "stack: all six": ("week3_ensembles", {"config": "stack: all six"}),
}
WEEK2 = ("week2_descriptors", "week2_training", "week2_fusion")
BEST_WEEK2 = "best week-2 recipe"
ROUTE = ("transcription_route", {"route": "MIDI forest + error model, transcribed (fluidr3)"})
FEWSHOT = ("phase2_fewshot", {"method": "forest"})  # at the largest k of the run
MEMBERS = ("forest", "extra trees", "LightGBM", "descriptor net", "listener", "hybrid")
SHOWN_KINDS = ("piece", "performer", "work")
TARGET_R = 0.7  # the roadmap's target: pooled r above this ...
TARGETS = {"timing": ("Timing",), "dynamics": ("Dynamic",),  # ... on these dimensions
           "musical expression": ("Music_Making",)}
KEEP = [*DIMENSIONS, "seed", "fold", "kind"]


def _rows(oof: pd.DataFrame, where: dict) -> pd.DataFrame:
    """The rows of ``oof`` where each column equals its value; a value ending in ``*`` is a
    prefix (a name that holds a profile's number, e.g. "hybrid × 5 seeds")."""
    for column, value in where.items():
        if isinstance(value, str) and value.endswith("*"):
            oof = oof[oof[column].astype(str).str.startswith(value[:-1])]
        else:
            oof = oof[oof[column] == value]
    return oof


def pooled_r2(y: pd.DataFrame, part: pd.DataFrame) -> float:
    """Pooled out-of-fold R² of ``part`` (rows with the dimensions and ``seed``) against the
    labels ``y``: mean over the 19 dimensions, then over seeds."""
    from percepiano.evaluation.metrics import r2

    return float(np.mean([r2(y.loc[p.index, list(DIMENSIONS)].to_numpy(),
                             p[list(DIMENSIONS)].to_numpy()).mean()
                          for _, p in part.groupby("seed")]))


def best_week2(load: Callable, y: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The week-2 configuration with the highest pooled R² on the piece split (mean over seeds)
    and its out-of-fold rows: (its name, e.g. "week2_descriptors: forest, + both", rows)."""
    best, score = None, -np.inf
    for name in WEEK2:
        oof = load(name).oof
        keys = [c for c in ("learner", "config") if c in oof]
        for key, part in oof[oof.kind == "piece"].groupby(keys, sort=False):
            value = pooled_r2(y, part)
            if value > score:
                label = ", ".join(map(str, key if isinstance(key, tuple) else (key,)))
                best, score = (f"{name}: {label}", part), value
    return best[0], best[1]


def sources(system: str) -> list[tuple[str, dict]]:
    """[(experiment, rows of its out-of-fold table)] that ``SYSTEMS`` gives ``system``."""
    given = SYSTEMS[system]
    return given if isinstance(given, list) else [given]


def transductive_note(recipe: str) -> str:
    """A clause for a system whose name says it reads excerpt-relative descriptors
    (``features.music.excerpt_relative``): each test take is centred on the other test takes
    of its excerpt, their inputs, never their labels, so its score depends on which takes are
    scored with it. Empty for any other system."""
    if "excerpt-relative" not in recipe:
        return ""
    return ("; its excerpt-relative descriptors are transductive: each test take is centred on "
            "the other test takes of its excerpt (their inputs, never their labels), so a "
            "lone take could not be scored this way")


def collect(load: Callable, y: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(The long out-of-fold table of every system of ``SYSTEMS`` on the splits of
    ``SHOWN_KINDS`` it was run on, and of the best week-2 recipe on the piece split; the name
    of that recipe). ``load(experiment)`` returns stored
    results (``experiments.load``), called once per experiment (several systems share one, and
    reading an out-of-fold table takes a while); ``y``: the development labels."""
    load, parts = functools.cache(load), []
    for system in SYSTEMS:
        part = pd.concat([_rows(load(name).oof, where) for name, where in sources(system)])
        part = part[part.kind.isin(SHOWN_KINDS)]
        if len(part):  # a small profile may not run every configuration
            parts.append(part[KEEP].assign(system=system))
    recipe, part = best_week2(load, y)
    parts.append(part[KEEP].assign(system=BEST_WEEK2))
    return pd.concat(parts), recipe


def own_designs(load: Callable) -> dict[str, tuple[pd.DataFrame, str]]:
    """The systems scored with designs of their own: {name: (out-of-fold rows with the
    dimensions and ``seed``, the split whose units its intervals resample)}: the transcription
    route on its subset of segments (piece folds), the forest adapted with the largest number
    of labelled performances of each held-out work (on its query performances; works); a
    system its profile did not run is left out."""
    route = _rows(load(ROUTE[0]).oof, ROUTE[1]).assign(seed=0)
    few = _rows(load(FEWSHOT[0]).oof, FEWSHOT[1])
    k = int(few.k.max()) if len(few) else 0
    out = {"transcription route (MIDI forest + error model, transcribed)": (route, "piece"),
           f"few-shot forest, {k} labelled performances of the held-out work":
           (few[few.k == k], "work")}
    return {name: (p[[*DIMENSIONS, "seed"]], kind) for name, (p, kind) in out.items()
            if len(p)}


def members(load: Callable, seed: int = 0) -> tuple[np.ndarray, pd.Index]:
    """The week-3 ensemble's ``MEMBERS``, each learner's out-of-fold predictions of ``seed``
    on the piece split: ((members, n, 19) array, the n segment names)."""
    oof = load("week3_ensembles").oof
    parts = [oof[(oof.config == c) & (oof.seed == seed)][list(DIMENSIONS)] for c in MEMBERS]
    index = parts[0].index
    return np.stack([p.loc[index].to_numpy() for p in parts]), index


def pairable(oof: pd.DataFrame, kind: str = "piece") -> dict[str, pd.DataFrame]:
    """``compare``'s input for one split: {system: rows (dimensions, ``seed``, ``fold``)}."""
    part = oof[oof.kind == kind]
    return {str(s): p.drop(columns=["system", "kind"]) for s, p in part.groupby("system",
                                                                                sort=False)}


def targets(y: pd.DataFrame, pred: pd.DataFrame, units: pd.Series, ceiling_r: dict,
            n_boot: int, seed: int = 0) -> pd.DataFrame:
    """Per dimension of the roadmap's targets: pooled r (mean over seeds) with its bootstrap
    interval over ``units``, the dimension's noise ceiling (``ceiling_r``: {dimension: r}), the
    ``target`` it belongs to and whether its interval lies above ``TARGET_R`` (``met``), below
    it (``missed``) or spans it (``unsure``). ``pred``: rows with the dimensions and ``seed``."""
    from percepiano.evaluation.bootstrap import cluster_bootstrap_ci

    rows = []
    for target, prefixes in TARGETS.items():
        for d in (d for d in DIMENSIONS if d.startswith(prefixes)):
            est, lo, hi = cluster_bootstrap_ci(y[[d]], pred[[d, "seed"]], units, "mean_r",
                                               n_boot=n_boot, seed=seed)
            rows.append({"target": target, "dimension": d, "r": est, "ci_lo": lo, "ci_hi": hi,
                         "ceiling_r": float(ceiling_r[d]),
                         "status": "met" if lo > TARGET_R else
                         "missed" if hi < TARGET_R else "unsure"})
    return pd.DataFrame(rows)


NAMES = {"mean_r2": "R²", "mean_r": "r", "mean_within_rho": "within-excerpt ρ",
         "mean_pairwise": "pairwise accuracy"}


def _cell(r) -> str:
    return f"{r.estimate:.3f} [{r.ci_lo:.3f}, {r.ci_hi:.3f}]"


def split_table(summary: pd.DataFrame, kind: str) -> pd.DataFrame | None:
    """One split of ``stats.summarise``'s table (by system and kind, with ``performances``) as
    the chapter shows it: one row per system, best R² first, each metric "estimate [lo, hi]"
    on all performances, then R² and pairwise accuracy on the human ones; None when no system
    ran on ``kind``."""
    part = summary[summary.kind == kind]
    if part.empty:
        return None
    rows = {}
    for (system, who, metric), r in part.set_index(["system", "performances",
                                                    "metric"]).iterrows():
        if who == "human" and metric not in ("mean_r2", "mean_pairwise"):
            continue
        title = NAMES[metric] + (", human only" if who == "human" else "")
        rows.setdefault(system, {})[title] = _cell(r)
    order = (part[(part.performances == "all") & (part.metric == "mean_r2")]
             .sort_values("estimate", ascending=False).system)
    return pd.DataFrame.from_dict(rows, orient="index").loc[list(order)].rename_axis("system")


def own_table(y: pd.DataFrame, own: dict, units: dict, excerpts: pd.Series,
              n_boot: int) -> pd.DataFrame:
    """``own_designs``' systems with their segments and pooled R² and pairwise accuracy,
    "estimate [lo, hi]" from a cluster bootstrap over the units of each one's split
    (``units``: {split kind: units})."""
    from percepiano.evaluation.bootstrap import cluster_bootstrap_ci

    rows = []
    for label, (pred, kind) in own.items():
        ci = cluster_bootstrap_ci(y.loc[pred.index.unique()], pred, units[kind],
                                  ["mean_r2", "mean_pairwise"], excerpts, n_boot)
        rows.append({"system": label, "segments": pred.index.nunique(),
                     "intervals over": "music groups" if kind == "piece" else "works",
                     **{NAMES[m]: _cell(r) for m, r in ci.iterrows()}})
    return pd.DataFrame(rows)


def references(ceiling, bars: pd.DataFrame) -> dict:
    """The reference lines of the systems figure: {split kind: {metric: {label: value}}}, the
    noise ceiling (``data_ceiling``'s results) and each split's identity bar
    (``headline.identity_bar``'s table over the kinds) of pooled R² and pairwise accuracy, on
    all performances."""
    out = {}
    for kind, bar in bars[bars.performances == "all"].groupby("kind"):
        best = bar.set_index("metric").estimate
        out[kind] = {"mean_r2": {"noise ceiling": ceiling["mean_ceiling_r2"],
                                 "identity bar": float(best["mean_r2"])},
                     "mean_pairwise": {"noise ceiling": ceiling["mean_pairwise_ceiling"],
                                       "identity bar": float(best["mean_pairwise"])}}
    return out
