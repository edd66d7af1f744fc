"""A performance's audio read for scoring, and the checks that refuse what is not one.

``load_file`` reads WAV, FLAC, OGG and MP3 (libsndfile through ``soundfile``), mixes every
channel down to mono and resamples to the models' rate. ``check_performance`` refuses, each with
one line naming the file: audio shorter than ``MIN_SECONDS``, silence or near-silence (the
loudest 50-ms frame below ``SILENCE_DBFS``), and audio with fewer than ``MIN_ONSETS`` detectable
note onsets (a steady tone, a hum: not a performance). Every refusal is a ``UserError``, so the
command line prints it without a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from percepiano.errors import UserError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MIN_SECONDS = 2.0    # under two seconds there is no phrase to judge
SILENCE_DBFS = -55.0  # a quiet piano recording peaks far above this; room noise stays below
MIN_ONSETS = 2       # a steady tone has one onset (its start); any phrase has several
FRAME_S = 0.05       # loudness frame for the silence check


def load_file(path: str | os.PathLike, sr: int = 16000) -> np.ndarray:
    """Mono float32 audio at ``sr`` Hz from a WAV/FLAC/OGG/MP3 file; ``UserError`` (one line)
    when it cannot be read."""
    import soundfile

    path = Path(path)
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise UserError(f"{path}: unsupported audio format {path.suffix or '(none)'!r}; "
                        f"use one of {', '.join(AUDIO_SUFFIXES)}")
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        y, native = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{path}: cannot read this audio file ({reason})") from None
    if y.size == 0:
        raise UserError(f"{path}: the file holds no audio samples")
    y = y.mean(axis=1)  # every channel mixed down
    if native != sr:
        import librosa

        y = librosa.resample(y, orig_sr=native, target_sr=sr)
    return np.ascontiguousarray(y, np.float32)


def loudest_dbfs(y: np.ndarray, sr: int) -> float:
    """Level of the loudest ``FRAME_S`` frame, in dB relative to full scale (-inf: silence)."""
    n = max(1, int(FRAME_S * sr))
    frames = y[: len(y) - len(y) % n].reshape(-1, n) if len(y) >= n else y[None, :]
    rms = float(np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1)).max())
    return 20.0 * np.log10(rms) if rms > 0 else -np.inf


def check_performance(y: np.ndarray, sr: int, name: str) -> None:
    """Refuse audio that is too short, silent, or holds no note onsets (see the module
    docstring); returns None for a plausible performance."""
    import librosa

    seconds = len(y) / sr
    if seconds < MIN_SECONDS:
        raise UserError(f"{name}: {seconds:.1f} s of audio; at least {MIN_SECONDS:.0f} s are "
                        "needed to judge a performance")
    level = loudest_dbfs(y, sr)
    if level < SILENCE_DBFS:
        shown = "digital silence" if np.isinf(level) else f"loudest frame {level:.0f} dBFS"
        raise UserError(f"{name}: silent or nearly silent ({shown}; a performance peaks above "
                        f"{SILENCE_DBFS:.0f} dBFS)")
    onsets = librosa.onset.onset_detect(y=y, sr=sr, units="time")
    if len(onsets) < MIN_ONSETS:
        raise UserError(f"{name}: no note onsets detected ({len(onsets)} in {seconds:.1f} s); "
                        "this does not sound like a performance")
