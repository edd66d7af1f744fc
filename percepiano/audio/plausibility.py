"""Is this a piano the transcriber can read? Checks of a recording and of its transcription.

A piano transcriber (transkun, trained on MAESTRO's in-tune Yamaha grands) writes piano notes
for any pitched sound: a piano tuned a quarter tone flat comes out as a handful of notes, an
organ or a violin as plausible-looking piano notes (bytedance/piano_transcription#17 reports
the same of another transcriber). The notes model then scores them as confidently as a clean
take. The measurements here say when not to trust a transcription:

* ``tuning_cents``: how far the recording's pitches lie from the equal-tempered grid at
  A = 440 Hz, in cents (librosa's ``estimate_tuning``: a histogram of the partials' pitches by
  ``piptrack``, folded onto one semitone; Ellis 2007). A piano tuned away from the grid is
  brought back by ``retune`` before transcription: the audio is resampled as a tape played at
  another speed would be, so pitch and tempo move together, and ``restore_time`` puts the
  transcribed notes back on the take's own clock. A grid is only known modulo a semitone: a
  piano a quarter tone flat may be read as a quarter tone sharp and come back a semitone low,
  which the scores barely notice (a transposed MIDI file moves them by a few hundredths).
* ``note_decay``: how fast each transcribed note's own pitch falls after its attack, in dB per
  second, the median over notes. A struck string decays from its attack; an organ pipe or a
  bowed string holds or swells.
* ``onset_recall``: the share of the onsets heard in the audio (``librosa.onset``) that a
  transcribed note starts within ``MATCH_S`` of: a transcription that misses most of what is
  heard did not read the take.

``verdict`` turns them into the one line `percepiano predict` prints, or a refusal; its
thresholds are measured on renderings of the development MIDI (``scripts/plausibility_report.py``,
results in the closing table of ``results/plausibility.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOP = 256
DECAY_S = 0.6  # a note's fall is read up to this long after its onset ...
ATTACK_S = 0.03  # ... from this long after it (past the attack)
MIN_NOTE_S = 0.12  # shorter notes say nothing of a decay
MATCH_S = 0.05  # a transcribed onset this close to a heard onset matches it (mir_eval's 50 ms)
RETUNE_CENTS = 15.0  # farther from the grid than this, the take is retuned before transcription
# measured on renderings of 8 development segments (scripts/plausibility_report.py, stored in
# results/reports/plausibility): a piano's notes fell by 2 dB/s or more, another piano's rose by
# at most 1.8; a violin's rose by 11 or more, half the organs' by 12 or more
MAX_SLOPE_DB = 8.0  # notes whose level rises faster than this (dB per second): not a piano
# every piano rendering: onset recall 1.00 (harpsichord 0.93); violins 0.48-0.93
MIN_RECALL = 0.8  # a transcription that starts a note at fewer heard onsets did not read them
# transcribed notes per heard onset: pianos 1.4-3.0; organs, two takes at once and harpsichords
# up to 8.7
MAX_NOTES_PER_ONSET = 4.0  # more: scored, but with wider intervals (WIDEN) and a note
WIDEN = 1.7  # rating points added to both sides of such a take's intervals: the largest change
# of a score against the piano measured among those renderings (1.64), rounded up


def tuning_cents(y: np.ndarray, sr: int) -> float:
    """Deviation of mono ``y`` from the A = 440 Hz equal-tempered grid, in cents, in [-50, 50)
    (``librosa.estimate_tuning`` at 1-cent resolution)."""
    import librosa

    t = librosa.estimate_tuning(y=np.asarray(y, np.float32), sr=sr, resolution=0.01,
                                bins_per_octave=12)
    return float(100 * t)


def retune(y: np.ndarray, sr: int, cents: float) -> tuple[np.ndarray, float]:
    """``y`` moved ``-cents`` onto the grid as a tape played faster or slower would be (soxr
    resampling; pitch and tempo change together): ``(y2, speed)``, ``y2`` at ``sr`` lasting
    ``len(y) / speed`` samples, ``speed = 2 ** (-cents / 1200)``."""
    import soxr

    speed = 2.0 ** (-cents / 1200.0)
    y2 = soxr.resample(np.asarray(y, np.float32), sr * speed, sr, quality="HQ")
    return np.asarray(y2, np.float32), float(speed)


def restore_time(pm, speed: float):
    """The ``pretty_midi.PrettyMIDI`` ``pm`` of a take played at ``speed`` (``retune``) back on
    the take's own clock: every note and control-change time multiplied by ``speed``."""
    for inst in pm.instruments:
        for n in inst.notes:
            n.start, n.end = n.start * speed, n.end * speed
        for c in inst.control_changes:
            c.time *= speed
    return pm


def _onset_frames(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    return librosa.onset.onset_detect(y=np.asarray(y, np.float32), sr=sr, hop_length=HOP)


def note_decay(y: np.ndarray, sr: int, pm) -> float:
    """Median slope (dB per second) of each transcribed note's own pitch in a constant-Q
    spectrogram of mono ``y`` (88 piano keys, hop ``HOP``), from ``ATTACK_S`` after its onset
    to its offset or ``DECAY_S`` after the onset, over the notes of ``pm`` that last at least
    ``MIN_NOTE_S``. A struck string falls (a piano: tens of dB per second), a pipe or a bow
    holds or swells (zero or rising). NaN when no note qualifies."""
    import librosa

    notes = [n for inst in pm.instruments if not inst.is_drum for n in inst.notes
             if n.end - n.start >= MIN_NOTE_S and 21 <= n.pitch <= 108]
    if not notes:
        return float("nan")
    cqt = np.abs(librosa.cqt(np.asarray(y, np.float32), sr=sr, hop_length=HOP,
                             fmin=librosa.midi_to_hz(21), n_bins=88, bins_per_octave=12))
    level = 20 * np.log10(np.maximum(cqt, 1e-6))
    slopes = []
    for n in notes:
        a = int((n.start + ATTACK_S) * sr / HOP)
        b = min(int(min(n.end, n.start + DECAY_S) * sr / HOP), level.shape[1])
        if b - a >= 4:
            t = np.arange(b - a) * HOP / sr
            slopes.append(np.polyfit(t, level[n.pitch - 21, a:b], 1)[0])
    return float(np.median(slopes)) if slopes else float("nan")


def onset_recall(y: np.ndarray, sr: int, note_onsets: np.ndarray,
                 frames: np.ndarray | None = None) -> float:
    """Share of the onsets heard in ``y`` with a transcribed note onset (seconds) within
    ``MATCH_S``; NaN when none is heard. ``frames``: the heard onsets' frames when already
    found (``librosa.onset.onset_detect`` at ``HOP``)."""
    import librosa

    frames = _onset_frames(y, sr) if frames is None else frames
    heard = librosa.frames_to_time(frames, sr=sr, hop_length=HOP)
    if len(heard) == 0:
        return float("nan")
    notes = np.sort(np.asarray(note_onsets, np.float64))
    if len(notes) == 0:
        return 0.0
    i = np.clip(np.searchsorted(notes, heard), 1, len(notes) - 1)
    near = np.minimum(np.abs(notes[i - 1] - heard), np.abs(notes[i] - heard))
    if len(notes) == 1:
        near = np.abs(notes[0] - heard)
    return float(np.mean(near <= MATCH_S))


@dataclass
class Reading:
    """What the checks measured of one take: ``cents`` (``tuning_cents``), ``speed`` (the
    ``retune`` factor applied; 1.0 when none), ``slope`` (``note_decay``, dB/s), ``recall``
    (``onset_recall``),
    ``notes`` transcribed and ``onsets`` heard."""

    cents: float
    speed: float
    slope: float
    recall: float
    notes: int
    onsets: int


def transcribe_take(y: np.ndarray, sr: int, progress: bool = False,
                    desc: str = "transcribing") -> tuple[object, Reading, bool]:
    """Transcribe conditioned mono ``y`` at transkun's rate ``sr`` with the checks above:
    retuned first when ``tuning_cents`` is farther than ``RETUNE_CENTS`` from the grid, the
    notes put back on the take's clock. ``(pm, reading, cached)``: the ``pretty_midi.PrettyMIDI``,
    the ``Reading`` and whether the transcription came from the cache
    (``transcription.transcribe_cached``)."""
    import warnings

    import pretty_midi

    from percepiano.audio import transcription

    cents = tuning_cents(y, sr)
    speed = 1.0
    heard_y = y
    if abs(cents) > RETUNE_CENTS:
        y, speed = retune(y, sr, cents)
    key = transcription.cache_key(y, sr)
    cached = transcription.cache_path(key).exists()
    path = transcription.transcribe_cached(y, sr, key=key, progress=progress, desc=desc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pretty_midi's tempo-event warning: none written here
        pm = pretty_midi.PrettyMIDI(str(path))
    if speed != 1.0:
        restore_time(pm, speed)
    starts = np.array([n.start for inst in pm.instruments for n in inst.notes])
    frames = _onset_frames(heard_y, sr)  # found once: the recall and the count
    reading = Reading(cents, speed, note_decay(heard_y, sr, pm),
                      onset_recall(heard_y, sr, starts, frames), len(starts), len(frames))
    return pm, reading, cached


def verdict(r: Reading) -> tuple[str | None, list[str], float]:
    """``(refusal, notes, widen)`` for a take read as ``r``: the reason it cannot be scored
    through its notes (None when it can); one line each on what was done to read it
    (retuning) and on what makes its transcription doubtful; and the rating points to add to
    both sides of its intervals (``WIDEN`` for a doubtful transcription, else 0)."""
    notes = []
    if r.speed != 1.0:
        way = "flat" if r.cents < 0 else "sharp"
        notes.append(f"tuned {abs(r.cents):.0f} cents {way} of the A = 440 Hz grid (A = "
                     f"{440 * 2 ** (r.cents / 1200):.1f} Hz or a semitone away): retuned "
                     "before transcription, the notes put back on the take's own clock")
    if np.isfinite(r.slope) and r.slope > MAX_SLOPE_DB:
        return (f"does not sound like a piano: its notes swell after their attack "
                f"({r.slope:+.0f} dB per second, where a piano's fall), as a bowed string's or "
                "an organ's do, and the transcriber reads only piano", notes, 0.0)
    if np.isfinite(r.recall) and r.recall < MIN_RECALL:
        return (f"the transcription starts a note at only {r.recall:.0%} of the {r.onsets} "
                f"onsets heard ({r.notes} notes): the transcriber did not read this sound as "
                "a piano (another instrument, or a heavily processed recording?)", notes, 0.0)
    if r.onsets and r.notes / r.onsets > MAX_NOTES_PER_ONSET:
        notes.append(f"the transcription holds {r.notes / r.onsets:.1f} notes per onset heard, "
                     f"more than any piano measured ({MAX_NOTES_PER_ONSET:g} at most): another "
                     "instrument, two performances at once, or a very blurred recording? The "
                     f"intervals are widened by {WIDEN:g} on each side, the largest change "
                     "such sounds made")
        return None, notes, WIDEN
    return None, notes, 0.0
