import io

import numpy as np
import pretty_midi
import pytest

from percepiano.audio import augment, render


def performance() -> pretty_midi.PrettyMIDI:
    """Three piano notes with pedal, a drum hit and a pitch bend, at known times."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=100.0)
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(80, 60, 0.0, 1.0), pretty_midi.Note(40, 126, 1.0, 2.0),
                    pretty_midi.Note(120, 2, 2.0, 3.0)]
    piano.control_changes += [pretty_midi.ControlChange(64, 127, 0.5),
                              pretty_midi.ControlChange(64, 0, 2.5)]
    piano.pitch_bends.append(pretty_midi.PitchBend(100, 1.5))
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes.append(pretty_midi.Note(100, 36, 1.0, 1.1))
    pm.instruments += [piano, drums]
    return pm


def times(pm):
    piano = pm.instruments[0]
    return ([(n.start, n.end) for n in piano.notes], [c.time for c in piano.control_changes],
            [b.time for b in piano.pitch_bends])


def test_scale_tempo_scales_notes_pedal_and_bends():
    pm = performance()
    fast = augment.scale_tempo(pm, 2.0)
    notes, ccs, bends = times(fast)
    assert np.allclose(notes, [(0.0, 0.5), (0.5, 1.0), (1.0, 1.5)])
    assert np.allclose(ccs, [0.25, 1.25]) and np.allclose(bends, [0.75])
    assert np.allclose([fast.instruments[1].notes[0].start], [0.5])
    assert times(pm)[1] == [0.5, 2.5]  # the input is untouched
    slow = augment.scale_tempo(pm, 0.8)
    assert np.allclose(times(slow)[0][-1], (2.5, 3.75))
    # the written file keeps the new timing (up to tick resolution)
    buf = io.BytesIO()
    fast.write(buf)
    back = pretty_midi.PrettyMIDI(io.BytesIO(buf.getvalue()))
    assert np.allclose(times(back)[0], times(fast)[0], atol=2e-3)
    assert np.allclose(times(back)[1], times(fast)[1], atol=2e-3)
    with pytest.raises(ValueError):
        augment.scale_tempo(pm, 0.0)


def test_transpose_folds_or_drops_out_of_range_notes():
    pm = performance()
    up = augment.transpose(pm, 3)
    assert [n.pitch for n in up.instruments[0].notes] == [63, 117, 5]  # 129 -> one octave down
    assert up.instruments[1].notes[0].pitch == 36  # drums are not transposed
    down = augment.transpose(pm, -5, out_of_range="drop")
    assert [n.pitch for n in down.instruments[0].notes] == [55, 121]  # -3 is dropped
    assert [n.pitch for n in pm.instruments[0].notes] == [60, 126, 2]
    with pytest.raises(ValueError):
        augment.transpose(pm, 1, out_of_range="clip")


def test_scale_velocity_rounds_and_clips():
    pm = performance()
    assert [n.velocity for n in augment.scale_velocity(pm, 1.5).instruments[0].notes] == \
        [120, 60, 127]
    assert [n.velocity for n in augment.scale_velocity(pm, 0.001).instruments[0].notes] == \
        [1, 1, 1]
    assert [n.velocity for n in augment.scale_velocity(pm, 1.0).instruments[0].notes] == \
        [80, 40, 120]


def test_random_augment_is_reproducible_and_renders():
    pm = performance()
    a, sf_a, pa = augment.random_augment(pm, np.random.default_rng(3))
    b, sf_b, pb = augment.random_augment(pm, np.random.default_rng(3))
    assert pa == pb and sf_a == sf_b and sf_a in render.SOUNDFONTS
    assert 0.9 <= pa["tempo"] <= 1.1 and -2 <= pa["semitones"] <= 2
    assert times(a) == times(b)
    end = pm.instruments[0].notes[-1].end
    assert np.isclose(a.instruments[0].notes[-1].end, end / pa["tempo"])
    y = render.render_midi(augment.scale_tempo(pm, 2.0), soundfont="timgm6mb")
    y0 = render.render_midi(pm, soundfont="timgm6mb")
    assert len(y) < len(y0)


# ---- the fixed pool of rendered variants ------------------------------------------------------

def test_variant_params_are_deterministic_stratified_and_in_range():
    for kind in augment.VARIANTS:
        a = [augment.variant_params(kind, "seg", k, 2) for k in range(2)]
        assert a == [augment.variant_params(kind, "seg", k, 2) for k in range(2)]
        for p in a:
            assert augment.TEMPO_RANGE[0] <= p["tempo"] <= augment.TEMPO_RANGE[1]
            assert augment.VELOCITY_RANGE[0] <= p["velocity"] <= augment.VELOCITY_RANGE[1]
            assert p["semitones"] in (-1, 0, 1) and p["soundfont"] in render.SOUNDFONTS
    tempo = [augment.variant_params("tempo", "seg", k, 2)["tempo"] for k in range(2)]
    assert tempo[0] < 1.0 < tempo[1]                       # one slower, one faster take
    assert [augment.variant_params("pitch", "seg", k, 2)["semitones"] for k in range(2)] == [-1, 1]
    assert augment.variant_params("soundfont", "seg", 0, 1)["soundfont"] == "timgm6mb"
    only = augment.variant_params("velocity", "seg", 0, 2)
    assert only["tempo"] == 1.0 and only["semitones"] == 0 and only["soundfont"] == "fluidr3"
    others = {augment.variant_params("midi", f"s{i}", 0, 2, seed=s)["tempo"]
              for i in range(5) for s in (0, 1)}
    assert len(others) == 10                               # names and pool seeds differ
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment.variant_params("reverb", "seg", 0, 1)


def _piano(shift: int = 0, speed: float = 1.0, gain: float = 1.0) -> pretty_midi.PrettyMIDI:
    """The same short piano phrase, built directly transposed / faster / louder."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=0)
    for i, (p, v) in enumerate([(60, 50), (64, 70), (67, 90), (72, 100)]):
        inst.notes.append(pretty_midi.Note(int(round(v * gain)), p + shift, 0.25 * i / speed,
                                           (0.25 * i + 0.5) / speed))
    inst.control_changes += [pretty_midi.ControlChange(64, 127, 0.1 / speed),
                             pretty_midi.ControlChange(64, 0, 1.0 / speed)]
    pm.instruments.append(inst)
    return pm


@pytest.mark.parametrize("params, direct", [
    ({"tempo": 1.0, "semitones": 1, "velocity": 1.0}, _piano(shift=1)),
    ({"tempo": 1.0, "semitones": -1, "velocity": 1.0}, _piano(shift=-1)),
    ({"tempo": 1.25, "semitones": 0, "velocity": 1.0}, _piano(speed=1.25)),
    ({"tempo": 1.0, "semitones": 0, "velocity": 1.2}, _piano(gain=1.2)),
])
def test_a_variant_renders_exactly_as_the_transformed_midi(params, direct):
    """Exact MIDI-level augmentation: rendering the transformed performance gives the very
    samples of a performance written that way from the start (no phase vocoder)."""
    variant = augment.apply_variant(_piano(), {**params, "soundfont": "timgm6mb"})
    a = render.render_midi(variant, soundfont="timgm6mb")
    b = render.render_midi(direct, soundfont="timgm6mb")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, render.render_midi(_piano(), soundfont="timgm6mb"))


def test_variant_spectrograms_are_cached_by_content(tmp_path, monkeypatch):
    """The pool's log-mels: the same files for the same (kind, name, k, seed), computed once,
    equal to the log-mel of the transformed performance's render; the input file untouched."""
    import pandas as pd

    from percepiano.audio import spectrogram

    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "a.mid"
    _piano().write(str(path))
    before = path.read_bytes()
    ds = type("DS", (), {"names": ["a"], "segments": pd.DataFrame({"midi_path": [str(path)]},
                                                                  index=["a"])})()
    mel = spectrogram.MelConfig()
    out = augment.variant_spectrograms(ds, "pitch", 2, mel, workers=1, progress=False)
    assert list(out) == ["a"] and len(out["a"]) == 2
    stamp = [p.stat().st_mtime_ns for p in out["a"]]
    again = augment.variant_spectrograms(ds, "pitch", 2, mel, workers=1, progress=False)
    assert again == out and [p.stat().st_mtime_ns for p in again["a"]] == stamp
    up = render.render_midi(_piano(shift=1), sr=mel.sr)
    np.testing.assert_allclose(np.load(out["a"][1]).astype(np.float32),
                               spectrogram.log_mel(up, mel).astype(np.float16).astype(np.float32))
    assert path.read_bytes() == before


# ---- SpecAugment and mixup -----------------------------------------------------------------------

def test_spec_augment_zeroes_stripes_only_and_is_seeded():
    import jax

    x = np.random.default_rng(0).normal(size=(8, 100, 64)).astype(np.float32) + 5.0
    aug = augment.InputAugment(time_masks=2, time_width=10, freq_masks=2, freq_width=8)
    out = np.asarray(augment.spec_augment(x, jax.random.key(0), aug))
    assert out.shape == x.shape
    kept = out != 0
    np.testing.assert_array_equal(out[kept], x[kept])            # untouched outside the masks
    for b in range(8):
        t_masked = ~kept[b].any(axis=1)                         # whole time frames zeroed
        f_masked = ~kept[b].any(axis=0)                         # whole bands zeroed
        assert t_masked.sum() <= 20 and f_masked.sum() <= 16
        zero = ~kept[b]
        np.testing.assert_array_equal(zero, t_masked[:, None] | f_masked[None, :])
    assert (~kept).any()
    np.testing.assert_array_equal(out, augment.spec_augment(x, jax.random.key(0), aug))
    assert not np.array_equal(out, augment.spec_augment(x, jax.random.key(1), aug))
    off = augment.InputAugment()
    assert not off.active
    np.testing.assert_array_equal(augment.augment_inputs(off, jax.random.key(0), x, x[:, 0])[0],
                                  x)


def test_mixup_mixes_inputs_labels_and_descriptors_alike():
    import jax

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 20, 4)).astype(np.float32)
    y = rng.normal(size=(16, 19)).astype(np.float32)
    d = rng.normal(size=(16, 7)).astype(np.float32)
    aug = augment.InputAugment(mixup_alpha=0.4)
    mx, my, md = (np.asarray(a) for a in augment.augment_inputs(aug, jax.random.key(2), x, y, d))
    assert mx.shape == x.shape and my.shape == y.shape and md.shape == d.shape
    for i in range(16):
        # each example is lam * own + (1 - lam) * one partner, with the same lam and partner
        # for the input, the labels and the descriptors
        fits = []
        for j in range(16):
            if j == i:
                continue
            lam = np.linalg.lstsq((y[i] - y[j])[:, None], my[i] - y[j], rcond=None)[0][0]
            ok = (np.allclose(my[i], lam * y[i] + (1 - lam) * y[j], atol=1e-5)
                  and np.allclose(mx[i], lam * x[i] + (1 - lam) * x[j], atol=1e-5)
                  and np.allclose(md[i], lam * d[i] + (1 - lam) * d[j], atol=1e-5))
            fits.append(ok and -1e-5 <= lam <= 1 + 1e-5)
        assert any(fits) or np.allclose(my[i], y[i], atol=1e-5)  # partner may be itself
    again = augment.augment_inputs(aug, jax.random.key(2), x, y, d)
    np.testing.assert_array_equal(np.asarray(again[1]), my)
