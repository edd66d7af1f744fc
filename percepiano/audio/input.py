"""A performance read for scoring (audio or MIDI), and the checks that refuse what is not one.

``read_audio`` reads WAV, FLAC, OGG and MP3 (libsndfile through ``soundfile``), mixes the
channels down to mono (checking that they do not cancel) and resamples to the models' rate.
``check_performance`` refuses, each with one line naming the file: audio shorter than
``MIN_SECONDS``, silence or near-silence (the loudest 50-ms frame below ``SILENCE_DBFS``), and
audio with fewer than ``MIN_ONSETS`` detectable note onsets (a steady tone, a hum: not a
performance). MIDI files are read by ``midi_take`` (which reads every encoding of a take
alike, and refuses with ``check_notes_end`` and ``refuse_onsets``). Every refusal is a
``UserError``, so the command line prints it without a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from percepiano.errors import UserError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MIDI_SUFFIXES = (".mid", ".midi")
MIN_SECONDS = 2.0    # under two seconds there is no phrase to judge
SILENCE_DBFS = -70.0  # a quiet piano recording peaks far above this
MIN_ONSETS = 2       # a steady tone has one onset (its start); any phrase has several
FRAME_S = 0.05       # loudness frame for the silence check


@dataclass
class AudioFile:
    """An audio file read for scoring: ``y`` mono float32 at ``sr`` Hz (see ``mix_down``);
    ``native_sr``, ``channels``, ``subtype`` (``soundfile``'s, e.g. ``PCM_16``), ``kbps`` (bit
    rate of a compressed file, else None), ``clipped`` (runs of full-scale samples, as stored)
    and ``notes`` (how it was mixed)."""

    y: np.ndarray
    sr: int
    native_sr: int
    channels: int
    subtype: str
    kbps: float | None
    clipped: int
    notes: list[str] = field(default_factory=list)


def read_audio(path: str | os.PathLike, sr: int = 16000) -> AudioFile:
    """Read a WAV/FLAC/OGG/MP3 file (``soundfile``), mix it to mono (``mix_down``) and
    resample it to ``sr`` Hz (``librosa.resample``); ``UserError`` (one line) when it cannot
    be read."""
    import soundfile

    from percepiano.audio.condition import clip_runs

    path = Path(path)
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise UserError(f"{path}: unsupported audio format {path.suffix or '(none)'!r}; "
                        f"use one of {', '.join(AUDIO_SUFFIXES)}")
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        info = soundfile.info(str(path))
        y, native = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{path}: cannot read this audio file ({reason})") from None
    if y.size == 0:
        raise UserError(f"{path}: the file holds no audio samples")
    clipped = clip_runs(y)
    y = y - y.mean(axis=0)  # DC removed before resampling, whose filter rings at a DC step
    mono, notes = mix_down(y)
    if native != sr:
        import librosa

        mono = librosa.resample(mono, orig_sr=native, target_sr=sr)
    return AudioFile(np.ascontiguousarray(mono, np.float32), sr, int(native), y.shape[1],
                     str(info.subtype), _kbps(path, info), clipped, notes)


def _kbps(path: Path, info) -> float | None:
    """The bit rate of a compressed (MP3, Ogg) file from its header (``mutagen``)."""
    if path.suffix.lower() not in (".mp3", ".ogg"):
        return None
    try:
        import mutagen

        audio = mutagen.File(str(path))
        rate = getattr(getattr(audio, "info", None), "bitrate", 0) or 0
    except Exception:  # an unusual header: no warning rather than a refusal
        return None
    return rate / 1000 if rate else None


def mix_down(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Mono from ``y`` (n, channels): the mean of the channels, unless they cancel (the mean
    holds less than a quarter of the channels' mean power, -6 dB: one is the other in opposite
    polarity) and the loudest channel alone is used, with a note saying so."""
    if y.shape[1] == 1:
        return y[:, 0], []
    mix = y.mean(axis=1)
    power = np.mean(np.square(y, dtype=np.float64), axis=0)
    if np.mean(np.square(mix, dtype=np.float64)) >= 0.25 * power.mean():
        return mix, []
    loudest = int(np.argmax(power))
    return y[:, loudest], [f"the channels cancel when mixed (one is in opposite polarity): "
                           f"channel {loudest + 1} alone is scored"]


def load_file(path: str | os.PathLike, sr: int = 16000) -> np.ndarray:
    """Mono float32 audio at ``sr`` Hz from a WAV/FLAC/OGG/MP3 file (``read_audio``);
    ``UserError`` (one line) when it cannot be read."""
    return read_audio(path, sr).y


def loudest_dbfs(y: np.ndarray, sr: int) -> float:
    """Level of the loudest ``FRAME_S`` frame, in dB relative to full scale (-inf: silence)."""
    n = max(1, int(FRAME_S * sr))
    frames = y[: len(y) - len(y) % n].reshape(-1, n) if len(y) >= n else y[None, :]
    rms = float(np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1)).max())
    return 20.0 * np.log10(rms) if rms > 0 else -np.inf


def check_performance(y: np.ndarray, sr: int, name: str, onsets: bool = True) -> None:
    """Refuse audio that is too short, silent, or (unless ``onsets`` is False: the caller
    counts them) holds no note onsets (see the module docstring); returns None for a plausible
    performance."""
    import librosa

    seconds = len(y) / sr
    if seconds < MIN_SECONDS:
        raise UserError(f"{name}: {seconds:.1f} s of audio; at least {MIN_SECONDS:.0f} s are "
                        "needed to judge a performance")
    level = loudest_dbfs(y, sr)
    if level < SILENCE_DBFS:
        shown = "digital silence" if np.isinf(level) else f"loudest frame {level:.0f} dBFS"
        raise UserError(f"{name}: silent or nearly silent ({shown}; a performance peaks above "
                        f"{SILENCE_DBFS:.0f} dBFS: record it louder)")
    if onsets:
        found = len(librosa.onset.onset_detect(y=y, sr=sr, units="time"))
        refuse_onsets(found, seconds, name)


def refuse_onsets(found: int, seconds: float, name: str) -> None:
    """``UserError`` when ``found`` note onsets in ``seconds`` s are under ``MIN_ONSETS``."""
    if found < MIN_ONSETS:
        raise UserError(f"{name}: no note onsets detected ({found} in {seconds:.1f} s); "
                        "this does not sound like a performance")


def check_notes_end(events, name: str) -> None:
    """Refuse MIDI events (``render.midi_events``) in which a struck note is never released."""
    held: dict[tuple[int, int], list[float]] = {}
    for t, m in events:
        if m.type == "note_on" and m.velocity > 0:
            held.setdefault((m.channel, m.note), []).append(t)
        elif m.type in ("note_on", "note_off") and held.get((m.channel, m.note)):
            held[(m.channel, m.note)].pop(0)
    hanging = sorted((ts[0], ch, note) for (ch, note), ts in held.items() if ts)
    if hanging:
        import pretty_midi

        t, ch, note = hanging[0]
        more = f" (and {len(hanging) - 1} more)" if len(hanging) > 1 else ""
        raise UserError(f"{name}: note {pretty_midi.note_number_to_name(note)} on channel "
                        f"{ch + 1}, struck at {t:.2f} s, never ends{more}; the file is "
                        "incomplete")
