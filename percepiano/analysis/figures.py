"""Figures of where the AST listens: attention rollout over a spectrogram and a piano roll
(Abnar & Zuidema 2020), and the mean attention distance per layer (Dosovitskiy et al. 2021).

matplotlib only; each function returns the ``Figure`` (never shows it), for the chapter to
glue with a caption. Times are seconds in one clock: the MIDI's, with the spectrogram's frame 0
at ``start`` (``analysis.attention.patch_times`` gives crop-relative centres: add ``start``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from percepiano.audio.spectrogram import MelConfig

MEL = MelConfig()  # the cached log-mel's front end: 16 kHz, 10-ms hop


def _note_array(notes) -> np.ndarray:
    """Notes as (n, 4) float rows (start, end, pitch, velocity), from ``pretty_midi.Note``
    objects or any (n, 4) array-like."""
    notes = list(notes)
    if notes and hasattr(notes[0], "pitch"):
        return np.array([(n.start, n.end, n.pitch, n.velocity) for n in notes], np.float64)
    arr = np.asarray(notes, np.float64).reshape(-1, 4) if notes else np.zeros((0, 4))
    return arr


def _axes_pair(target):
    """(figure, (top, bottom)) from None (a new figure), a Figure, or two Axes."""
    if target is None:
        target = plt.figure(figsize=(9, 5.5))
    if isinstance(target, Figure):
        top, bottom = target.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1]})
        return target, (top, bottom)
    top, bottom = target
    return top.figure, (top, bottom)


def plot_rollout(target, mel_db, relevance_t, times, notes, pedal_intervals, title: str = "",
                 *, start: float = 0.0, mel: MelConfig = MEL) -> Figure:
    """Rollout relevance over a crop's log-mel (top) and its performance as a piano roll
    (bottom), sharing the time axis.

    ``target``: None, a ``Figure`` (two axes are added) or a pair of ``Axes``. ``mel_db``
    (n_mels, frames) in dB; ``relevance_t`` (T,) relevance per time patch
    (``attention.time_profile``) at patch centres ``times`` (T,) seconds; it is drawn as a
    white line and band scaled to the spectrogram's height (its scale is relative: the top
    is the crop's largest relevance). ``notes``: ``pretty_midi.Note`` objects or (n, 4) rows
    (start, end, pitch, velocity): one bar per note, opacity by velocity, a tick at each
    onset. ``pedal_intervals``: (start, end) seconds of sustain-pedal presses, shaded
    (``attention.pedal_intervals``). Raises ValueError when ``relevance_t`` and ``times``
    differ in length."""
    mel_db = np.asarray(mel_db, np.float64)
    rel, times = np.asarray(relevance_t, np.float64).ravel(), np.asarray(times, np.float64)
    if rel.shape != times.shape:
        raise ValueError(f"relevance has {rel.size} patches but times has {times.size}")
    fig, (top, bottom) = _axes_pair(target)
    sec = mel.hop_length / mel.sr
    n_mels, frames = mel_db.shape
    extent = (start - sec / 2, start + (frames - 0.5) * sec, 0, n_mels)
    top.imshow(mel_db, origin="lower", aspect="auto", extent=extent, cmap="magma")
    scaled = n_mels * 0.95 * rel / rel.max() if rel.size and rel.max() > 0 else rel * 0
    top.fill_between(times, 0, scaled, color="white", alpha=0.25, step="mid", linewidth=0)
    top.plot(times, scaled, color="white", lw=1.5, drawstyle="steps-mid",
             label="rollout relevance (relative)")
    top.set_ylabel("mel band")
    top.legend(loc="upper right", fontsize="small", framealpha=0.6)
    if title:
        top.set_title(title)

    arr = _note_array(notes)
    for s, e in pedal_intervals:
        bottom.axvspan(s, e, color="tab:blue", alpha=0.12, lw=0)
    if len(arr):
        colours = np.zeros((len(arr), 4))
        colours[:, 3] = np.clip(arr[:, 3] / 127.0, 0.1, 1.0)
        bottom.barh(arr[:, 2], arr[:, 1] - arr[:, 0], left=arr[:, 0], height=0.8,
                    color=colours, edgecolor="none")
        bottom.plot(arr[:, 0], arr[:, 2], "|", color="tab:red", ms=6, label="onset")
        bottom.set_ylim(arr[:, 2].min() - 2, arr[:, 2].max() + 2)
    bottom.set_xlim(extent[0], extent[1])
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("MIDI pitch")
    return fig


def plot_attention_distance(ax, table) -> Figure:
    """Mean attention distance per layer: mean over examples with +-1 standard deviation, one
    line per model.

    ``table``: ``attention.attention_distance``'s (B, layers) array, or a DataFrame in long
    form with columns ``layer``, ``distance`` (seconds) and optionally ``model``. ``ax``: an
    ``Axes``, or None for a new figure. Raises ValueError on a table without those columns."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    if not isinstance(table, pd.DataFrame):
        arr = np.atleast_2d(np.asarray(table, np.float64))
        table = pd.DataFrame({"layer": np.tile(np.arange(1, arr.shape[1] + 1), arr.shape[0]),
                              "distance": arr.ravel()})
    if not {"layer", "distance"} <= set(table.columns):
        raise ValueError("the table needs columns 'layer' and 'distance' (and optionally "
                         "'model')")
    groups = table.groupby("model") if "model" in table.columns else [(None, table)]
    for name, part in groups:
        stats = part.groupby("layer")["distance"].agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3,
                    label=name)
    ax.set_xlabel("layer")
    ax.set_ylabel("mean attention distance (s)")
    ax.set_xticks(sorted(table["layer"].unique()))
    if "model" in table.columns:
        ax.legend(fontsize="small")
    return ax.figure
