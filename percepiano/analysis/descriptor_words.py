"""The final models' descriptors in musical words, and where a value stands among PercePiano's.

Every descriptor column a final model reads (``analysis.final.descriptor_columns``: the MIDI
descriptors of ``features.midi`` without the score-relative ones, and the audio descriptors of
``features.takes``) has an entry: what it measures, as a noun phrase (``what``); a clause
stating a take's value in musical units (percent of the take, milliseconds, MIDI velocity,
notes per second, semitones, hertz, decibels; ``say``); and the two comparatives that place it
among other performances (``more``/``less``: "faster"/"slower", "louder"/"softer"...).

``standing`` words the place of a value among reference values (the development
performances' descriptors), always as a true statement: the share of performances strictly
below it (or above it), rounded *down* to tens of percent ("more than in 90 % of the
PercePiano performances" means at least 90 % lie below), "any" at the edges, and the share
tied with it when ties are the largest group ("as in 95 % of ..."; a take without soft pedal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

PERFORMANCES = "the PercePiano performances"


class Words(NamedTuple):
    """A descriptor in words: ``what`` it measures, ``say(value)`` the clause stating a value,
    and the comparatives ``more``/``less`` for a value above/below others."""

    what: str
    say: Callable[[float], str]
    more: str = "more"
    less: str = "less"


def _pct(v: float) -> str:
    return f"{100 * v:.0f} %"


def _ms(v: float) -> str:  # from seconds
    return f"{1000 * v:.0f} ms"


def _num(digits: int, unit: str = "") -> Callable[[float], str]:
    return lambda v: f"{v:.{digits}f}{unit}"


_MS0, _RATIO = _num(0, " ms"), (lambda v: f"{2 ** v:.2f}")  # ms as measured; log2 -> ratio


def _w(what: str, template: str, fmt: Callable[[float], str], more: str = "more",
       less: str = "less", negative: str | None = None) -> Words:
    """An entry whose clause is ``template`` with the formatted value; with ``negative``, a
    negative value is stated by that template with its magnitude."""
    def say(v: float) -> str:
        if negative is not None and v < 0:
            return negative.format(fmt(-v))
        return template.format(fmt(v))

    return Words(what, say, more, less)


_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: float) -> str:
    """MIDI pitch -> scientific pitch name (60 -> C4), rounded to the nearest semitone."""
    p = int(round(pitch))
    return f"{_NAMES[p % 12]}{p // 12 - 1}"


MIDI_WORDS: dict[str, Words] = {
    "duration_s": _w("the take's length", "the take lasts {} s", _num(1), "longer", "shorter"),
    "n_notes": _w("the number of notes", "it has {} notes", _num(0), "more", "fewer"),
    "note_density": _w("the notes played per second", "it plays {} notes a second", _num(1),
                       "more", "fewer"),
    "onset_rate": _w("the chords or single notes struck per second",
                     "it strikes {} chords or single notes a second", _num(1), "more", "fewer"),
    "tempo_bpm": _w("the median pace of the onsets", "the onsets come at a median pace of {} a "
                    "minute", _num(0), "faster", "slower"),
    "ioi_mean": _w("the mean time between onsets", "onsets come every {} on average", _ms,
                   "further apart", "closer together"),
    "ioi_std": _w("the spread of the time between onsets",
                  "the time between onsets varies by {} (standard deviation)", _ms),
    "ioi_cv": _w("the spread of the time between onsets relative to its mean",
                 "the time between onsets varies by {} of its mean", _pct),
    "log_ioi_std": _w("the spread of the time between onsets, as a ratio", "the time between "
                      "onsets spreads by a factor of {} (one standard deviation)", _RATIO),
    "ioi_ratio_std": _w("how unevenly successive onsets follow each other", "successive gaps "
                        "between onsets differ by a factor of {} (one standard deviation)",
                        _RATIO),
    "chord_fraction": _w("the share of onsets that are chords", "{} of the onsets are chords",
                         _pct),
    "async_mean_ms": _w("how far the notes of a chord are spread", "the notes of a chord are "
                        "spread over {} on average", _MS0, "wider", "tighter"),
    "async_std_ms": _w("how much the spread of chords varies", "the spread of a chord's notes "
                       "varies by {} from chord to chord", _MS0),
    "melody_lead_ms": _w("how far the top note of a chord leads the others", "the top note of "
                         "a chord leads the others by {} on average", _MS0, negative="the top "
                         "note of a chord lags the others by {} on average"),
    "vel_mean": _w("how hard the keys are struck", "the keys are struck at a mean MIDI velocity "
                   "of {}", _num(0), "harder", "softer"),
    "vel_std": _w("the spread of key velocities", "key velocities vary by {} (standard "
                  "deviation, MIDI velocity)", _num(1)),
    "vel_p5": _w("the velocity of the softest notes", "the softest notes (5th percentile) have "
                 "MIDI velocity {}", _num(0), "louder", "softer"),
    "vel_p95": _w("the velocity of the loudest notes", "the loudest notes (95th percentile) "
                  "have MIDI velocity {}", _num(0), "louder", "softer"),
    "vel_range": _w("the range of key velocities", "the key velocities span {} steps of MIDI "
                    "velocity (5th to 95th percentile)", _num(0), "wider", "narrower"),
    "vel_slope": _w("how the loudness grows or fades over the take",
                    "the velocity grows by {} a second over the take", _num(2),
                    "more of a crescendo", "more of a diminuendo",
                    negative="the velocity fades by {} a second over the take"),
    "vel_window_std": _w("how much the loudness of 2-s stretches varies",
                         "the mean velocity of 2-s stretches varies by {} (standard deviation)",
                         _num(1)),
    "vel_window_range": _w("the range of loudness between 2-s stretches",
                           "the mean velocity of 2-s stretches spans {} steps", _num(0),
                           "wider", "narrower"),
    "vel_change_mean": _w("how much the loudness changes from one onset to the next",
                          "the velocity changes by {} from one onset to the next on average",
                          _num(1)),
    "melody_vel_diff": _w("how much louder the top note of a chord is", "the top note of a "
                          "chord is {} steps of velocity louder than the others", _num(1),
                          negative="the top note of a chord is {} steps of velocity softer "
                                   "than the others"),
    "bass_vel_diff": _w("how much louder the bass note of a chord is", "the bass note of a "
                        "chord is {} steps of velocity louder than the others", _num(1),
                        negative="the bass note of a chord is {} steps of velocity softer than "
                                 "the others"),
    "melody_accomp_ratio": _w("how much harder the top notes are struck than the others",
                              "the top notes are struck {} times as hard as the others "
                              "(velocity)", _num(2)),
    "dur_mean": _w("how long the notes are held", "notes are held {} on average", _ms,
                   "longer", "shorter"),
    "dur_median": _w("how long the median note is held", "the median note is held {}", _ms,
                     "longer", "shorter"),
    "artic_mean": _w("how long notes last relative to the time to the next onset",
                     "notes last {} of the time to the next onset on average", _pct,
                     "longer", "shorter"),
    "artic_median": _w("how long the median note lasts relative to the time to the next onset",
                       "the median note lasts {} of the time to the next onset", _pct,
                       "longer", "shorter"),
    "staccato_frac": _w("the share of detached notes", "{} of the notes are detached (held "
                        "less than half the time to the next onset)", _pct),
    "legato_frac": _w("the share of notes held into the next onset",
                      "{} of the notes are held past the next onset (legato)", _pct),
    "melody_overlap_ms": _w("how consecutive melody notes overlap", "consecutive melody notes "
                            "overlap by {} on average", _MS0, negative="consecutive melody "
                            "notes are separated by {} on average"),
    "melody_legato_frac": _w("the share of melody notes joined to the next",
                             "{} of consecutive melody notes overlap", _pct),
    "pedal_down_frac": _w("the time the sustain pedal is down",
                          "the sustain pedal is down for {} of the take", _pct),
    "pedal_value_mean": _w("how deep the sustain pedal is on average",
                           "the sustain pedal is {} of the way down on average", _pct),
    "pedal_changes_per_s": _w("how often the sustain pedal is pressed",
                              "the sustain pedal is pressed {} times a second", _num(2),
                              "more often", "less often"),
    "pedal_per_harmony": _w("the sustain-pedal presses per change of harmony",
                            "the sustain pedal is pressed {} times per change of harmony",
                            _num(2), "more often", "less often"),
    "pedal_clean_frac": _w("the share of harmony changes with the pedal lifted",
                           "the pedal is lifted at {} of the changes of harmony", _pct),
    "soft_pedal_frac": _w("the time the soft pedal is down",
                          "the soft pedal is down for {} of the take", _pct),
    "pedal_note_frac": _w("the share of notes played with the sustain pedal down",
                          "{} of the notes are played with the sustain pedal down", _pct),
    "pedal_half_frac": _w("the time the sustain pedal is part-way down",
                          "the sustain pedal is part-way down (half pedal) for {} of the take",
                          _pct),
    "pedal_depth_median": _w("how deep the sustain pedal goes when touched",
                             "when touched, the sustain pedal goes {} of the way down "
                             "(median)", _pct, "deeper", "shallower"),
    "pedal_extension_s": _w("how long the pedal prolongs notes after their keys are released",
                            "the pedal prolongs a note by {} after its key is released on "
                            "average", _ms, "longer", "shorter"),
    "blur_notes": _w("the notes the pedal still holds at a change of harmony",
                     "{} notes of earlier chords still sound under the pedal at each change "
                     "of harmony", _num(1), "more", "fewer"),
    "polyphony_mean": _w("the keys held at once", "{} keys are held at once on average",
                         _num(1), "more", "fewer"),
    "polyphony_max": _w("the most keys held at once", "up to {} keys are held at once",
                        _num(0), "more", "fewer"),
    "sounding_mean": _w("the notes sounding at once", "{} notes sound at once on average (held "
                        "by keys or pedal)", _num(1), "more", "fewer"),
    "pitch_mean": _w("the register", "the mean pitch is {}",
                     lambda v: f"{note_name(v)} (MIDI {v:.0f})", "higher", "lower"),
    "pitch_range": _w("the compass of the notes", "the notes span {} semitones (5th to 95th "
                      "percentile)", _num(0), "wider", "narrower"),
}

_CHROMA = {"C": "C", "Cs": "C#", "D": "D", "Ds": "D#", "E": "E", "F": "F", "Fs": "F#",
           "G": "G", "Gs": "G#", "A": "A", "As": "A#", "B": "B"}
# librosa's spectral-contrast bands from 200 Hz, an octave each, the last up to 8 kHz
_BANDS = ("below 200 Hz", "at 200-400 Hz", "at 400-800 Hz", "at 800-1600 Hz",
          "at 1.6-3.2 kHz", "above 3.2 kHz")
_SPREAD = "varies by {} over time"


def _audio_words() -> dict[str, Words]:
    d: dict[str, Words] = {}
    for i in range(13):
        tone = f"tone-colour coefficient {i} of the sound (cepstral)"
        d[f"mfcc{i}_mean"] = _w(tone, f"the {tone} averages {{}}", _num(1), "higher", "lower")
        d[f"mfcc{i}_std"] = _w(f"how much {tone} varies", f"the {tone} {_SPREAD}", _num(1))
        change = f"the change of tone-colour coefficient {i} from frame to frame"
        d[f"dmfcc{i}_mean"] = _w(change, f"{change} averages {{}}", _num(2), "higher", "lower")
        d[f"dmfcc{i}_std"] = _w(f"how much {change} varies", f"{change} {_SPREAD}", _num(2))
    hz, db, below = _num(0, " Hz"), _num(1, " dB"), (lambda v: f"{-v:.1f} dB")
    for key, what, fmt, more, less in (
            ("centroid", "the brightness of the sound (its spectral centroid)", hz, "brighter",
             "darker"),
            ("bandwidth", "the spread of the spectrum around its centre", hz, "wider",
             "narrower"),
            ("rolloff", "the frequency below which 85 % of the sound's energy lies", hz,
             "higher", "lower"),
            ("flatness", "the noisiness of the sound (its spectral flatness, 0-1)", _num(3),
             "noisier", "purer"),
            ("zcr", "the zero-crossing rate of the waveform, which rises with brightness and "
                    "noise", _num(3), "higher", "lower")):
        d[f"{key}_mean"] = _w(what, f"{what} averages {{}}", fmt, more, less)
        d[f"{key}_std"] = _w(f"how much {what} varies", f"{what} {_SPREAD}", fmt)
    for b, band in enumerate(_BANDS):
        what = f"how far the partials stand out of the spectrum {band} (spectral contrast)"
        d[f"contrast{b}_mean"] = _w(what, f"{what} averages {{}}", db, "higher", "lower")
        d[f"contrast{b}_std"] = _w(f"how much {what} varies", f"{what} {_SPREAD}", db)
    for key, name in _CHROMA.items():
        what = f"the sound's energy on pitch class {name} (relative to the strongest, 0-1)"
        d[f"chroma_{key}_mean"] = _w(what, f"{what} averages {{}}", _num(2), "higher", "lower")
        d[f"chroma_{key}_std"] = _w(f"how much {what} varies", f"{what} {_SPREAD}", _num(2))
    for key, what, subject in (
            ("mean", "the sound's mean level", "the sound's mean level lies"),
            ("p50", "the median level", "the median level lies"),
            ("p5", "the level of the quietest moments",
             "the quietest moments (5th percentile) lie"),
            ("p95", "the level of the loudest moments",
             "the loudest moments (95th percentile) lie"),
            ("max", "the level of the loudest moment", "the loudest moment lies")):
        d[f"rms_db_{key}"] = _w(what, f"{subject} {{}} below full scale", below, "louder",
                                "softer")
    d.update({
        "rms_db_std": _w("how much the level varies", "the level varies by {} (standard "
                         "deviation)", db),
        "rms_db_range": _w("the dynamic range of the sound", "the level spans {} (5th to 95th "
                           "percentile)", db, "wider", "narrower"),
        "rms_db_slope": _w("how the level grows or fades over the take", "the level grows by "
                           "{} a second over the take", _num(2, " dB"), "more of a crescendo",
                           "more of a diminuendo",
                           negative="the level fades by {} a second over the take"),
        "onset_rate": _w("the note onsets heard per second", "{} note onsets are heard a "
                         "second", _num(1), "more", "fewer"),
        "onset_strength_mean": _w("how sharp the attacks sound (onset strength)", "the attacks "
                                  "have a mean onset strength of {}", _num(2), "sharper",
                                  "gentler"),
        "onset_strength_std": _w("how much the sharpness of the attacks varies",
                                 "the onset strength varies by {}", _num(2)),
        "tempo_bpm": _w("the beat heard in the sound", "the beat heard in the sound is {} a "
                        "minute", _num(0), "faster", "slower"),
        "hp_ratio_db": _w("how much the sustained sound outweighs the attacks", "the sustained "
                          "(harmonic) sound is {} above the attacks (percussive)", db,
                          negative="the sustained (harmonic) sound is {} below the attacks "
                                   "(percussive)"),
    })
    return d


AUDIO_WORDS: dict[str, Words] = _audio_words()


def words(column: str) -> Words:
    """The entry of a descriptor column (``midi:pedal_down_frac``, ``audio:centroid_mean``);
    ``KeyError`` naming it when there is none."""
    source, _, name = column.partition(":")
    table = {"midi": MIDI_WORDS, "audio": AUDIO_WORDS}.get(source, {})
    if name not in table:
        raise KeyError(f"no words for descriptor {column!r}")
    return table[name]


def _counts(value: float, reference) -> tuple[int, int, int]:
    ref = np.asarray(reference, np.float64)
    ref = ref[np.isfinite(ref)]
    if not len(ref):
        raise ValueError("no reference values to compare with")
    below, above = int((ref < value).sum()), int((ref > value).sum())
    return below, len(ref) - below - above, above


def shares(value: float, reference) -> dict[str, float]:
    """The shares (0-1) of the finite ``reference`` values below, equal to and above
    ``value``; ``ValueError`` when none is finite."""
    counts = _counts(value, reference)
    return {k: c / sum(counts) for k, c in zip(("below", "equal", "above"), counts, strict=True)}


def standing(value: float, reference, more: str = "more", less: str = "less") -> str:
    """Where ``value`` stands among ``reference`` (the development performances' values of the
    same descriptor), in words that stay true: the share strictly below (``more``) or above
    (``less``) it, whichever is larger, rounded down to tens of percent; "any" when it is all
    of them; the share tied with it when ties are the largest group (rounded down to a
    percent). ``ValueError`` when no reference value is finite."""
    below, equal, above = _counts(value, reference)
    n = below + equal + above
    if equal > max(below, above):
        return f"as in {100 * equal // n} % of {PERFORMANCES}"
    word, count = (more, below) if below >= above else (less, above)
    if count == n:
        return f"{word} than in any of {PERFORMANCES}"
    return f"{word} than in {10 * count // n * 10} % of {PERFORMANCES}"
