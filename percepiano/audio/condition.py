"""Conditioning a recording before any descriptor: the same performance gives the same audio
however it was recorded.

A take comes with silence or room noise before and after the music, at whatever level the
recorder chose, sometimes with a DC offset. ``condition`` removes what says nothing about the
playing, in this order:

1. **DC offset**: the mean is subtracted.
2. **Silence and steady noise at the edges, and empty stretches inside**: the music is found by
   its note onsets (``librosa.onset.onset_detect``, backtracked to the preceding minimum of the
   RMS energy); the first and the last must rise ``ONSET_DB`` dB above the quietest level of
   the ``RISE_S`` s before them (unless the take starts with it), to within ``EDGE_RANGE_DB``
   dB of the loudest frame (flux in steady noise can look like an onset; it does not rise).
   Onsets more than ``GAP_S`` s apart split the take into passages (as in ``midi_take``) unless
   the sound between them stays within ``TAIL_RANGE_DB`` dB of the loudest frame (a held
   chord). A passage ends where its last note has decayed: ``TAIL_DB`` dB above the quietest
   level after it (or above steady noise that ends the take) or ``TAIL_RANGE_DB`` dB below the
   loudest frame, whichever is higher, so that digital silence after a rendering and the
   rendering's own fade give the same end.
3. **Loudness**: the passages are brought to ``TARGET_LUFS`` integrated loudness (ITU-R
   BS.1770-4 with its gating, through ``pyloudnorm``). A recording's level depends on the
   microphone and the recorder's gain, not on how hard the keys were struck: what dynamics
   there are must be read from the spectrum and the contour of the level, not its absolute
   value. The measured input loudness is reported.

``warnings`` reads the file's encoding and the conditioned sound for what a listener would
distrust (a low sample rate or bit depth, a low bit rate, clipping, a telephone-like band
limit) and says so in one line each; nothing is refused for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGET_LUFS = -23.0  # EBU R 128's programme loudness: any fixed target serves
BLOCK_S = 0.4  # ITU-R BS.1770's gating block
GAP_S = 5.0  # the same as midi_take.GAP_S: longer than any rest in the rated excerpts
TAIL_DB = 6.0  # ... or to within 6 dB of the quietest level after it (noise, or silence)
ONSET_RANGE_DB = 50.0  # an onset this far below the loudest frame is not a note
EDGE_RANGE_DB = 40.0  # the first and the last note rise within 40 dB of the loudest frame
TAIL_RANGE_DB = 35.0  # a passage's last note has decayed 35 dB below the loudest frame ...
BACK_S = 0.1  # an onset's attack starts at most this long before its detected peak
RISE_S = 0.1  # a note's attack rises above the quietest level of the 0.1 s before it ...
NOISE_WINDOW_S = 0.25  # the last 0.25 s of a take ...
STEADY_DB = 2.0  # the last 0.25 s are steady noise when they vary less (a decay varies more)
ONSET_DB = 6.0  # ... by at least this much
FRAME, HOP = 1024, 256  # the descriptors' frame and hop (features.audio)
CLIP_LEVEL = 0.999  # a sample at full scale
CLIP_RUN = 3  # consecutive full-scale samples: clipping, not a loud peak
HIGH_HZ = 4500.0  # above the band of a telephone or of audio sampled at 8 kHz ...
HIGH_SHARE_DB = -70.0  # ... only leakage: 132 renderings sampled all keep more than -54 dB there
LOW_KBPS = 96  # below this an MP3 or Ogg Vorbis file audibly smears the piano's attacks


@dataclass
class Conditioned:
    """Audio ready for the descriptors: mono float32 at ``sr``; ``passages``: (start, end)
    seconds of music in ``y``; ``input_lufs``: integrated loudness of the music as recorded
    (LUFS), before the gain to ``TARGET_LUFS``; ``trimmed_s``: seconds cut at the edges;
    ``onsets``: note onsets found in the passages."""

    y: np.ndarray
    sr: int
    passages: list[tuple[float, float]]
    input_lufs: float
    trimmed_s: float
    onsets: int = 0


def rms_db(y: np.ndarray) -> np.ndarray:
    """Frame RMS level (dBFS; frames ``FRAME``, hop ``HOP``, centred), floored at -200."""
    import librosa

    rms = librosa.feature.rms(y=y, frame_length=FRAME, hop_length=HOP)[0]
    return 20 * np.log10(np.maximum(rms, 1e-10))


def find_passages(y: np.ndarray, sr: int) -> list[tuple[float, float]]:
    """(start, end) seconds of the music in mono ``y`` (see the module docstring, step 2);
    ``[]`` when no onset is found."""
    return _passages(y, sr)[0]


def _passages(y: np.ndarray, sr: int) -> tuple[list[tuple[float, float]], int]:
    """``find_passages`` and the number of note onsets in them."""
    import librosa

    level = rms_db(y)
    peak = level.max()
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP)
    peaks = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=HOP)
    attack = np.array([level[p:p + 4].max() for p in peaks])
    peaks, attack = peaks[attack > peak - ONSET_RANGE_DB], attack[attack > peak - ONSET_RANGE_DB]
    if len(peaks) == 0:
        return [], 0
    # flux in steady noise can look like an onset, but a note's attack rises: the first and
    # the last note are the first and the last onset whose attack rises ONSET_DB above the
    # quietest level of the RISE_S before it (inside, every onset counts)
    back, k = int(RISE_S * sr / HOP), FRAME // HOP // 2  # k: frames that straddle the attack
    rise = attack - np.array([level[max(0, p - back - k):max(1, p - k)].min() for p in peaks])
    # nothing before it to rise from: the take starts with it, a note if its level then moves
    # (a note decays, more follow) where steady noise stays flat
    w = int(NOISE_WINDOW_S * sr / HOP)
    at_start = (peaks <= back + k) & np.array([np.ptp(level[p:p + w]) > 2 * STEADY_DB
                                               for p in peaks])
    clear = np.flatnonzero(((rise >= ONSET_DB) | at_start) & (attack > peak - EDGE_RANGE_DB))
    if len(clear):  # else a short take whose every onset is soft: all count
        peaks = peaks[clear[0]:clear[-1] + 1]
    end = level[-max(1, int(NOISE_WINDOW_S * sr / HOP)):]
    end_noise = float(np.median(end)) if np.std(end) < STEADY_DB else -np.inf
    # back to the energy minimum before each onset, but no further than BACK_S: in steady
    # noise the minimum can lie anywhere
    onsets = np.maximum(librosa.onset.onset_backtrack(peaks, level),
                        peaks - int(BACK_S * sr / HOP))
    groups = np.split(onsets, np.flatnonzero(np.diff(onsets) * HOP / sr > GAP_S) + 1)
    out = []
    for i, g in enumerate(groups):
        stop = groups[i + 1][0] if i + 1 < len(groups) else len(level)
        after = level[int(g[-1]):stop]
        # where the last note has decayed: into the quietest level after it, or into steady
        # noise that ends the take (there may be a quieter stretch before it starts)
        noise = end_noise if i + 1 == len(groups) else -np.inf
        floor = max(after.min() + TAIL_DB, noise + TAIL_DB, peak - TAIL_RANGE_DB)
        loud = np.flatnonzero(after > floor)
        end = int(g[-1]) + (int(loud.max()) + 1 if loud.size else 1)
        start = float(g[0] * HOP / sr)
        if out and out[-1][2]:  # the previous passage sounded until this one: one passage
            start = out.pop()[0]
        sounding = i + 1 < len(groups) and after.min() > peak - TAIL_RANGE_DB  # a held chord
        out.append((start, float(min(end * HOP / sr, len(y) / sr)), sounding))
    out = [(a, b) for a, b, _ in out]
    return out, len(onsets)


def loudness(y: np.ndarray, sr: int) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770-4 gating, ``pyloudnorm``) of mono ``y``;
    ``-inf`` for silence, or for audio shorter than the standard's 400-ms gating block."""
    import pyloudnorm

    if len(y) <= BLOCK_S * sr:
        return -np.inf
    return float(pyloudnorm.Meter(sr).integrated_loudness(np.asarray(y, np.float64)))


def condition(y: np.ndarray, sr: int) -> Conditioned:
    """DC removed, cut to its music (first passage start to last passage end; the passages
    are relative to the cut), at ``TARGET_LUFS`` (see the module docstring); without any
    onset, the whole of ``y`` is one passage. ``ValueError`` for digital silence."""
    y = np.asarray(y, np.float64)
    y = y - y.mean()
    passages, onsets = _passages(y.astype(np.float32), sr)
    if not passages:  # no onset at all: the sound as it is (``input`` refuses such a take)
        if not np.any(y):
            raise ValueError("digital silence")
        passages = [(0.0, len(y) / sr)]
    a, b = int(passages[0][0] * sr), int(np.ceil(passages[-1][1] * sr))
    music = y[a:b]
    lufs = loudness(np.concatenate([y[int(s * sr):int(e * sr)] for s, e in passages]), sr)
    gain = 10 ** ((TARGET_LUFS - lufs) / 20) if np.isfinite(lufs) else 1.0
    shift = a / sr
    return Conditioned((music * gain).astype(np.float32), sr,
                       [(s - shift, e - shift) for s, e in passages], lufs,
                       (len(y) - len(music)) / sr, onsets)


def warnings(y: np.ndarray, sr: int, native_sr: int, subtype: str | None = None,
             kbps: float | None = None, clipped: int = 0, reader: str = "the model"
             ) -> list[str]:
    """One line per doubt about a recording: ``native_sr`` below ``sr`` (the model reads up to
    ``sr`` / 2), 8-bit samples (``subtype`` from ``soundfile``), a compressed file under
    ``LOW_KBPS`` kbit/s (``kbps``), clipping (``clipped``: ``clip_runs`` of the stored samples),
    and a spectrum above ``HIGH_HZ`` more than ``-HIGH_SHARE_DB`` dB below the whole in the
    conditioned mono ``y`` (a telephone or a narrow-band codec: every PercePiano rendering
    keeps more there). ``reader`` names what reads the audio at ``sr`` ("the model", "the
    transcriber")."""
    import librosa

    out = []
    if native_sr < sr:
        out.append(f"sampled at {native_sr / 1000:g} kHz: nothing above {native_sr / 2000:g} kHz "
                   f"reaches {reader}, which reads up to {sr / 2000:g} kHz")
    if subtype and subtype.upper() in ("PCM_U8", "PCM_S8", "ULAW", "ALAW"):
        out.append(f"{subtype} samples: 8-bit quantisation noise, audible in quiet passages")
    if kbps is not None and kbps < LOW_KBPS:
        out.append(f"compressed at {kbps:.0f} kbit/s: below {LOW_KBPS} kbit/s a codec smears "
                   f"the attacks and the high partials {reader} reads")
    if clipped:
        out.append(f"clipped: {clipped} runs of {CLIP_RUN}+ samples at full scale; the loudest "
                   "chords are distorted")
    power = np.abs(librosa.stft(np.asarray(y, np.float32), n_fft=FRAME, hop_length=HOP)) ** 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=FRAME)
    share = power[freqs > HIGH_HZ].sum() / max(power.sum(), 1e-30)
    if 10 * np.log10(max(share, 1e-30)) < HIGH_SHARE_DB and native_sr >= sr:
        out.append(f"almost nothing above {HIGH_HZ / 1000:g} kHz (a telephone or a narrow-band "
                   "codec, sampled at 8 kHz somewhere on its way): brightness and attack are "
                   "read from what is left")
    return out


def clip_runs(raw: np.ndarray) -> int:
    """Runs of at least ``CLIP_RUN`` consecutive samples at full scale (``CLIP_LEVEL``) in
    ``raw`` (n,) or (n, channels), over all channels."""
    full = np.abs(np.asarray(raw).reshape(len(raw), -1)) >= CLIP_LEVEL
    runs = 0
    for col in full.T:
        edges = np.diff(np.concatenate([[0], col.astype(np.int8), [0]]))
        runs += int(np.sum(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1) >= CLIP_RUN))
    return runs
