"""Long takes: windows cut where the music pauses, and a take that repeats the same music
scored once per repetition."""

import numpy as np
import pretty_midi
import pytest

from percepiano.analysis import scoring
from percepiano.analysis import spans as sp


def _phrases(n: int, seconds: float = 14.0, rest: float = 1.0, seed: int = 0, same=False):
    """``n`` phrases of ``seconds`` of legato notes, a ``rest`` between them; the same phrase
    each time when ``same``, else new notes each."""
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    t = 0.0
    for k in range(n):
        rng = np.random.default_rng(seed if same else seed + k)
        end = t + seconds
        while t < end:
            d = float(rng.uniform(0.2, 0.5))
            inst.notes.append(pretty_midi.Note(70, int(rng.integers(48, 84)), t, t + d))
            t += d
        t += rest
    pm.instruments.append(inst)
    return pm


def test_windows_without_cuts_are_equal_and_a_short_take_is_whole():
    assert sp.windows(100.0) == [(0.0, 100.0)]
    w = sp.windows(300.0)
    assert len(w) == 10 and np.allclose([b - a for a, b in w], 30.0)


def test_an_edge_moves_to_the_strongest_boundary_within_a_third_of_a_window():
    times = np.array([28.0, 33.0, 45.0, 61.0])
    strength = np.array([0.2, 1.5, 9.0, 0.1])  # 45 s: too far from the edge at 30 s
    w = sp.windows(150.0, 120.0, 30.0, (times, strength))
    assert [round(a, 1) for a, _ in w] == [0.0, 33.0, 61.0, 90.0, 120.0]
    assert w[-1][1] == 150.0


def test_rests_are_the_silences_before_onsets():
    pm = _phrases(3, seconds=5.0, rest=2.0)
    times, strength = sp.rests(pm)
    assert strength.max() == pytest.approx(2.0, abs=0.51)
    assert np.sum(strength > 1.0) == 2  # the two rests between the three phrases


def test_a_long_take_is_cut_at_its_rests():
    pm = _phrases(9, seconds=14.0, rest=1.0)  # 135 s: over LONG_S, windows at the rests
    found, times = scoring.note_spans(pm, 0.0, pm.get_end_time())
    assert times == 0 and len(found) == round(pm.get_end_time() / sp.WINDOW_S)
    onsets = {round(n.start, 6) for n in pm.instruments[0].notes}
    rest_starts = sorted(t for t, s in zip(*sp.rests(pm), strict=True) if s > 0.5)
    for a, _ in found[1:]:
        assert round(a, 6) in onsets and min(abs(a - r) for r in rest_starts) < 1e-6


def test_a_take_that_repeats_is_found_and_scored_once_per_repetition():
    pm = _phrases(12, seconds=14.0, rest=1.0, same=True)
    starts = sp.repeats(pm)
    assert starts is not None and len(starts) == 12
    assert np.allclose(np.diff(starts), np.diff(starts)[0], atol=0.5)
    found, times = scoring.note_spans(pm, 0.0, pm.get_end_time())
    assert times == 12 and len(found) == 12
    assert sp.repeats(_phrases(12, seconds=14.0, rest=1.0)) is None  # new music each time


def test_a_repeated_short_figure_is_a_texture_not_a_repeat():
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for k in range(400):  # an Alberti bass: four notes again and again, 0.1 s each
        t = 0.1 * k
        inst.notes.append(pretty_midi.Note(60, [48, 55, 52, 55][k % 4], t, t + 0.1))
    pm.instruments.append(inst)
    assert sp.repeats(pm) is None
