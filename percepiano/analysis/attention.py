"""Where the AST listens: attention rollout, mean attention distance, and their alignment with
the musical events of the performance.

* **Attention rollout** (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers",
  ACL): each layer's attention, averaged over heads and mixed with the identity for the residual
  connection, ``A' = r I + (1 - r) A`` (rows renormalised), is multiplied layer by layer from the
  first, ``R = A'_L ... A'_1``: row ``q`` of ``R`` says how much of each input token flows into
  output token ``q``. A pooled embedding's relevance is the mean of the rows (mean pooling) or
  the CLS token's row (CLS pooling).
* **Mean attention distance** (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words", ICLR,
  fig. 7): the attention-weighted mean distance between query and key, here the time between
  the patches' centres in seconds, averaged over heads and queries: local layers have small
  distances, global ones large.
* **Events**: note onsets and sustain-pedal changes from the performance's MIDI, and loudness
  peaks of the spectrogram itself, per time patch. ``alignment`` compares the relevance of
  patches holding an event with that of all patches (1: attention ignores the events).

Tokens follow ``ASTModel.embed``: band-major, ``token = band * nt + time patch``, after the CLS
token when the model pools by CLS. ``frames`` is always the number of raw 10-ms log-mel frames
of the crop (the argument of ``ASTConfig.grid_for``); times are seconds from the crop's start.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from percepiano.audio.spectrogram import MelConfig
from percepiano.models.ast import POOLING, ASTConfig

MEL = MelConfig()  # the cached log-mel's front end: 16 kHz, 10-ms hop
SUSTAIN = 64  # MIDI controller number of the sustain (damper) pedal; down at values >= 64


def _layers(attentions) -> list[np.ndarray]:
    """Each layer as (B, N, N) float64, heads averaged; accepts (B, H, N, N) or (B, N, N)."""
    out = []
    for a in attentions:
        a = np.asarray(a, np.float64)
        if a.ndim == 4:
            a = a.mean(axis=1)
        if a.ndim != 3 or a.shape[-1] != a.shape[-2]:
            raise ValueError(f"attention must be (B, H, N, N) or (B, N, N), got {a.shape}")
        out.append(a)
    if not out:
        raise ValueError("no attention layers given")
    return out


def rollout(attentions, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) of a sequence of layers' attention weights.

    ``attentions``: one array per layer, first layer first, (B, H, N, N) softmax weights as
    ``ASTModel.encode`` returns them (or (B, N, N), heads already averaged). ``residual`` is the
    share of the identity (0.5 in the paper). Returns (B, N, N) float64 whose rows sum to 1:
    ``R[b, q, k]`` is the share of input token ``k`` in output token ``q``. Raises ValueError
    on a bad shape or a residual outside [0, 1].
    """
    if not 0.0 <= residual <= 1.0:
        raise ValueError(f"residual must lie in [0, 1], got {residual}")
    layers = _layers(attentions)
    eye = np.eye(layers[0].shape[-1])[None]
    rolled = np.broadcast_to(eye, layers[0].shape).copy()
    for a in layers:
        a = residual * eye + (1.0 - residual) * a
        a = a / a.sum(axis=-1, keepdims=True)
        rolled = a @ rolled
    return rolled


def token_relevance(rolled, pooling: str = "mean") -> np.ndarray:
    """Relevance of each patch token to the pooled embedding, (B, N_patches), summing to 1.

    ``pooling="mean"``: the mean of the rollout's rows (the model averages all output tokens);
    ``"cls"``: the CLS token's row without its own column, renormalised. ``rolled`` (B, N, N)
    is ``rollout``'s output. Raises ValueError on an unknown pooling."""
    rolled = np.asarray(rolled, np.float64)
    if pooling not in POOLING:
        raise ValueError(f"unknown pooling {pooling!r}; choose from {', '.join(POOLING)}")
    if pooling == "mean":
        return rolled.mean(axis=1)
    rel = rolled[:, 0, 1:]
    return rel / rel.sum(axis=-1, keepdims=True)


def patch_times(cfg: ASTConfig, frames: int, mel: MelConfig = MEL):
    """Centres (nt,) of the time patches in seconds from the crop's start, and their half-width
    in seconds. Frame ``f`` of the log-mel is centred on ``f * hop / sr`` (``center=True``);
    a patch spans ``patch[1] * time_pool`` frames (0.32 s for the default config)."""
    _, nt = cfg.grid_for(frames)
    pt, st, tp = cfg.patch[1], cfg.stride[1], cfg.time_pool
    sec = mel.hop_length / mel.sr
    first = np.arange(nt) * st * tp
    return (first + (pt * tp - 1) / 2.0) * sec, pt * tp * sec / 2.0


def token_times(cfg: ASTConfig, frames: int, mel: MelConfig = MEL) -> np.ndarray:
    """Time (seconds) of each patch token, (nf * nt,), in ``ASTModel.embed``'s order."""
    nf, _ = cfg.grid_for(frames)
    return np.tile(patch_times(cfg, frames, mel)[0], nf)


def time_profile(relevance, cfg: ASTConfig, frames: int, mel: MelConfig = MEL):
    """Relevance per time patch: ``relevance`` (B, nf * nt) (or (nf * nt,)) summed over
    frequency bands -> ((B, nt), centre times (nt,) in seconds). Raises ValueError when the
    token count is not the crop's patch grid (drop the CLS token first: ``token_relevance``)."""
    rel = np.atleast_2d(np.asarray(relevance, np.float64))
    nf, nt = cfg.grid_for(frames)
    if rel.shape[-1] != nf * nt:
        raise ValueError(f"expected {nf * nt} patch tokens ({nf} bands x {nt} times) for "
                         f"{frames} frames, got {rel.shape[-1]}")
    return rel.reshape(rel.shape[0], nf, nt).sum(axis=1), patch_times(cfg, frames, mel)[0]


def attention_distance(attentions, cfg: ASTConfig, frames: int,
                       mel: MelConfig = MEL) -> np.ndarray:
    """Mean attention distance (Dosovitskiy et al. 2021) per layer, (B, layers), in seconds.

    For each layer the attention-weighted mean ``|t_query - t_key|`` over keys, averaged over
    heads and queries. With CLS pooling the CLS token (no time) is dropped as query and key
    and the remaining weights renormalised. Raises ValueError on a token count that is not
    the crop's grid."""
    times = token_times(cfg, frames, mel)
    dist = np.abs(times[:, None] - times[None, :])
    out = []
    for a in attentions:
        a = np.asarray(a, np.float64)
        a = a if a.ndim == 4 else a[:, None]                      # (B, H, N, N)
        if cfg.pooling == "cls":
            a = a[..., 1:, 1:]
            a = a / a.sum(axis=-1, keepdims=True)
        if a.shape[-1] != len(times):
            raise ValueError(f"attention has {a.shape[-1]} tokens; the grid of {frames} frames "
                             f"has {len(times)}")
        out.append((a * dist[None, None]).sum(axis=-1).mean(axis=(1, 2)))
    return np.stack(out, axis=1)


# ---- events of the performance ----------------------------------------------------------------

def pedal_changes(pm) -> np.ndarray:
    """Times (seconds) where a sustain pedal (CC64) crosses 64, either way, in any non-drum
    track of a ``pretty_midi.PrettyMIDI``; each track's pedal starts up."""
    out = []
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        down = False
        for cc in sorted((c for c in inst.control_changes if c.number == SUSTAIN),
                         key=lambda c: c.time):
            if (cc.value >= 64) != down:
                down = not down
                out.append(cc.time)
    return np.sort(np.array(out, np.float64))


def pedal_intervals(pm) -> list[tuple[float, float]]:
    """(start, end) seconds of each sustain-pedal press (CC64 >= 64), all tracks merged in time
    order; a press still held at the end closes at ``pm.get_end_time()``."""
    out = []
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        start = None
        for cc in sorted((c for c in inst.control_changes if c.number == SUSTAIN),
                         key=lambda c: c.time):
            if cc.value >= 64 and start is None:
                start = cc.time
            elif cc.value < 64 and start is not None:
                out.append((float(start), float(cc.time)))
                start = None
        if start is not None:
            out.append((float(start), float(max(pm.get_end_time(), start))))
    return sorted(out)


def event_profile(pm, times, window: float) -> dict:
    """Events of a performance per time patch: ``pm`` a ``pretty_midi.PrettyMIDI``, ``times``
    (T,) patch centres in the MIDI's clock (add the crop's start to ``patch_times``), ``window``
    the half-width in seconds. A patch holds an event time ``e`` when ``t - window <= e <
    t + window`` (half-open, so adjacent patches never share one). Returns ``onsets`` (T,) int:
    note onsets (drum tracks excluded); ``pedal_changes`` (T,) int; ``pedal`` (T,) bool."""
    times = np.asarray(times, np.float64)
    onsets = np.array([n.start for i in pm.instruments if not i.is_drum for n in i.notes])

    def count(ev):
        return np.array([np.sum((ev >= t - window) & (ev < t + window)) for t in times], np.int64)

    pedal = count(pedal_changes(pm))
    return {"onsets": count(onsets), "pedal_changes": pedal, "pedal": pedal > 0}


def loudness_peaks(mel_db, cfg: ASTConfig, mel: MelConfig = MEL,
                   min_gap: float = 0.05, margin_db: float = 0.0) -> dict:
    """Loudness peaks of a crop's log-mel ``mel_db`` (n_mels, frames) in dB, per time patch.

    Rule: the frame energy is ``10 log10`` of the mean over bands of ``10^(dB/10)`` (power); a
    frame is a peak when it is a local maximum of the energy (``scipy.signal.find_peaks``),
    more than ``margin_db`` above the crop's median energy, and no higher peak lies within
    ``min_gap`` seconds. A peak counts in every time patch whose frames hold it. Returns
    ``frames`` (P,) indices, ``times`` (P,) seconds and ``per_patch`` (nt,) int counts."""
    mel_db = np.asarray(mel_db, np.float64)
    if mel_db.ndim != 2:
        raise ValueError(f"expected a log-mel (n_mels, frames), got shape {mel_db.shape}")
    energy = 10.0 * np.log10(np.mean(10.0 ** (mel_db / 10.0), axis=0))
    gap = max(1, int(round(min_gap * mel.sr / mel.hop_length)))
    peaks, _ = scipy.signal.find_peaks(energy, height=np.median(energy) + margin_db,
                                       distance=gap)
    _, nt = cfg.grid_for(mel_db.shape[1])
    pt, st = cfg.patch[1], cfg.stride[1]
    pooled = peaks // cfg.time_pool
    start = np.arange(nt) * st
    inside = (pooled[None, :] >= start[:, None]) & (pooled[None, :] < start[:, None] + pt)
    return {"frames": peaks, "times": peaks * mel.hop_length / mel.sr,
            "per_patch": inside.sum(axis=1)}


def alignment(relevance_t, events_t, n_boot: int = 2000, seed: int = 0,
              level: float = 0.95) -> dict:
    """How much more relevance patches holding an event get than patches on average.

    ``relevance_t`` and ``events_t``: per segment, (T_i,) relevance per time patch and event
    counts or flags (nonzero: the patch holds an event); a list, or (S, T) arrays. Per segment
    the ratio is mean relevance over event patches / mean relevance over all patches (1:
    attention ignores the events; segments with no event patch, or no relevance, are left
    out). Returns ``ratios`` (S,) (NaN where left out), ``n`` segments used, their ``mean``
    ratio and its percentile bootstrap interval ``ci`` (resampling segments, ``n_boot`` draws,
    ``numpy.random.default_rng(seed)``). Raises ValueError on mismatched lengths or no usable
    segment."""
    if len(relevance_t) != len(events_t):
        raise ValueError(f"{len(relevance_t)} relevance profiles but {len(events_t)} events")
    ratios = np.full(len(relevance_t), np.nan)
    for i, (rel, ev) in enumerate(zip(relevance_t, events_t, strict=True)):
        rel, ev = np.asarray(rel, np.float64), np.asarray(ev) != 0
        if rel.shape != ev.shape:
            raise ValueError(f"segment {i}: relevance {rel.shape} but events {ev.shape}")
        if ev.any() and rel.mean() > 0:
            ratios[i] = rel[ev].mean() / rel.mean()
    used = ratios[np.isfinite(ratios)]
    if used.size == 0:
        raise ValueError("no segment has both an event patch and nonzero relevance")
    rng = np.random.default_rng(seed)
    boots = used[rng.integers(0, used.size, (n_boot, used.size))].mean(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(boots, [tail, 100.0 - tail])
    return {"ratios": ratios, "n": int(used.size), "mean": float(used.mean()),
            "ci": (float(lo), float(hi))}
