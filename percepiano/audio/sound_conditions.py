"""One take played by what a piano transcriber was not made for: a piano tuned away from
A = 440 Hz, another instrument, two performances sounding at once.

Every piano transcriber turns any pitched sound into piano notes: a take it cannot read still
gives a transcription, and a scorer reading those notes gives scores. These conditions make such
takes from a performance MIDI, rendered with FluidSynth (``percepiano.audio.render``), so that
``audio.plausibility`` can be measured on them (``scripts/plausibility_report.py``) and
``scripts/invariance_report.py`` can check what `percepiano predict` says of them.

* ``detuned``: the whole take ``cents`` away from concert pitch, by a pitch bend set on every
  channel before the first note (General MIDI's default bend range, 2 semitones). A quarter tone
  flat is -50 cents; baroque pitch, A = 415 Hz, is 1200 log2(415/440) = -101.3 cents.
* ``instrument``: the take on General MIDI program ``program`` (0-based: 19 church organ, 40
  violin, 6 harpsichord), set on every channel before the first note.
* ``canon``: the take mixed with itself ``delay`` seconds later, each at half gain: two
  performances of one excerpt at once, as a four-hands recording or two pupils overlapping.

Each returns ``(y, sr)``: mono float32 at ``sr``, as ``take_conditions``' render conditions do.
"""

from __future__ import annotations

import io
import math

import mido
import numpy as np

BEND_RANGE_CENTS = 200.0  # General MIDI's default pitch-bend sensitivity: 2 semitones
ORGAN, VIOLIN, HARPSICHORD = 19, 40, 6  # General MIDI programs, 0-based
A415_CENTS = 1200 * math.log2(415 / 440)


def _with_setup(data: bytes, messages) -> bytes:
    """The MIDI file ``data`` with ``messages(channel)`` inserted before anything else, for
    every channel that plays a note, in the first track that holds a note."""
    mf = mido.MidiFile(file=io.BytesIO(data))
    channels = sorted({m.channel for tr in mf.tracks for m in tr if m.type == "note_on"})
    track = next((tr for tr in mf.tracks if any(m.type == "note_on" for m in tr)), None)
    if track is None:
        raise ValueError("the take holds no note")
    for ch in reversed(channels):
        for msg in reversed(messages(ch)):
            track.insert(0, msg)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def bend(data: bytes, cents: float) -> bytes:
    """``data`` with a pitch bend of ``cents`` (within +-200) on every channel from the start
    (a bend the file makes later replaces it: performance files of a piano make none)."""
    if abs(cents) > BEND_RANGE_CENTS:
        raise ValueError(f"a bend of {cents:g} cents exceeds the {BEND_RANGE_CENTS:g}-cent range")
    value = int(round(cents / BEND_RANGE_CENTS * 8192))
    value = max(-8192, min(8191, value))
    return _with_setup(data, lambda ch: [mido.Message("pitchwheel", channel=ch, pitch=value)])


def program(data: bytes, number: int) -> bytes:
    """``data`` played on General MIDI program ``number`` (0-127) on every channel: set before
    the first note, and every program change of the file made that one."""
    mf = mido.MidiFile(file=io.BytesIO(data))
    for track in mf.tracks:
        for i, m in enumerate(track):
            if m.type == "program_change":
                track[i] = m.copy(program=number)
    buf = io.BytesIO()
    mf.save(file=buf)
    return _with_setup(buf.getvalue(), lambda ch: [mido.Message("program_change", channel=ch,
                                                                program=number)])


def detuned(data: bytes, sr: int, cents: float, soundfont: str = "fluidr3"):
    """The take rendered ``cents`` away from concert pitch (see the module docstring)."""
    from percepiano.audio import render

    return render.render_midi(bend(data, cents), soundfont=soundfont, sr=sr), sr


def instrument(data: bytes, sr: int, number: int, soundfont: str = "fluidr3"):
    """The take rendered on General MIDI program ``number``."""
    from percepiano.audio import render

    return render.render_midi(program(data, number), soundfont=soundfont, sr=sr), sr


def canon(data: bytes, sr: int, delay: float = 1.0, soundfont: str = "fluidr3"):
    """The take's rendering plus itself ``delay`` seconds later, each at half gain."""
    from percepiano.audio import render

    y = render.render_midi(data, soundfont=soundfont, sr=sr)
    shift = int(round(delay * sr))
    out = np.zeros(len(y) + shift, np.float32)
    out[:len(y)] += 0.5 * y
    out[shift:] += 0.5 * y
    return out, sr
