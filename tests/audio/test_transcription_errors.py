"""The transcription-error model: fitted on known errors it recovers them, and applied it draws
them reproducibly."""

import numpy as np
import pretty_midi
import pytest

from percepiano.audio import transcription_errors as TE


def _pm(n=60, seed=0, pedal=((0.0, 3.0), (5.0, 8.0), (10.0, 14.0))):
    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    for i in range(n):
        start = 0.25 * i
        piano.notes.append(pretty_midi.Note(int(rng.integers(20, 110)), 48 + i % 24, start,
                                            start + 0.2))
    for a, b in pedal:
        piano.control_changes += [pretty_midi.ControlChange(64, 100, a),
                                  pretty_midi.ControlChange(64, 0, b)]
    pm.instruments.append(piano)
    return pm


TRUE = TE.ErrorModel(onset_shift=0.01, onset_sd=0.008, velocity_intercept=20.0,
                     velocity_slope=0.6, velocity_sd=3.0, note_miss=0.1, pedal_keep=0.5,
                     pedal_edge_sd=0.05)


def test_fit_recovers_the_errors_it_is_shown():
    rng = np.random.default_rng(1)
    pairs = [(ref, TE.apply(ref, TRUE, rng)) for ref in (_pm(seed=s) for s in range(30))]
    got = TE.fit(pairs)
    assert got.onset_shift == pytest.approx(0.01, abs=0.003)
    assert got.onset_sd == pytest.approx(0.008, abs=0.002)
    assert got.velocity_slope == pytest.approx(0.6, abs=0.03)
    assert got.velocity_intercept == pytest.approx(20.0, abs=2.5)
    assert got.velocity_sd == pytest.approx(3.0, abs=0.5)
    assert got.note_miss == pytest.approx(0.1, abs=0.02)
    assert got.pedal_keep == pytest.approx(0.5, abs=0.12)
    assert got.n_presses == 90


def test_a_perfect_transcriber_has_no_errors():
    got = TE.fit([(_pm(seed=s), _pm(seed=s)) for s in range(3)])
    assert got.onset_sd == 0 and got.note_miss == 0 and got.pedal_keep == 1
    assert got.velocity_slope == pytest.approx(1.0) and got.velocity_sd == pytest.approx(0.0)


def test_apply_is_reproducible_and_leaves_the_original_alone():
    ref = _pm()
    before = [(n.start, n.velocity) for n in ref.instruments[0].notes]
    a = TE.apply(ref, TRUE, np.random.default_rng(5))
    b = TE.apply(ref, TRUE, np.random.default_rng(5))
    assert [(n.start, n.velocity) for n in a.instruments[0].notes] == \
        [(n.start, n.velocity) for n in b.instruments[0].notes]
    assert [(n.start, n.velocity) for n in ref.instruments[0].notes] == before
    assert all(1 <= n.velocity <= 127 for n in a.instruments[0].notes)
    assert len(TE.sustain_intervals(a)) <= len(TE.sustain_intervals(ref))


def test_nothing_matched_cannot_be_fitted():
    empty = pretty_midi.PrettyMIDI()
    empty.instruments.append(pretty_midi.Instrument(0))
    with pytest.raises(ValueError, match="no transcribed note"):
        TE.fit([(_pm(), empty)])
