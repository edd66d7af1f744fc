"""The transcription chapter's tables and sentences say what the numbers say."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import transcription_readings as say
from percepiano.data.dataset import DIMENSIONS


def test_route_choice_follows_the_numbers_states_the_evidence_and_flags_a_stale_default():
    pw = {"notes": 0.66, "sound": 0.60}
    few = say.evidence(pd.Series(list("aabbccdd")))
    assert few == {"segments": 8, "units": 4, "floor": 0.125, "testable": False}
    text = say.route_choice(pw, "notes", "sound", "notes", few)
    assert "8 segments of 4 pieces of music" in text and "too little music for a test" in text
    assert "notes route ranked better" in text and "by default" in text
    assert "does not support" in say.route_choice(pw, "notes", "sound", "sound", few)
    many = say.evidence(pd.Series(np.arange(40) // 4))
    assert many["testable"] and many["floor"] == pytest.approx(2 / 2 ** 10)
    text = say.route_choice({"notes": 0.5, "sound": 0.6}, "notes", "sound", "sound", many)
    assert "sound route ranked better here" in text and "too little" not in text
    assert "too little to compare" in say.route_choice({"sound": 0.1}, "notes", "sound",
                                                       "notes", few)


def test_group_mean_knows_the_music_and_within_unit_r2_judges_against_it():
    rng = np.random.default_rng(0)
    units = pd.Series(np.repeat(["a", "b", "c"], 6), index=[f"s{i}" for i in range(18)])
    y = pd.DataFrame(rng.normal(np.repeat([0.3, 0.5, 0.7], 6)[:, None], 0.05, (18, 19)),
                     index=units.index, columns=list(DIMENSIONS))
    oracle = say.group_mean(y, units)
    assert np.allclose(oracle.loc["s0", list(DIMENSIONS)], y.iloc[:6].mean())
    assert list(oracle.columns) == list(DIMENSIONS)
    table = say.within_unit_r2(y, {"oracle": oracle, "truth": pd.concat(
        [y.assign(seed=0), y.assign(seed=1)])}, units)
    assert list(table.columns) == ["a", "b", "c"]
    assert np.allclose(table.loc["oracle"], 0.0) and np.allclose(table.loc["truth"], 1.0)
    assert "truth reaches above zero" in say.within_sentence(table)
    assert "every route's R² is below zero" in say.within_sentence(table - 2)


def test_accuracy_table_gives_means_with_intervals_per_version():
    rows = [{"version": "fluidr3", **{k: 0.5 + 0.1 * (i % 2) for k in say.ACCURACY}}
            for i in range(10)] + [{"version": "room", **{k: 0.2 for k in say.ACCURACY}}]
    t = say.accuracy_table(rows, n_boot=200)
    fl = t.loc[say.VERSIONS["fluidr3"]]
    assert fl["segments"] == 10 and fl["onset F1"].startswith("0.550 [")
    assert t.loc[say.VERSIONS["room"], "onset F1"] == "0.200 [0.200, 0.200]"


def test_dimension_loss_is_route_minus_reference_sorted():
    rows = [{"route": r, "dimension": d, "r2": v}
            for i, d in enumerate(DIMENSIONS)
            for r, v in (("true", 0.5), ("notes", 0.5 - 0.01 * i))]
    loss = say.dimension_loss(rows, "notes", "true")
    assert loss.iloc[0] == pytest.approx(-0.18) and loss.index[0] == DIMENSIONS[-1]
    assert (np.diff(loss.to_numpy()) >= 0).all()
    text = say.dimensions_sentence(loss, lambda d: d[:8])
    assert text.startswith("Through the transcription, the dimensions that lose most R² are")


def test_speed_reads_timed_transcriptions_only():
    rows = [{"seconds": 60.0, "audio_s": 10.0, "device": "cpu", "threads": 2},
            {"seconds": 30.0, "audio_s": 5.0, "device": "cpu", "threads": 2},
            {"audio_s": 5.0}]
    s = say.speed(rows)
    assert s["per_minute_s"] == pytest.approx(360.0) and s["n"] == 2
    assert say.speed([{"audio_s": 5.0}])["n"] == 0
    assert np.isnan(say.speed(pd.DataFrame([{"audio_s": 1.0}]).to_dict("records"))
                    ["per_minute_s"])


def test_accuracy_figure_draws_the_same_points_every_time_and_leaves_numpy_alone():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [{"version": v, "onset_f1": f, "velocity_f1": f / 2, "pedal_frame_f1": 1 - f}
            for v in say.VERSIONS for f in np.linspace(0.1, 0.9, 6)]
    np.random.seed(7)
    state = np.random.get_state()[1].copy()
    points = []
    for _ in range(2):
        fig = say.accuracy_figure(rows)
        points.append(np.concatenate([c.get_offsets() for c in fig.axes[0].collections]))
        plt.close(fig)
    assert points[0].shape == (3 * 3 * 6, 2)
    np.testing.assert_array_equal(points[0], points[1])  # the jitter is seeded
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # and numpy's put back


def test_route_table_leaves_out_intervals_on_two_pieces():
    music = pd.Series(list("aabbcc"), index=[f"s{i}" for i in range(6)])
    routes = pd.Series(["all"] * 6 + ["part"] * 4, index=list(music.index) + ["s0", "s1",
                                                                             "s2", "s3"])
    summary = pd.DataFrame([{"route": r, "metric": m, "estimate": 0.5, "ci_lo": 0.4,
                             "ci_hi": 0.6} for r in ("all", "part", "oracle")
                            for m in ("mean_r2", "mean_pairwise")])
    t = say.route_table(summary, routes, music, {"mean_pairwise": "pw", "mean_r2": "R²"})
    assert list(t.columns) == ["pw", "R²", "pieces"]
    assert t.loc["all", "pw"] == "0.500 [0.400, 0.600]" and t.loc["part", "R²"] == "0.500"
    assert t.pieces.to_dict() == {"all": 3, "part": 2, "oracle": 3}
