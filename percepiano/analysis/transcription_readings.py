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


def route_choice(routes: Mapping[str, float], notes: str, sound: str, chosen: str) -> str:
    """Which route the command line takes for audio, from the pooled R² of the notes route
    (``notes``) and of the sound route (``sound``) on the same segments; ``chosen``: the
    route ``analysis.scoring.AUDIO_ROUTE`` names. Either route missing (too few segments in the
    profile to fit an error model) says so."""
    if notes not in routes or sound not in routes:
        return ("This profile transcribed too little to compare the two routes; `percepiano "
                f"predict` scores audio through its {chosen} by default, the route measured more "
                "accurate on the quick profile's larger subset (`--via` chooses).")
    better = "notes" if routes[notes] > routes[sound] else "sound"
    return (f"On the same segments, the notes route reaches pooled R² {routes[notes]:.3f} and "
            f"the sound route {routes[sound]:.3f}, so the {better} route is the more accurate "
            "here" + (f", and `percepiano predict` scores audio through its {chosen} by "
                      "default (`--via` chooses)." if chosen == better else
                      f"; `percepiano predict` still defaults to the {chosen} route, which "
                      "this measurement contradicts."))


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
