"""Reading a MIDI take so that the same performance reads the same however it was encoded.

A performance file can time its events in several equivalent ways, and a take can carry what
nobody hears: silence before the first note, controller events or a tempo map running long
after the last one. ``read_take`` reads every such file to the same notes and pedalling:

* **Tempo from every track.** The Standard MIDI File specification puts a type-1 file's tempo
  map in its first track, but files in the wild put ``set_tempo`` events in a note track, and
  ``pretty_midi`` reads tempo from the first track only (so such a file would play at the
  default 120 bpm). The file is rewritten with ``mido`` first: every ``set_tempo`` event moves,
  at its own tick, into the first track, which is how FluidSynth and ``mido`` play the file.
* **SMPTE time division.** A header whose division counts frames per second and ticks per
  frame (SMF 1.0, "division" with bit 15 set) times ticks in seconds, ignoring tempo events;
  neither ``mido`` nor ``pretty_midi`` reads it. It is rewritten as the equivalent metrical
  division: ``fps x ticks_per_frame`` ticks per beat at one beat per second (29.97 fps for the
  drop-frame code 29).
* **Anchored at the first note.** Every time is measured from the first struck note, rounded to
  the microsecond (so that float rounding of a shifted time cannot move a note across a 10-ms
  grid line); a controller's state at that moment is kept.
* **Duration from sounding notes**: first onset to the last key release; controller and tempo
  events after it do not count.
* **Passages.** Stretches of more than ``GAP_S`` seconds with no key down split the take into
  passages, each scored on its own (``passages``); an empty stretch is skipped, not refused.
* **Drums.** Notes on the General MIDI drum channel (10) are not piano notes: a file with
  nothing else is refused with its name; otherwise they are left out, with a note.
* **Pedals.** The sustain (CC 64) and soft (CC 67) pedals are read by the descriptors
  (``features.midi``). The sostenuto pedal (CC 66) is not: 3 of PercePiano's 1202 segments
  press it, too few for a model to learn what it does, so a take that uses it gets a note.

Files that are well-formed type-0/1 files with the tempo map in the first track (all of
PercePiano's) are passed to ``pretty_midi`` byte for byte. Every refusal is a ``UserError``
naming the file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from percepiano.errors import UserError

GAP_S = 5.0  # longer than any rest in the rated excerpts: the player has stopped
ROUND_DIGITS = 6  # times are rounded to the microsecond after anchoring
SOSTENUTO = 66  # the middle pedal's controller


@dataclass
class MidiTake:
    """A MIDI performance read for scoring.

    ``pm``: the ``pretty_midi.PrettyMIDI``, anchored (first note at 0 s), drum notes left out;
    ``seconds``: first onset to last key release (s); ``passages``: (start, end) spans in
    seconds, separated by more than ``GAP_S`` s without a key down; ``notes``: what the reader
    changed or left out, one line each."""

    pm: object
    seconds: float
    passages: list[tuple[float, float]]
    notes: list[str] = field(default_factory=list)


def normalise_bytes(data: bytes, name: str) -> tuple[bytes, list[str]]:
    """The bytes of ``data`` with the tempo map in the first track and a metrical division (see
    the module docstring), and what was changed; ``data`` itself when nothing needs changing.
    ``UserError`` for bytes that ``mido`` cannot read."""
    import mido

    if not data.startswith(b"MThd"):
        raise UserError(f"{name}: not a MIDI file (no MThd header)")
    try:
        mf = mido.MidiFile(file=io.BytesIO(data))
    except Exception as e:  # mido raises OSError, EOFError, ValueError, KeyError ... on bad bytes
        raise UserError(f"{name}: corrupt or truncated MIDI ({type(e).__name__}: {e})") from None
    notes: list[str] = []
    changed = False
    if mf.ticks_per_beat & 0x8000:
        try:
            _from_smpte(mf)
        except ValueError as e:
            raise UserError(f"{name}: cannot read its time division ({e})") from None
        notes.append("SMPTE time division read as the equivalent beats and ticks")
        changed = True
    if len(mf.tracks) > 1 and any(m.type == "set_tempo" for t in mf.tracks[1:] for m in t):
        _tempo_to_first_track(mf)
        notes.append("tempo events found outside the first track were applied")
        changed = True
    if not changed:
        return data, notes
    out = io.BytesIO()
    mf.save(file=out)
    return out.getvalue(), notes


def _absolute(track) -> list[tuple[int, object]]:
    t, out = 0, []
    for msg in track:
        t += msg.time
        out.append((t, msg))
    return out


def _relative(events) -> list:
    import mido

    track, last = mido.MidiTrack(), 0
    for t, msg in sorted(events, key=lambda e: e[0]):  # stable: file order within a tick
        track.append(msg.copy(time=t - last))
        last = t
    return track


def _from_smpte(mf) -> None:
    import mido

    division = mf.ticks_per_beat & 0xFFFF  # mido may read the field as signed
    code = 256 - (division >> 8)  # the high byte is minus the frame rate (two's complement)
    ticks_per_frame = division & 0xFF
    if code not in (24, 25, 29, 30) or ticks_per_frame == 0:
        raise ValueError(f"SMPTE division with {code} frames per second")
    fps = 30000 / 1001 if code == 29 else float(code)  # 29: drop-frame, 29.97 frames/s
    mf.ticks_per_beat = round(fps) * ticks_per_frame
    tempo = round(1e6 * mf.ticks_per_beat / (fps * ticks_per_frame))  # microseconds a beat
    for i, track in enumerate(mf.tracks):  # SMPTE-timed files ignore tempo events
        events = [(t, m) for t, m in _absolute(track) if m.type != "set_tempo"]
        if i == 0:
            events.insert(0, (0, mido.MetaMessage("set_tempo", tempo=tempo, time=0)))
        mf.tracks[i] = _relative(events)


def _tempo_to_first_track(mf) -> None:
    moved = []
    for i, track in enumerate(mf.tracks[1:], start=1):
        events = _absolute(track)
        moved += [(t, m) for t, m in events if m.type == "set_tempo"]
        mf.tracks[i] = _relative([(t, m) for t, m in events if m.type != "set_tempo"])
    first = [(t, m) for t, m in _absolute(mf.tracks[0]) if m.type != "end_of_track"]
    end = max([t for t, _ in first + moved], default=0)
    import mido

    mf.tracks[0] = _relative(first + moved + [(end, mido.MetaMessage("end_of_track"))])


def read_take(path: str | os.PathLike) -> MidiTake:
    """Read, check and anchor a MIDI performance file (see the module docstring).

    ``UserError`` (one line, naming the file) for a file that is missing, empty, not MIDI,
    corrupt, without notes, with drum notes only, with fewer than ``input.MIN_ONSETS`` note
    onsets (as audio is refused), with a note that never ends, or whose passages are all
    shorter than ``input.MIN_SECONDS``."""
    import warnings

    import pretty_midi

    from percepiano.audio.input import MIN_SECONDS, check_notes_end, refuse_onsets
    from percepiano.audio.render import midi_events

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    data = path.read_bytes()
    if not data:
        raise UserError(f"{path}: the file is empty")
    data, notes = normalise_bytes(data, str(path))
    check_notes_end(midi_events(data, str(path)), str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tempo events on non-zero tracks: moved above
            pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as e:  # pretty_midi/mido raise many types for odd files
        raise UserError(f"{path}: cannot read this MIDI file ({type(e).__name__}: {e})") from None
    drums = sum(len(i.notes) for i in pm.instruments if i.is_drum)
    pm.instruments = [i for i in pm.instruments if not i.is_drum]
    if not any(i.notes for i in pm.instruments):
        if drums:
            raise UserError(f"{path}: all {drums} notes are on the drum channel (10); a piano "
                            "performance plays on the other channels")
        raise UserError(f"{path}: the file holds no notes")
    if drums:
        notes.append(f"{drums} notes on the drum channel (10) left out")
    if any(c.number == SOSTENUTO and c.value >= 64 for i in pm.instruments
           for c in i.control_changes):
        notes.append("the sostenuto pedal (CC 66) is used: the descriptors read the sustain and "
                     "soft pedals only, so the notes it holds count as released")
    starts = np.array([n.start for i in pm.instruments for n in i.notes])
    refuse_onsets(len(np.unique(np.round(starts, 2))), float(np.ptp(starts)), str(path))
    pm = anchored(pm, float(starts.min()))
    passages = find_passages(pm)
    seconds = passages[-1][1]
    if max(b - a for a, b in passages) < MIN_SECONDS:
        what = (f"{seconds:.1f} s of music" if len(passages) == 1 else
                f"{len(passages)} passages of under {MIN_SECONDS:.0f} s each")
        raise UserError(f"{path}: {what}; at least {MIN_SECONDS:.0f} s are needed to judge a "
                        "performance")
    return MidiTake(pm, seconds, passages, notes)


def anchored(pm, start: float):
    """``pm`` from ``start`` on, shifted so that ``start`` is 0 s, times rounded to
    ``ROUND_DIGITS`` decimals (see ``window``)."""
    return window(pm, start, np.inf)


def find_passages(pm) -> list[tuple[float, float]]:
    """(start, end) in seconds of the stretches of ``pm`` separated by more than ``GAP_S`` s
    with no key down, in order; ``pm`` holds at least one note."""
    spans = sorted((n.start, n.end) for i in pm.instruments for n in i.notes)
    out = [list(spans[0])]
    for a, b in spans[1:]:
        if a - out[-1][1] > GAP_S:
            out.append([a, b])
        else:
            out[-1][1] = max(out[-1][1], b)
    return [(float(a), float(b)) for a, b in out]


def window(pm, start: float, end: float):
    """The notes of ``pm`` struck in ``[start, end)`` (kept whole), with every controller's
    state at ``start`` and its changes inside the span, shifted to begin at 0 s and rounded to
    ``ROUND_DIGITS`` decimals of a second."""
    import pretty_midi

    def at(t: float) -> float:
        return round(t - start, ROUND_DIGITS)

    out = pretty_midi.PrettyMIDI(resolution=pm.resolution)
    for inst in pm.instruments:
        new = pretty_midi.Instrument(inst.program, inst.is_drum, inst.name)
        new.notes = [pretty_midi.Note(n.velocity, n.pitch, at(n.start), at(n.end))
                     for n in inst.notes if start <= n.start < end]
        ccs = sorted(inst.control_changes, key=lambda c: c.time)
        state = {c.number: c.value for c in ccs if c.time < start}  # the last value wins
        new.control_changes = (
            [pretty_midi.ControlChange(num, val, 0.0) for num, val in state.items()]
            + [pretty_midi.ControlChange(c.number, c.value, at(c.time))
               for c in ccs if start <= c.time < end])
        out.instruments.append(new)
    return out
