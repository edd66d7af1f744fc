import dataclasses

import numpy as np
import pandas as pd
import pretty_midi
import pytest

from percepiano.features import music


def midi(chords, dur=1.0, tempo=120.0) -> pretty_midi.PrettyMIDI:
    """One chord (a list of MIDI pitches) every ``dur`` s, each note held ``dur`` s."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    piano = pretty_midi.Instrument(program=0)
    for k, chord in enumerate(chords):
        piano.notes += [pretty_midi.Note(80, p, k * dur, (k + 1) * dur) for p in chord]
    pm.instruments.append(piano)
    return pm


C_SCALE = [[p] for p in (60, 62, 64, 65, 67, 69, 71, 72)]
A_MINOR = [[57, 60, 64], [62, 65, 69], [56, 59, 64], [57, 60, 64]]  # i iv V i


def test_key_and_mode():
    f = music.music_features(midi(C_SCALE + [[48, 52, 55, 60]] * 2))
    assert list(f) == list(music.DESCRIPTIONS)
    assert f["mode_major"] == 1 and f["key_fifths"] == 0
    assert f["tonic_cos"] == pytest.approx(1) and f["tonic_sin"] == pytest.approx(0, abs=1e-12)
    assert 0.7 < f["key_clarity"] <= 1
    m = music.music_features(midi(A_MINOR))
    assert m["mode_major"] == 0 and m["key_fifths"] == 3  # A: three fifths above C
    assert m["tonic_sin"] == pytest.approx(1) and m["tonic_cos"] == pytest.approx(0, abs=1e-12)
    c_triad = np.bincount([0, 4, 7], minlength=12)
    tonic, major, r = music.find_key(np.roll(c_triad, 7))  # G B D
    assert (tonic, major) == (7, True) and r == pytest.approx(music.find_key(c_triad)[2])
    with pytest.raises(ValueError, match="empty"):
        music.find_key(np.zeros(12))


def test_register_density_and_tempo_by_hand():
    # C4 held 2 s under E4, G4 (1 s each); then a 1-s C3-G3 dyad: 3 s, 3 onset groups
    pm = pretty_midi.PrettyMIDI(initial_tempo=90.0)
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(80, 60, 0, 2), pretty_midi.Note(80, 64, 0, 1),
                    pretty_midi.Note(80, 67, 1, 2), pretty_midi.Note(80, 48, 2, 3),
                    pretty_midi.Note(80, 55, 2, 3)]
    pm.instruments.append(piano)
    f = music.music_features(pm)
    mean = (60 * 2 + 64 + 67 + 48 + 55) / 6
    assert f["pitch_mean"] == pytest.approx(mean)
    var = (2 * (60 - mean) ** 2 + (64 - mean) ** 2 + (67 - mean) ** 2 + (48 - mean) ** 2
           + (55 - mean) ** 2) / 6
    assert f["pitch_std"] == pytest.approx(np.sqrt(var))
    assert f["pitch_range"] == 67 - 48
    assert f["bass_mean_pitch"] == pytest.approx((60 + 60 + 48) / 3)
    assert f["score_duration_s"] == 3 and f["onsets_per_s"] == pytest.approx(1)
    assert f["notes_per_onset"] == pytest.approx(5 / 3) and f["polyphony_mean"] == 2
    assert f["score_tempo_bpm"] == pytest.approx(90)  # 4.5 quarters in 3 s
    assert f["from_performance"] == 0
    # {0, 4} -> {0, 7} (held C plus new G) -> {0, 7}: one change only
    assert f["harmonic_changes_per_s"] == pytest.approx(1 / 3)
    assert f["harmonic_changes_per_quarter"] == pytest.approx(1 / 4.5)
    p = music.music_features(pm, from_performance=True)
    assert p["from_performance"] == 1 and np.isnan(p["score_tempo_bpm"])
    assert np.isnan(p["harmonic_changes_per_quarter"]) and p["pitch_mean"] == f["pitch_mean"]


def test_harmonic_changes_on_a_toy_progression():
    # C C F F G C, one chord per 0.5 s: changes C->F, F->G, G->C = 3 in 3 s
    c, f_, g = [48, 64, 67], [53, 65, 69], [55, 62, 71]
    pm = midi([c, c, f_, f_, g, c], dur=0.5)
    sets = music.pitch_class_sets(music._notes_and_controls(pm)[0])
    assert sets == [frozenset({0, 4, 7})] * 2 + [frozenset({5, 9})] * 2 + [
        frozenset({7, 2, 11}), frozenset({0, 4, 7})]
    feats = music.music_features(pm)
    assert feats["harmonic_changes_per_s"] == pytest.approx(3 / 3.0)
    assert feats["harmonic_changes_per_quarter"] == pytest.approx(3 / 6)  # 120 bpm: 6 quarters
    assert feats["onsets_per_s"] == pytest.approx(2) and feats["notes_per_onset"] == 3


def test_excerpt_relative_by_hand():
    X = pd.DataFrame({"a": [1.0, 2.0, 6.0, 10.0, 20.0, 5.0],
                      "b": [1.0, np.nan, 3.0, 4.0, 4.0, 1.0]}, index=list("pqrstu"))
    ex = pd.Series(["x", "x", "x", "y", "y", "z"], index=list("pqrstu"))
    rel = music.excerpt_relative(X, ex)
    assert list(rel.columns) == ["a@rel", "b@rel"] and list(rel.index) == list("pqrstu")
    assert rel["a@rel"].tolist()[:5] == [1 - 4, 2 - 3.5, 6 - 1.5, 10 - 20, 20 - 10]
    assert np.isnan(rel.loc["u"]).all()  # a lone take
    # b: NaN ignored in the means; q's own NaN stays NaN
    assert rel.loc["p", "b@rel"] == 1 - 3 and rel.loc["r", "b@rel"] == 3 - 1
    assert np.isnan(rel.loc["q", "b@rel"]) and rel.loc["s", "b@rel"] == 0
    two = music.excerpt_relative(X, ex, min_others=2)
    assert two.loc["p", "a@rel"] == -3 and np.isnan(two.loc["s", "a@rel"])
    assert np.isnan(two.loc["p", "b@rel"])  # only r has a b among p's others
    shuffled = music.excerpt_relative(X.iloc[::-1], ex)  # alignment by index, not position
    pd.testing.assert_frame_equal(shuffled.loc[rel.index], rel)
    with pytest.raises(ValueError, match="min_others"):
        music.excerpt_relative(X, ex, min_others=0)


def test_table_shares_rows_per_score_and_is_cached(ds, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    first = ds.segments.excerpt.iloc[0]
    same = list(ds.segments.index[ds.segments.excerpt == first][:2])
    other = ds.segments.index[ds.segments.excerpt != first][0]
    names = same + [other]
    small = dataclasses.replace(ds, segments=ds.segments.loc[names].copy())
    small.segments.loc[other, "score_midi_path"] = None  # falls back on the take itself
    table = music.music_feature_table(small, progress=False)
    assert list(table.index) == names and list(table.columns) == list(music.DESCRIPTIONS)
    assert (table.dtypes == np.float64).all()
    assert table.loc[same[0]].equals(table.loc[same[1]])  # one score, one row
    assert table.from_performance.tolist() == [0, 0, 1]
    assert 30 < table.loc[same[0], "score_tempo_bpm"] < 250
    assert np.isnan(table.loc[other, "score_tempo_bpm"])
    assert len(list((tmp_path / "features" / "music").glob("*.npy"))) == 2
    again = music.music_feature_table(small, progress=False, names=names)
    assert again.equals(table)
