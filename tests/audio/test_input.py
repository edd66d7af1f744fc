"""Reading audio to score and refusing what is not a performance, one line each."""

import numpy as np
import pretty_midi
import pytest
import soundfile

from percepiano.audio import input as audio_input
from percepiano.audio import render
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
