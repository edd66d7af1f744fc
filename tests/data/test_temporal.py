"""The temporal split holds out the later excerpts of each work, and only those."""

import numpy as np
import pandas as pd
import pytest

from percepiano.data import temporal
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.temporal import cross_validate_temporal


def test_work_of_joins_the_theme_and_variations_of_woo80():
    assert temporal.work_of("Beethoven_WoO80_var12") == "Beethoven_WoO80"
    assert temporal.work_of("Beethoven_WoO80_thema") == "Beethoven_WoO80"
    assert temporal.work_of("Schubert_D960_mv3") == "Schubert_D960_mv3"


def test_first_bar_puts_excerpts_of_any_length_on_one_time_line():
    seg = pd.DataFrame({"segment": [1, 2, 7, 12], "bars": [16, 16, 16, 8]},
                       index=list("abcd"))
    assert temporal.first_bar(seg).tolist() == [0, 16, 96, 88]


def test_the_music_heard_last_is_held_out_and_no_music_is_on_both_sides(ds):
    test = temporal.temporal_test(ds.segments)
    seg = ds.segments.assign(work=ds.segments.piece.map(temporal.work_of), test=test,
                             bar=temporal.first_bar(ds.segments))
    assert seg.groupby("music_group").test.nunique().eq(1).all()  # whole music groups
    groups = seg.groupby("music_group").agg(work=("work", "first"), bar=("bar", "min"),
                                            test=("test", "first"))
    for _, g in groups.groupby("work"):
        if len(g) < 2:
            assert not g.test.any()
            continue
        # every held-out group is first heard after every training group of its work
        assert g[g.test].bar.min() > g[~g.test].bar.max()
        assert g.test.sum() == int(np.ceil(temporal.TEMPORAL_SHARE * len(g)))
    with pytest.raises(ValueError, match="share"):
        temporal.temporal_test(ds.segments, 1.0)


def test_a_repeat_of_earlier_music_is_not_new_music():
    # excerpt x at bar 0 and its repeat z at bar 48 are one music group, first heard at bar 0:
    # with two groups, the one first heard later (y, bar 16) is the test, not the repeat
    seg = pd.DataFrame({"piece": ["P"] * 3, "segment": [1, 2, 4], "bars": [16] * 3,
                        "music_group": ["x", "y", "x"]}, index=["x1", "y1", "z1"])
    assert temporal.temporal_test(seg, 0.5).to_dict() == {"x1": False, "y1": True,
                                                          "z1": False}


def test_cross_validate_temporal_trains_on_the_past_only(ds):
    seen = []

    def make(seed):
        def fit_predict(train, val, test):
            seen.append((set(train), set(val), list(test)))
            return np.full((len(test), len(DIMENSIONS)), 0.5)
        return fit_predict

    res = cross_validate_temporal(ds, [0, 1], make)
    test = temporal.temporal_test(ds.segments)
    for train, val, t in seen:
        assert set(t) == set(test.index[test]) and not (train | val) & set(t)
        assert not train & val and len(train | val) == int((~test).sum())
    assert len(res["seeds"]) == 2 and res["split"]["kind"] == "temporal"
    assert set(res["oof"].index) == set(test.index[test])
    assert isinstance(res["oof"], pd.DataFrame) and set(res["oof"].seed) == {0, 1}
