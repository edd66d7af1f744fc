"""Reading an audio take for scoring, by either route: from its sound (the audio model's
descriptors) or through its notes (transcribed by transkun, then read as a MIDI take).

Both routes read and check the file the same way (``audio.input``; at ``reading.SR`` so that
they refuse the same files), condition it (``audio.condition``: DC, silence and noise cut,
loudness normalised) and print the same notes about the recording (``recording_notes``: its
loudness, what was cut, and each doubt about the recording from ``condition.warnings``). The
notes route also checks that the sound is a piano the transcriber can read
(``audio.plausibility``): a piano off the A = 440 Hz grid is retuned before transcription, and
a take whose transcribed notes do not decay as a piano's do, or that the transcription misses
most of, is refused with the reason.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from percepiano.errors import UserError


def recording_notes(audio, c, reader: str) -> list[str]:
    """The notes every route prints about a recording: ``audio`` (``input.AudioFile``)
    conditioned as ``c`` (``condition.Conditioned``) for ``reader`` (what reads the audio:
    "the model", "the transcriber"): the mix-down's notes, the loudness and what was cut, and
    ``condition.warnings``."""
    from percepiano.audio import condition

    music = float(sum(b - a for a, b in c.passages))
    notes = list(audio.notes)
    notes.append(f"loudness of the mono mix {c.input_lufs:.1f} LUFS as recorded, brought to "
                 f"{condition.TARGET_LUFS:.0f} LUFS; {len(audio.y) / c.sr - music:.1f} s of "
                 "silence, noise or pauses left out")
    notes += condition.warnings(c.y, c.sr, audio.native_sr, audio.subtype, audio.kbps,
                                clipped=audio.clipped, reader=reader)
    return notes


def _checked(path: Path, sr: int):
    """The file read at ``sr`` and conditioned, refused as both routes refuse it."""
    from percepiano.audio import condition
    from percepiano.audio.input import check_performance, read_audio, refuse_onsets

    audio = read_audio(path, sr)
    check_performance(audio.y, sr, str(path), onsets=False)  # counted while conditioning
    c = condition.condition(audio.y, sr)  # not digital silence: checked
    refuse_onsets(c.onsets, len(audio.y) / sr, str(path))
    return audio, c


def read_sound(path: Path, columns: list[str]):
    """``reading.Take`` of kind ``audio``: one row of the sound's descriptors ``columns`` per
    scored span (``reading.passage_spans``). ``UserError`` for a file that is not a take."""
    from percepiano.analysis import reading
    from percepiano.audio.input import MIN_SECONDS
    from percepiano.features.takes import TAKE_FEATURES, describe

    sr = reading.SR
    audio, c = _checked(path, sr)
    order = {name: i for i, name in enumerate(TAKE_FEATURES)}
    pick = [order[col.split(":", 1)[1]] for col in columns]
    notes = recording_notes(audio, c, "the model")
    from percepiano.audio.condition import HOP, rms_db

    spans, rows = [], []
    found = reading.passage_spans(c.passages, rms_db(c.y), HOP / sr)
    for start, end in reading.progress(found, f"describing {path.name}"):
        if end - start < MIN_SECONDS:
            notes.append(f"{end - start:.1f} s of music at {start:.0f} s left out (under "
                         f"{MIN_SECONDS:.0f} s)")
            continue
        spans.append((start, end))
        rows.append(describe(c.y[int(start * sr):int(end * sr)], sr)[pick])
    if not rows:
        raise UserError(f"{path}: no passage of at least {MIN_SECONDS:.0f} s holds music")
    return reading.Take(path, "audio", float(sum(b - a for a, b in c.passages)), spans,
                        np.asarray(rows, np.float64), notes, len(c.passages))


def read_notes(path: Path, columns: list[str]):
    """``reading.Take`` of kind ``notes``: the take checked as ``read_sound`` checks it,
    conditioned at transkun's rate, checked for a piano the transcriber can read and
    transcribed (``plausibility.transcribe_take``, cached; a progress bar with the time left
    on a terminal), then read as its MIDI would be (``reading.read_midi``). ``UserError`` for
    a file that is not a take or a sound the transcriber cannot read (the reason said)."""
    from percepiano.analysis import reading
    from percepiano.audio import plausibility, transcription

    transcription.device()  # the one-line error without the optional extra, before any work
    _checked(path, reading.SR)  # refused as the sound route refuses it
    audio, c = _checked(path, transcription.SR)
    start = time.perf_counter()
    pm, measured, cached = plausibility.transcribe_take(
        c.y, c.sr, progress=sys.stderr.isatty(), desc=f"transcribing {path.name}")
    refusal, checks, widen = plausibility.verdict(measured)
    if refusal:
        raise UserError(f"{path}: {refusal}")
    seconds = len(c.y) / c.sr
    took = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="percepiano-") as tmp:
        midi = Path(tmp) / f"{path.stem}.mid"
        pm.write(str(midi))
        try:
            take = reading.read_midi(midi, columns)
        except UserError as e:  # named after the temporary transcription: say it of the take
            raise UserError(f"{path}: its transcription cannot be scored "
                            f"({str(e).split(': ', 1)[-1]})") from None
    notes = recording_notes(audio, c, "the transcriber") + checks + [
        f"scored through its notes: transkun transcribed {seconds:.0f} s of audio"
        + (" (read from the cache this time)" if cached else
           f" in {took:.0f} s ({took / max(seconds, 1e-9):.1f} s per second of audio)")]
    return reading.Take(path, "notes", take.seconds, take.spans, take.rows, notes + take.notes,
                        take.passages, take.repeats, widen)
