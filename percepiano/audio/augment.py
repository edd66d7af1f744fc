"""MIDI-level data augmentation: exact, label-preserving-in-intent transforms of a performance.

Each transform takes a ``pretty_midi.PrettyMIDI`` and returns a new one (the input is never
changed), so a training loop can render augmented copies through ``render.render_cached``
(content-addressed, so a repeated draw is rendered once):

* ``scale_tempo``: every event time divided by ``factor`` (notes, pedal and all controllers,
  pitch bends, tempo map), i.e. the whole performance played ``factor`` times faster;
* ``transpose``: every pitched note moved by ``semitones``; drums stay; a note that would leave
  the MIDI range 0-127 is moved back by whole octaves (``out_of_range="fold"``, keeping its pitch
  class and the note count) or removed (``"drop"``);
* ``scale_velocity``: velocities times ``factor``, rounded, clipped to 1-127 (0 would be a
  note-off);
* soundfont swap is a rendering option: ``render.render_cached(pm, soundfont=name)`` with a name
  from ``render.SOUNDFONTS``; ``random_augment`` draws one.

Tempo and velocity changes alter what raters judge (pace, loudness), so they are meant in small
ranges (about ±10%) where labels are assumed unchanged; transposition and timbre are gentler.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from percepiano.audio import render


def scale_tempo(pm, factor: float):
    """A copy played ``factor`` times faster (``factor`` > 1 shortens): every time / ``factor``."""
    if not factor > 0:
        raise ValueError(f"tempo factor must be positive, got {factor}")
    out = copy.deepcopy(pm)
    end = max(pm.get_end_time(), 1e-3) + 1.0  # past every event, so none is dropped
    out.adjust_times(np.array([0.0, end]), np.array([0.0, end / factor]))
    return out


def transpose(pm, semitones: int, out_of_range: str = "fold"):
    """A copy with every pitched note moved by ``semitones`` (see the module docstring)."""
    if out_of_range not in ("fold", "drop"):
        raise ValueError(f"unknown out_of_range {out_of_range!r}; choose from fold, drop")
    out = copy.deepcopy(pm)
    for inst in out.instruments:
        if inst.is_drum:
            continue
        kept = []
        for n in inst.notes:
            p = n.pitch + int(semitones)
            if out_of_range == "drop" and not 0 <= p <= 127:
                continue
            while p > 127:
                p -= 12
            while p < 0:
                p += 12
            n.pitch = p
            kept.append(n)
        inst.notes = kept
    return out


def scale_velocity(pm, factor: float):
    """A copy with velocities ``round(v * factor)`` clipped to 1-127."""
    if not factor > 0:
        raise ValueError(f"velocity factor must be positive, got {factor}")
    out = copy.deepcopy(pm)
    for inst in out.instruments:
        for n in inst.notes:
            n.velocity = int(np.clip(round(n.velocity * factor), 1, 127))
    return out


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of ``random_augment``; a factor of 1 / 0 semitones / one soundfont disables one."""

    tempo: tuple[float, float] = (0.9, 1.1)  # ±10%: within the spread between performers
    semitones: tuple[int, int] = (-2, 2)  # a tone either way keeps the piano's register
    velocity: tuple[float, float] = (0.9, 1.1)  # ±10%: about the spread of one dynamic level
    soundfonts: tuple[str, ...] = render.SOUNDFONTS  # timbre variety without new recordings


def random_augment(pm, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()):
    """One random draw of all transforms: (new PrettyMIDI, soundfont name, parameters)."""
    params = {
        "tempo": float(rng.uniform(*cfg.tempo)),
        "semitones": int(rng.integers(cfg.semitones[0], cfg.semitones[1] + 1)),
        "velocity": float(rng.uniform(*cfg.velocity)),
        "soundfont": str(cfg.soundfonts[int(rng.integers(len(cfg.soundfonts)))]),
    }
    out = scale_velocity(transpose(scale_tempo(pm, params["tempo"]), params["semitones"]),
                         params["velocity"])
    return out, params["soundfont"], params
