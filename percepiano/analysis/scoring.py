"""Scoring one performance file with a final model: read and check it, describe it, predict,
and put each dimension on the raters' 1-7 scale with its poles, a split-conformal interval and
its percentile among the development performances' out-of-fold predictions (a prediction is
ranked among predictions, which shrink toward the mean alike; see ``analysis.final``).

A MIDI file is described by its own notes and pedalling (the MIDI model); an audio file by its
sound (the audio model). Performances longer than ``LONG_S`` are scored in consecutive windows
of about ``WINDOW_S`` seconds (the length of the rated excerpts, which last 5-47 s in 90 % of
the cases) and summarised by the mean of the windows, with a note saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from percepiano.analysis.final import FinalModel, to_scale, windows
from percepiano.audio.input import AUDIO_SUFFIXES, MIDI_SUFFIXES
from percepiano.data.dataset import CATEGORIES, DIMENSIONS, SCALE_MAX
from percepiano.data.poles import POLES, category_label, label
from percepiano.errors import UserError

LONG_S = 120.0  # longer performances are scored in windows
WINDOW_S = 30.0  # about the length of a rated excerpt
SR = 16000
LABEL_BOUNDS = (1.0 / SCALE_MAX, 1.0)  # a mean rating lies in 1..7

def input_kind(path: str | os.PathLike) -> str:
    """``midi`` or ``audio`` from the file name; ``UserError`` for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return "midi"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    raise UserError(f"{path}: unknown file type {suffix or '(none)'!r}; give "
                    f"{', '.join(MIDI_SUFFIXES + AUDIO_SUFFIXES)}")


@dataclass
class Take:
    """A checked performance file, described: one descriptor row per scored span."""

    path: Path
    kind: str
    seconds: float
    spans: list[tuple[float, float]]
    rows: np.ndarray
    notes: list[str] = field(default_factory=list)


def read_take(path: str | os.PathLike, columns: list[str]) -> Take:
    """Read, check and describe a performance with the descriptor ``columns`` of a model."""
    path = Path(path)
    kind = input_kind(path)
    return (_read_midi if kind == "midi" else _read_audio)(path, columns)


def _read_midi(path: Path, columns: list[str]) -> Take:
    from percepiano.audio.input import load_midi, midi_window
    from percepiano.features.midi import performance_features

    pm = load_midi(path)
    seconds = float(pm.get_end_time())
    spans = windows(seconds, LONG_S, WINDOW_S)
    rows = []
    for start, end in spans:
        part = pm if len(spans) == 1 else midi_window(pm, start, end)
        f = performance_features(part, None)
        rows.append([f.get(c.split(":", 1)[1], np.nan) for c in columns])
    return Take(path, "midi", seconds, spans, np.asarray(rows, np.float64))


def _read_audio(path: Path, columns: list[str]) -> Take:
    from percepiano.audio.input import MIN_SECONDS, check_performance, load_file
    from percepiano.features.audio import AUDIO_FEATURES, audio_features

    y = load_file(path, SR)
    check_performance(y, SR, str(path))
    seconds = len(y) / SR
    order = {name: i for i, name in enumerate(AUDIO_FEATURES)}
    pick = [order[c.split(":", 1)[1]] for c in columns]
    every = windows(seconds, LONG_S, WINDOW_S)
    spans, rows, notes = [], [], []
    for start, end in every:
        part = y[int(start * SR):int(end * SR)]
        if len(every) > 1:  # the whole take passed; a window of it may still be silent
            try:
                check_performance(part, SR, "window")
            except UserError:
                continue
        spans.append((start, end))
        rows.append(audio_features(part, SR)[pick])
    skipped = len(every) - len(spans)
    if skipped:
        notes.append(f"{skipped} silent or note-less window(s) of about {WINDOW_S:.0f} s left out")
    if not rows:  # pragma: no cover - the whole take passed the same check
        raise UserError(f"{path}: no window of at least {MIN_SECONDS:.0f} s holds music")
    return Take(path, "audio", seconds, spans, np.asarray(rows, np.float64), notes)


def score(take: Take, model: FinalModel, level: float = 0.8) -> dict:
    """The profile of a take (JSON-able): per dimension its score on the 1-7 scale, the
    ``level`` split-conformal interval and its percentile (0-100) among the development
    performances' out-of-fold predictions (named in words by ``percentile_of``). Raises
    ``ValueError`` when the take's descriptors do not match the model's columns."""
    if take.rows.shape[1] != len(model.columns):
        raise ValueError(f"{take.path}: {take.rows.shape[1]} descriptors for a model reading "
                         f"{len(model.columns)}")
    per_window = model.predict(take.rows)
    pred = per_window.mean(axis=0)
    low, high = model.conformal(level).interval(pred, LABEL_BOUNDS)
    pct = model.percentile(pred)
    notes = list(take.notes)
    if len(take.spans) > 1:
        notes.insert(0, f"{take.seconds:.0f} s is longer than the rated excerpts: scored in "
                        f"{len(take.spans)} windows of about "
                        f"{take.spans[0][1] - take.spans[0][0]:.0f} s, summarised by their mean; "
                        "the intervals are calibrated for one excerpt")
    if take.kind == "audio":
        notes.append("the audio model learned from FluidSynth renderings of MIDI; a recording "
                     "of an acoustic piano in a room sounds different, so read its scores with "
                     "more caution than the interval suggests")
    dims = []
    for i, d in enumerate(DIMENSIONS):
        lo_pole, hi_pole = POLES[d]
        dims.append({"dimension": d, "label": label(d), "aspect": category_label(CATEGORIES[d]),
                     "pole_1": lo_pole,
                     "pole_7": hi_pole, "score": float(to_scale(pred[i])),
                     "low": float(to_scale(low[i])), "high": float(to_scale(high[i])),
                     "percentile": float(pct[i])})
    out = {"file": str(take.path), "input": take.kind, "seconds": round(take.seconds, 2),
           "model": {"kind": model.kind, "description": model.meta.get("description", ""),
                     "id": model.meta.get("id", "")},
           "level": level, "percentile_of": model.percentile_of, "windows": len(take.spans),
           "notes": notes, "dimensions": dims}
    if len(take.spans) > 1:
        out["window_scores"] = [{"start": s, "end": e, "scores": to_scale(p).round(3).tolist()}
                                for (s, e), p in zip(take.spans, per_window, strict=True)]
    return out


def table(profile: dict) -> str:
    """The profile as aligned text, one dimension per line."""
    width = max(len(d["label"]) for d in profile["dimensions"])
    pct = f"{profile['level']:.0%}"
    head = (f"{'dimension':<{width}}  score  {pct + ' interval':>13}  percentile")
    lines = [head]
    for d in profile["dimensions"]:
        lines.append(f"{d['label']:<{width}}  {d['score']:5.2f}  "
                     f"{d['low']:5.2f} - {d['high']:<5.2f}  {d['percentile']:10.0f}")
    return "\n".join(lines)
