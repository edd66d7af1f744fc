"""Expressive variants change the playing in the intended direction, measured by the MIDI
descriptors recomputed from the variant."""

import numpy as np
import pretty_midi
import pytest

from percepiano.audio import expressive
from percepiano.audio.expressive import Expression, express
from percepiano.features.midi import performance_features


def _take(seconds: float = 12.0) -> pretty_midi.PrettyMIDI:
    """Two hands: a melody above middle C over chords below, pedalled every two seconds."""
    rng = np.random.default_rng(0)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    t = 0.0
    while t < seconds:
        ioi = float(rng.uniform(0.25, 0.5))
        inst.notes.append(pretty_midi.Note(int(rng.integers(60, 90)), int(rng.integers(64, 84)),
                                           t, t + 0.8 * ioi))
        for p in (48, 52, 55):
            inst.notes.append(pretty_midi.Note(int(rng.integers(40, 70)), p, t, t + 0.9 * ioi))
        t += ioi
    for i in range(int(seconds / 2)):
        inst.control_changes += [pretty_midi.ControlChange(64, 100, 2.0 * i + 0.1),
                                 pretty_midi.ControlChange(64, 0, 2.0 * i + 1.6)]
    pm.instruments.append(inst)
    return pm


def feats(pm):
    return performance_features(pm, None)


@pytest.fixture(scope="module")
def take():
    return _take()


def test_the_identity_changes_nothing(take):
    same = express(take, Expression())
    assert [(n.pitch, n.velocity, n.start, n.end) for n in same.instruments[0].notes] == [
        (n.pitch, n.velocity, n.start, n.end) for n in take.instruments[0].notes]
    assert same is not take


@pytest.mark.parametrize("tempo", [0.8, 1.25])
def test_tempo_scales_every_interval(take, tempo):
    base, var = feats(take), feats(express(take, Expression(tempo=tempo)))
    assert var["ioi_mean"] == pytest.approx(base["ioi_mean"] / tempo, rel=1e-6)
    assert var["duration_s"] == pytest.approx(base["duration_s"] / tempo, rel=1e-6)
    assert var["pedal_down_frac"] == pytest.approx(base["pedal_down_frac"], abs=0.02)


def test_a_tempo_curve_is_rubato_and_keeps_the_pedal_with_the_notes(take):
    slow_end = Expression(tempo_curve=(0.0, 0.0, -0.3, -0.3))  # the second half slower
    var = express(take, slow_end)
    base_f, var_f = feats(take), feats(var)
    assert var_f["duration_s"] > base_f["duration_s"] and var_f["ioi_std"] > base_f["ioi_std"]
    starts = [n.start for n in var.instruments[0].notes]
    assert starts == sorted(starts)
    orig, new = take.instruments[0], var.instruments[0]
    # a pedal event that fell between two onsets still does, after the warp
    for c0, c1 in zip(orig.control_changes, new.control_changes, strict=True):
        before = sum(n.start <= c0.time for n in orig.notes)
        assert sum(n.start <= c1.time for n in new.notes) == before


def test_softer_is_quieter_and_balance_favours_the_upper_voice(take):
    base = feats(take)
    soft = feats(express(take, Expression(velocity=0.7)))
    assert soft["vel_mean"] < 0.75 * base["vel_mean"]
    up = feats(express(take, Expression(balance=0.5)))
    assert up["melody_vel_diff"] > base["melody_vel_diff"] + 5
    cresc = express(take, Expression(velocity_curve=(-0.4, 0.4)))
    assert feats(cresc)["vel_slope"] > base["vel_slope"]


def test_articulation_shortens_notes_and_keeps_onsets(take):
    base = feats(take)
    short = express(take, Expression(articulation=0.5))
    f = feats(short)
    assert f["artic_mean"] < base["artic_mean"] and f["staccato_frac"] > base["staccato_frac"]
    assert [n.start for n in short.instruments[0].notes] == [
        n.start for n in take.instruments[0].notes]
    long = feats(express(take, Expression(articulation=1.5)))
    assert long["legato_frac"] > base["legato_frac"]


def test_pedal_depth_and_timing(take):
    base = feats(take)
    assert feats(express(take, Expression(pedal_depth=0.0)))["pedal_down_frac"] == 0.0
    half = feats(express(take, Expression(pedal_depth=0.5)))
    assert half["pedal_value_mean"] == pytest.approx(0.5 * base["pedal_value_mean"], rel=0.05)
    late = express(take, Expression(pedal_shift=0.1)).instruments[0].control_changes
    assert [c.time for c in late] == pytest.approx(
        [c.time + 0.1 for c in take.instruments[0].control_changes])


def test_transposition_moves_pitch(take):
    assert feats(express(take, Expression(semitones=2)))["pitch_mean"] == pytest.approx(
        feats(take)["pitch_mean"] + 2)


def test_draw_is_deterministic_varied_and_in_range():
    a = expressive.draw("seg", 0)
    assert a == expressive.draw("seg", 0) and a != expressive.draw("seg", 1)
    assert a != expressive.draw("seg", 0, seed=1) and a != expressive.draw("other", 0)
    many = [expressive.draw("seg", k) for k in range(200)]
    tempi = np.log2([e.tempo for e in many])
    assert np.abs(tempi).max() <= expressive.TEMPO_LOG2 and tempi.min() < -0.2 < 0.2 < tempi.max()
    assert {e.soundfont for e in many} == {"fluidr3", "timgm6mb"}
    assert {e.pedal_depth for e in many} == set(expressive.PEDAL_DEPTHS)
    assert all(len(e.tempo_curve) == expressive.N_KNOTS for e in many)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="tempo must be positive"):
        Expression(tempo=0)
    with pytest.raises(ValueError, match="pedal_depth"):
        Expression(pedal_depth=-1)
