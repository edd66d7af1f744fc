"""Robustness perturbations: deterministic, shape-preserving, and doing what they say."""

import numpy as np
import pretty_midi
import pytest

from percepiano.audio import perturb

SR = 16000


def _take(seconds=2.0, seed=0):
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    y = sum(0.1 * np.sin(2 * np.pi * f * t) * np.exp(-3 * (t % 0.5))
            for f in (220.0, 440.0, 1000.0, 5000.0))
    return (y + 0.001 * rng.standard_normal(len(t))).astype(np.float32)


def _midi(n=400, seed=0):
    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for i in range(n):
        inst.notes.append(pretty_midi.Note(int(rng.integers(20, 127)), int(rng.integers(40, 90)),
                                           0.1 * i, 0.1 * i + 0.3))
    inst.control_changes.append(pretty_midi.ControlChange(64, 100, 0.5))
    pm.instruments.append(inst)
    return pm


@pytest.mark.parametrize("name", perturb.AUDIO)
def test_audio_perturbations_are_deterministic_and_keep_the_shape(name):
    y = _take()
    identity, *levels = perturb.LEVELS[name]
    assert np.array_equal(perturb.apply(name, y, identity, sr=SR), y)
    for level in levels:
        a = perturb.apply(name, y, level, seed=3, sr=SR)
        assert np.array_equal(a, perturb.apply(name, y, level, seed=3, sr=SR))
        assert a.dtype == np.float32 and a.ndim == 1 and np.isfinite(a).all()
        assert len(a) == (round(len(y) / level) if name == "tempo" else len(y))
        assert len(a) != len(y) or not np.allclose(a, y)
    assert np.array_equal(y, _take())  # the input is left alone


def test_noise_has_the_asked_signal_to_noise_ratio_and_its_seed_matters():
    y = _take()
    for snr in (30.0, 10.0):
        n = perturb.noise(y, SR, snr, seed=1) - y
        measured = 10 * np.log10(np.mean(y.astype(np.float64) ** 2) / np.mean(n ** 2.0))
        assert measured == pytest.approx(snr, abs=0.01)
    assert not np.array_equal(perturb.noise(y, SR, 20, 1), perturb.noise(y, SR, 20, 2))
    with pytest.raises(ValueError, match="silent"):
        perturb.noise(np.zeros(100, np.float32), SR, 20)


def test_gain_and_telephone_do_what_they_say():
    y = _take()
    assert np.allclose(perturb.gain(y, SR, -20.0), 0.1 * y, atol=1e-7)
    tel = perturb.telephone(y, SR, 1.0)
    spectrum = lambda x: np.abs(np.fft.rfft(x)) ** 2  # noqa: E731
    f = np.fft.rfftfreq(len(y), 1 / SR)
    high = f > 4000
    assert spectrum(tel)[high].sum() < 1e-3 * spectrum(y)[high].sum()  # 5 kHz is gone
    near = (f > 900) & (f < 1100)
    assert spectrum(tel)[near].sum() > 0.5 * spectrum(y)[near].sum()  # 1 kHz stays


def test_midi_perturbations_keep_the_notes_and_move_what_they_say():
    pm = _midi()
    loud = perturb.velocity(pm, 1.3)
    before = [n.velocity for n in pm.instruments[0].notes]
    after = [n.velocity for n in loud.instruments[0].notes]
    assert after == [int(np.clip(round(v * 1.3), 1, 127)) for v in before]
    assert [n.velocity for n in perturb.velocity(pm, 1e-3).instruments[0].notes] == [1] * 400
    moved = perturb.jitter(pm, 20.0, seed=5)
    cc = lambda m: [(c.number, c.value, c.time) for c in m.instruments[0].control_changes]  # noqa: E731
    assert cc(moved) == cc(pm)
    key = lambda n: (n.pitch, n.velocity, round(n.end - n.start, 9))  # noqa: E731
    assert sorted(map(key, moved.instruments[0].notes)) == sorted(map(key,
                                                                      pm.instruments[0].notes))
    shifts = np.array(sorted(n.start for n in moved.instruments[0].notes)) - np.array(
        sorted(n.start for n in pm.instruments[0].notes))
    assert 0.01 < np.std(shifts) < 0.03  # about 20 ms
    again = perturb.jitter(pm, 20.0, seed=5)
    assert [n.start for n in again.instruments[0].notes] == [
        n.start for n in moved.instruments[0].notes]
    assert [n.start for n in pm.instruments[0].notes][:3] == [0.0, 0.1, 0.2]  # input untouched
    assert min(n.start for n in moved.instruments[0].notes) >= 0


def test_bad_levels_and_names_are_refused():
    y = _take(0.5)
    for name, level in (("reverb", 1.5), ("tempo", 0.0), ("telephone", 0.5)):
        with pytest.raises(ValueError):
            perturb.apply(name, y, level, sr=SR)
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb.apply("flanger", y, 1.0, sr=SR)
    with pytest.raises(ValueError, match="sample rate"):
        perturb.apply("noise", y, 10.0)
    with pytest.raises(ValueError, match="mono"):
        perturb.noise(np.zeros((10, 2), np.float32), SR, 10.0)
    with pytest.raises(ValueError):
        perturb.velocity(_midi(3), 0.0)


def test_the_unseen_piano_renders_a_take_unlike_the_training_pianos():
    from percepiano.audio import render

    pm = _midi(12)
    unseen = render.render_midi(pm, perturb.UNSEEN_PIANO, sr=SR)
    seen = render.render_midi(pm, "fluidr3", sr=SR)
    assert unseen.dtype == np.float32 and np.sqrt(np.mean(unseen ** 2)) > 1e-3
    n = min(len(seen), len(unseen))
    assert np.corrcoef(seen[:n], unseen[:n])[0, 1] < 0.9
