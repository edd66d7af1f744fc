"""What is played, not how: music-level descriptors of each excerpt's score, and descriptors of a
take relative to the other takes of the same excerpt.

Music-level descriptors come from the notes of the excerpt's deadpan score MIDI, so every
performance of one excerpt gets the same row (a segment without a score falls back on its own
performance MIDI and says so in ``from_performance``). Key and mode: Krumhansl-Schmuckler key
finding (Krumhansl 1990, *Cognitive Foundations of Musical Pitch*) on the duration-weighted
pitch-class profile, as music21's ``analysis.discrete.KrumhanslSchmuckler`` implements it.
Harmonic rhythm is the rate at which the sounding pitch-class set changes from one onset group to
the next: melodic motion over a held chord counts too, so it bounds the harmonic rhythm from
above. Register, density and polyphony are exact sums over note intervals (no time grid).

Notated tempo: the score MIDIs carry real tempo marks (set_tempo: 52.5-172 quarter notes per
minute across the development excerpts, one mark per file except two D935 files that open with
0.25 s at 120), so ``score_tempo_bpm`` keeps them, as quarter notes per minute of score time: the
time-weighted mean of the marks over the notes' span. One caveat: Schubert D960/ii has 120, which
looks like a default (its takes last ~2.6 times the score's span, against 0.7-1.5 elsewhere).
Performance MIDIs carry a placeholder tempo, so tempo and per-quarter rates are NaN for rows
``from_performance``.

``excerpt_relative`` turns any descriptor table into each take minus the mean of the other takes
of the same music, so that what a model reads is the playing, not the music.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from percepiano import config as _config
from percepiano.features.cache import cached_rows, table_key
from percepiano.features.midi import CHORD_S, _groups, _notes_and_controls, _read

VERSION = 1

DESCRIPTIONS: dict[str, str] = {
    "from_performance": "1: computed from the take's own MIDI (no score MIDI); 0: from the score",
    "mode_major": "1 major, 0 minor (Krumhansl-Schmuckler key of the duration-weighted "
                  "pitch-class profile)",
    "key_clarity": "correlation coefficient of the best key's profile with the pitch-class "
                   "profile (-1..1; higher = more clearly in one key)",
    "key_fifths": "tonic on the circle of fifths, C = 0, G = 1, F = -1 (-6..5; F#/Gb = -6)",
    "tonic_sin": "sin of the tonic's angle on the circle of fifths (2 pi key_fifths / 12)",
    "tonic_cos": "cos of the tonic's angle on the circle of fifths",
    "harmonic_changes_per_s": "changes of the sounding pitch-class set between consecutive onset "
                              "groups, per second",
    "harmonic_changes_per_quarter": "the same changes per notated quarter note (NaN from a "
                                    "performance)",
    "pitch_mean": "duration-weighted mean MIDI pitch",
    "pitch_std": "duration-weighted standard deviation of MIDI pitch (semitones)",
    "pitch_range": "highest minus lowest MIDI pitch (semitones)",
    "bass_mean_pitch": "time-weighted mean of the lowest sounding MIDI pitch (while any sounds)",
    "onsets_per_s": f"onset groups (notes within {CHORD_S * 1000:g} ms) per second",
    "notes_per_onset": "notes per onset group (mean chord size)",
    "polyphony_mean": "mean number of notes sounding, over the time any note sounds",
    "score_tempo_bpm": "notated tempo: quarter notes per minute of score time (time-weighted "
                       "mean of the set_tempo marks; NaN from a performance)",
    "score_duration_s": "first onset to last note end (s) of the notes used (the score's, or "
                        "the take's where from_performance)",
}


def find_key(profile) -> tuple[int, bool, float]:
    """(tonic pitch class 0-11, major?, correlation) of a 12-bin pitch-class profile, by
    music21's Krumhansl-Schmuckler key finder (each class a note as long as its weight)."""
    from music21 import analysis, note, stream

    s = stream.Stream()
    for pc, w in enumerate(np.asarray(profile, dtype=np.float64)):
        if w > 0:
            n = note.Note(60 + pc)
            n.quarterLength = float(w)
            s.append(n)
    if not len(s):
        raise ValueError("empty pitch-class profile: no notes with a duration")
    # process(), not getSolution(): the latter builds a Key (and its scales) for all 24 keys
    (tonic, mode, r), _ = analysis.discrete.KrumhanslSchmuckler().process(s)
    return int(tonic.pitchClass), mode == "major", float(r)


def pitch_class_sets(arr: np.ndarray) -> list[frozenset]:
    """The pitch classes sounding at each onset group of ``arr`` (rows start, end, pitch, ...
    sorted by onset): the group's own notes and earlier notes still held at its first onset."""
    start, end, pitch = arr[:, 0], arr[:, 1], arr[:, 2].astype(int)
    out = []
    for g in _groups(start):
        t = start[g[0]]
        held = (start < t) & (end > t)
        out.append(frozenset((pitch[g] % 12).tolist()) | frozenset((pitch[held] % 12).tolist()))
    return out


def music_features(pm, from_performance: bool = False) -> dict[str, float]:
    """The ``DESCRIPTIONS`` of one MIDI (``pretty_midi.PrettyMIDI``): a score, or with
    ``from_performance`` a take standing in for its missing score."""
    arr = _notes_and_controls(pm)[0]
    start, end, pitch = arr[:, 0], arr[:, 1], arr[:, 2]
    t0, t1 = float(start.min()), float(end.max())
    duration = max(t1 - t0, 1e-3)
    dur = np.maximum(end - start, 1e-6)

    tonic, major, clarity = find_key(np.bincount(pitch.astype(int) % 12, weights=dur,
                                                 minlength=12))
    fifths = (7 * tonic + 6) % 12 - 6
    sets = pitch_class_sets(arr)
    changes = sum(a != b for a, b in zip(sets[:-1], sets[1:], strict=True))

    # elementary intervals between successive note boundaries: the sounding set is constant
    bounds = np.unique(np.concatenate([start, end]))
    mid, length = (bounds[:-1] + bounds[1:]) / 2, np.diff(bounds)
    sounding = (start[None, :] <= mid[:, None]) & (end[None, :] > mid[:, None])
    count = sounding.sum(axis=1)
    has = count > 0
    bass = np.where(sounding, pitch[None, :], np.inf).min(axis=1)
    sound_time = length[has].sum()

    quarters = np.nan
    if not from_performance:
        quarters = (pm.time_to_tick(t1) - pm.time_to_tick(t0)) / pm.resolution
    tempo = 60.0 * quarters / duration
    f = {
        "from_performance": float(from_performance),
        "mode_major": float(major), "key_clarity": clarity, "key_fifths": float(fifths),
        "tonic_sin": np.sin(2 * np.pi * fifths / 12), "tonic_cos": np.cos(2 * np.pi * fifths / 12),
        "harmonic_changes_per_s": changes / duration,
        "harmonic_changes_per_quarter": changes / quarters if quarters > 0 else np.nan,
        "pitch_mean": np.average(pitch, weights=dur),
        "pitch_std": np.sqrt(np.average((pitch - np.average(pitch, weights=dur)) ** 2,
                                        weights=dur)),
        "pitch_range": np.ptp(pitch),
        "bass_mean_pitch": np.sum(bass[has] * length[has]) / sound_time,
        "onsets_per_s": len(sets) / duration,
        "notes_per_onset": len(arr) / len(sets),
        "polyphony_mean": np.sum(count[has] * length[has]) / sound_time,
        "score_tempo_bpm": tempo,
        "score_duration_s": duration,
    }
    return {k: float(f[k]) for k in DESCRIPTIONS}


def _job(task):
    path, from_performance = task
    return list(music_features(_read(path), from_performance).values())


def music_feature_table(ds, progress: bool = True, *, names=None, workers: int = 1,
                        cache: bool = True) -> pd.DataFrame:
    """``DESCRIPTIONS`` for every segment (rows = ``ds.names``, or ``names``), float64.

    Computed once per distinct source MIDI (the excerpt's score, else the take itself) and
    cached per file under ``features/music/`` by its content hash, ``VERSION`` and the
    settings, so performances of one excerpt, and any subset of the dataset, share rows."""
    from pathlib import Path

    from percepiano.audio.render import midi_bytes

    seg = ds.segments if names is None else ds.segments.loc[list(names)]
    tasks = [(s, False) if isinstance(s, str) else (m, True)
             for m, s in zip(seg.midi_path, seg.score_midi_path, strict=True)]
    digest = {t: table_key(midi_bytes(t[0])) for t in set(tasks)}
    keys = {t: table_key(VERSION, CHORD_S, list(DESCRIPTIONS), t[1], d) for t, d in digest.items()}
    unique = sorted(keys, key=keys.get)
    if cache:
        rows = cached_rows(_job, unique, [keys[t] for t in unique],
                           Path(_config.cache_dir()) / "features" / "music", workers=workers,
                           desc="music features", progress=progress)
    else:
        rows = np.array([_job(t) for t in unique], dtype=np.float64).reshape(len(unique), -1)
    where = {t: i for i, t in enumerate(unique)}
    values = rows[[where[t] for t in tasks]] if tasks else np.empty((0, len(DESCRIPTIONS)))
    return pd.DataFrame(values, index=pd.Index(seg.index, name="name"),
                        columns=list(DESCRIPTIONS), dtype=np.float64)


def excerpt_relative(X: pd.DataFrame, excerpts: pd.Series, min_others: int = 1) -> pd.DataFrame:
    """Each row of ``X`` minus the mean of the OTHER rows of the same excerpt (leave-one-out),
    columns suffixed ``@rel``; labels are never used.

    ``excerpts`` maps X's index to an excerpt id. NaNs in X are left out of the means; a cell
    is NaN where the excerpt has fewer than ``min_others`` other rows with a value there (a lone
    take, an unknown excerpt). These need other takes of the same music, so they serve batch
    scoring and the book, not a lone take scored on its own.
    """
    if min_others < 1:
        raise ValueError(f"min_others must be at least 1 (got {min_others})")
    X = X.astype(np.float64)
    group = excerpts.reindex(X.index)
    present = X.notna()
    total = X.fillna(0.0).groupby(group).transform("sum")
    n = present.astype(np.float64).groupby(group).transform("sum")
    others = n - present  # NaN where the excerpt is unknown
    loo_mean = (total - X.fillna(0.0)) / others.where(others >= min_others)
    return (X - loo_mean).add_suffix("@rel")
