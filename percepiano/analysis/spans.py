"""The spans a long take is scored in: windows that follow the music, and takes that repeat.

The rated excerpts last 5-47 s (90 % of them), so a take longer than ``LONG_S`` is scored in
windows of about ``WINDOW_S`` seconds and the windows' predictions are averaged. Where a window
ends matters: cut in the middle of a phrase, a window starts on a fragment no rated excerpt
starts on. So each equal-length edge moves to the strongest boundary found within a third of a
window of it (``windows``): for notes, the onset after the longest silence with no key down
(``rests``: the end of a phrase, a breath); for sound, the quietest moment (``quiet``). An
edge with no boundary near it stays where it is.

A take that plays the same music again and again (an excerpt practised ten times in a row)
is found by ``repeats``: the pitch sequence of its notes matches itself shifted by one
repetition. Such a take is scored one repetition per window, cut where each repetition
starts, so that every window is the excerpt as it was played, and a note says so.
"""

from __future__ import annotations

import numpy as np

LONG_S = 120.0  # longer performances are scored in windows
WINDOW_S = 30.0  # about the length of a rated excerpt
SNAP = 1 / 3  # an edge moves to a boundary at most this share of a window away
MATCH = 0.9  # a repetition: this share of the notes match the notes one period later
MIN_REPEAT_NOTES = 16  # a repeated phrase holds at least this many notes ...
MIN_REPEAT_S = 5.0  # ... and lasts at least this long (the shortest rated excerpts)


def windows(duration: float, long_s: float = LONG_S, window_s: float = WINDOW_S,
            cuts: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[float, float]]:
    """The spans a performance of ``duration`` seconds is scored in: the whole of it up to
    ``long_s``; beyond, consecutive windows of about ``window_s`` seconds whose inner edges
    move to the strongest candidate of ``cuts`` (``(times, strengths)``: seconds from the
    start and how clear a boundary each is) within ``SNAP`` of a window of the equal split."""
    if duration <= long_s:
        return [(0.0, duration)]
    n = max(2, round(duration / window_s))
    edges = np.linspace(0.0, duration, n + 1)
    if cuts is not None and len(cuts[0]):
        times, strength = (np.asarray(c, np.float64) for c in cuts)
        reach = SNAP * duration / n
        for k in range(1, n):
            near = np.flatnonzero((np.abs(times - edges[k]) <= reach)
                                  & (times > edges[k - 1]) & (times < duration))
            if near.size:
                best = near[np.lexsort((np.abs(times[near] - edges[k]), -strength[near]))[0]]
                edges[k] = times[best]
    return [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)
            if b > a]


def _notes(pm) -> list:
    return sorted((n for inst in pm.instruments if not inst.is_drum for n in inst.notes),
                  key=lambda n: (n.start, n.pitch))


def rests(pm, start: float = 0.0, end: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Boundaries in the notes of ``pm`` between ``start`` and ``end`` seconds: ``(times,
    strengths)``, each onset (relative to ``start``) and the silence before it with no key
    down, in seconds (negative where a key was still down: a legato join)."""
    notes = [n for n in _notes(pm) if start <= n.start < end]
    if len(notes) < 2:
        return np.zeros(0), np.zeros(0)
    onsets = np.array([n.start for n in notes])
    held = np.maximum.accumulate(np.array([n.end for n in notes]))
    return onsets[1:] - start, onsets[1:] - held[:-1]


def quiet(level_db: np.ndarray, hop_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Boundaries in a frame level ``level_db`` (dB, one frame every ``hop_s`` seconds):
    ``(times, strengths)``, every frame and how far it lies below the loudest (quieter is a
    clearer boundary)."""
    level = np.asarray(level_db, np.float64)
    return np.arange(len(level)) * hop_s, level.max(initial=0.0) - level


def repeats(pm, start: float = 0.0, end: float = np.inf) -> list[float] | None:
    """Where a take that repeats the same music starts each repetition (seconds relative to
    ``start``, the first at 0), or None: the smallest lag ``L`` (in notes, at least
    ``MIN_REPEAT_NOTES``) at which ``MATCH`` of the notes' pitches equal those ``L`` notes
    later, over at least two repetitions of ``MIN_REPEAT_S`` s or more."""
    notes = [n for n in _notes(pm) if start <= n.start < end]
    pitch = np.array([n.pitch for n in notes])
    onset = np.array([n.start for n in notes]) - start
    n = len(pitch)
    for lag in range(MIN_REPEAT_NOTES, n // 2 + 1):
        if np.mean(pitch[lag:] == pitch[:-lag]) < MATCH:
            continue
        period = float(np.median(onset[lag:] - onset[:-lag]))
        if period < MIN_REPEAT_S:
            return None  # the same short figure again and again: a texture, not a repeat
        return [float(onset[k]) for k in range(0, n, lag) if n - k >= lag * MATCH]
    return None


def repeat_spans(starts: list[float], duration: float) -> list[tuple[float, float]]:
    """One span per repetition: from each start to the next (the last to ``duration``)."""
    edges = [*starts, duration]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
