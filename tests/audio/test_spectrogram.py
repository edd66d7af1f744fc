import dataclasses

import numpy as np
import pytest

from percepiano.audio import spectrogram as S

SR = 16000


def chirp(seconds=2.0, sr=SR):
    """A 2-s exponential sweep 55 Hz -> 4 kHz with a decaying envelope: tones, silence-free."""
    t = np.arange(int(seconds * sr)) / sr
    f = 55 * (4000 / 55) ** (t / seconds)
    phase = 2 * np.pi * np.cumsum(f) / sr
    return (0.3 * np.sin(phase) * np.exp(-t)).astype(np.float32)


def test_mel_config_is_the_ast_convention():
    mel = S.MelConfig()
    assert (mel.sr, mel.n_mels, mel.win_length, mel.hop_length) == (16000, 128, 400, 160)
    assert mel.win_length / mel.sr == 0.025 and mel.hop_length / mel.sr == 0.010
    with pytest.raises(dataclasses.FrozenInstanceError):
        mel.n_mels = 64


@pytest.mark.parametrize("mel", [S.MelConfig(), S.MelConfig(n_mels=64, hop_length=320),
                                 S.MelConfig(center=False, fmin=30.0, fmax=7000.0)])
def test_fast_log_mel_matches_librosa(mel):
    y = chirp()
    fast, ref = S.log_mel(y, mel), S.log_mel_librosa(y, mel)
    assert fast.dtype == np.float32
    assert fast.shape == ref.shape == (mel.n_mels, S.n_frames(len(y), mel))
    audible = ref > ref.max() - 80
    assert np.abs(fast - ref)[audible].max() <= S.TOLERANCE_DB
    assert np.abs(fast - ref).max() <= 0.5  # near the floor float32 rounding matters more


def test_frames_follow_the_hop_and_silence_is_the_floor():
    y = np.zeros(SR, np.float32)
    spec = S.log_mel(y)
    assert spec.shape == (128, 101)
    assert np.allclose(spec, -100.0, atol=1e-4)  # amin = 1e-10 -> -100 dB
    y[8000] = 1.0  # a click at 0.5 s lights up the frames around frame 50 only
    spec = S.log_mel(y)
    loud = np.flatnonzero(spec.max(axis=0) > -99)
    assert set(loud) <= {48, 49, 50, 51, 52} and 50 in loud


def test_norm_stats_use_training_names_only():
    specs = {"a": np.full((4, 10), 1.0, np.float16), "b": np.full((4, 30), 3.0, np.float16),
             "test": np.full((4, 5), 1000.0, np.float16)}
    mean, std = S.norm_stats(specs, ["a", "b"])
    assert mean == pytest.approx(2.5) and std == pytest.approx(np.sqrt(0.75))
    z = S.normalise(specs["a"], (mean, std))
    assert z.dtype == np.float32 and np.allclose(z, (1 - 2.5) / (2 * np.sqrt(0.75)))
    with pytest.raises(ValueError):
        S.norm_stats(specs, [])


def test_compute_dataset_caches_float16(ds, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    names = list(ds.segments.index[[0, 1]])
    specs = S.compute_dataset(ds, soundfont="timgm6mb", names=names, workers=1, progress=False)
    assert list(specs) == names
    from percepiano.audio import render

    for n in names:
        x = specs[n]
        assert x.dtype == np.float16 and x.shape[0] == 128
        y = render.render_midi(ds.segments.loc[n, "midi_path"], soundfont="timgm6mb")
        assert x.shape[1] == S.n_frames(len(y))
        assert np.abs(x.astype(np.float32) - S.log_mel(y)).max() < 0.05
    files = sorted((tmp_path / "mel").rglob("*.npy"))
    stamps = [f.stat().st_mtime_ns for f in files]
    again = S.compute_dataset(ds, soundfont="timgm6mb", names=names, workers=1, progress=False)
    assert [f.stat().st_mtime_ns for f in files] == stamps  # loaded, not recomputed
    assert all(np.array_equal(again[n], specs[n]) for n in names)
    other = S.compute_dataset(ds, mel=S.MelConfig(n_mels=64), soundfont="timgm6mb",
                              names=names[:1], workers=1, progress=False)
    assert other[names[0]].shape[0] == 64
