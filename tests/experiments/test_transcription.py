"""The transcription chapter's experiment: the subset it picks, and the whole route in the smoke
profile with a stand-in transcriber (the true MIDI with known errors), so the pipeline is
tested without the optional extra; ``tests/audio/test_transcription.py`` runs transkun itself."""

import numpy as np
import pandas as pd
import pytest

from percepiano import experiments
from percepiano.data.dataset import DIMENSIONS
from percepiano.experiments import transcription as X
from percepiano.experiments import transcription_scoring as S


def _segments():
    rows = []
    for composer, excerpts in (("A", 3), ("B", 2)):
        for e in range(excerpts):
            for p in range(4):
                rows.append({"name": f"{composer}{e}_{p}", "composer": composer,
                             "excerpt": f"{composer}{e}", "music_group": f"{composer}{e // 2}"})
    return pd.DataFrame(rows).set_index("name")


def test_subset_takes_whole_excerpts_alternating_composers_one_per_music_group():
    seg = _segments()
    seconds = pd.Series({n: 10.0 + int(n[1]) + 0.5 * (n[0] == "B") + 0.1 * int(n[-1])
                         for n in seg.index})
    names = X.subset(seg, seconds, 8)
    assert sorted({n.split("_")[0] for n in names}) == ["A0", "B0"]  # A1 shares A0's group
    more = X.subset(seg, seconds, 12)  # A's turn again: A1 shares A0's group, so A2
    assert {n.split("_")[0] for n in more} == {"A0", "B0", "A2"}
    assert X.subset(seg, seconds, None) == sorted(seg.index)
    few = X.subset(seg, seconds, 2)
    assert few == ["A0_0", "A0_1"]  # under one excerpt: its shortest performances
    assert X.part_of(names, seconds, 2) == ["A0_0", "A0_1"]


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    """transkun replaced by the rendered MIDI with its onsets moved 10 ms and velocities
    compressed: a transcriber whose errors are known."""
    from percepiano.audio import transcription
    from percepiano.evaluation import transcription as acc

    made = []

    def fake(y, sr, cache=None, progress=True, desc=""):
        name = desc.split(" (")[0]
        from percepiano.data import dataset

        ds = dataset.load()
        pm = acc.reference(open(ds.segments.midi_path[name], "rb").read(), name)
        for inst in pm.instruments:
            for n in inst.notes:
                n.start, n.end = n.start + 0.01, n.end + 0.01
                n.velocity = int(20 + 0.6 * n.velocity)
        path = tmp_path / f"{len(made)}.mid"
        pm.write(str(path))
        made.append(path)
        return path

    monkeypatch.setattr(transcription, "transcribe_cached", fake)
    monkeypatch.setattr(transcription, "timing", lambda path: None)
    return made


@pytest.mark.slow
def test_the_route_runs_in_smoke(ds, results_root, stand_in):
    res = experiments.run("transcription_route", "smoke")
    cfg = res.provenance["config"]
    acc = pd.DataFrame(res["accuracy"])
    assert len(acc) == cfg["min_segments"] + 2 * cfg["part"] == len(stand_in)
    assert (acc.onset_f1 > 0.99).all()  # 10 ms is inside mir_eval's 50-ms window
    assert np.allclose(acc.onset_error_ms, 10.0, atol=0.6)
    assert np.allclose(acc.velocity_slope, 0.6, atol=0.05)
    routes = pd.DataFrame(res["routes"]).set_index("route")
    assert {S.TRUE, S.transcribed("fluidr3"), S.audio("fluidr3")} <= set(routes.index)
    assert (routes.segments <= cfg["min_segments"]).all()
    oof = res.oof
    assert np.isfinite(oof[list(DIMENSIONS)].to_numpy()).all()
    assert set(oof.index) <= set(res["subset"])
