"""The temporal split holds out the later excerpts of each work, and only those."""

import numpy as np
import pandas as pd
import pytest

from percepiano.data import temporal
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.temporal import cross_validate_temporal


def test_work_of_joins_the_variations_of_woo80():
    assert temporal.work_of("Beethoven_WoO80_var12") == "Beethoven_WoO80"
    assert temporal.work_of("Schubert_D960_mv3") == "Schubert_D960_mv3"


def test_later_excerpts_are_held_out(ds):
    test = temporal.temporal_test(ds.segments)
    seg = ds.segments.assign(work=ds.segments.piece.map(temporal.work_of), test=test)
    ex = seg.groupby("excerpt").agg(work=("work", "first"), pos=("segment", "min"),
                                    test=("test", "first"))
    assert seg.groupby("excerpt").test.nunique().eq(1).all()  # whole excerpts
    for _, g in ex.groupby("work"):
        if len(g) < 2:
            assert not g.test.any()
            continue
        # every held-out excerpt comes after every training excerpt of its work
        assert g[g.test].pos.min() > g[~g.test].pos.max()
        assert g.test.sum() == int(np.ceil(temporal.TEMPORAL_SHARE * len(g)))
    with pytest.raises(ValueError, match="share"):
        temporal.temporal_test(ds.segments, 1.0)


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
