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

A training loop draws from a *fixed pool* of rendered variants per segment (``VARIANTS``,
``variant_params``, ``variant_spectrograms``): variant ``k`` of a segment is a deterministic
function of (kind, segment name, k, pool seed), rendered once and cached by content, so every
training seed, fold and epoch draws from the same few files and nothing is rendered twice.

Two augmentations act on the model's input inside the compiled training step (JAX, so they
cost no host work): ``spec_augment`` (Park et al. 2019: zeroed time and frequency stripes) and
``mixup`` (Zhang et al. 2018: convex combinations of two examples' inputs and labels); the
settings travel as ``InputAugment``.
"""

from __future__ import annotations

import copy
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

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


# ---- a fixed pool of rendered variants per segment --------------------------------------------

# kind -> what a variant changes; "midi" draws every MIDI-level transform and the soundfont at once
VARIANTS = {
    "tempo": "whole performance 0.9-1.1 times as fast (every event time scaled)",
    "pitch": "transposed one semitone down or up (variant 0 down, 1 up)",
    "velocity": "every velocity times 0.9-1.1",
    "soundfont": "rendered with the other soundfont (TimGM6mb instead of FluidR3)",
    "midi": "tempo, pitch (+-1 semitone), velocity and soundfont drawn together",
}
TEMPO_RANGE = (0.9, 1.1)
VELOCITY_RANGE = (0.9, 1.1)
SEMITONES = (-1, 1)
SWAP_SOUNDFONT = "timgm6mb"  # the alternative to render.DEFAULT_SOUNDFONT (FluidR3)


def _unit(*parts) -> float:
    """A number in [0, 1) that depends only on ``parts`` (not on process, order or platform)."""
    h = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def variant_params(kind: str, name: str, k: int, n: int, seed: int = 0) -> dict:
    """Parameters of variant ``k`` of ``n`` of segment ``name``: factors are stratified over the
    range (variant ``k`` falls in the ``k``-th of ``n`` equal slices), so a pool of two already
    holds one slower and one faster take. Deterministic in (kind, name, k, n, seed)."""
    if kind not in VARIANTS:
        raise ValueError(f"unknown augmentation {kind!r}; choose from {', '.join(VARIANTS)}")
    if not 0 <= k < n:
        raise ValueError(f"variant {k} of {n} does not exist")

    def strat(lo, hi, tag):
        return lo + (hi - lo) * (k + _unit(kind, name, k, seed, tag)) / n

    def pick(options, tag):
        return options[int(_unit(kind, name, k, seed, tag) * len(options))]

    p = {"tempo": 1.0, "semitones": 0, "velocity": 1.0, "soundfont": render.DEFAULT_SOUNDFONT}
    if kind == "tempo":
        p["tempo"] = strat(*TEMPO_RANGE, "t")
    elif kind == "pitch":
        p["semitones"] = SEMITONES[k % 2] if n > 1 else pick(SEMITONES, "p")
    elif kind == "velocity":
        p["velocity"] = strat(*VELOCITY_RANGE, "v")
    elif kind == "soundfont":
        p["soundfont"] = SWAP_SOUNDFONT
    else:
        p.update(tempo=strat(*TEMPO_RANGE, "t"), semitones=pick(SEMITONES, "p"),
                 velocity=_between(VELOCITY_RANGE, _unit(kind, name, k, seed, "v")),
                 soundfont=pick(render.SOUNDFONTS, "s"))
    return p


def _between(bounds, u: float) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * u


def apply_variant(pm, params: dict):
    """The transformed copy of ``pm`` for ``params`` (from ``variant_params``)."""
    out = pm
    if params["tempo"] != 1.0:
        out = scale_tempo(out, params["tempo"])
    if params["semitones"]:
        out = transpose(out, params["semitones"])
    if params["velocity"] != 1.0:
        out = scale_velocity(out, params["velocity"])
    return out if out is not pm else copy.deepcopy(pm)


def _variant_job(task):
    """Worker: render one variant (cached by content) and its log-mel; returns its mel path."""
    import pretty_midi

    from percepiano.audio import spectrogram

    midi_path, params, mel, mel_root = task
    with warnings.catch_warnings():  # PercePiano's files put tempo events on every track
        warnings.simplefilter("ignore", RuntimeWarning)
        pm = apply_variant(pretty_midi.PrettyMIDI(str(midi_path)), params)
    audio = render.render_cached(pm, soundfont=params["soundfont"], sr=mel.sr)
    return str(spectrogram.spec_cached(audio, mel, mel_root))


def variant_spectrograms(ds, kind: str, n: int, mel=None, seed: int = 0, names=None,
                         workers: int | None = None, progress: bool = True) -> dict:
    """{name: [log-mel .npy path of variant 0 .. n-1]} for the segments ``names`` (default all),
    rendering and computing only what the cache lacks, in parallel."""
    from tqdm.auto import tqdm

    from percepiano import config as _config
    from percepiano.audio import spectrogram

    mel = mel or spectrogram.MelConfig()
    names = list(ds.names if names is None else names)
    mel_root = str(_config.cache_dir() / "mel")
    tasks = [(str(ds.segments.loc[nm, "midi_path"]), variant_params(kind, nm, k, n, seed), mel,
              mel_root) for nm in names for k in range(n)]
    for sf in {t[1]["soundfont"] for t in tasks}:
        render.soundfont_path(sf)  # a missing soundfont fails here, in one line
    workers = max(1, min(workers or render._cpu_count(), len(tasks)))
    bar = tqdm(total=len(tasks), desc=f"{kind} variants", unit="file", disable=not progress)
    if workers == 1:
        paths = []
        for t in tasks:
            paths.append(_variant_job(t))
            bar.update(1)
    else:
        with render.mp_context().Pool(workers) as pool:
            paths = []
            for p in pool.imap(_variant_job, tasks, chunksize=4):
                paths.append(p)
                bar.update(1)
    bar.close()
    return {nm: [Path(p) for p in paths[i * n:(i + 1) * n]] for i, nm in enumerate(names)}


# ---- augmentations of the model input, inside the compiled step -------------------------------

@dataclass(frozen=True)
class InputAugment:
    """SpecAugment and mixup settings (hashable: a static argument of the compiled epoch).

    On the pooled input (40-ms frames, 64 bands): ``time_masks`` stripes of up to ``time_width``
    frames and ``freq_masks`` stripes of up to ``freq_width`` bands are set to 0 (the normalised
    mean); ``mixup_alpha`` > 0 mixes each example with another of the batch by a weight drawn
    from Beta(alpha, alpha), inputs and standardised labels alike."""

    time_masks: int = 0
    time_width: int = 10      # 0.4 s: about a beat at a moderate tempo
    freq_masks: int = 0
    freq_width: int = 8       # 8 of 64 bands: about an octave in the middle register
    mixup_alpha: float = 0.0  # 0.2-0.4 in the mixup paper's audio experiments

    @property
    def active(self) -> bool:
        return bool(self.time_masks or self.freq_masks or self.mixup_alpha > 0)


def _stripes(key, n_masks: int, width: int, size: int, batch: int):
    """(batch, size) bool: True inside any of ``n_masks`` random stripes of width 0..width."""
    import jax
    import jax.numpy as jnp

    kw, ks = jax.random.split(key)
    w = jax.random.randint(kw, (batch, n_masks), 0, width + 1)
    s = jax.random.randint(ks, (batch, n_masks), 0, size)
    s = jnp.minimum(s, size - w)
    pos = jnp.arange(size)[None, None, :]
    inside = (pos >= s[..., None]) & (pos < (s + w)[..., None])
    return inside.any(axis=1)


def spec_augment(x, key, aug: InputAugment):
    """SpecAugment on a batch of model inputs (B, T, F): zeroed time and frequency stripes."""
    import jax
    import jax.numpy as jnp

    b, t, f = x.shape
    kt, kf = jax.random.split(key)
    keep = jnp.ones((b, t, f), bool)
    if aug.time_masks:
        keep &= ~_stripes(kt, aug.time_masks, aug.time_width, t, b)[:, :, None]
    if aug.freq_masks:
        keep &= ~_stripes(kf, aug.freq_masks, aug.freq_width, f, b)[:, None, :]
    return jnp.where(keep, x, 0.0)


def mixup(arrays, key, alpha: float):
    """Mix every array of ``arrays`` (each (B, ...)) with the same random partner and weight:
    ``lam * a + (1 - lam) * a[perm]``, lam ~ Beta(alpha, alpha) per example."""
    import jax

    kl, kp = jax.random.split(key)
    b = arrays[0].shape[0]
    lam = jax.random.beta(kl, alpha, alpha, (b,))
    perm = jax.random.permutation(kp, b)

    def mix(a):
        w = lam.reshape((b,) + (1,) * (a.ndim - 1)).astype(a.dtype)
        return w * a + (1 - w) * a[perm]

    return tuple(mix(a) for a in arrays)


def augment_inputs(aug: InputAugment, key, x, y, d=None):
    """SpecAugment then mixup as ``aug`` says; returns (x, y, d)."""
    import jax

    ks, km = jax.random.split(key)
    if aug.time_masks or aug.freq_masks:
        x = spec_augment(x, ks, aug)
    if aug.mixup_alpha > 0:
        if d is None:
            x, y = mixup((x, y), km, aug.mixup_alpha)
        else:
            x, y, d = mixup((x, y, d), km, aug.mixup_alpha)
    return x, y, d
