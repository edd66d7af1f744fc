"""Expressive MIDI variants: exact, controllable changes to *how* a segment is played.

A listener pretrained to hear timing, dynamics, articulation and pedalling needs many takes whose
playing differs in known ways. Each ``Expression`` changes one performance along the axes the
MIDI descriptors measure, and since the audio is rendered from the changed MIDI, the
descriptors of a variant are recomputed exactly from it (``features.variants``):

* ``tempo`` and ``tempo_curve``: a global speed factor and a smooth local tempo curve (log2
  offsets at equally spaced knots, linear between them): every event time is warped, notes,
  pedal and controllers together, so the playing stays coherent (rubato, not jitter);
* ``velocity`` and ``velocity_curve``: a global loudness factor and a smooth crescendo /
  diminuendo shape (log2 factors at knots);
* ``balance``: log2 ratio between notes at or above middle C and the rest (> 0: the upper
  voice, usually the melody, louder);
* ``articulation``: note durations times a factor, onsets kept (< 1 detached, > 1 legato);
* ``pedal_shift`` and ``pedal_depth``: the sustain pedal's events moved by seconds (> 0:
  later pedalling) and its depth scaled (0: no pedal);
* ``semitones`` and ``soundfont``: transposition and the instrument's timbre.

``draw`` gives variant ``k`` of a segment as a deterministic function of (segment, k, seed), so
a pool is rendered once and cached by content.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from percepiano.audio import render

SUSTAIN = 64
MIN_DURATION_S = 0.02  # a shortened note still sounds
BALANCE_SPLIT = 60  # middle C: notes at or above it count as the upper voice

# ranges of ``draw`` (log2 units are symmetric: 0.32 = a factor of 1.25 either way)
TEMPO_LOG2 = 0.32          # whole performance 0.8-1.25 times as fast
TEMPO_CURVE_LOG2 = 0.2     # local tempo within about +-15 % of the global one
VELOCITY_LOG2 = 0.4        # 0.76-1.32 times as loud (before clipping to 1-127)
VELOCITY_CURVE_LOG2 = 0.35  # crescendo / diminuendo of up to a factor 1.27 each way
BALANCE_LOG2 = 0.5         # upper voice up to 1.41 times louder or softer than the rest
ARTICULATION_LOG2 = 0.7    # durations 0.62-1.62 times as long
PEDAL_SHIFT_S = 0.15       # pedal up to 150 ms earlier or later
PEDAL_DEPTHS = (0.0, 0.5, 0.75, 1.0, 1.0, 1.25)  # none, half, ..., deeper (clipped at 127)
SEMITONES = (-2, -1, 0, 0, 1, 2)
N_KNOTS = 4  # curve knots: about one every two bars of an 8-bar excerpt


@dataclass(frozen=True)
class Expression:
    """How to change a performance (the identity by default); see the module docstring."""

    tempo: float = 1.0
    tempo_curve: tuple[float, ...] = ()
    velocity: float = 1.0
    velocity_curve: tuple[float, ...] = ()
    balance: float = 0.0
    articulation: float = 1.0
    pedal_shift: float = 0.0
    pedal_depth: float = 1.0
    semitones: int = 0
    soundfont: str = render.DEFAULT_SOUNDFONT

    def __post_init__(self):
        for name in ("tempo", "velocity", "articulation"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.pedal_depth < 0:
            raise ValueError(f"pedal_depth must be >= 0, got {self.pedal_depth}")
        object.__setattr__(self, "tempo_curve", tuple(map(float, self.tempo_curve)))
        object.__setattr__(self, "velocity_curve", tuple(map(float, self.velocity_curve)))

    def key(self) -> str:
        """A stable text of the settings (cache keys)."""
        return repr(dataclasses.astuple(self))


def _curve(values: tuple[float, ...], end: float, t: np.ndarray) -> np.ndarray:
    """log2 factors at times ``t`` from knot values spread evenly over [0, end]."""
    if not values:
        return np.zeros_like(t)
    if len(values) == 1:
        return np.full_like(t, values[0])
    return np.interp(t, np.linspace(0.0, end, len(values)), values)


def _warp(pm, e: Expression) -> None:
    """Warp every event time (in place): local speed ``tempo * 2**curve`` on each stretch."""
    end = max(pm.get_end_time(), 1e-3)
    n = max(len(e.tempo_curve), 1) * 8  # piecewise-linear time map, fine enough to be smooth
    knots = np.linspace(0.0, end, n + 1)
    mids = 0.5 * (knots[:-1] + knots[1:])
    speed = e.tempo * 2.0 ** _curve(e.tempo_curve, end, mids)
    new = np.concatenate([[0.0], np.cumsum(np.diff(knots) / speed)])
    tail = 1.0  # past every event, so none is dropped
    pm.adjust_times(np.append(knots, end + tail), np.append(new, new[-1] + tail / speed[-1]))


def express(pm, e: Expression):
    """A copy of ``pm`` played as ``e`` says (the input is never changed)."""
    out = copy.deepcopy(pm)
    end = max(pm.get_end_time(), 1e-3)
    for inst in out.instruments:
        for n in inst.notes:
            gain = e.velocity * 2.0 ** float(_curve(e.velocity_curve, end, np.array([n.start]))[0])
            if not inst.is_drum:
                gain *= 2.0 ** (e.balance / 2 if n.pitch >= BALANCE_SPLIT else -e.balance / 2)
                n.pitch = int(np.clip(n.pitch + e.semitones, 0, 127))
            n.velocity = int(np.clip(round(n.velocity * gain), 1, 127))
            n.end = n.start + max(MIN_DURATION_S, (n.end - n.start) * e.articulation)
        for c in inst.control_changes:
            if c.number == SUSTAIN:
                c.time = max(0.0, c.time + e.pedal_shift)
                c.value = int(np.clip(round(c.value * e.pedal_depth), 0, 127))
        inst.control_changes.sort(key=lambda c: c.time)
    if e.tempo != 1.0 or any(e.tempo_curve):
        _warp(out, e)
    return out


def _unit(*parts) -> float:
    """A number in [0, 1) that depends only on ``parts``."""
    h = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def draw(name: str, k: int, seed: int = 0) -> Expression:
    """Variant ``k`` of segment ``name``: every axis drawn at once, deterministic in
    (name, k, seed), uniform over the ranges above (log2 units for factors)."""
    def u(tag, width):
        return (2.0 * _unit(name, k, seed, tag) - 1.0) * width

    def pick(options, tag):
        return options[int(_unit(name, k, seed, tag) * len(options))]

    return Expression(
        tempo=2.0 ** u("tempo", TEMPO_LOG2),
        tempo_curve=tuple(u(f"tc{i}", TEMPO_CURVE_LOG2) for i in range(N_KNOTS)),
        velocity=2.0 ** u("velocity", VELOCITY_LOG2),
        velocity_curve=tuple(u(f"vc{i}", VELOCITY_CURVE_LOG2) for i in range(N_KNOTS)),
        balance=u("balance", BALANCE_LOG2),
        articulation=2.0 ** u("articulation", ARTICULATION_LOG2),
        pedal_shift=u("pedal_shift", PEDAL_SHIFT_S),
        pedal_depth=pick(PEDAL_DEPTHS, "pedal_depth"),
        semitones=pick(SEMITONES, "semitones"),
        soundfont=pick(render.SOUNDFONTS, "soundfont"),
    )
