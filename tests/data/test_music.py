import numpy as np
import pandas as pd
import pretty_midi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from percepiano.data import duplicates, music, splits


def _midi(path, pitches):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    for i, p in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(velocity=64, pitch=p, start=0.5 * i, end=0.5 * i + 0.4))
    pm.instruments.append(inst)
    pm.write(str(path))
    return str(path)


def test_groups_merge_contained_and_repeated_music(tmp_path):
    a = list(range(40, 70))            # 30 notes
    b = list(range(70, 100))
    rows = {
        "P_16bars_x_1": ("P", "P_16bars_1", _midi(tmp_path / "long.mid", a + b)),
        "P_8bars_x_1": ("P", "P_8bars_1", _midi(tmp_path / "a.mid", a)),
        "P_8bars_x_2": ("P", "P_8bars_2", _midi(tmp_path / "b.mid", b)),
        "P_8bars_x_9": ("P", "P_8bars_9", _midi(tmp_path / "a2.mid", [1] + a[1:-1] + [2])),
        "P_8bars_x_3": ("P", "P_8bars_3", _midi(tmp_path / "c.mid", list(range(20, 50, 3)) * 3)),
        "Q_8bars_x_1": ("Q", "Q_8bars_1", _midi(tmp_path / "q.mid", a)),  # other piece
    }
    seg = pd.DataFrame([{"name": n, "piece": p, "excerpt": e, "score_midi_path": m}
                        for n, (p, e, m) in rows.items()]).set_index("name")
    g = music.music_groups(seg)
    # the 16-bar excerpt holds both 8-bar ones; the repeat with other boundary notes joins too
    assert g["P_8bars_1"] == g["P_8bars_2"] == g["P_16bars_1"] == g["P_8bars_9"]
    assert g["P_8bars_3"] == "P_8bars_3"          # different music stays alone
    assert g["Q_8bars_1"] == "Q_8bars_1"          # never merged across pieces


def test_percepiano_music_groups(full):
    seg = full.segments
    g = seg.drop_duplicates("excerpt").set_index("excerpt")["music_group"]
    assert g["Schubert_D960_mv2_8bars_1"] == g["Schubert_D960_mv2_8bars_2"] == \
        g["Schubert_D960_mv2_16bars_1"]
    assert seg.music_group.nunique() < seg.excerpt.nunique()
    # every Beethoven variation is different music
    beethoven = seg[seg.composer == "Beethoven"]
    assert beethoven.music_group.nunique() == beethoven.excerpt.nunique() == 17


def test_nested_excerpts_with_a_few_extra_notes_merge(tmp_path):
    rng = np.random.default_rng(1)
    a = [int(p) for p in rng.integers(40, 90, 60)]
    b = [int(p) for p in rng.integers(40, 90, 60)]
    # the 16-bar rendering doubles two bass notes inside the first half and drops one
    long = a[:20] + [30] + a[20:40] + [31] + a[40:50] + a[51:] + b
    rows = {
        "P_16bars_x_1": ("P", "P_16bars_1", _midi(tmp_path / "long.mid", long)),
        "P_8bars_x_1": ("P", "P_8bars_1", _midi(tmp_path / "a.mid", a)),
        "P_8bars_x_2": ("P", "P_8bars_2", _midi(tmp_path / "b.mid", b)),
    }
    seg = pd.DataFrame([{"name": n, "piece": p, "excerpt": e, "score_midi_path": m}
                        for n, (p, e, m) in rows.items()]).set_index("name")
    assert music.music_groups(seg, min_match=1.0)["P_8bars_1"] == "P_8bars_1"  # exact: missed
    g = music.music_groups(seg)
    assert g["P_8bars_1"] == g["P_8bars_2"] == g["P_16bars_1"] == "P_16bars_1"


def test_one_recording_under_two_excerpt_ids_merges_them(tmp_path):
    rng = np.random.default_rng(2)
    scores = [[int(p) for p in rng.integers(40, 90, 40)] for _ in range(3)]
    take = _midi(tmp_path / "take.mid", scores[0])
    rows = {  # excerpt 2's file is excerpt 1's recording; excerpt 3 is played as written
        "P_8bars_x_1": ("P_8bars_1", _midi(tmp_path / "s1.mid", scores[0]), take),
        "P_8bars_x_2": ("P_8bars_2", _midi(tmp_path / "s2.mid", scores[1]), take),
        "P_8bars_x_3": ("P_8bars_3", _midi(tmp_path / "s3.mid", scores[2]),
                        _midi(tmp_path / "p3.mid", scores[2])),
    }
    seg = pd.DataFrame([{"name": n, "piece": "P", "excerpt": e, "score_midi_path": s,
                         "midi_path": m} for n, (e, s, m) in rows.items()]).set_index("name")
    g = music.music_groups(seg)
    assert g["P_8bars_2"] == g["P_8bars_1"] == "P_8bars_1"
    assert g["P_8bars_3"] == "P_8bars_3"
    assert music.music_groups(seg.drop(columns="midi_path"))["P_8bars_2"] == "P_8bars_2"


def test_stored_groups_are_read_back_for_the_same_files_and_code_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(3)
    scores = [[int(p) for p in rng.integers(40, 90, 40)] for _ in range(2)]
    take = _midi(tmp_path / "take.mid", scores[0])
    seg = pd.DataFrame([{"name": f"P_8bars_x_{i}", "piece": "P", "excerpt": f"P_8bars_{i}",
                         "score_midi_path": _midi(tmp_path / f"s{i}.mid", scores[i - 1]),
                         "midi_path": take} for i in (1, 2)]).set_index("name")
    g = music.stored_music_groups(seg)
    assert g.equals(music.music_groups(seg)) and g["P_8bars_2"] == "P_8bars_1"
    with monkeypatch.context() as m:  # read back: nothing is computed again
        m.setattr(music, "near_identical_pairs", lambda *a, **k: pytest.fail("recomputed"))
        assert music.stored_music_groups(seg).equals(g)
    seg.loc["P_8bars_x_2", "midi_path"] = _midi(tmp_path / "own.mid", scores[1])  # other bytes
    assert music.stored_music_groups(seg)["P_8bars_2"] == "P_8bars_2"
    assert len(list((tmp_path / "cache" / "music").glob("*.json"))) == 2


@given(seed=st.integers(0, 2**32 - 1), n_edits=st.integers(0, 5))
def test_score_match_forgives_edits_within_budget_only(seed, n_edits):
    rng = np.random.default_rng(seed)
    outer = [int(p) for p in rng.integers(40, 90, 150)]
    start = int(rng.integers(0, 50))
    inner = outer[start:start + 80]
    for _ in range(n_edits):  # insertions and deletions anywhere inside
        i = int(rng.integers(1, len(inner) - 1))
        inner = inner[:i] + [int(rng.integers(40, 90))] + inner[i:] if rng.random() < 0.5 \
            else inner[:i] + inner[i + 1:]
    assert music.score_match(inner, outer) >= 1 - n_edits / (len(inner) - 10)
    assert music.score_match(inner, outer) >= music.MIN_MATCH
    unrelated = [int(p) for p in rng.integers(40, 90, 80)]
    assert music.score_match(unrelated, outer) < music.MIN_MATCH


def test_percepiano_nested_excerpts_with_extra_notes(full):
    g = full.segments.drop_duplicates("excerpt").set_index("excerpt")["music_group"]
    mv3 = "Schubert_D960_mv3_"
    nested = {"16bars_1": ["8bars_1", "8bars_27", "8bars_2", "8bars_28"],
              "16bars_7": ["8bars_3", "8bars_12", "8bars_29", "8bars_4", "8bars_13", "8bars_30"],
              "16bars_19": ["8bars_11", "8bars_20", "8bars_37"]}
    for outer, inner in nested.items():
        assert {g[mv3 + e] for e in inner} == {g[mv3 + outer]}, outer
    assert full.segments.music_group.nunique() == 47


def test_percepiano_identical_recordings_share_a_group(full):
    seg = full.segments
    assert seg.music_group["Schubert_D960_mv3_16bars_0_19"] == \
        seg.music_group["Schubert_D960_mv3_8bars_0_37"]
    files = duplicates.identical_files(seg)
    assert (files.groupby("group")["name"]
            .apply(lambda names: seg.music_group[names].nunique()) == 1).all()


def test_percepiano_no_recording_crosses_piece_folds(full):
    folds = splits.make_folds(full.segments, "piece", 4, 0)
    for by in ("match", "contained"):  # the same recording, or a cut of it
        pairs = duplicates.near_identical_pairs(full.segments, 0.95, by=by)
        assert len(pairs) >= 48
        crossing = pairs[folds[pairs.a].to_numpy() != folds[pairs.b].to_numpy()]
        assert crossing.empty, crossing.head().to_string()
