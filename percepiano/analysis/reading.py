"""A performance file read for scoring: ``Take`` (its descriptor rows, one per scored span,
and its notes), a MIDI file read into one (``read_midi``), and the spans a take is scored in
(``passage_spans`` for sound, ``note_spans`` for notes; ``analysis.spans``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from percepiano.analysis.spans import LONG_S, WINDOW_S

SR = 16000  # the rate the sound route reads audio at (and both routes check it at)


@dataclass
class Take:
    """A checked performance file, described: one descriptor row per scored span."""

    path: Path
    kind: str
    seconds: float  # of music: the passages' lengths summed, pauses between them left out
    spans: list[tuple[float, float]]
    rows: np.ndarray
    notes: list[str] = field(default_factory=list)
    passages: int = 1
    repeats: int = 0  # times the take plays the same music in a row (0: it does not)
    widen: float = 0.0  # rating points added to both sides of its intervals (a doubtful take)


def read_midi(path: Path, columns: list[str]) -> Take:
    """``Take`` of kind ``midi``: one row of the MIDI descriptors ``columns`` per scored span
    (``note_spans``). ``UserError`` for a file that is not a performance."""
    from percepiano.audio.input import MIN_SECONDS
    from percepiano.audio.midi_take import read_take, window
    from percepiano.features.midi import performance_features

    take = read_take(path)
    spans, rows, notes, repeated = [], [], list(take.notes), 0
    for a, b in take.passages:
        found, times = note_spans(take.pm, a, b)
        repeated = max(repeated, times)
        for start, end in progress(found, f"scoring {path.name}"):
            if end - start < MIN_SECONDS:
                notes.append(f"{end - start:.1f} s of notes at {start:.0f} s left out (under "
                             f"{MIN_SECONDS:.0f} s)")
                continue
            whole = len(take.passages) == 1 and (start, end) == take.passages[0]
            f = performance_features(take.pm if whole else window(take.pm, start, end), None)
            spans.append((start, end))
            rows.append([f.get(c.split(":", 1)[1], np.nan) for c in columns])
    return Take(path, "midi", _music(take.passages), spans, np.asarray(rows, np.float64), notes,
                len(take.passages), repeated)


def note_spans(pm, a: float, b: float) -> tuple[list[tuple[float, float]], int]:
    """The spans the passage ``[a, b]`` of the notes ``pm`` is scored in (seconds) and how
    many times it repeats the same music (0: it does not; ``analysis.spans``): a passage up
    to ``LONG_S`` whole; a longer one that repeats, one span per repetition; else windows of
    about ``WINDOW_S`` s cut at the rests."""
    from percepiano.analysis import spans as sp

    if b - a > LONG_S:
        starts = sp.repeats(pm, a, b)
        if starts and len(starts) > 1:
            return [(a + s, a + e) for s, e in sp.repeat_spans(starts, b - a)], len(starts)
    cuts = sp.rests(pm, a, b)
    return [(a + s, a + e) for s, e in sp.windows(b - a, LONG_S, WINDOW_S, cuts)], 0


def progress(spans: list, desc: str):
    """``spans`` with a progress bar (time left) on a terminal when there are several."""
    import sys

    from tqdm.auto import tqdm

    return tqdm(spans, desc=desc, unit="span", leave=False, file=sys.stderr,
                disable=len(spans) < 3 or not sys.stderr.isatty())


def _music(passages: list[tuple[float, float]]) -> float:
    return float(sum(b - a for a, b in passages))


def windows(duration: float, long_s: float, window_s: float) -> list[tuple[float, float]]:
    """The equal spans a performance of ``duration`` seconds is scored in without boundaries
    to follow (``spans.windows``)."""
    from percepiano.analysis import spans as sp

    return sp.windows(duration, long_s, window_s)


def passage_spans(passages: list[tuple[float, float]], level=None, hop_s: float = 0.0
                  ) -> list[tuple[float, float]]:
    """The spans a take is scored in: each passage (``midi_take``/``condition``) whole up to
    ``LONG_S`` seconds, a longer one in windows of about ``WINDOW_S`` s cut at its quietest
    moments where ``level`` (frame level in dB, one frame per ``hop_s`` s of the take) is
    given (``spans.quiet``)."""
    from percepiano.analysis import spans as sp

    out = []
    for a, b in passages:
        cuts = None
        if level is not None and b - a > LONG_S:
            i, j = int(a / hop_s), int(b / hop_s)
            cuts = sp.quiet(level[i:j], hop_s)
        out += [(a + s, a + e) for s, e in sp.windows(b - a, LONG_S, WINDOW_S, cuts)]
    return out
