"""Symbolic performance descriptors from each segment's MIDI (and its deadpan score MIDI).

The classic expressive-performance parameters (Widmer & Goebl 2004, "Computational models of
expressive music performance"): timing (inter-onset intervals, chord asynchrony, melody lead),
dynamics (velocity level, range and evolution, melody/accompaniment balance), articulation
(duration / IOI, legato overlap), pedalling (sustain time, changes, releases at harmony changes),
texture (density, polyphony), and score-informed ones: ratios to the deadpan score MIDI (relative
tempo, velocity against the score's) and, after pairing performed with score notes pitch by pitch,
a tempo curve, timing deviations and articulation against the notated durations. Notes starting
within ``CHORD_S`` of each other form one onset group ("chord"); the top note of a group is the
melody. Every column is documented in ``MIDI_FEATURES``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from percepiano import config as _config
from percepiano.features.cache import load_table, parallel_map, save_table, table_key

FEATURE_VERSION = 4
CHORD_S = 0.05  # notes whose onsets lie within 50 ms of a group's first onset form one chord
WINDOW_S = 2.0  # window for velocity evolution: about one bar at the dataset's tempi
GRID_S = 0.01  # time grid for pedal and polyphony statistics
HARMONY_S = 0.2  # a pedal lift within this many seconds of a harmony change counts as clean
DECAY_S = 3.0  # a pedal-held piano note is taken to have died away this long after its release
N_TEMPO_WINDOWS = 8  # tempo curve resolution: about one bar per window in 8-bar excerpts

MIDI_FEATURES: dict[str, str] = {
    "duration_s": "first onset to last note end (s)",
    "n_notes": "number of notes",
    "note_density": "notes per second",
    "onset_rate": "onset groups (chords or single notes) per second",
    "tempo_bpm": "60 / median inter-onset interval between groups",
    "ioi_mean": "mean inter-onset interval between groups (s)",
    "ioi_std": "standard deviation of group IOIs (s)",
    "ioi_cv": "IOI coefficient of variation (std / mean)",
    "log_ioi_std": "standard deviation of log2 IOI",
    "ioi_ratio_std": "std of log2(IOI[k+1] / IOI[k]): local timing irregularity",
    "chord_fraction": "fraction of groups with two or more notes",
    "async_mean_ms": "mean onset spread within chords (ms)",
    "async_std_ms": "standard deviation of the onset spread within chords (ms)",
    "melody_lead_ms": "mean lead of the top note over the rest of its chord (ms)",
    "vel_mean": "mean MIDI velocity",
    "vel_std": "velocity standard deviation",
    "vel_p5": "5th velocity percentile",
    "vel_p95": "95th velocity percentile",
    "vel_range": "95th minus 5th velocity percentile",
    "vel_slope": "linear trend of velocity over the segment (per second)",
    "vel_window_std": f"std of mean velocity over {WINDOW_S:g}-s windows (dynamic evolution)",
    "vel_window_range": f"max minus min of {WINDOW_S:g}-s window mean velocities",
    "vel_change_mean": "mean absolute change of group mean velocity between groups",
    "melody_vel_diff": "top-note velocity minus the rest of its chord, mean over chords",
    "bass_vel_diff": "bottom-note velocity minus the rest of its chord, mean over chords",
    "melody_accomp_ratio": "mean velocity of top notes / mean velocity of all other notes",
    "dur_mean": "mean note duration (s)",
    "dur_median": "median note duration (s)",
    "artic_mean": "mean duration / IOI to the next group (clipped at 4)",
    "artic_median": "median duration / IOI to the next group",
    "staccato_frac": "fraction of notes with duration / IOI below 0.5",
    "legato_frac": "fraction of notes held past the next group's onset",
    "melody_overlap_ms": "mean overlap of consecutive melody notes (ms; negative = gap)",
    "melody_legato_frac": "fraction of consecutive melody notes that overlap",
    "pedal_down_frac": "fraction of time the sustain pedal (CC64 >= 64) is down",
    "pedal_value_mean": "time-averaged CC64 value / 127 (half pedalling shows here)",
    "pedal_changes_per_s": "sustain pedal presses per second",
    "pedal_per_harmony": "pedal presses per harmony (bass pitch class) change",
    "pedal_clean_frac": f"harmony changes with a pedal lift within {HARMONY_S:g} s",
    "soft_pedal_frac": "fraction of time the soft pedal (CC67 >= 64) is down",
    "pedal_note_frac": "fraction of note onsets played with the sustain pedal down",
    "pedal_half_frac": "fraction of time the sustain pedal is part-way down (CC64 in 20-99)",
    "pedal_depth_median": "median CC64 value / 127 while the pedal is touched",
    "pedal_extension_s": f"mean time the pedal prolongs a note after its key is released "
                         f"(<= {DECAY_S:g} s)",
    "blur_notes": "mean number of pedal-held notes of earlier chords at a harmony change",
    "polyphony_mean": "mean number of keys held (over time with sound)",
    "polyphony_max": "largest number of keys held at once",
    "sounding_mean": f"mean number of notes sounding (keys or pedal holding them, "
                     f"<= {DECAY_S:g} s)",
    "pitch_mean": "mean MIDI pitch",
    "pitch_range": "95th minus 5th pitch percentile (semitones)",
    "rel_tempo": "performance / score first-to-last onset span (> 1 = slower than the score)",
    "rel_duration": "performance / score duration",
    "note_count_ratio": "performance / score note count",
    "vel_vs_score": "mean velocity minus the score's",
    "vel_std_vs_score": "velocity std minus the score's",
    "ioi_cv_vs_score": "IOI coefficient of variation minus the score's",
    "artic_vs_score": "median duration / IOI minus the score's",
    "matched_frac": "fraction of notes paired with the score (pitch by pitch, in order)",
    "timing_dev_ms": "std of onset deviations from one steady tempo fitted to the score (ms)",
    "tempo_curve_std": f"std of log2 local tempo over {N_TEMPO_WINDOWS} windows of the score",
    "tempo_curve_range": "max minus min of log2 local tempo",
    "tempo_trend": "linear trend of log2 local tempo (per window; > 0 = slowing down)",
    "microtiming_ms": "std of onset deviations from the local tempo curve (ms)",
    "dur_vs_score": "mean log2 performed / notated duration at the fitted tempo",
    "dur_vs_score_std": "std of log2 performed / notated duration",
    "vel_corr_score": "correlation of performed and score velocities (NaN: flat score velocities)",
}
SCORE_FEATURES = ("rel_tempo", "rel_duration", "note_count_ratio", "vel_vs_score",
                  "vel_std_vs_score", "ioi_cv_vs_score", "artic_vs_score", "matched_frac",
                  "timing_dev_ms", "tempo_curve_std", "tempo_curve_range", "tempo_trend",
                  "microtiming_ms", "dur_vs_score", "dur_vs_score_std", "vel_corr_score")


def _notes_and_controls(pm):
    notes = [n for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    if not notes:
        raise ValueError("no notes")
    arr = np.array([(n.start, n.end, n.pitch, n.velocity) for n in notes], dtype=np.float64)
    arr = arr[np.lexsort((arr[:, 2], arr[:, 0]))]
    ccs = {}
    for inst in pm.instruments:
        for c in inst.control_changes:
            ccs.setdefault(c.number, []).append((c.time, c.value))
    return arr, {k: sorted(v) for k, v in ccs.items()}


def _groups(onsets: np.ndarray) -> list[np.ndarray]:
    out, start = [], 0
    for i in range(1, len(onsets) + 1):
        if i == len(onsets) or onsets[i] - onsets[start] > CHORD_S:
            out.append(np.arange(start, i))
            start = i
    return out


def _cc_curve(events, grid: np.ndarray) -> np.ndarray:
    """Controller value on ``grid`` (piecewise constant, 0 before the first event)."""
    if not events:
        return np.zeros_like(grid)
    t = np.array([e[0] for e in events])
    v = np.array([e[1] for e in events], dtype=np.float64)
    idx = np.searchsorted(t, grid, side="right") - 1
    return np.where(idx >= 0, v[np.clip(idx, 0, None)], 0.0)


def _basic(arr: np.ndarray) -> dict:
    """Tempo, IOI and articulation statistics shared with the score."""
    start, end = arr[:, 0], arr[:, 1]
    groups = _groups(start)
    g_on = np.array([start[g[0]] for g in groups])
    ioi = np.diff(g_on)
    ioi = ioi[ioi > 0] if len(ioi) else np.array([np.nan])
    next_on = np.full(len(arr), np.nan)
    for k in range(len(groups) - 1):
        next_on[groups[k]] = g_on[k + 1]
    gap = next_on - start
    ratio = np.clip((end - start) / gap, 0, 4)
    return {"groups": groups, "g_on": g_on, "ioi": ioi, "ratio": ratio[np.isfinite(ratio)],
            "next_on": next_on,
            "ioi_cv": float(np.std(ioi) / np.mean(ioi)) if np.isfinite(ioi).all() else np.nan,
            "artic_median": float(np.median(ratio[np.isfinite(ratio)])) if np.isfinite(ratio).any()
            else np.nan,
            "span": float(start[-1] - start[0]), "duration": float(end.max() - start[0])}


@functools.cache
def code_digest() -> str:
    """The code hash of ``performance_features`` (its module and what that imports,
    ``codehash.of_function``), once per process: part of every cache key of its rows, so that
    editing a formula recomputes them instead of reading rows of the old one."""
    from percepiano import codehash

    return codehash.of_function(performance_features)[0]


def performance_features(pm, score=None) -> dict[str, float]:
    """The ``MIDI_FEATURES`` of one performance (``pretty_midi.PrettyMIDI``); score ones need
    ``score`` (the deadpan score MIDI) and are NaN without it."""
    arr, ccs = _notes_and_controls(pm)
    start, end, pitch, vel = arr.T
    b = _basic(arr)
    groups, g_on, ioi, ratio = b["groups"], b["g_on"], b["ioi"], b["ratio"]
    dur = max(b["duration"], 1e-3)
    chords = [g for g in groups if len(g) > 1]
    f: dict[str, float] = {
        "duration_s": dur, "n_notes": float(len(arr)), "note_density": len(arr) / dur,
        "onset_rate": len(groups) / dur, "tempo_bpm": 60.0 / np.median(ioi),
        "ioi_mean": np.mean(ioi), "ioi_std": np.std(ioi), "ioi_cv": b["ioi_cv"],
        "log_ioi_std": np.std(np.log2(ioi)),
        "ioi_ratio_std": np.std(np.diff(np.log2(ioi))) if len(ioi) > 2 else np.nan,
        "chord_fraction": len(chords) / len(groups),
    }
    spread = [1000 * (start[g].max() - start[g].min()) for g in chords]
    lead = []
    for g in chords:
        top = g[np.argmax(pitch[g])]
        lead.append(1000 * (start[g][g != top].mean() - start[top]))
    f["async_mean_ms"] = np.mean(spread) if spread else 0.0
    f["async_std_ms"] = np.std(spread) if spread else 0.0
    f["melody_lead_ms"] = np.mean(lead) if lead else 0.0

    # dynamics
    p5, p95 = np.percentile(vel, [5, 95])
    n_win = max(1, int(np.ceil(dur / WINDOW_S)))
    win = np.minimum(((start - start[0]) // WINDOW_S).astype(int), n_win - 1)
    win_means = np.array([vel[win == w].mean() for w in range(n_win) if (win == w).any()])
    g_vel = np.array([vel[g].mean() for g in groups])
    mel_diff, bass_diff, top_idx = [], [], []
    for g in groups:
        top = g[np.argmax(pitch[g])]
        top_idx.append(top)
        if len(g) > 1:
            rest = g[g != top]
            mel_diff.append(vel[top] - vel[rest].mean())
            low = g[np.argmin(pitch[g])]
            bass_diff.append(vel[low] - vel[g[g != low]].mean())
    top_idx = np.array(top_idx)
    others = np.setdiff1d(np.arange(len(arr)), top_idx)
    f.update({
        "vel_mean": vel.mean(), "vel_std": vel.std(), "vel_p5": p5, "vel_p95": p95,
        "vel_range": p95 - p5,
        "vel_slope": np.polyfit(start, vel, 1)[0] if np.ptp(start) > 0 else 0.0,
        "vel_window_std": win_means.std(), "vel_window_range": np.ptp(win_means),
        "vel_change_mean": np.mean(np.abs(np.diff(g_vel))) if len(g_vel) > 1 else 0.0,
        "melody_vel_diff": np.mean(mel_diff) if mel_diff else 0.0,
        "bass_vel_diff": np.mean(bass_diff) if bass_diff else 0.0,
        "melody_accomp_ratio": vel[top_idx].mean() / vel[others].mean() if len(others) else 1.0,
    })

    # articulation
    mel_on, mel_off = start[top_idx], end[top_idx]
    overlap = 1000 * (mel_off[:-1] - mel_on[1:])
    f.update({
        "dur_mean": np.mean(end - start), "dur_median": np.median(end - start),
        "artic_mean": np.mean(ratio) if len(ratio) else np.nan,
        "artic_median": b["artic_median"],
        "staccato_frac": np.mean(ratio < 0.5) if len(ratio) else np.nan,
        "legato_frac": np.mean(ratio > 1.0) if len(ratio) else np.nan,
        "melody_overlap_ms": np.mean(overlap) if len(overlap) else 0.0,
        "melody_legato_frac": np.mean(overlap > 0) if len(overlap) else 0.0,
    })

    # pedal and polyphony on a time grid
    grid = np.arange(start[0], end.max(), GRID_S)
    ped = _cc_curve(ccs.get(64, []), grid)
    down = ped >= 64
    presses = int(np.sum(down[1:] & ~down[:-1]) + (1 if down[0] else 0))
    bass = np.array([pitch[g].min() % 12 for g in groups])
    changes = g_on[1:][np.diff(bass) != 0]
    clean = []
    for t in changes:
        sel = (grid >= t - HARMONY_S) & (grid <= t + HARMONY_S)
        clean.append(bool((~down[sel]).any()) if sel.any() else True)
    held = (start[None, :] <= grid[:, None]) & (end[None, :] > grid[:, None])
    # a note keeps sounding after its key is released while the pedal stays down
    up_times = grid[~down]
    release = np.array([up_times[np.searchsorted(up_times, e)] if np.searchsorted(up_times, e)
                        < len(up_times) else grid[-1] + GRID_S for e in end])
    release = np.where(release - end < GRID_S, end, release)  # pedal already up: key release
    sound_end = np.maximum(end, np.minimum(release, end + DECAY_S))
    sounding = (start[None, :] <= grid[:, None]) & (sound_end[None, :] > grid[:, None])
    n_held = held.sum(axis=1)
    # at a harmony change, notes of earlier chords whose keys are up but the pedal holds: blur
    blur = [np.sum((end < t) & (sound_end > t)) for t in changes]
    on_idx = np.clip(np.searchsorted(grid, start), 0, len(grid) - 1)
    depth = ped[ped > 0]
    f.update({
        "pedal_down_frac": down.mean(), "pedal_value_mean": ped.mean() / 127,
        "pedal_changes_per_s": presses / dur,
        "pedal_per_harmony": presses / max(len(changes), 1),
        "pedal_clean_frac": np.mean(clean) if clean else 1.0,
        "soft_pedal_frac": np.mean(_cc_curve(ccs.get(67, []), grid) >= 64),
        "pedal_note_frac": np.mean(down[on_idx]),
        "pedal_half_frac": np.mean((ped >= 20) & (ped < 100)),
        "pedal_depth_median": np.median(depth) / 127 if depth.size else 0.0,
        "pedal_extension_s": np.mean(sound_end - end),
        "blur_notes": np.mean(blur) if blur else 0.0,
        "polyphony_mean": n_held[n_held > 0].mean() if (n_held > 0).any() else 0.0,
        "polyphony_max": float(n_held.max()),
        "sounding_mean": sounding.sum(axis=1).mean(),
        "pitch_mean": pitch.mean(), "pitch_range": float(np.subtract(*np.percentile(pitch,
                                                                                   [95, 5]))),
    })

    f.update(score_features(arr, b, _notes_and_controls(score)[0] if score is not None
                            else None))
    return {k: float(f[k]) for k in MIDI_FEATURES}


def match_notes(perf: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair performed and score notes: the k-th occurrence of each pitch in one with the k-th in
    the other (both in onset order). Exact when no note is missed or added; a wrong or missing
    note only shifts the pairs of its own pitch. Returns (performance, score) row indices."""
    pi, si = [], []
    for p in np.intersect1d(perf[:, 2], score[:, 2]):
        a = np.flatnonzero(perf[:, 2] == p)
        c = np.flatnonzero(score[:, 2] == p)
        n = min(len(a), len(c))
        pi.append(a[:n])
        si.append(c[:n])
    pi, si = np.concatenate(pi), np.concatenate(si)
    order = np.argsort(score[si, 0], kind="stable")
    return pi[order], si[order]


def score_features(arr: np.ndarray, b: dict, s_arr: np.ndarray | None) -> dict[str, float]:
    """Score-informed features (NaN without a score): ratios of the two, and a tempo curve and
    timing/articulation deviations from the note-matched alignment."""
    f = {k: np.nan for k in SCORE_FEATURES}
    if s_arr is None:
        return f
    s = _basic(s_arr)
    f.update({
        "rel_tempo": b["span"] / s["span"] if s["span"] > 0 else np.nan,
        "rel_duration": b["duration"] / s["duration"],
        "note_count_ratio": len(arr) / len(s_arr),
        "vel_vs_score": arr[:, 3].mean() - s_arr[:, 3].mean(),
        "vel_std_vs_score": arr[:, 3].std() - s_arr[:, 3].std(),
        "ioi_cv_vs_score": b["ioi_cv"] - s["ioi_cv"],
        "artic_vs_score": b["artic_median"] - s["artic_median"],
    })
    pi, si = match_notes(arr, s_arr)
    f["matched_frac"] = len(pi) / max(len(arr), len(s_arr))
    x, y = s_arr[si, 0], arr[pi, 0]  # score time -> performance time
    if len(pi) < 8 or np.ptp(x) <= 0:
        return f
    slope, icpt = np.polyfit(x, y, 1)
    f["timing_dev_ms"] = 1000 * np.std(y - (slope * x + icpt))
    # tempo curve: a line per window of score time; its slopes are local tempo ratios
    edges = np.linspace(x.min(), x.max() + 1e-9, N_TEMPO_WINDOWS + 1)
    local, resid = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (x >= lo) & (x < hi)
        if sel.sum() >= 4 and np.ptp(x[sel]) > 0:
            k, c = np.polyfit(x[sel], y[sel], 1)
            if k > 0:
                local.append(np.log2(k))
                resid.append(y[sel] - (k * x[sel] + c))
    if len(local) >= 2:
        f["tempo_curve_std"] = np.std(local)
        f["tempo_curve_range"] = np.ptp(local)
        f["tempo_trend"] = np.polyfit(np.arange(len(local)), local, 1)[0]
    if resid:
        f["microtiming_ms"] = 1000 * np.std(np.concatenate(resid))
    # articulation against notation: performed / notated duration at the global tempo
    s_dur = s_arr[si, 1] - s_arr[si, 0]
    ok = s_dur > 0
    if ok.any():
        rel = np.log2(np.maximum(arr[pi, 1] - arr[pi, 0], 1e-3)[ok] / (slope * s_dur[ok]))
        f["dur_vs_score"] = np.mean(rel)
        f["dur_vs_score_std"] = np.std(rel)
    sv = s_arr[si, 3]
    if np.std(sv) > 0 and np.std(arr[pi, 3]) > 0:
        f["vel_corr_score"] = np.corrcoef(sv, arr[pi, 3])[0, 1]
    return f


def _read(path):
    import warnings

    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tempo events on non-zero tracks: times are still right
        return pretty_midi.PrettyMIDI(str(path))


def _job(task):
    name, midi_path, score_path = task
    score = _read(score_path) if score_path else None
    return performance_features(_read(midi_path), score)


def midi_feature_table(ds, workers: int | None = None, progress: bool = True,
                       names=None, cache: bool = True) -> pd.DataFrame:
    """``MIDI_FEATURES`` for every segment (rows = sorted names), cached by content hash."""
    from pathlib import Path

    from percepiano.audio.render import midi_bytes

    seg = ds.segments if names is None else ds.segments.loc[list(names)]
    parts = [FEATURE_VERSION, code_digest(), CHORD_S, WINDOW_S, GRID_S, HARMONY_S, DECAY_S,
             N_TEMPO_WINDOWS, list(MIDI_FEATURES)]
    for name, row in seg.iterrows():
        score = row.score_midi_path
        parts += [name, table_key(midi_bytes(row.midi_path)),
                  table_key(midi_bytes(score)) if isinstance(score, str) else "-"]
    path = Path(_config.cache_dir()) / "features" / f"midi-{table_key(*parts)}.npz"
    if cache and path.exists():
        return load_table(path)
    tasks = [(n, r.midi_path, r.score_midi_path if isinstance(r.score_midi_path, str) else None)
             for n, r in seg.iterrows()]
    rows = parallel_map(_job, tasks, workers, desc="MIDI features", progress=progress,
                        chunksize=8)
    table = pd.DataFrame(rows, index=pd.Index(seg.index, name="name"))[list(MIDI_FEATURES)]
    if cache:
        save_table(path, table)
    return table
