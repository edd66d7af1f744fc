import numpy as np
import pytest

from percepiano.features import audio

SR = 16000
NAMES = list(audio.AUDIO_FEATURES)


def tone(freq=440.0, amp=0.5, seconds=2.0):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def clicks(rate=4.0, seconds=2.0):
    """Short decaying noise bursts ``rate`` times a second."""
    rng = np.random.default_rng(0)
    y = np.zeros(int(seconds * SR), np.float32)
    burst = (rng.standard_normal(400) * np.exp(-np.arange(400) / 60)).astype(np.float32)
    for k in range(int(seconds * rate)):
        i = int(k * SR / rate) + 800
        y[i:i + 400] += 0.5 * burst[: len(y[i:i + 400])]
    return y


def feats(y):
    v = audio.audio_features(y, SR)
    assert v.shape == (len(NAMES),) and v.dtype == np.float64 and np.isfinite(v).all()
    return dict(zip(NAMES, v, strict=True))


def test_names_are_unique_and_documented():
    assert len(set(NAMES)) == len(NAMES) > 100
    assert all(isinstance(d, str) and d for d in audio.AUDIO_FEATURES.values())


def test_a_sine_has_the_expected_descriptors():
    f = feats(tone())
    assert f["centroid_mean"] == pytest.approx(440, abs=40)
    chroma = {n: f[n] for n in NAMES if n.startswith("chroma_") and n.endswith("_mean")}
    assert max(chroma, key=chroma.get) == "chroma_A_mean"
    assert f["rms_db_p50"] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.5)
    assert f["rms_db_range"] < 1.0 and f["flatness_mean"] < 0.01
    assert f["duration_s"] == pytest.approx(2.0)
    louder = feats(tone(amp=1.0))
    assert louder["rms_db_p50"] - f["rms_db_p50"] == pytest.approx(20 * np.log10(2), abs=0.1)
    assert feats(tone(freq=1760.0))["centroid_mean"] > 3 * f["centroid_mean"]


def test_clicks_have_onsets_and_are_percussive():
    c, t = feats(clicks(rate=4.0)), feats(tone())
    assert c["onset_rate"] == pytest.approx(4.0, abs=1.0)
    assert c["hp_ratio_db"] < t["hp_ratio_db"]
    assert c["flatness_mean"] > t["flatness_mean"]


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="mono audio"):
        audio.audio_features(np.zeros((2, SR), np.float32))
    with pytest.raises(ValueError, match="mono audio"):
        audio.audio_features(np.zeros(100, np.float32))


def test_table_of_rendered_segments(ds, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    names = list(ds.segments.index[[0, 700]])
    table = audio.audio_feature_table(ds, soundfont="timgm6mb", names=names, workers=1,
                                      progress=False)
    assert list(table.index) == names and list(table.columns) == NAMES
    assert np.isfinite(table.to_numpy()).all()
    assert (table.rms_db_max < 0).all() and (table.onset_rate > 0.5).all()
    again = audio.audio_feature_table(ds, soundfont="timgm6mb", names=names, workers=1,
                                      progress=False)
    assert again.equals(table)
    assert len(list((tmp_path / "features").glob("audio-*.npz"))) == 1


def test_a_subset_reuses_the_rows_of_a_larger_table(ds, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    names = list(ds.segments.index[[0, 700]])
    table = audio.audio_feature_table(ds, soundfont="timgm6mb", names=names, workers=1,
                                      progress=False)
    calls = []
    monkeypatch.setattr(audio, "_job", lambda task: calls.append(task) or 1 / 0)
    one = audio.audio_feature_table(ds, soundfont="timgm6mb", names=names[1:], workers=1,
                                    progress=False)
    assert calls == [] and one.equals(table.loc[names[1:]])  # no descriptor recomputed
