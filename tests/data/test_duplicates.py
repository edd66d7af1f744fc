import numpy as np
import pandas as pd
import pretty_midi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from percepiano.data import duplicates


def _edits_within_dp(inner, outer):
    """Sellers' dynamic programme: edit distance of ``inner`` to the best substring of ``outer``."""
    prev = list(range(len(inner) + 1))
    best = prev[-1]
    for c in outer:
        cur = [0]  # a match may start anywhere in outer
        for i, x in enumerate(inner, start=1):
            cur.append(min(prev[i] + 1, cur[i - 1] + 1, prev[i - 1] + (x != c)))
        prev, best = cur, min(best, cur[-1])
    return best


symbols = st.lists(st.integers(0, 3), max_size=70)


@given(inner=symbols, outer=symbols)
def test_edits_within_matches_the_dynamic_programme(inner, outer):
    assert duplicates.edits_within(inner, outer) == _edits_within_dp(inner, outer)


def test_edits_within_exact_values():
    assert duplicates.edits_within([1, 2, 3], [9, 1, 2, 3, 9]) == 0
    assert duplicates.edits_within([1, 2, 3], [9, 1, 2, 7, 3, 9]) == 1  # one extra note
    assert duplicates.edits_within([1, 2, 3], []) == 3
    assert duplicates.edits_within([], [1]) == 0
    assert duplicates.edits_within([(60, 64, 100)], [(60, 64, 100)]) == 0  # notes as tuples


def _performance(path, notes):
    """Write (pitch, velocity, duration s) notes, one every 0.25 s, as a MIDI file."""
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    for i, (p, v, d) in enumerate(notes):
        inst.notes.append(pretty_midi.Note(velocity=v, pitch=p, start=0.25 * i,
                                           end=0.25 * i + d))
    pm.instruments.append(inst)
    pm.write(str(path))
    return str(path)


@pytest.fixture
def recordings(tmp_path):
    rng = np.random.default_rng(0)
    take = [(int(p), int(v), float(d)) for p, v, d in zip(
        rng.integers(40, 90, 80), rng.integers(30, 110, 80), rng.choice([0.2, 0.3, 0.45], 80),
        strict=True)]
    other = [(p, min(v + 7, 127), d) for p, v, d in take]  # same notes, played louder
    slip = take[:40] + [(p, v + 1, d) for p, v, d in take[40:41]] + take[41:]  # one velocity
    paths = {
        "P_8bars_1_1": _performance(tmp_path / "a.mid", take),
        "P_8bars_1_2": _performance(tmp_path / "b.mid", take),  # the same file twice
        "P_8bars_1_3": _performance(tmp_path / "c.mid", slip),
        "P_4bars_1_4": _performance(tmp_path / "d.mid", take[10:50]),  # a cut of the take
        "P_8bars_2_1": _performance(tmp_path / "e.mid", other),
    }
    return pd.DataFrame({"midi_path": paths}).rename_axis("name")


def test_identical_files(recordings):
    out = duplicates.identical_files(recordings)
    assert out.to_dict("list") == {"group": ["P_8bars_1_1", "P_8bars_1_1"],
                                   "name": ["P_8bars_1_1", "P_8bars_1_2"]}


def test_near_identical_pairs(recordings):
    out = duplicates.near_identical_pairs(recordings)
    pairs = {(a, b): m for a, b, m in zip(out.a, out.b, out.match, strict=True)}
    assert set(pairs) == {("P_8bars_1_1", "P_8bars_1_2"), ("P_8bars_1_1", "P_8bars_1_3"),
                          ("P_8bars_1_2", "P_8bars_1_3")}
    assert pairs["P_8bars_1_1", "P_8bars_1_2"] == 1.0
    assert pairs["P_8bars_1_1", "P_8bars_1_3"] == pytest.approx(79 / 80)  # one note differs
    assert out.same_file.tolist() == [True, False, False]
    assert list(out.columns) == ["a", "b", "match", "contained", "same_file"]
    # the cut is contained in the three copies of its take, but matches none of them as a whole
    cut = duplicates.near_identical_pairs(recordings, by="contained")
    inside = cut[cut.b == "P_8bars_1_1"].set_index("a")
    assert inside.loc["P_4bars_1_4", "contained"] == 1.0
    assert inside.loc["P_4bars_1_4", "match"] == pytest.approx(40 / 80)
    assert "P_8bars_2_1" not in set(cut.a) | set(cut.b)  # other velocities: another recording
    assert len(duplicates.near_identical_pairs(recordings, threshold=1.0)) == 1
    with pytest.raises(ValueError, match="unknown share"):
        duplicates.near_identical_pairs(recordings, by="length")


def test_test_retest_exact_values():
    labels = pd.DataFrame({"x": [0.1, 0.2, 0.5, 0.6, 0.9, 0.7], "y": [0.5] * 5 + [0.6]},
                          index=list("abcdef"))
    pairs = pd.DataFrame({"a": ["a", "c", "e"], "b": ["b", "d", "f"]})
    out = duplicates.test_retest(labels, pairs)
    assert out["n_pairs"] == 3
    assert out["mad"]["x"] == pytest.approx((0.1 + 0.1 + 0.2) / 3)
    assert out["mad"]["y"] == pytest.approx(0.1 / 3)
    first = [0.1, 0.5, 0.9, 0.2, 0.6, 0.7]
    second = [0.2, 0.6, 0.7, 0.1, 0.5, 0.9]
    assert out["r"]["x"] == pytest.approx(np.corrcoef(first, second)[0, 1])
    assert out["mean_mad"] == pytest.approx(out["mad"].mean())
    # double entry: which member is called a does not matter
    swapped = duplicates.test_retest(labels, pairs.rename(columns={"a": "b", "b": "a"}))
    pd.testing.assert_series_equal(swapped["r"], out["r"])
    with pytest.raises(ValueError, match="no labels"):
        duplicates.test_retest(labels, pd.DataFrame({"a": ["a", "c", "z"], "b": list("bdf")}))


# --------------------------------------------------------------------------- the real data


def test_percepiano_identical_files(full):
    out = duplicates.identical_files(full.segments)
    assert out.group.nunique() == 21 and len(out) == 46
    group = out.set_index("name")["group"]
    assert group["Schubert_D960_mv3_16bars_0_19"] == group["Schubert_D960_mv3_8bars_0_37"]


def test_percepiano_near_identical_pairs(full, ds):
    threshold = 0.95
    out = duplicates.near_identical_pairs(full.segments, threshold)
    # every byte-identical pair is found, at 100 %
    files = duplicates.identical_files(full.segments)
    n_same = sum(len(g) * (len(g) - 1) // 2 for _, g in files.groupby("group"))
    assert out.same_file.sum() == n_same
    assert (out.match[out.same_file] == 1.0).all()
    assert (out.match >= threshold).all() and (out.contained >= out.match).all()
    # the copies were rated separately: their labels agree, though not exactly (the pairs of
    # the development part: the final exam's labels stay locked)
    dev = out[out.a.isin(ds.names) & out.b.isin(ds.names)]
    tr = duplicates.test_retest(ds.labels, dev)
    assert tr["n_pairs"] == len(dev) > 0
    assert 0.3 < tr["mean_r"] < 1 and 0 < tr["mean_mad"] < 0.15
