import numpy as np
import pretty_midi
import pytest

from percepiano.features import midi


def chords(ioi=0.5, lead=0.02, dur=0.4, pedal_until=1.0, n=4) -> pretty_midi.PrettyMIDI:
    """``n`` two-note chords every ``ioi`` s: melody C5 (velocity 80) leads the C4 bass
    (velocity 60) by ``lead`` s; every note lasts ``dur`` s; pedal down from 0 to
    ``pedal_until``."""
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    for k in range(n):
        t = k * ioi
        piano.notes += [pretty_midi.Note(80, 72, t, t + dur),
                        pretty_midi.Note(60, 60, t + lead, t + lead + dur)]
    if pedal_until:
        piano.control_changes += [pretty_midi.ControlChange(64, 127, 0.0),
                                  pretty_midi.ControlChange(64, 0, pedal_until)]
    pm.instruments.append(piano)
    return pm


def test_documented_names_and_known_values():
    f = midi.performance_features(chords())
    assert list(f) == list(midi.MIDI_FEATURES)
    assert set(midi.SCORE_FEATURES) < set(midi.MIDI_FEATURES)
    duration = 1.5 + 0.02 + 0.4
    assert f["n_notes"] == 8 and f["duration_s"] == pytest.approx(duration)
    assert f["onset_rate"] == pytest.approx(4 / duration)
    assert f["ioi_mean"] == pytest.approx(0.5) and f["ioi_cv"] == pytest.approx(0, abs=1e-9)
    assert f["tempo_bpm"] == pytest.approx(120)
    assert f["chord_fraction"] == 1.0
    assert f["async_mean_ms"] == pytest.approx(20) and f["melody_lead_ms"] == pytest.approx(20)
    assert f["vel_mean"] == 70 and f["melody_vel_diff"] == 20 and f["bass_vel_diff"] == -20
    assert f["melody_accomp_ratio"] == pytest.approx(80 / 60)
    assert f["vel_window_std"] == 0 and abs(f["vel_slope"]) < 1  # no crescendo
    assert f["dur_mean"] == pytest.approx(0.4)
    assert f["artic_median"] == pytest.approx((0.8 + 0.4 / 0.48) / 2)
    assert f["staccato_frac"] == 0 and f["legato_frac"] == 0
    assert f["melody_overlap_ms"] == pytest.approx(-100)  # 0.1-s gaps in the melody
    assert f["pedal_down_frac"] == pytest.approx(1.0 / duration, abs=0.01)
    assert f["pedal_changes_per_s"] == pytest.approx(1 / duration)
    assert f["polyphony_max"] == 2 and f["pitch_mean"] == 66
    assert all(np.isnan(f[k]) for k in midi.SCORE_FEATURES)  # no score given


def test_features_move_the_right_way():
    base = midi.performance_features(chords())
    dry = midi.performance_features(chords(pedal_until=0))
    assert dry["pedal_down_frac"] == 0 and dry["pedal_changes_per_s"] == 0
    assert dry["sounding_mean"] < base["sounding_mean"]
    assert dry["pedal_extension_s"] == 0 < base["pedal_extension_s"]
    legato = midi.performance_features(chords(dur=0.6))
    assert legato["artic_median"] > 1 and legato["legato_frac"] == 1
    assert legato["melody_overlap_ms"] == pytest.approx(100)
    together = midi.performance_features(chords(lead=0.0))
    assert together["async_mean_ms"] == 0 and together["melody_lead_ms"] == 0


def test_score_informed_features():
    score = chords(ioi=1.0, lead=0.0, dur=0.8, pedal_until=0)
    f = midi.performance_features(chords(), score)
    assert f["rel_tempo"] == pytest.approx((1.5 + 0.02) / 3.0)
    assert f["note_count_ratio"] == 1 and f["matched_frac"] == 1
    assert f["vel_vs_score"] == 0  # same velocities
    assert f["dur_vs_score"] == pytest.approx(np.log2(0.4 / (0.8 * 0.5)), abs=0.05)
    p, s = midi.match_notes(midi._notes_and_controls(chords())[0],
                            midi._notes_and_controls(score)[0])
    assert len(p) == len(s) == 8


def test_table_is_cached_and_complete(ds, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    names = list(ds.segments.index[[0, 500, 1000]])
    table = midi.midi_feature_table(ds, names=names, workers=1, progress=False)
    assert list(table.index) == names and list(table.columns) == list(midi.MIDI_FEATURES)
    basic = [c for c in table.columns if c not in ("vel_corr_score",)]
    assert np.isfinite(table[basic].to_numpy()).all()
    assert (table.rel_tempo > 0.2).all() and (table.matched_frac > 0.5).all()
    files = list((tmp_path / "features").glob("midi-*.npz"))
    assert len(files) == 1
    again = midi.midi_feature_table(ds, names=names, workers=2, progress=False)
    assert again.equals(table)
    # edited descriptor code never reads the rows of the old code: it keys another table
    monkeypatch.setattr(midi, "code_digest", lambda: "edited")
    midi.midi_feature_table(ds, names=names, workers=1, progress=False)
    assert len(list((tmp_path / "features").glob("midi-*.npz"))) == 2


def test_cli_features_midi(ds, tmp_path, monkeypatch, capsys):
    import dataclasses
    import json

    from percepiano.cli import features as features_cmd
    from percepiano.cli.main import main

    small = dataclasses.replace(ds, segments=ds.segments.iloc[:3])
    monkeypatch.setattr(features_cmd.dataset, "load", lambda data=None, part="all": small)
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    assert main(["features", "--kind", "midi", "--workers", "1", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["midi"]["segments"] == 3
    assert info["midi"]["features"] == len(midi.MIDI_FEATURES)
    assert main(["features", "--kind", "audio", "--soundfont", "missing.sf2"]) == 2
    assert "not found" in capsys.readouterr().err
