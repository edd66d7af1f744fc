"""Conditioning a recording (``audio.condition``) and mixing its channels (``audio.input``)."""

import librosa
import numpy as np
import pretty_midi
import pytest
from scipy import signal

from percepiano.audio import condition, render
from percepiano.audio.input import mix_down

SR = 16000


@pytest.fixture(scope="module")
def phrase() -> np.ndarray:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for i, p in enumerate([60, 64, 67, 72, 67, 64, 60, 55, 60, 64, 67, 72]):
        inst.notes.append(pretty_midi.Note(60 + 4 * i, p, 0.2 + 0.4 * i, 0.55 + 0.4 * i))
    pm.instruments.append(inst)
    return render.render_midi(pm, soundfont="fluidr3", sr=SR)


def _noise(n: int, dbfs: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(n) * 10 ** (dbfs / 20)).astype(np.float32)


def test_the_music_is_found_and_brought_to_the_target_loudness(phrase):
    c = condition.condition(phrase, SR)
    assert len(c.passages) == 1 and c.passages[0][0] == 0.0
    assert 4.4 < c.passages[0][1] < len(phrase) / SR  # the first note at 0.2 s, the last at 4.6 s
    assert condition.loudness(c.y, SR) == pytest.approx(condition.TARGET_LUFS, abs=0.2)
    assert c.input_lufs == pytest.approx(condition.loudness(phrase, SR), abs=0.5)


@pytest.mark.parametrize("edit", ["lead_silence", "tail_silence", "gain", "dc", "lead_noise",
                                  "tail_noise"])
def test_what_says_nothing_of_the_playing_is_removed(phrase, edit):
    ref = condition.condition(phrase, SR)
    quiet = condition.loudness(phrase, SR) - 40  # room noise 40 dB under the music
    y = {"lead_silence": np.concatenate([np.zeros(2 * SR, np.float32), phrase]),
         "tail_silence": np.concatenate([phrase, np.zeros(3 * SR, np.float32)]),
         "gain": phrase * 10 ** (-12 / 20),
         "dc": phrase + 0.2,
         "lead_noise": np.concatenate([_noise(2 * SR, quiet), phrase + _noise(len(phrase), quiet,
                                                                                1)]),
         "tail_noise": np.concatenate([phrase, _noise(3 * SR, quiet)])}[edit]
    c = condition.condition(y, SR)
    assert len(c.passages) == 1
    assert abs((c.passages[0][1] - c.passages[0][0]) - ref.passages[0][1]) < 0.15
    n = min(len(c.y), len(ref.y))
    level = np.sqrt(np.mean(c.y[:n].astype(np.float64) ** 2))
    assert level == pytest.approx(np.sqrt(np.mean(ref.y[:n].astype(np.float64) ** 2)), rel=0.05)


def test_a_long_pause_splits_the_take_into_passages(phrase):
    c = condition.condition(np.concatenate([phrase, np.zeros(8 * SR, np.float32), phrase]), SR)
    assert len(c.passages) == 2 and c.passages[1][0] - c.passages[0][1] > condition.GAP_S


def test_channels_that_cancel_are_not_mixed(phrase):
    same, notes = mix_down(np.stack([phrase, phrase], axis=1))
    np.testing.assert_allclose(same, phrase)
    assert notes == []
    one, notes = mix_down(np.stack([phrase, -0.9 * phrase], axis=1))
    np.testing.assert_allclose(one, phrase)
    assert "opposite polarity" in notes[0] and "channel 1 alone" in notes[0]


def test_warnings_say_what_a_listener_would_distrust(phrase):
    c = condition.condition(phrase, SR)
    assert condition.warnings(c.y, SR, 44100, "PCM_16") == []
    sos = signal.butter(8, [300, 3400], btype="bandpass", fs=8000, output="sos")
    phone = librosa.resample(signal.sosfilt(sos, librosa.resample(c.y, orig_sr=SR,
                                                                   target_sr=8000)),
                             orig_sr=8000, target_sr=SR).astype(np.float32)  # then saved at 44.1
    said = " ".join(condition.warnings(phone, SR, 44100, "PCM_16"))
    assert "almost nothing above 4.5 kHz" in said
    said = " ".join(condition.warnings(c.y, SR, 8000, "PCM_U8", kbps=48, clipped=4))
    for words in ("sampled at 8 kHz", "8-bit", "48 kbit/s", "clipped: 4 runs"):
        assert words in said


def test_clipping_counts_runs_of_full_scale_samples():
    y = np.zeros((100, 2))
    y[10:12, 0] = 1.0   # two samples: a peak
    y[20:25, 0] = -1.0  # five: clipped
    y[50:53, 1] = 1.0   # three, the other channel: clipped
    assert condition.clip_runs(y) == 2
