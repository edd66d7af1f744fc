"""Pools of expressive variants: exact descriptors of each variant, cached rows, and no
variants of held-out music."""

import numpy as np
import pytest

from percepiano.audio import expressive, spectrogram
from percepiano.data import dataset
from percepiano.features import variants
from percepiano.features.midi import performance_features


@pytest.fixture(scope="module")
def dev(data_root):
    return dataset.load(data_root)


def test_held_out_segments_are_never_varied(dev):
    train, held = dev.names[:3], dev.names[2:6]
    with pytest.raises(ValueError, match="refusing to vary 1 held-out segments"):
        variants.pool(dev, train, 2, held_out=held, progress=False)
    p = variants.Pool(source=[dev.names[0], dev.names[5]], k=[0, 0], mels=[], descriptors=None)
    p.check_sources(dev.names[:6])
    with pytest.raises(ValueError, match="not training segments"):
        p.check_sources(dev.names[:3])


def test_a_pool_holds_exact_descriptors_and_is_cached(dev, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    names = sorted(dev.names, key=lambda n: len(n))[:2]
    p = variants.pool(dev, names, 2, workers=1, progress=False)
    assert len(p) == 4 and p.source == [names[0], names[0], names[1], names[1]]
    assert p.k == [0, 1, 0, 1] and list(p.descriptors.columns) == list(variants.DESCRIPTORS)
    pm = variants._read(str(dev.segments.loc[names[1], "midi_path"]))
    want = performance_features(expressive.express(pm, expressive.draw(names[1], 1)), None)
    np.testing.assert_allclose(p.descriptors.iloc[3].to_numpy(),
                               [want[n] for n in variants.DESCRIPTORS], equal_nan=True)
    mel = np.load(p.mels[3])
    assert mel.dtype == np.float16 and mel.shape[0] == spectrogram.MelConfig().n_mels
    monkeypatch.setattr(variants, "_job", None)  # a second pool computes nothing
    again = variants.pool(dev, names[1:], 2, progress=False)
    assert again.mels == p.mels[2:]
    np.testing.assert_array_equal(again.descriptors.to_numpy(), p.descriptors.to_numpy()[2:])
