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
