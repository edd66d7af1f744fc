"""A performance read for scoring (audio or MIDI), and the checks that refuse what is not one.

``load_file`` reads WAV, FLAC, OGG and MP3 (libsndfile through ``soundfile``), mixes every
channel down to mono and resamples to the models' rate. ``check_performance`` refuses, each with
one line naming the file: audio shorter than ``MIN_SECONDS``, silence or near-silence (the
loudest 50-ms frame below ``SILENCE_DBFS``), and audio with fewer than ``MIN_ONSETS`` detectable
note onsets (a steady tone, a hum: not a performance). ``load_midi`` reads a MIDI file and
refuses one that is not MIDI, is truncated, holds no notes, holds a note that never ends (a
note-on without its note-off: an incomplete file), or lasts under ``MIN_SECONDS``;
``midi_window`` cuts a span out of a long one. Every refusal is a ``UserError``, so the command
line prints it without a traceback.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from percepiano.errors import UserError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MIDI_SUFFIXES = (".mid", ".midi")
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


def load_midi(path: str | os.PathLike):
    """A ``pretty_midi.PrettyMIDI`` of a performance file; ``UserError`` (one line) for a file
    that is missing, empty, not MIDI, truncated, without notes, with a note that never ends, or
    shorter than ``MIN_SECONDS``."""
    import warnings

    import pretty_midi

    from percepiano.audio.render import midi_events

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    data = path.read_bytes()
    if not data:
        raise UserError(f"{path}: the file is empty")
    check_notes_end(midi_events(data, str(path)), str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tempo events on non-zero tracks
            pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as e:  # pretty_midi/mido raise many types for odd files
        raise UserError(f"{path}: cannot read this MIDI file ({type(e).__name__})") from None
    seconds = pm.get_end_time()
    if seconds < MIN_SECONDS:
        raise UserError(f"{path}: {seconds:.1f} s of music; at least {MIN_SECONDS:.0f} s are "
                        "needed to judge a performance")
    return pm


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


def midi_window(pm, start: float, end: float):
    """The notes of ``pm`` struck in ``[start, end)`` (kept whole), with every controller's
    state at ``start`` and its changes inside the span, shifted to begin at 0 s."""
    import pretty_midi

    out = pretty_midi.PrettyMIDI(resolution=pm.resolution)
    for inst in pm.instruments:
        new = pretty_midi.Instrument(inst.program, inst.is_drum, inst.name)
        new.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start - start, n.end - start)
                     for n in inst.notes if start <= n.start < end]
        ccs = sorted(inst.control_changes, key=lambda c: c.time)
        state = {c.number: c.value for c in ccs if c.time < start}  # the last value wins
        new.control_changes = (
            [pretty_midi.ControlChange(num, val, 0.0) for num, val in state.items()]
            + [pretty_midi.ControlChange(c.number, c.value, c.time - start)
               for c in ccs if start <= c.time < end])
        out.instruments.append(new)
    return out
