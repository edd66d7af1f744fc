"""Transcription accuracy: the mir_eval note metrics, velocity fit and sustain-pedal frames read
what a transcription got right and wrong."""

import numpy as np
import pretty_midi
import pytest

from percepiano.evaluation import transcription as T


def _pm(notes, pedal=(), scale=1.0, shift=0.0):
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    for start, end, pitch, vel in notes:
        piano.notes.append(pretty_midi.Note(int(np.clip(round(vel * scale), 1, 127)), pitch,
                                            start + shift, end + shift))
    for down, up in pedal:
        piano.control_changes += [pretty_midi.ControlChange(64, 100, down),
                                  pretty_midi.ControlChange(64, 0, up)]
    pm.instruments.append(piano)
    return pm


NOTES = [(0.5 * i, 0.5 * i + 0.4, 60 + (i % 7), 30 + 9 * i) for i in range(10)]


def test_a_perfect_transcription_scores_one():
    ref = _pm(NOTES, [(0.0, 1.0), (2.0, 3.0)])
    s = T.scores(ref, _pm(NOTES, [(0.0, 1.0), (2.0, 3.0)]))
    for key in ("onset_f1", "onset_offset_f1", "velocity_f1", "pedal_frame_f1",
                "pedal_onset_f1", "velocity_r", "velocity_slope"):
        assert s[key] == pytest.approx(1.0), key
    assert s["onset_error_ms"] == pytest.approx(0.0)


def test_onsets_count_within_50_ms_only():
    ref = _pm(NOTES)
    near = T.note_scores(ref, _pm(NOTES, shift=0.03))
    assert near["onset_f1"] == pytest.approx(1.0)
    assert near["onset_error_ms"] == pytest.approx(30.0, abs=0.01)
    assert T.note_scores(ref, _pm(NOTES, shift=0.08))["onset_f1"] == 0.0
    half = T.note_scores(ref, _pm(NOTES[:5]))
    assert half["onset_precision"] == 1.0 and half["onset_recall"] == pytest.approx(0.5)


def test_velocity_slope_reads_a_compressed_dynamic_range():
    s = T.note_scores(_pm(NOTES), _pm(NOTES, scale=0.5))
    assert s["velocity_r"] > 0.99
    assert s["velocity_slope"] == pytest.approx(0.5, abs=0.02)


def test_pedal_frames_score_the_overlap():
    ref = _pm(NOTES, [(0.0, 2.0)])
    s = T.pedal_scores(ref, _pm(NOTES, [(1.0, 3.0)]))
    assert s["pedal_frame_precision"] == pytest.approx(0.5, abs=0.01)
    assert s["pedal_frame_recall"] == pytest.approx(0.5, abs=0.01)
    assert s["pedal_onset_f1"] == 0.0  # pressed a second late
    none = T.pedal_scores(_pm(NOTES), _pm(NOTES))
    assert none["pedal_frame_f1"] == 1.0 and none["pedal_presses_ref"] == 0
    missed = T.pedal_scores(ref, _pm(NOTES))
    assert missed["pedal_frame_f1"] == 0.0 and missed["pedal_frame_recall"] == 0.0


def test_a_press_still_down_at_the_end_closes_at_the_last_release():
    pm = _pm(NOTES)
    pm.instruments[0].control_changes.append(pretty_midi.ControlChange(64, 127, 1.0))
    assert T.sustain_intervals(pm).tolist() == [[1.0, NOTES[-1][1]]]


def test_an_empty_reference_is_refused():
    with pytest.raises(ValueError, match="no notes"):
        T.note_scores(_pm([]), _pm(NOTES))
