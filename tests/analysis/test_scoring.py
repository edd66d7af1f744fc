"""Scoring a performance file: descriptors per window, the 1-7 scale with poles, intervals and
percentiles."""

import json

import numpy as np
import pretty_midi
import pytest
import soundfile

from percepiano.analysis import final, scoring
from percepiano.audio import render
from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.data.poles import POLES, label
from percepiano.errors import UserError
from percepiano.features.takes import TAKE_FEATURES
from percepiano.models import forest


@pytest.fixture(scope="module")
def model(data_root):
    dev = dataset.subset(dataset.load(data_root), 120)
    return final.build(dev, "midi", cfg=forest.preset("smoke"), progress=False)


def _melody(seconds: float, pedal: bool = True) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    rng = np.random.default_rng(0)
    t = 0.0
    while t < seconds - 0.5:
        d = float(rng.uniform(0.2, 0.5))
        inst.notes.append(pretty_midi.Note(int(rng.integers(50, 100)), int(rng.integers(55, 80)),
                                           t, t + 0.9 * d))
        t += d
    if pedal:
        inst.control_changes += [pretty_midi.ControlChange(64, 100 * (i % 2), 2.0 * i)
                                 for i in range(int(seconds / 2))]
    pm.instruments.append(inst)
    return pm


def test_every_dimension_has_two_poles():
    assert list(POLES) == list(DIMENSIONS)
    assert label("Pedal_Sparse/dry_Saturated/wet") == "Pedal: sparse, dry (1) - saturated, wet (7)"
    assert all(lo != hi and lo and hi for lo, hi in POLES.values())


def test_input_kind():
    assert scoring.input_kind("a/b.MID") == "midi" and scoring.input_kind("x.flac") == "audio"
    with pytest.raises(UserError, match="unknown file type '.aiff'"):
        scoring.input_kind("take.aiff")


def test_a_midi_take_is_scored_on_the_rating_scale(tmp_path, model):
    _melody(20.0).write(str(tmp_path / "take.mid"))
    take = scoring.read_take(tmp_path / "take.mid", model.columns)
    assert take.kind == "midi" and take.rows.shape == (1, len(model.columns))
    prof = scoring.score(take, model, 0.9)
    json.dumps(prof)  # JSON-able as it is
    assert prof["windows"] == 1 and prof["level"] == 0.9 and len(prof["dimensions"]) == 19
    pred = model.predict(take.rows)[0]
    assert prof["percentile_of"] == model.percentile_of
    for d, p, pct in zip(prof["dimensions"], pred * 7, model.percentile(pred), strict=True):
        assert d["score"] == pytest.approx(p) and d["percentile"] == pct
        assert 1 <= d["low"] <= d["score"] <= d["high"] <= 7
        assert 0 <= d["percentile"] <= 100
    wide = scoring.score(take, model, 0.95)["dimensions"]
    assert all(w["high"] - w["low"] >= d["high"] - d["low"] for w, d in
               zip(wide, prof["dimensions"], strict=True))
    take.widen = 1.5  # a doubtful transcription: 1.5 rating points more each side, in 1-7
    for w, d in zip(scoring.score(take, model, 0.9)["dimensions"], prof["dimensions"],
                    strict=True):
        assert w["score"] == d["score"]
        assert w["low"] == pytest.approx(max(1.0, d["low"] - 1.5))
        assert w["high"] == pytest.approx(min(7.0, d["high"] + 1.5))
    lines = scoring.table(prof).splitlines()
    assert len(lines) == 20 and lines[0].split()[:2] == ["dimension", "score"]
    assert lines[4].startswith("Pedal: sparse, dry (1) - saturated, wet (7)")


def test_a_long_midi_take_is_scored_in_windows(tmp_path, model):
    _melody(200.0).write(str(tmp_path / "long.mid"))
    take = scoring.read_take(tmp_path / "long.mid", model.columns)
    assert len(take.spans) == 7 and take.rows.shape[0] == 7
    prof = scoring.score(take, model)
    assert prof["windows"] == 7 and "scored in 7 spans" in prof["notes"][0]
    per_window = np.array([w["scores"] for w in prof["window_scores"]])
    np.testing.assert_allclose([d["score"] for d in prof["dimensions"]], per_window.mean(0),
                               atol=2e-3)


def test_a_take_played_again_and_again_scores_as_the_take(tmp_path, model):
    from percepiano.audio import midi_conditions as mc

    _melody(15.0).write(str(tmp_path / "once.mid"))
    (tmp_path / "again.mid").write_bytes(mc.repeat_midi((tmp_path / "once.mid").read_bytes(),
                                                        12))
    once = scoring.score(scoring.read_take(tmp_path / "once.mid", model.columns), model)
    take = scoring.read_take(tmp_path / "again.mid", model.columns)
    again = scoring.score(take, model)
    assert take.repeats == 12 and len(take.spans) == 12
    assert "the same music played 12 times in a row" in again["notes"][0]
    for a, b in zip(once["dimensions"], again["dimensions"], strict=True):
        assert b["score"] == pytest.approx(a["score"], abs=1e-9)


def test_a_recording_is_cut_to_its_music_and_split_at_long_pauses(tmp_path):
    y = render.render_midi(_melody(50.0), sr=scoring.SR)
    gap = np.zeros(20 * scoring.SR, np.float32)
    soundfile.write(tmp_path / "long.wav", np.concatenate([gap, y, gap, y, gap]), scoring.SR)
    columns = [f"audio:{n}" for n in TAKE_FEATURES][:7]
    take = scoring.read_take(tmp_path / "long.wav", columns)
    assert len(take.spans) == 2 and take.rows.shape == (2, 7)  # two passages, no silence
    assert take.spans[1][0] - take.spans[0][1] > 15
    assert 95 < take.seconds < 105  # the two passages' music, the pause left out
    assert any("LUFS as recorded" in n and "left out" in n for n in take.notes)


@pytest.mark.parametrize("duration, n", [(10.0, 1), (120.0, 1), (121.0, 4), (600.0, 20)])
def test_windows_cover_the_performance(duration, n):
    spans = scoring.windows(duration, 120.0, 30.0)
    assert len(spans) == n and spans[0][0] == 0.0 and spans[-1][1] == duration
    assert all(a[1] == b[0] for a, b in zip(spans[:-1], spans[1:], strict=True))
    assert len({round(e - s, 9) for s, e in spans}) == 1  # equal lengths
