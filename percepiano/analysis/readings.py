"""Sentences and small tables of the week-3 chapter, generated from the stored numbers, so the
text that interprets a number stays true when the number changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from percepiano.data.dataset import CATEGORIES
from percepiano.evaluation.verdicts import join_items

SMALL = 0.05  # a relevance ratio within 5 % of 1 is called small
EVENTS = {"onsets": "note onsets", "pedal_changes": "sustain-pedal changes",
          "loudness_peaks": "loudness peaks"}


def error_pairs(corr: pd.DataFrame) -> str:
    """Which members err most alike and most differently (``ensemble_figures.
    error_correlation``)."""
    c = corr.where(~np.eye(len(corr), dtype=bool)).stack()
    pos = {n: i for i, n in enumerate(corr.index)}
    c = c[[pos[a] < pos[b] for a, b in c.index]]  # each pair once, in the table's order
    hi, lo = c.idxmax(), c.idxmin()
    trees = [n for n in ("forest", "extra trees", "LightGBM") if n in corr]
    within = c[[a in trees and b in trees for a, b in c.index]]
    text = (f"The most alike errors are those of {hi[0]} and {hi[1]} (r = {c[hi]:.2f}); the "
            f"most different, {lo[0]} and {lo[1]} (r = {c[lo]:.2f}).")
    if len(within):
        text += (f" The three tree models' errors correlate {within.min():.2f} to "
                 f"{within.max():.2f} with each other")
        if "listener" in corr:
            lt = corr.loc["listener", trees]
            text += (f", the listener's {lt.min():.2f} to {lt.max():.2f} with theirs: "
                     + ("the listener errs differently from the trees, so it can add to them "
                        "if it is accurate enough." if lt.max() < within.min() else
                        "the listener errs much as the trees do, so averaging it in adds little "
                        "that they lack."))
        else:
            text += "."
    return text


def members_gain(table: pd.DataFrame, curves: Mapping[str, tuple]) -> str:
    """The R² gained from one member to the most, per curve of ``members_curve``."""
    parts = []
    for label, (prefix, suffix, single) in curves.items():
        rows = table[table.config.str.startswith(prefix) & table.config.str.endswith(suffix)]
        if rows.empty:
            continue
        m = rows.config.str.extract(r"× (\d+)")[0].astype(int)
        last = rows[m == m.max()].pooled_r2.mean()
        first = (table[table.config == single].pooled_r2.mean() if single is not None
                 else rows[m == m.min()].pooled_r2.mean())
        parts.append(f"{label} from {first:.3f} with one member to {last:.3f} with {m.max()} "
                     f"({last - first:+.3f})")
    return ("Pooled R² (mean over seeds) goes, for " + join_items(parts) + ".") if parts else ""


def stack_weights(fits: list) -> pd.DataFrame:
    """Mean stacking weight per member and stack (members x stacks)."""
    rows = []
    for f in fits:
        w = np.asarray(f["weights"])
        key = " + ".join(f["members"])
        rows += [{"stack": key, "member": m, "weight": float(w[i].mean())}
                 for i, m in enumerate(f["members"])]
    t = pd.DataFrame(rows)
    names = {k: f"stack of {len(k.split(' + '))}" for k in t["stack"].unique()}
    return (t.assign(stack=t["stack"].map(names))
            .pivot_table(index="member", columns="stack", values="weight", sort=False))


def pathways(perm: pd.DataFrame, shap: pd.DataFrame) -> str:
    """What the hybrid loses most without, and LightGBM's largest SHAP groups."""
    drop = perm.groupby("group").r2_drop.mean().sort_values(ascending=False)
    audio = drop.get("audio branch", np.nan)
    rank = int((drop > audio).sum()) + 1 if np.isfinite(audio) else None
    top = [f"{g} ({v:+.3f})" for g, v in drop.head(3).items()]
    harm = [g for g, v in drop.items() if v < 0]
    by_cat = perm.assign(cat=perm.dimension.map(CATEGORIES)).query("group == 'audio branch'")
    cat = by_cat.groupby("cat").r2_drop.mean()
    s = shap.groupby("group").mean_abs_shap.mean().sort_values(ascending=False)
    return (f"Permuting a pathway costs the hybrid most R² (mean over dimensions) for "
            f"{join_items(top)}. "
            + (f"The audio branch ranks {rank} of {len(drop)} pathways ({audio:+.3f}); it "
               f"matters most for {cat.idxmax().replace('_', ' ').lower()} ({cat.max():+.3f}) "
               f"and least for {cat.idxmin().replace('_', ' ').lower()} ({cat.min():+.3f}). "
               if rank is not None else "")
            + (f"Permuting {join_items(harm)} raises R² on the test folds: the hybrid fits "
               "noise in them. " if harm else "")
            + f"LightGBM's largest attributions are to {join_items(list(s.index[:3]))}.")


def pooled_mel(cfg: Mapping):
    """The mel front end at the model's pooled frame rate (``hop × time_pool``)."""
    from percepiano.audio.spectrogram import MelConfig
    from percepiano.models import ast

    base = MelConfig(**cfg["mel"])
    return dataclasses.replace(base, hop_length=base.hop_length
                               * ast.preset(cfg["default"]).time_pool)


def rollout_vs_ig(examples: list) -> str:
    """How far rollout and integrated gradients agree on where a segment matters in time."""
    rs = [float(np.corrcoef(e["rollout"], e["ig"])[0, 1]) for e in examples]
    return ("Over the same time patches, the rollout relevance and the size of the integrated "
            "gradients for the rated dimension correlate "
            + join_items([f"{r:.2f}" for r in rs])
            + " in these segments: "
            + ("the two readings broadly agree on where the branch listens." if min(rs) > 0.5
               else "attention and attribution disagree about which moments matter, a "
                    "reminder that attention is not explanation."))


def alignment_table(align: Mapping) -> pd.DataFrame:
    """One row per event: the ratio with its interval, at the events and half a crop away."""
    def cell(x):
        return f"{x['mean']:.3f} [{x['ci'][0]:.3f}, {x['ci'][1]:.3f}]"

    rows = {EVENTS.get(ev, ev): {"relevance ratio at events": cell(r["events"]),
                                 "control (shifted)": cell(r["shifted"]),
                                 "segments": r["events"]["n"]} for ev, r in align.items()}
    return pd.DataFrame(rows).T


def alignment(align: Mapping) -> str:
    """The verdict per event: above, below or indistinguishable from 1, and whether the control
    (the same events half a crop away) leaves 1 in the same direction."""
    out = []
    for ev, r in align.items():
        lo, hi = r["events"]["ci"]
        clo, chi = r["shifted"]["ci"]
        where = ("more" if lo > 1 else "less" if hi < 1 else None)
        # the control explains part of it only when it leaves 1 the same way
        ctrl = (where == "more" and clo > 1) or (where == "less" and chi < 1)
        name = EVENTS.get(ev, ev)
        if where is None:
            out.append(f"on {name} it cannot be told from 1")
        else:
            out.append(f"{name} get {where} relevance than the average patch "
                       f"({r['events']['mean']:.3f})"
                       + (f", though the shifted control also leaves 1 the same way "
                          f"({r['shifted']['mean']:.3f}), so part of it is where events fall "
                          "in a crop" if ctrl else ""))
    small = all(abs(r["events"]["mean"] - 1) < SMALL for r in align.values())
    return ("Attention, in rollout: " + "; ".join(out) + ". "
            + (f"Every ratio lies within {SMALL:.0%} of 1: the listening branch spreads its "
               "attention over the crop rather than following these events." if small else
               "At least one kind of event shifts the relevance by more than "
               f"{SMALL:.0%}."))


def splits(r2: pd.DataFrame, order) -> str:
    """Whether the learners' ranking by R² holds across splits, and the hardest split."""
    wide = r2.pivot(index="kind", columns="learner", values="estimate").reindex(
        [k for k in order if k in set(r2.kind)])
    best = wide.idxmax(axis=1)
    order_by = {k: tuple(wide.loc[k].sort_values(ascending=False).index) for k in wide.index}
    same = len(set(order_by.values())) == 1
    mean = wide.mean(axis=1)
    return ((f"{best.iloc[0]} ranks first on every split. " if best.nunique() == 1 else
             "The best learner depends on the split: "
             + join_items([f"{b} on {k}" for k, b in best.items()]) + ". ")
            + ("The whole ranking is the same on every split. " if same else
               "The ranking of the learners changes between splits, so a model chosen on one "
               "split is not guaranteed to be the best for the question another asks. ")
            + f"Averaged over learners, R² is highest on the {mean.idxmax()} split "
            f"({mean.max():.3f}) and lowest on the {mean.idxmin()} split ({mean.min():.3f}).")
