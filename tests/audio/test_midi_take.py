"""Reading a MIDI take the same way however it is encoded (``audio.midi_take``)."""

import io

import mido
import numpy as np
import pretty_midi
import pytest

from percepiano.audio import midi_conditions as mc
from percepiano.audio import midi_take
from percepiano.audio.render import midi_events
from percepiano.errors import UserError
from percepiano.features.midi import performance_features


def _take(tempo: int = 1_000_000) -> bytes:
    """A type-0 phrase at 60 bpm with sustain pedal: 16 notes, 0.25 beat apart, 480 tpb."""
    mf = mido.MidiFile(type=0, ticks_per_beat=480)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    tr.append(mido.Message("control_change", control=64, value=127, time=0))
    for i in range(16):
        pitch = 60 + (i * 5) % 12
        tr.append(mido.Message("note_on", note=pitch, velocity=50 + 3 * i, time=0 if i == 0
                               else 20))
        tr.append(mido.Message("note_off", note=pitch, velocity=0, time=100))
        if i == 7:
            tr.append(mido.Message("control_change", control=64, value=0, time=0))
    tr.append(mido.MetaMessage("end_of_track", time=0))
    mf.tracks.append(tr)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _read(tmp_path, data: bytes, name: str = "take.mid") -> midi_take.MidiTake:
    (tmp_path / name).write_bytes(data)
    return midi_take.read_take(tmp_path / name)


def _notes(take) -> list[tuple]:
    return sorted((n.start, n.end, n.pitch, n.velocity)
                  for i in take.pm.instruments for n in i.notes)


def test_tempo_in_a_note_track_is_applied_as_fluidsynth_plays_it(tmp_path):
    data = mc.tempo_in_note_track(mc.to_type1(_take()))
    take = _read(tmp_path, data)
    played = sorted(t for t, m in midi_events(data) if m.type == "note_on" and m.velocity)
    starts = sorted(n.start for i in take.pm.instruments for n in i.notes)
    np.testing.assert_allclose(np.array(starts) + played[0], played, atol=1e-6)
    assert take.seconds == pytest.approx(_read(tmp_path, _take(), "ref.mid").seconds)
    assert any("tempo events" in n for n in take.notes)


@pytest.mark.parametrize("encode", [
    mc.to_type1, lambda d: mc.ticks_per_beat(d, 96), lambda d: mc.ticks_per_beat(d, 960),
    mc.note_off_as_note_on0, mc.split_hands, lambda d: mc.lead_silence_midi(d, 2.0),
    lambda d: mc.lone_pedal(d, 130.0), lambda d: mc.tempo_tail(d, 200.0),
    lambda d: mc.smpte(d, fps=30, ticks_per_frame=16)])  # 480 ticks a second, as the take
def test_re_encodings_read_to_the_same_descriptors(tmp_path, encode):
    ref = _read(tmp_path, _take(), "ref.mid")
    take = _read(tmp_path, encode(_take()))
    assert take.seconds == pytest.approx(ref.seconds, abs=2e-3)
    a, b = performance_features(ref.pm), performance_features(take.pm)
    for k in a:  # identical up to tick rounding of a coarser resolution
        assert b[k] == pytest.approx(a[k], rel=5e-3, abs=1e-3, nan_ok=True), k


def test_silence_before_the_first_note_changes_nothing_at_all(tmp_path):
    ref = _read(tmp_path, _take(), "ref.mid")
    take = _read(tmp_path, mc.lead_silence_midi(_take(), 2.0))
    assert _notes(take) == _notes(ref)
    assert performance_features(take.pm) == performance_features(ref.pm)


def test_duration_counts_sounding_notes_and_pauses_split_passages(tmp_path):
    ref = _read(tmp_path, _take(), "ref.mid")
    assert _read(tmp_path, mc.lone_pedal(_take(), 130.0)).seconds == pytest.approx(ref.seconds)
    paused = _read(tmp_path, mc.pause(_take(), 60.0))
    assert len(paused.passages) == 2
    assert paused.passages[1][0] - paused.passages[0][1] > 55


def test_drums_are_refused_or_left_out_naming_the_file(tmp_path):
    with pytest.raises(UserError, match=r"drums\.mid: all 16 notes are on the drum channel"):
        _read(tmp_path, mc.drum_channel(_take()), "drums.mid")
    pm = pretty_midi.PrettyMIDI(io.BytesIO(_take()))
    kit = pretty_midi.Instrument(0, is_drum=True)
    kit.notes.append(pretty_midi.Note(90, 36, 0.5, 0.6))
    pm.instruments.append(kit)
    buf = io.BytesIO()
    pm.write(buf)
    take = _read(tmp_path, buf.getvalue(), "mixed.mid")
    assert len(_notes(take)) == 16 and "1 notes on the drum channel (10) left out" in take.notes


def test_smpte_division_reads_in_seconds(tmp_path):
    for fps, tpf in ((25, 40), (30, 80), (24, 4)):
        take = _read(tmp_path, mc.smpte(_take(), fps=fps, ticks_per_frame=tpf))
        ref = _read(tmp_path, _take(), "ref.mid")
        assert take.seconds == pytest.approx(ref.seconds, abs=1.0 / (fps * tpf))
    bad = bytearray(mc.smpte(_take()))
    bad[12] = 0xF0  # -16 frames per second: no such SMPTE rate
    with pytest.raises(UserError, match="bad.mid: cannot read its time division"):
        _read(tmp_path, bytes(bad), "bad.mid")
