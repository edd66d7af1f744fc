"""Sentences generated from comparison rows, so that the text says what the numbers say.

A configuration scores *above* or *below* a reference only when its paired interval excludes
zero *and* the Holm-adjusted test agrees; an interval that excludes zero under a test that does
not is said as such; anything else "cannot be told apart". A row marked ``borderline`` (its
adjusted p-value or an interval end within Monte Carlo error of the threshold, see
``comparison``) says so, because another resampling seed could turn its verdict.
"""

from __future__ import annotations

import pandas as pd

METRIC_NAMES = {"mean_r2": "R²", "mean_pairwise": "within-excerpt pairwise accuracy",
                "mean_r": "r", "mean_within_rho": "within-excerpt Spearman",
                "mean_mse": "MSE", "mean_rho": "Spearman"}
BORDERLINE = "borderline: within Monte Carlo error of the threshold"


def _borderline(row) -> bool:
    return bool(row.get("borderline", False)) if hasattr(row, "get") else bool(
        getattr(row, "borderline", False))


def verdict(row, subject: str, reference: str, metric_name: str = "R²") -> str:
    """One sentence, generated from a ``compare`` row, saying whether ``subject`` scored above,
    below or indistinguishably from ``reference``."""
    diff = f"{row['difference']:+.3f} [{row['ci_lo']:+.3f}, {row['ci_hi']:+.3f}]"
    numbers = f"{metric_name} difference {diff}, Holm-adjusted p = {row['p_holm']:.2g}"
    if _borderline(row):
        numbers += f"; {BORDERLINE}"
    side = "above" if row["difference"] > 0 else "below"
    if row["significant"] and row["excludes_zero"]:
        return f"{subject} scores {side} {reference} ({numbers})"
    if row["excludes_zero"]:
        return (f"{subject} scores {side} {reference} by an interval that excludes zero, but "
                f"not significantly after Holm's correction ({numbers})")
    return f"{subject} cannot be told apart from {reference} ({numbers})"


def join_items(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def tally(table: pd.DataFrame, reference: str, label=lambda r: r.config) -> str:
    """Generated sentences from a ``compare`` table: per metric, which rows score
    significantly above or below ``reference`` (interval excluding zero and Holm-adjusted test
    agreeing), which only by an interval that excludes zero, and which cannot be told apart
    from it; a borderline row says so. ``label(row)`` names a row."""
    out = []
    for metric in dict.fromkeys(table.metric):
        part = table[table.metric == metric]
        sure = part.significant & part.excludes_zero
        groups = {"significantly above": part[sure & (part.difference > 0)],
                  "significantly below": part[sure & (part.difference < 0)],
                  "holm": part[~sure & part.excludes_zero],
                  "not significantly different from": part[~sure & ~part.excludes_zero]}
        said = []
        for verb, rows in groups.items():
            if not len(rows):
                continue
            items = [f"{label(r)} ({r.difference:+.3f} [{r.ci_lo:+.3f}, {r.ci_hi:+.3f}]"
                     + (", borderline" if _borderline(r) else "") + ")"
                     for r in rows.itertuples()]
            if verb == "holm":
                verb = ("not significantly different after Holm's correction, though "
                        + ("its interval excludes zero, from" if len(items) == 1
                           else "their intervals exclude zero, from"))
            said.append(f"{join_items(items)} {'is' if len(items) == 1 else 'are'} {verb} "
                        f"{reference}")
        out.append(f"In {METRIC_NAMES.get(metric, metric)}: " + "; ".join(said) + ".")
    if "borderline" in table and table["borderline"].any():
        out.append("A borderline verdict lies within Monte Carlo error of its threshold: "
                   "another resampling seed could change it.")
    return " ".join(out)
