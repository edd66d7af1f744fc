"""Reading audio to score and refusing what is not a performance, one line each."""

import numpy as np
import pretty_midi
import pytest
import soundfile

from percepiano.audio import input as audio_input
from percepiano.audio import midi_take, render
from percepiano.errors import UserError

SR = 16000


def _phrase() -> np.ndarray:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for i, p in enumerate([60, 64, 67, 72, 67, 64]):
        inst.notes.append(pretty_midi.Note(80, p, 0.4 * i, 0.4 * i + 0.35))
    pm.instruments.append(inst)
    return render.render_midi(pm, soundfont="timgm6mb", sr=SR)


def test_a_rendered_phrase_passes_and_reads_back_from_every_format(tmp_path):
    y = _phrase()
    audio_input.check_performance(y, SR, "phrase")
    stereo = np.stack([y, 0.5 * y], axis=1)
    for suffix, rate in ((".wav", 44100), (".flac", SR), (".ogg", 22050)):
        path = tmp_path / f"take{suffix}"
        soundfile.write(path, stereo if rate == SR else
                        np.stack([np.interp(np.arange(int(len(y) * rate / SR)) * SR / rate,
                                            np.arange(len(y)), c) for c in stereo.T], axis=1),
                        rate)
        back = audio_input.load_file(path, SR)
        assert back.dtype == np.float32 and back.ndim == 1
        assert abs(len(back) - len(y)) <= SR // 100          # resampled to 16 kHz
        audio_input.check_performance(back, SR, path.name)
    flac = audio_input.load_file(tmp_path / "take.flac", SR)
    np.testing.assert_allclose(flac, 0.75 * y, atol=2e-4)   # channels averaged


@pytest.mark.parametrize("make, message", [
    (lambda: np.zeros(10 * SR, np.float32), "digital silence"),
    (lambda: (1e-4 * np.random.default_rng(0).normal(size=10 * SR)).astype(np.float32),
     "silent or nearly silent"),
    (lambda: (0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * SR + 100) / SR)).astype(np.float32),
     "no note onsets"),
    (lambda: _phrase()[: SR], "1.0 s of audio; at least 2 s"),
])
def test_refusals_name_the_file_in_one_line(make, message):
    with pytest.raises(UserError, match=message) as err:
        audio_input.check_performance(make(), SR, "take.wav")
    assert str(err.value).startswith("take.wav: ") and "\n" not in str(err.value)


def test_unreadable_files_are_refused(tmp_path):
    good = tmp_path / "good.wav"
    soundfile.write(good, _phrase(), SR)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:30])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for path in (truncated, empty):
        with pytest.raises(UserError, match="cannot read this audio file|no audio samples"):
            audio_input.load_file(path)
    with pytest.raises(UserError, match="unsupported audio format '.aiff'"):
        audio_input.load_file(tmp_path / "take.aiff")
    with pytest.raises(UserError, match="no such file"):
        audio_input.load_file(tmp_path / "missing.wav")


def _scale(pm=None, seconds=0.4, n=8):
    pm = pm or pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.notes += [pretty_midi.Note(70, 60 + i, seconds * i, seconds * (i + 1)) for i in range(n)]
    pm.instruments.append(inst)
    return pm


def write_hanging_note(path, seconds=3.0):
    """A MIDI file whose first note is struck and never released (the others end)."""
    import mido

    mf = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    track.append(mido.Message("note_on", note=48, velocity=70, time=0))
    for i in range(4):
        track.append(mido.Message("note_on", note=60 + i, velocity=70, time=0))
        track.append(mido.Message("note_off", note=60 + i, velocity=0,
                                  time=int(480 * seconds / 4 / 0.5)))
    mf.tracks.append(track)
    mf.save(path)


def test_load_midi_reads_a_performance(tmp_path):
    _scale().write(str(tmp_path / "take.mid"))
    pm = midi_take.read_take(tmp_path / "take.mid").pm
    assert len(pm.instruments[0].notes) == 8 and pm.get_end_time() == pytest.approx(3.2)


def test_midi_refusals_are_one_line(tmp_path):
    no_notes = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.control_changes.append(pretty_midi.ControlChange(64, 127, 0.5))
    no_notes.instruments.append(inst)
    no_notes.write(str(tmp_path / "empty_track.mid"))
    write_hanging_note(tmp_path / "hanging.mid")
    _scale(seconds=0.2, n=5).write(str(tmp_path / "short.mid"))
    _scale().write(str(tmp_path / "good.mid"))
    (tmp_path / "truncated.mid").write_bytes((tmp_path / "good.mid").read_bytes()[:40])
    (tmp_path / "zero.mid").write_bytes(b"")
    (tmp_path / "text.mid").write_text("not a MIDI file")
    cases = {"empty_track.mid": "has no notes",
             "hanging.mid": r"note C3 on channel 1, struck at 0.00 s, never ends",
             "short.mid": "1.0 s of music; at least 2 s",
             "truncated.mid": "corrupt or truncated",
             "zero.mid": "the file is empty",
             "text.mid": "not a MIDI file",
             "missing.mid": "no such file"}
    for name, message in cases.items():
        with pytest.raises(UserError, match=message) as err:
            midi_take.read_take(tmp_path / name)
        assert str(tmp_path / name) in str(err.value) and "\n" not in str(err.value)


def test_a_released_note_is_not_hanging():
    """note_on with velocity 0 releases, as note_off does; a re-struck key needs two releases."""
    import mido

    on = lambda n, t: (t, mido.Message("note_on", note=n, velocity=60))  # noqa: E731
    off = lambda n, t: (t, mido.Message("note_on", note=n, velocity=0))  # noqa: E731
    audio_input.check_notes_end([on(60, 0), off(60, 1), on(62, 1),
                                 (2, mido.Message("note_off", note=62))], "ok")
    with pytest.raises(UserError, match="D4 .* struck at 1.00 s, never ends"):
        audio_input.check_notes_end([on(60, 0), off(60, 1), on(62, 1)], "x")
    with pytest.raises(UserError, match="and 1 more"):
        audio_input.check_notes_end([on(60, 0), on(60, 0.5), on(64, 1), off(60, 2)], "x")


def test_midi_window_keeps_the_pedal_state_and_shifts_time():
    pm = _scale(n=20, seconds=0.5)  # 10 s
    inst = pm.instruments[0]
    inst.control_changes += [pretty_midi.ControlChange(64, 127, 1.0),
                             pretty_midi.ControlChange(64, 0, 6.0)]
    part = midi_take.window(pm, 4.0, 8.0)
    notes = part.instruments[0].notes
    assert [n.pitch for n in notes] == list(range(68, 76))
    assert notes[0].start == pytest.approx(0.0) and notes[-1].end == pytest.approx(4.0)
    assert [(c.number, c.value, c.time) for c in part.instruments[0].control_changes] == [
        (64, 127, 0.0), (64, 0, pytest.approx(2.0))]
