"""Tables and generated sentences of the transcription chapter (``book/transcription.py``), so
the text that interprets a number stays true when the number changes."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from percepiano.data.dataset import CATEGORIES, DIMENSIONS
from percepiano.evaluation.verdicts import join_items

ACCURACY = {"onset_f1": "onset F1", "onset_offset_f1": "onset + offset F1",
            "velocity_f1": "+ velocity F1", "velocity_r": "velocity r",
            "velocity_slope": "velocity slope", "onset_error_ms": "onset error (ms)",
            "pedal_frame_f1": "sustain frames F1", "pedal_onset_f1": "sustain presses F1"}
GROUP_MEAN = "each piece's true mean (knows the ratings)"  # the oracle row of ``group_mean``
VERSIONS = {"fluidr3": "FluidR3 (the training piano)", "timgm6mb": "TimGM6mb (another piano)",
            "room": "a simulated room (reverb, microphone, noise)"}


def accuracy_table(rows: list[dict], n_boot: int = 1000, level: float = 0.95,
                   seed: int = 0) -> pd.DataFrame:
    """Mean of each accuracy measure per version with a ``level`` percentile-bootstrap interval
    over segments ("mean [lo, hi]"), and the number of segments. ``rows``: the experiment's
    ``accuracy``."""
    t = pd.DataFrame(rows)
    rng = np.random.default_rng(seed)
    out = {}
    for version, part in t.groupby("version", sort=False):
        cells = {"segments": len(part)}
        for key, title in ACCURACY.items():
            x = part[key].to_numpy(float)
            x = x[np.isfinite(x)]
            if not len(x):
                cells[title] = "–"
                continue
            boots = rng.choice(x, (n_boot, len(x))).mean(axis=1)
            lo, hi = np.percentile(boots, [50 * (1 - level), 50 * (1 + level)])
            cells[title] = f"{x.mean():.3f} [{lo:.3f}, {hi:.3f}]"
        out[VERSIONS.get(version, version)] = cells
    return pd.DataFrame(out).T


def speed(rows: list[dict]) -> dict:
    """Seconds of computing per minute of audio over the transcriptions timed in this run
    (cached ones carry their first run's time): mean, the device and threads, and how many."""
    t = pd.DataFrame(rows)
    t = t[t.get("seconds", pd.Series(dtype=float)).notna()] if "seconds" in t else t.iloc[:0]
    if not len(t):
        return {"per_minute_s": float("nan"), "n": 0, "device": "", "threads": 0}
    return {"per_minute_s": float(t.seconds.sum() / t.audio_s.sum() * 60), "n": len(t),
            "device": str(t.device.iloc[0]), "threads": int(t.threads.iloc[0])}


def dimension_loss(per_dimension: list[dict], route: str, reference: str) -> pd.Series:
    """R² of ``route`` minus R² of ``reference`` per dimension (index: dimension), sorted."""
    t = pd.DataFrame(per_dimension).pivot(index="dimension", columns="route", values="r2")
    return (t[route] - t[reference]).reindex(list(DIMENSIONS)).sort_values()


def dimensions_sentence(loss: pd.Series, short) -> str:
    """Which dimensions lose most R² through the transcription, and which categories."""
    worst = loss.head(3)
    cats = pd.Series({d: CATEGORIES[d] for d in loss.index}).groupby(
        lambda d: CATEGORIES[d]).apply(lambda s: loss[s.index].mean()).sort_values()
    return ("Through the transcription, the dimensions that lose most R² are "
            + join_items([f"{short(d)} ({v:+.3f})" for d, v in worst.items()])
            + "; by category, " + join_items([f"{c} ({v:+.3f})" for c, v in cats.head(2).items()])
            + " lose most on average, and "
            + join_items([f"{c} ({v:+.3f})" for c, v in cats.tail(1).items()]) + " least.")


def evidence(units: pd.Series, alpha: float = 0.05) -> dict:
    """What a subset of segments can show: its segments and resampling units (``units``: the
    music group of each segment), and the smallest two-sided p-value an exact sign-flip test
    over G units can reach, ``2 / 2**G`` (each unit's difference flipped or not; Good 2005,
    *Permutation, Parametric and Bootstrap Tests of Hypotheses*, §3). ``testable`` is whether
    that floor is below ``alpha``: with fewer than about six units no test can reject."""
    g = int(units.nunique())
    floor = min(1.0, 2.0 / 2 ** g)
    return {"segments": len(units), "units": g, "floor": floor, "testable": floor < alpha}


def route_table(summary: pd.DataFrame, routes: pd.Series, music: pd.Series,
                titles: Mapping[str, str], min_units: int = 3) -> pd.DataFrame:
    """``stats.summarise``'s rows by ``route`` as the chapter's table: per metric of
    ``titles`` (in that order) "estimate [lo, hi]", and the number of pieces of music each
    route was scored on (``routes``: the route of each out-of-fold row, indexed by segment;
    ``music``: the piece of music of each segment; a route of the summary absent from
    ``routes`` counts every piece of ``music``). Where a route has fewer than ``min_units``
    pieces the interval is left out: a t interval with G - 1 = 1 degree of freedom spans far
    beyond the scale and says nothing."""
    counts = music.loc[routes.index].groupby(routes.to_numpy()).nunique()
    units = {r: int(counts.get(r, music.nunique())) for r in summary.route.unique()}
    out = {}
    for r in summary[summary.metric.isin(list(titles))].itertuples():
        cell = out.setdefault(r.route, {})
        shown = (f"{r.estimate:.3f} [{r.ci_lo:.3f}, {r.ci_hi:.3f}]"
                 if units.get(r.route, 0) >= min_units else f"{r.estimate:.3f}")
        cell[titles[r.metric]] = shown
    table = pd.DataFrame.from_dict(out, orient="index")[list(titles.values())]
    return table.assign(pieces=[units.get(r, 0) for r in table.index]).rename_axis("route")


def group_mean(y: pd.DataFrame, units: pd.Series) -> pd.DataFrame:
    """Each segment predicted by the mean of the true labels of its unit (``units``: the music
    group of each segment in ``y``'s rows), the 19 dimension columns: an oracle that knows how
    the music is rated on average and nothing of the performance. Its pooled R² is what placing
    the music alone earns; its within-excerpt pairwise accuracy is chance."""
    return y[list(DIMENSIONS)].groupby(units.loc[y.index]).transform("mean")


def within_unit_r2(y: pd.DataFrame, predictions: Mapping[str, pd.DataFrame],
                   units: pd.Series) -> pd.DataFrame:
    """R² of each route (rows) inside each unit (columns; ``units``: the music group of each
    segment), mean over the 19 dimensions and over seeds (a ``seed`` column; none: one seed):
    how well a route orders and spaces
    the performances of one piece of music, against that music's own mean rating. Negative
    means worse than predicting every performance of the music by its true mean."""
    from percepiano.evaluation.metrics import r2

    out = {}
    for name, pred in predictions.items():
        rows = {}
        for unit, idx in pred.groupby(units.loc[pred.index].to_numpy()).groups.items():
            part = pred.loc[idx]
            seeds = part.groupby("seed") if "seed" in part else [(0, part)]
            rows[unit] = float(np.mean([
                r2(y.loc[p.index, list(DIMENSIONS)].to_numpy(), p[list(DIMENSIONS)].to_numpy())
                .mean() for _, p in seeds]))
        out[name] = rows
    return pd.DataFrame(out).T


def within_sentence(within: pd.DataFrame) -> str:
    """What ``within_unit_r2``'s table says: how many routes stay at or below zero inside every
    piece of music (then predicting a piece's performances by its mean rating does as well)."""
    below = within.index[(within < 1e-9).all(axis=1)]  # an exact 0 computes as +-1e-17
    if len(below) == len(within):
        return ("Inside every piece of music, every route's R² is below zero, the true MIDI's "
                "included: on one piece, predicting each performance by that piece's mean "
                "rating would do better than any route.")
    above = [n for n in within.index if n not in below]
    return (f"Inside every piece of music, {len(below)} of {len(within)} routes have R² at or "
            f"below zero; {join_items(above)} reach{'es' if len(above) == 1 else ''} above zero "
            "on at least one piece.")


def route_choice(pairwise: Mapping[str, float], notes: str, sound: str, chosen: str,
                 ev: dict) -> str:
    """Which route the command line takes for audio, from the within-excerpt pairwise accuracy
    of the notes route (``notes``) and of the sound route (``sound``) on the same segments;
    ``chosen``: the route ``analysis.scoring.AUDIO_ROUTE`` names; ``ev``: ``evidence`` of the
    subset, whose size the sentence states. Either route missing (too few segments in the
    profile to fit an error model) says so."""
    if notes not in pairwise or sound not in pairwise:
        return ("This profile transcribed too little to compare the two routes; `percepiano "
                f"predict` scores audio through its {chosen} by default, the route that ranked "
                "performances better on the quick profile's subset (`--via` chooses).")
    better = "notes" if pairwise[notes] > pairwise[sound] else "sound"
    base = (f"On the same {ev['segments']} segments of {ev['units']} pieces of music, the notes "
            f"route ranks two performances of one excerpt right {pairwise[notes]:.1%} of the "
            f"time and the sound route {pairwise[sound]:.1%}")
    if ev["testable"]:
        base += f", so the {better} route ranked better here"
    else:
        base += (f": the {better} route ranked better here, on too little music for a test "
                 f"(no sign-flip test over {ev['units']} units can reach p below "
                 f"{ev['floor']:.3g})")
    return base + (f". `percepiano predict` scores audio through its {chosen} by default, "
                   "and says on how much music that choice rests (`--via` chooses)."
                   if chosen == better else
                   f"; `percepiano predict` still defaults to the {chosen} route, which this "
                   "measurement does not support.")


def accuracy_figure(rows: list[dict], seed: int = 0):
    """Onset F1, onset + offset + velocity F1 and sustain-frame F1 of every transcribed segment
    (points), by rendering (colour). Seaborn jitters the points with numpy's global generator:
    it is seeded with ``seed`` for the plot (and restored after), so every build draws the same
    figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    keys = ["onset_f1", "velocity_f1", "pedal_frame_f1"]
    long = (pd.DataFrame(rows).assign(version=lambda t: t.version.map(VERSIONS))
            .melt(id_vars=["version"], value_vars=keys, var_name="measure")
            .replace({"measure": ACCURACY}))
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        sns.stripplot(long, x="value", y="measure", hue="version", dodge=True, alpha=0.7,
                      size=4, ax=ax)
    finally:
        np.random.set_state(state)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("per segment")
    ax.set_ylabel("")
    ax.legend(title="", frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3)
    return fig
