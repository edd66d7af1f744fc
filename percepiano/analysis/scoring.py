"""Scoring one performance file with a final model: read and check it, describe it, predict,
and put each dimension on the raters' 1-7 scale with its poles, a conformal interval
(``analysis.tail_conformal``: nominal coverage on average, kept in the tails) and its
percentile among the development performances' out-of-fold predictions (a prediction is
ranked among predictions, which shrink toward the mean alike; see ``analysis.final``).

A MIDI file is described by its own notes and pedalling (the MIDI model); an audio file by its
sound (the audio model) or through its transcribed notes (the notes model), both read by
``analysis.audio_takes``. A take is read so that the same performance reads alike however it
was recorded or encoded (``audio.midi_take`` for MIDI; ``audio.condition`` for audio: DC,
silence and noise trimmed, loudness normalised). Its passages (stretches of music more than 5 s
apart) are scored apart, and a passage longer than ``LONG_S`` once per repetition when it plays
the same music again and again, else in windows of about ``WINDOW_S`` seconds cut where the
music pauses (``analysis.spans``; the rated excerpts last 5-47 s in 90 % of the cases); the
spans are summarised by the mean of their predictions, with a note saying so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from percepiano.analysis.final import FinalModel, to_scale
from percepiano.analysis.reading import (  # noqa: F401 - the names callers use
    SR,
    Take,
    note_spans,
    passage_spans,
    progress,
    read_midi,
    windows,
)
from percepiano.analysis.spans import LONG_S, WINDOW_S
from percepiano.audio.input import AUDIO_SUFFIXES, MIDI_SUFFIXES
from percepiano.data.dataset import CATEGORIES, DIMENSIONS, SCALE_MAX
from percepiano.data.poles import POLES, category_label, label
from percepiano.errors import UserError

GAP_S = 5.0  # passages: midi_take.GAP_S and condition.GAP_S
LABEL_BOUNDS = (1.0 / SCALE_MAX, 1.0)  # a mean rating lies in 1..7
ROUTES = ("sound", "notes")  # how an audio file is scored: its sound, or its transcribed notes
AUDIO_ROUTE = "notes"  # the route that ranked performances better (tests/analysis/test_final.py)

def input_kind(path: str | os.PathLike) -> str:
    """``midi`` or ``audio`` from the file name; ``UserError`` for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return "midi"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    raise UserError(f"{path}: unknown file type {suffix or '(none)'!r}; give "
                    f"{', '.join(MIDI_SUFFIXES + AUDIO_SUFFIXES)}")


def read_take(path: str | os.PathLike, columns: list[str], via: str = "sound") -> Take:
    """Read, check and describe a performance with the descriptor ``columns`` of a model; an
    audio file ``via="notes"`` is transcribed first and described by its notes (kind
    ``notes``; ``analysis.audio_takes``). Raises ``UserError`` on a file that is not a
    performance or, through its notes, on a sound the transcriber cannot read."""
    path = Path(path)
    kind = input_kind(path)
    if kind == "midi":
        return read_midi(path, columns)
    if via not in ROUTES:
        raise ValueError(f"unknown route {via!r}; choose from {', '.join(ROUTES)}")
    from percepiano.analysis import audio_takes

    return (audio_takes.read_sound if via == "sound" else audio_takes.read_notes)(path, columns)


def score(take: Take, model: FinalModel, level: float = 0.8) -> dict:
    """The profile of a take (JSON-able): per dimension its score on the 1-7 scale, the
    ``level`` interval (``FinalModel.interval``) and its percentile (0-100) among the development
    performances' out-of-fold predictions (named in words by ``percentile_of``). Raises
    ``ValueError`` when the take's descriptors do not match the model's columns."""
    if take.rows.shape[1] != len(model.columns):
        raise ValueError(f"{take.path}: {take.rows.shape[1]} descriptors for a model reading "
                         f"{len(model.columns)}")
    per_window = model.predict(take.rows)
    pred = per_window.mean(axis=0)
    low, high = model.interval(pred, take.rows.mean(axis=0), level, LABEL_BOUNDS)
    if take.widen:  # a doubtful transcription (audio.plausibility): wider, within the scale
        low = np.maximum(low - take.widen / SCALE_MAX, LABEL_BOUNDS[0])
        high = np.minimum(high + take.widen / SCALE_MAX, LABEL_BOUNDS[1])
    pct = model.percentile(pred)
    notes = list(take.notes)
    if len(take.spans) > 1:
        how = []
        if take.passages > 1:
            how.append(f"{take.passages} passages more than {GAP_S:.0f} s apart")
        if take.repeats:
            how.append(f"the same music played {take.repeats} times in a row, one span each")
        elif len(take.spans) > take.passages:
            how.append(f"windows of about {WINDOW_S:.0f} s in a passage over {LONG_S:.0f} s, "
                       "cut where the music pauses")
        notes.insert(0, f"{take.seconds:.0f} s of music scored in {len(take.spans)} spans "
                        f"({'; '.join(how)}), summarised by their mean; the intervals are "
                        "calibrated for one excerpt")
    if take.kind == "notes":
        notes.append("a MIDI model that also learned from simulated transcription errors "
                     "scored the transcribed notes; its intervals are calibrated on "
                     "transcriptions of FluidSynth renderings (" + model.meta.get(
                         "calibrated_on", "not recalibrated") + "), and a real piano in a real "
                     "room is harder to transcribe, the sustain pedal most of all")
    if take.kind == "audio":
        notes.append("the audio model learned from two sampled pianos (FluidSynth renderings "
                     "of MIDI), dry and in simulated rooms; an acoustic piano in a real room "
                     "sounds different, so read its scores with more caution than the interval "
                     "suggests")
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


def intervals_line(level: float, model: FinalModel) -> str:
    """One line on what the ``level`` intervals are and, where ``model``'s build measured it,
    how often they held out of fold: on average (marginal), in the outer tenths of the
    ratings, and there for plain intervals of one width per dimension."""
    cv = model.meta.get("cross_validation", {})
    c, m = (cv.get(k, {}).get(f"{level:g}", {}) for k in ("coverage", "coverage_marginal"))
    text = (f"{level:.0%} intervals (split conformal, stretched away from the mean and wider "
            "where the model errs more)")
    if "outer" in c and "outer" in m:
        text += (f": out of fold they held {c['mean']:.0%} of the ratings (the marginal "
                 f"average) and {c['outer']:.0%} of those in the outer tenths of a dimension "
                 f"(one width per dimension: {m['outer']:.0%})")
    return text


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
