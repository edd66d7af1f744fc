import pandas as pd
import pretty_midi

from percepiano.data import music


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


def test_percepiano_music_groups(ds):
    seg = ds.segments
    g = seg.drop_duplicates("excerpt").set_index("excerpt")["music_group"]
    assert g["Schubert_D960_mv2_8bars_1"] == g["Schubert_D960_mv2_8bars_2"] == \
        g["Schubert_D960_mv2_16bars_1"]
    assert seg.music_group.nunique() < seg.excerpt.nunique()
    # every Beethoven variation is different music
    beethoven = seg[seg.composer == "Beethoven"]
    assert beethoven.music_group.nunique() == beethoven.excerpt.nunique() == 17
