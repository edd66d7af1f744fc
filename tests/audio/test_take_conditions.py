"""Recording conditions of one take do what their names say, on tiny synthetic takes."""

import io

import mido
import numpy as np
import pytest
import soundfile

from percepiano.audio import midi_conditions as mc
from percepiano.audio import take_conditions as cond

SR = 8000


def _take(tempo: int = 400_000, tpb: int = 480) -> bytes:
    """Type 0: a set_tempo (0.4 s a beat at the default), a sustain-pedal press, C4 E4 G4 one
    beat apart and half a beat long with G3 held under E4 and G4, C5 on beat 3.5, and the
    pedal lifted, as bytes."""
    tr = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo),
                         mido.Message("control_change", control=64, value=127)])
    ev = [(0, "note_on", 60, 70), (240, "note_off", 60, 0), (480, "note_on", 64, 70),
          (480, "note_on", 55, 50), (720, "note_off", 64, 0), (960, "note_on", 67, 70),
          (1200, "note_off", 67, 0), (1300, "note_off", 55, 0), (1680, "note_on", 72, 70),
          (1920, "note_on", 72, 0)]
    now = 0
    for t, kind, note, vel in ev:
        t = t * tpb // 480
        tr.append(mido.Message(kind, note=note, velocity=vel, time=t - now))
        now = t
    tr.append(mido.Message("control_change", control=64, value=0, time=10))
    mf = mido.MidiFile(type=0, ticks_per_beat=tpb, tracks=[tr])
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _mf(data: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data))


def _onsets(data: bytes) -> list[float]:
    """Seconds of every note_on with velocity > 0, by mido's own clock."""
    t, out = 0.0, []
    for m in _mf(data):
        t += m.time
        if m.type == "note_on" and m.velocity > 0:
            out.append(t)
    return out


def _burst() -> np.ndarray:
    t = np.arange(SR // 2) / SR
    return (0.25 * np.sin(2 * np.pi * 440 * t) * np.exp(-4 * t)).astype(np.float32)


def test_the_registry_names_kinds_and_callables():
    assert len(cond.REGISTRY) >= 40
    for name, (kind, description, fn) in cond.REGISTRY.items():
        assert name.split("/")[0] == kind and kind in ("audio", "midi", "render")
        assert description and callable(fn)
    assert set(cond.ENCODINGS) <= set(cond.REGISTRY)


def test_silence_and_noise_add_exactly_their_samples():
    y = _burst()
    out, sr = cond.REGISTRY["audio/lead_silence_0.5s"].function(y, SR)
    assert sr == SR and len(out) == len(y) + SR // 2
    assert not out[:SR // 2].any() and np.array_equal(out[SR // 2:], y)
    out, _ = cond.REGISTRY["audio/tail_silence_3s"].function(y, SR)
    assert len(out) == len(y) + 3 * SR
    assert np.array_equal(out[:len(y)], y) and not out[len(y):].any()
    noisy, _ = cond.REGISTRY["audio/lead_noise_2s"].function(y, SR)
    again, _ = cond.REGISTRY["audio/lead_noise_2s"].function(y, SR)
    lead = noisy[:2 * SR].astype(np.float64)
    assert np.array_equal(noisy, again) and np.array_equal(noisy[2 * SR:], y)
    assert 20 * np.log10(np.sqrt(np.mean(lead ** 2))) == pytest.approx(-50.0, abs=0.01)
    # pink: more power below 500 Hz than above 2 kHz, by far
    spec = np.abs(np.fft.rfft(lead)) ** 2
    f = np.fft.rfftfreq(len(lead), 1 / SR)
    assert spec[(f > 20) & (f < 500)].mean() > 10 * spec[f > 2000].mean()


def test_gain_offset_and_their_clipping():
    y = _burst()
    out, _ = cond.gain(y, SR, -12.0)
    np.testing.assert_allclose(out, y * 10 ** (-12 / 20), rtol=1e-6)
    np.testing.assert_allclose(cond.dc_offset(y, SR, 0.2)[0] - y, 0.2, atol=1e-6)
    with pytest.raises(ValueError, match="clips"):
        cond.gain(4 * y, SR, 6.0)


def test_stereo_resampling_telephone_and_repeat():
    y = _burst()
    s, _ = cond.REGISTRY["audio/stereo_opposite_polarity"].function(y, SR)
    assert s.shape == (len(y), 2) and np.array_equal(s[:, 1], -s[:, 0])
    d, _ = cond.REGISTRY["audio/stereo_duplicate"].function(y, SR)
    assert np.array_equal(d[:, 0], d[:, 1])
    up, sr = cond.resample(y, SR, 16000)
    assert sr == 16000 and abs(len(up) - 2 * len(y)) <= 1
    tel, sr = cond.telephone(up, 16000)
    assert sr == 8000 and abs(len(tel) - len(y)) <= 1
    spec, f = np.abs(np.fft.rfft(tel)), np.fft.rfftfreq(len(tel), 1 / sr)
    assert spec[f < 100].max() < 0.1 * spec[(f > 400) & (f < 500)].max()  # below the band
    rep, _ = cond.repeat(y, SR, 12)
    assert np.array_equal(rep, np.tile(y, 12))


@pytest.mark.parametrize("name", ["audio/wav_8bit", "audio/wav_24bit", "audio/wav_float32",
                                  "audio/flac", "audio/wav_16bit", "audio/mp3_192k"])
def test_encodings_read_back(tmp_path, name):
    if name.startswith("audio/mp3") and not cond.mp3_writable():
        pytest.skip("this libsndfile cannot write MP3")
    y = np.tile(_burst(), 4)
    path = cond.write_audio(tmp_path / name.replace("/", "_"), y, SR * 4, cond.encoding(name))
    info = soundfile.info(str(path))
    enc = cond.encoding(name)
    assert path.suffix == enc.suffix and info.format == enc.format and info.subtype == enc.subtype
    back, _ = soundfile.read(str(path), dtype="float32")
    if enc.format != "MP3":
        assert len(back) == len(y)
        np.testing.assert_allclose(back, y, atol={"PCM_U8": 1e-2}.get(enc.subtype, 1e-4))


def test_type_and_resolution_changes_keep_the_times():
    data = _take()
    ref = _onsets(data)
    for name in ("midi/type1", "midi/type1_to_type0", "midi/tpb_960", "midi/tpb_96",
                 "midi/note_off_as_note_on0", "midi/note_on0_as_note_off"):
        out = cond.REGISTRY[name].function(data)
        np.testing.assert_allclose(_onsets(out), ref, atol=0.003, err_msg=name)
        assert _mf(out).length == pytest.approx(_mf(data).length, abs=0.003)
    assert _mf(cond.REGISTRY["midi/type1"].function(data)).type == 1
    assert _mf(cond.REGISTRY["midi/tpb_96"].function(data)).ticks_per_beat == 96
    kinds = {m.type for m in _mf(mc.note_off_as_note_on0(data))}
    assert "note_off" not in kinds
    assert not any(m.type == "note_on" and m.velocity == 0 for m in _mf(
        mc.note_on0_as_note_off(data)))


def test_tempo_in_note_track_moves_the_tempo_and_keeps_the_length():
    data = _take()
    out = _mf(mc.tempo_in_note_track(data))
    assert out.type == 1 and len(out.tracks) == 2
    assert [m.type for m in out.tracks[0]] == ["track_name", "end_of_track"]
    tempos = [m.tempo for m in out.tracks[1] if m.type == "set_tempo"]
    assert tempos and all(t != 500_000 for t in tempos)
    assert out.length == pytest.approx(_mf(data).length, abs=1e-9)
    np.testing.assert_allclose(_onsets(mc.tempo_in_note_track(data)), _onsets(data), atol=1e-9)


def test_hands_split_by_pitch_with_the_pedals_in_the_right_hand():
    out = _mf(mc.split_hands(_take()))
    right = [m for m in out.tracks[1] if m.type == "note_on"]
    left = [m for m in out.tracks[2] if m.type == "note_on"]
    assert {m.note for m in right} == {60, 64, 67, 72} and {m.note for m in left} == {55}
    assert all(m.type != "control_change" for m in out.tracks[2])


def test_time_additions_land_where_they_say():
    data = _take()
    ref = _onsets(data)
    np.testing.assert_allclose(_onsets(mc.lead_silence_midi(data, 2.0)), np.add(ref, 2.0),
                               atol=1e-3)
    first = [m for m in _mf(mc.lead_silence_midi(data, 2.0)).tracks[0] if not m.is_meta][0]
    assert first.type == "control_change" and first.time == 0  # the pedal stays at the start
    paused = _onsets(mc.pause(data, 60.0))
    # G4 is the onset nearest the middle, but G3 is held through it: the pause goes before
    # E4 and G3, the next nearest onset with nothing held
    np.testing.assert_allclose(np.diff(paused) - np.diff(ref), [60.0, 0, 0, 0], atol=1e-3)
    assert _mf(mc.lone_pedal(data, 130.0)).length == pytest.approx(130.0, abs=1e-3)
    tail = _mf(mc.tempo_tail(data, 200.0))
    assert sum(m.type == "set_tempo" for m in tail.tracks[0]) == 21
    assert tail.length == pytest.approx(0.4 * 4 + 200.0, abs=2e-3)
    rep = mc.repeat_midi(data, 12)
    assert len(_onsets(rep)) == 12 * len(ref)
    assert _mf(rep).length == pytest.approx(12 * _mf(data).length, abs=1e-6)
    with pytest.raises(ValueError, match="lasts past"):
        mc.lone_pedal(rep, 1.0)


def test_drum_channel_sostenuto_and_smpte():
    data = _take()
    drums = _mf(mc.drum_channel(data))
    assert {m.channel for m in drums if hasattr(m, "channel")} == {9}
    ss = [m for m in _mf(mc.sostenuto(data)) if m.type == "control_change" and m.control == 66]
    assert [m.value for m in ss] == [127, 0]
    raw = mc.smpte(data, 25, 40)
    assert raw[:14] == b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\xe7\x28"  # -25 fps, 40 ticks
    assert _mf(raw).ticks_per_beat == -6360  # mido reads the division as a signed number
    track = _mf(raw).tracks[0]
    ticks = np.cumsum([m.time for m in track])
    on = [int(t) for t, m in zip(ticks, track, strict=True)
          if m.type == "note_on" and m.velocity > 0]
    assert on == [round(1000 * s) for s in _onsets(data)]  # ticks are milliseconds
