"""Perturbations of the test inputs for robustness curves: the same performance heard through a
worse chain, applied to the scored side only (a model is trained on clean inputs, then scored
on perturbed ones, one severity at a time).

Audio perturbations, ``f(y, sr, level, seed) -> y2``: ``y`` mono float32 ``(n,)`` in
full-scale units at ``sr`` Hz; ``y2`` float32 at the same rate, of the same length except for
``tempo`` (``round(n / level)`` samples):

* ``noise``: white Gaussian noise at a signal-to-noise ratio of ``level`` dB, against the
  take's mean power (``inf``: none);
* ``reverb``: a room (``pedalboard.Reverb``, room size 0.8) mixed in at wet level ``level``
  (0: dry), the dry signal at ``1 - level``;
* ``gain``: ``level`` dB (the level the take was recorded at, which a scorer that conditions
  its input should ignore); not clipped, as a float recording is not;
* ``tempo``: time-stretched by ``level`` (1.05: 5 % faster) without changing pitch, by the
  phase vocoder of ``librosa.effects.time_stretch``;
* ``telephone``: ``take_conditions.telephone`` (8 kHz, 300-3400 Hz band) and back to ``sr``;
  ``level`` 1 applies it, 0 does not.

A piano never used in training is a rendering, not a filter: ``UNSEEN_PIANO`` names the
soundfont (``audio.render``).

MIDI perturbations, ``f(pm, level, seed) -> pm2`` on a ``pretty_midi.PrettyMIDI`` (a new
object; the input is not changed; the same notes, pitches and controllers):

* ``velocity``: every velocity times ``level``, rounded and clipped to 1-127 (how hard the
  keys were struck, or a MIDI keyboard's velocity curve);
* ``jitter``: every note moved by a Gaussian draw of standard deviation ``level`` ms, its
  duration kept (timing noise of a capture or a sloppier hand).

Noise and jitter are drawn from ``numpy.random.default_rng(seed)``: the same call gives the
same result. ``LEVELS`` holds each perturbation's curve, its identity level first; at the
identity level every function returns an unchanged copy. Raises ValueError for a level outside
a perturbation's range.
"""

from __future__ import annotations

import copy

import numpy as np

# a piano no model trained on: Debian's musescore-general-soundfont-small
UNSEEN_PIANO = "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"

LEVELS = {
    "noise": (np.inf, 40.0, 30.0, 20.0, 10.0),  # SNR, dB
    "reverb": (0.0, 0.2, 0.4, 0.6),  # wet level
    "gain": (0.0, -20.0, -10.0, 6.0),  # dB
    "tempo": (1.0, 0.95, 1.05),  # stretch factor
    "telephone": (0.0, 1.0),  # off, on
    "velocity": (1.0, 0.7, 0.85, 1.15, 1.3),  # velocity factor
    "jitter": (0.0, 10.0, 20.0, 40.0),  # onset standard deviation, ms
}
AUDIO = ("noise", "reverb", "gain", "tempo", "telephone")
MIDI = ("velocity", "jitter")


def _mono(y) -> np.ndarray:
    y = np.asarray(y, np.float32)
    if y.ndim != 1:
        raise ValueError(f"a mono take (n,) expected, got shape {y.shape}")
    return y


def noise(y, sr: int, level: float, seed: int = 0) -> np.ndarray:
    y = _mono(y)
    if level == np.inf:
        return y.copy()
    power = float(np.mean(y.astype(np.float64) ** 2))
    if power == 0:
        raise ValueError("a silent take has no signal-to-noise ratio")
    n = np.random.default_rng(seed).standard_normal(len(y))
    n *= np.sqrt(power * 10 ** (-level / 10) / np.mean(n ** 2))
    return (y + n).astype(np.float32)


def reverb(y, sr: int, level: float, seed: int = 0) -> np.ndarray:
    import pedalboard as pb

    y = _mono(y)
    if not 0 <= level <= 1:
        raise ValueError(f"a wet level lies in [0, 1], got {level}")
    if level == 0:
        return y.copy()
    room = pb.Reverb(room_size=0.8, wet_level=level, dry_level=1 - level, width=0.0)
    return np.asarray(room(y[None, :], sr)[0], np.float32)


def gain(y, sr: int, level: float, seed: int = 0) -> np.ndarray:
    return (_mono(y) * np.float32(10 ** (level / 20))).astype(np.float32)


def tempo(y, sr: int, level: float, seed: int = 0) -> np.ndarray:
    import librosa

    y = _mono(y)
    if level <= 0:
        raise ValueError(f"a stretch factor is positive, got {level}")
    if level == 1:
        return y.copy()
    out = librosa.effects.time_stretch(y, rate=level)
    n = round(len(y) / level)
    return np.asarray(np.pad(out, (0, max(0, n - len(out))))[:n], np.float32)


def telephone(y, sr: int, level: float, seed: int = 0) -> np.ndarray:
    from percepiano.audio import take_conditions as tc

    y = _mono(y)
    if level not in (0, 1):
        raise ValueError(f"telephone is off (0) or on (1), got {level}")
    if level == 0:
        return y.copy()
    narrow, rate = tc.telephone(y, sr)
    back, _ = tc.resample(narrow, rate, sr)
    return np.asarray(np.pad(back, (0, max(0, len(y) - len(back))))[:len(y)], np.float32)


def velocity(pm, level: float, seed: int = 0):
    from percepiano.audio.augment import scale_velocity

    return scale_velocity(pm, level)


def jitter(pm, level: float, seed: int = 0):
    if level < 0:
        raise ValueError(f"a jitter's standard deviation is not negative, got {level}")
    out = copy.deepcopy(pm)
    if level == 0:
        return out
    rng = np.random.default_rng(seed)
    for inst in out.instruments:
        for note in inst.notes:
            shift = float(rng.normal(0.0, level / 1000))
            shift = max(shift, -note.start)  # nothing before the start of the file
            note.start, note.end = note.start + shift, note.end + shift
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
    return out


FUNCTIONS = {"noise": noise, "reverb": reverb, "gain": gain, "tempo": tempo,
             "telephone": telephone, "velocity": velocity, "jitter": jitter}


def apply(name: str, x, level: float, seed: int = 0, sr: int | None = None):
    """Perturbation ``name`` at ``level`` on audio ``x`` (with ``sr``) or a PrettyMIDI ``x``.
    Raises ValueError for an unknown name or an audio perturbation without ``sr``."""
    if name not in FUNCTIONS:
        raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(FUNCTIONS)}")
    if name in MIDI:
        return FUNCTIONS[name](x, level, seed)
    if sr is None:
        raise ValueError(f"{name} perturbs audio: give its sample rate")
    return FUNCTIONS[name](x, sr, level, seed)
