"""MIDI recording conditions of one take: the same notes and pedalling, encoded another way.

Each function takes the bytes of a standard MIDI file and returns those of another holding the
same performance (``percepiano.audio.take_conditions`` names them in its registry): another file
type, tick resolution or track layout, note-offs spelled another way, or additions a recorder
makes (silence before the first note, a pause, a stray pedal event, a tempo map running on).
Files are read and written with ``mido``; edits are made on absolute ticks, so times in seconds
are kept unless the condition is about time. A take that a condition cannot apply to raises
``ValueError`` saying why.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import mido

DEFAULT_TEMPO = 500_000  # µs per beat: MIDI's 120 bpm when a file sets none
Event = tuple[int, mido.Message]  # (absolute tick, message)


def _read(data: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data))


def _events(track) -> list[Event]:
    out, now = [], 0
    for m in track:
        now += m.time
        out.append((now, m))
    return out


def _merged(mf: mido.MidiFile) -> list[Event]:
    """Every track's events in time order (stable: track order at equal ticks)."""
    return sorted((e for tr in mf.tracks for e in _events(tr)), key=lambda e: e[0])


def _file(tracks: list[list[Event]], type_: int, tpb: int) -> bytes:
    """Bytes of a MIDI file from absolute-tick tracks; each ends with one end_of_track at its
    latest event (an old end_of_track keeps the track's tail)."""
    mf = mido.MidiFile(type=type_, ticks_per_beat=tpb)
    for events in tracks:
        events = sorted(events, key=lambda e: e[0])
        track, now = mido.MidiTrack(), 0
        for t, m in events:
            if m.type != "end_of_track":
                track.append(m.copy(time=t - now))
                now = t
        end = max((t for t, _ in events), default=0)
        track.append(mido.MetaMessage("end_of_track", time=end - now))
        mf.tracks.append(track)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _tempo_map(mf: mido.MidiFile) -> list[tuple[int, int]]:
    """``[(tick, tempo µs/beat), ...]`` from every track's set_tempo, starting at tick 0."""
    tmap = [(0, DEFAULT_TEMPO)]
    for t, m in _merged(mf):
        if m.type == "set_tempo":
            tmap[-1:] = [tmap[-1], (t, m.tempo)] if t > tmap[-1][0] else [(t, m.tempo)]
    return tmap


def _seconds(tick: int, tmap, tpb: int) -> float:
    s = 0.0
    for (t0, tempo), (t1, _) in zip(tmap, [*tmap[1:], (None, 0)], strict=True):
        end = tick if t1 is None else min(tick, t1)
        s += max(end - t0, 0) * tempo / tpb / 1e6
    return s


def _tick(seconds: float, tmap, tpb: int) -> int:
    s = 0.0
    for (t0, tempo), (t1, _) in zip(tmap, [*tmap[1:], (None, 0)], strict=True):
        span = None if t1 is None else (t1 - t0) * tempo / tpb / 1e6
        if span is None or s + span >= seconds:
            return t0 + round((seconds - s) * 1e6 * tpb / tempo)
        s += span
    raise AssertionError("unreachable")


def _notes(mf: mido.MidiFile) -> list[tuple[int, int, int, int]]:
    """``(on tick, off tick, channel, track)`` of every note, paired first in, first out."""
    held, out = {}, []
    for i, tr in enumerate(mf.tracks):
        for t, m in _events(tr):
            key = (getattr(m, "channel", None), getattr(m, "note", None))
            if m.type == "note_on" and m.velocity > 0:
                held.setdefault(key, []).append((t, i))
            elif m.type in ("note_on", "note_off") and held.get(key):
                on, track = held[key].pop(0)
                out.append((on, t, m.channel, track))
    if not out:
        raise ValueError("the MIDI take has no notes")
    return sorted(out)


def _mapped(data: bytes, fn: Callable[[int, mido.Message], Event], tpb: int | None = None):
    """Every event of every track through ``fn(tick, message) -> (tick, message)``."""
    mf = _read(data)
    tracks = [[fn(t, m) for t, m in _events(tr)] for tr in mf.tracks]
    return _file(tracks, mf.type, tpb or mf.ticks_per_beat)


def to_type0(data: bytes) -> bytes:
    """Every track merged into one (type 0)."""
    mf = _read(data)
    return _file([_merged(mf)], 0, mf.ticks_per_beat)


def to_type1(data: bytes) -> bytes:
    """Type 1: meta events (tempo, signatures, names) in track 0, channel events in track 1."""
    mf = _read(data)
    ev = _merged(mf)
    return _file([[e for e in ev if e[1].is_meta], [e for e in ev if not e[1].is_meta]], 1,
                 mf.ticks_per_beat)


def ticks_per_beat(data: bytes, tpb: int) -> bytes:
    """Re-timed to ``tpb`` ticks per beat: every absolute tick rescaled and rounded, so times
    in seconds are kept to half a new tick."""
    old = _read(data).ticks_per_beat
    return _mapped(data, lambda t, m: ((t * tpb + old // 2) // old, m), tpb=tpb)


def note_off_as_note_on0(data: bytes) -> bytes:
    """Every note_off written as a note_on of velocity 0 (the running-status idiom)."""
    return _mapped(data, lambda t, m: (t, mido.Message("note_on", channel=m.channel, note=m.note,
                                                        velocity=0) if m.type == "note_off" else m))


def note_on0_as_note_off(data: bytes) -> bytes:
    """Every note_on of velocity 0 written as a note_off (release velocity 64)."""
    return _mapped(data, lambda t, m: (t, mido.Message("note_off", channel=m.channel, note=m.note)
                                       if m.type == "note_on" and m.velocity == 0 else m))


def split_hands(data: bytes, split: int = 60) -> bytes:
    """Type 1 with the hands apart: metas in track 0; notes from ``split`` (middle C) up and
    every controller in track 1; lower notes in track 2."""
    mf = _read(data)
    ev = _merged(mf)
    is_low = [m.type in ("note_on", "note_off") and m.note < split for _, m in ev]
    return _file([[e for e in ev if e[1].is_meta],
                  [e for e, lo in zip(ev, is_low, strict=True) if not e[1].is_meta and not lo],
                  [e for e, lo in zip(ev, is_low, strict=True) if lo]], 1, mf.ticks_per_beat)


def tempo_in_note_track(data: bytes, factor: int = 2) -> bytes:
    """Type 1, two tracks: track 0 holds only a name; the tempo map sits in track 1 with the
    notes. Every tempo is ``factor`` times slower and the ticks per beat ``factor`` times more,
    so seconds are exact and a reader that ignores track 1's tempo misreads the time."""
    mf = _read(data)
    tpb = mf.ticks_per_beat * factor
    if tpb > 0x7FFF:
        raise ValueError(f"{tpb} ticks per beat do not fit a MIDI header")
    rest = [(0, mido.MetaMessage("set_tempo", tempo=DEFAULT_TEMPO))] + [
        e for e in _merged(mf) if e[1].type != "track_name"]
    rest = [(t, m.copy(tempo=m.tempo * factor) if m.type == "set_tempo" else m) for t, m in rest]
    return _file([[(0, mido.MetaMessage("track_name", name="conductor"))], rest], 1, tpb)


def _insert_gap(data: bytes, at: int, seconds: float, setup: bool = False) -> bytes:
    """``seconds`` inserted at tick ``at`` (at the tempo in effect there): events after ``at``
    move later, and those at ``at`` too except its set_tempo or, with ``setup``, everything but
    the notes (the controllers' state before the first note)."""
    mf = _read(data)
    tempo = [v for t, v in _tempo_map(mf) if t <= at][-1]
    gap = round(seconds * 1e6 * mf.ticks_per_beat / tempo)

    def moves(t: int, m) -> bool:
        if t != at:
            return t > at
        return m.type in ("note_on", "note_off") if setup else m.type != "set_tempo"

    return _mapped(data, lambda t, m: (t + gap if moves(t, m) else t, m))


def lead_silence_midi(data: bytes, seconds: float) -> bytes:
    """``seconds`` of silence before the first note; tempo and controllers set up to its tick
    keep their place."""
    return _insert_gap(data, _notes(_read(data))[0][0], seconds, setup=True)


def pause(data: bytes, seconds: float) -> bytes:
    """A pause of ``seconds`` between the two halves of the take: before the onset nearest the
    middle at which no note is held (or the onset nearest the middle, if none)."""
    notes = _notes(_read(data))
    mid = (notes[0][0] + notes[-1][0]) / 2
    free = [on for on, *_ in notes[1:] if not any(a < on < b for a, b, *_ in notes)]
    cut = min(free or [on for on, *_ in notes[1:]], key=lambda on: abs(on - mid))
    return _insert_gap(data, cut, seconds)


def lone_pedal(data: bytes, at: float, control: int = 64, value: int = 0) -> bytes:
    """One control change (default: sustain pedal up) at ``at`` seconds, long after the take;
    ``ValueError`` if the take is not over by then."""
    mf = _read(data)
    tmap, tpb = _tempo_map(mf), mf.ticks_per_beat
    tick = _tick(at, tmap, tpb)
    if tick <= _merged(mf)[-1][0]:
        raise ValueError(f"the take lasts past {at:g} s")
    _, _, ch, track = _notes(mf)[0]
    cc = mido.Message("control_change", channel=ch, control=control, value=value)
    return _file([_events(tr) + ([(tick, cc)] if i == track else [])
                  for i, tr in enumerate(mf.tracks)], mf.type, tpb)


def tempo_tail(data: bytes, seconds: float, every: float = 10.0) -> bytes:
    """set_tempo events (the tempo already in effect) every ``every`` s after the last note's
    end, the last one ``seconds`` after it, in the tempo map's track 0."""
    mf = _read(data)
    tmap, tpb = _tempo_map(mf), mf.ticks_per_beat
    end = max(off for _, off, *_ in _notes(mf))
    start, tempo = _seconds(end, tmap, tpb), tmap[-1][1]
    ticks = [_tick(start + k * every, tmap, tpb) for k in range(1, round(seconds / every) + 1)]
    extra = [(t, mido.MetaMessage("set_tempo", tempo=tempo)) for t in ticks]
    return _file([_events(tr) + (extra if i == 0 else []) for i, tr in enumerate(mf.tracks)],
                 mf.type, tpb)


def drum_channel(data: bytes, channel: int = 9) -> bytes:
    """Every channel message moved to ``channel`` (9: General MIDI's drum channel 10)."""
    return _mapped(data, lambda t, m: (t, m.copy(channel=channel) if hasattr(m, "channel")
                                       else m))


def smpte(data: bytes, fps: int = 25, ticks_per_frame: int = 40) -> bytes:
    """SMPTE time division: ticks are ``1 / (fps * ticks_per_frame)`` s whatever the tempo
    (25 x 40: milliseconds); tempo events stay but no longer time anything.

    mido writes the header's division field only as ticks per beat, so the file is written
    with the same number of ticks per beat and that one 16-bit field is then replaced with
    ``struct``: the negative frame rate (two's complement) and the ticks per frame.
    """
    if fps not in (24, 25, 30) or not 0 < ticks_per_frame < 256:
        raise ValueError(f"SMPTE needs fps 24, 25 or 30 and 1-255 ticks per frame, got "
                         f"{fps} x {ticks_per_frame}")
    mf = _read(data)
    tmap, tpb, rate = _tempo_map(mf), mf.ticks_per_beat, fps * ticks_per_frame
    raw = _mapped(data, lambda t, m: (round(_seconds(t, tmap, tpb) * rate), m), tpb=rate)
    assert raw[:8] == b"MThd\x00\x00\x00\x06"  # division is bytes 12-13 of a 6-byte header
    return raw[:12] + struct.pack(">bB", -fps, ticks_per_frame) + raw[14:]


def sostenuto(data: bytes, control: int = 66) -> bytes:
    """A sostenuto pedal (CC 66) pressed one tick after the first note struck a quarter into
    the take, so that note and any held with it sustain, and released three quarters in."""
    mf = _read(data)
    notes = _notes(mf)
    first, last = notes[0][0], notes[-1][0]
    on, _, ch, track = next(n for n in notes if n[0] >= first + (last - first) / 4)
    cc = [(on + 1, mido.Message("control_change", channel=ch, control=control, value=127)),
          (round(first + 3 * (last - first) / 4),
           mido.Message("control_change", channel=ch, control=control, value=0))]
    return _file([_events(tr) + (cc if i == track else []) for i, tr in enumerate(mf.tracks)],
                 mf.type, mf.ticks_per_beat)


def repeat_midi(data: bytes, times: int) -> bytes:
    """The take ``times`` times in a row, each copy starting at the previous one's end (its
    end_of_track); copies repeat channel and tempo events, the first tempo made explicit."""
    mf = _read(data)
    tracks = [_events(tr) for tr in mf.tracks]
    tracks[0].insert(0, (0, mido.MetaMessage("set_tempo", tempo=_tempo_map(mf)[0][1])))
    period = max(t for tr in tracks for t, _ in tr)
    keep = ("set_tempo", "end_of_track")
    out = [tr + [(t + k * period, m) for k in range(1, times) for t, m in tr
                 if not m.is_meta or m.type in keep] for tr in tracks]
    return _file(out, mf.type, mf.ticks_per_beat)
