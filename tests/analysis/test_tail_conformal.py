"""Intervals that cover unusual ratings: where plain split conformal keeps its level only on
average, the stretched, difficulty-scaled intervals keep it in every group of labels."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import tail_conformal as tc
from percepiano.analysis.conformal import Conformal, fold_coverage

UNBOUNDED = (-np.inf, np.inf)


def _data(n, seed, d=4):
    """Labels (n, d) around 0.5; predictions that see a signal in them but shrink it toward
    the mean (as out-of-fold predictions do); three descriptors, the first of which marks a
    kind of take (about one in six) whose labels stray twice as far from the prediction."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, 3))
    signal = rng.normal(size=(n, d))
    scale = 0.5 + 0.5 * (rows[:, :1] > 1)
    y = 0.5 + 0.08 * (signal + rng.normal(size=(n, d)) * scale)
    return y, 0.5 + 0.08 * 0.6 * signal, rows


@pytest.fixture(scope="module")
def fresh():
    """Intervals calibrated on 1000 segments, scored on 5000 new ones (both kinds)."""
    y, p, rows = _data(1000, 0)
    y_new, p_new, rows_new = _data(5000, 1)
    tail = tc.TailConformal.fit(y, p, 0.8, rows, seed=0)
    plain = Conformal.fit(pd.DataFrame(y), pd.DataFrame(p), 0.8)
    hard = rows_new[:, 0] > 1
    return (tc.group_coverage(y_new, *tail.interval(p_new, UNBOUNDED, rows_new), hard),
            tc.group_coverage(y_new, *plain.interval(p_new, UNBOUNDED), hard), tail)


def test_plain_intervals_hold_on_average_but_miss_the_outer_tenths(fresh):
    _, plain, _ = fresh
    assert plain["marginal"] == pytest.approx(0.8, abs=0.02)
    assert plain["outer"] < 0.4 and plain["middle"] > 0.9 and plain["deadpan"] < 0.65


def test_tail_intervals_hold_in_every_group_without_widening_the_middle(fresh):
    """The outer tenths within ten points of nominal (the design's ``TAIL_LEVEL``), the middle
    and the hard kind of take near it, and the middle labels' intervals no wider than plain
    ones, as the difficulty forest narrows the easy takes'."""
    tail, plain, fitted = fresh
    assert tail["marginal"] == pytest.approx(0.8, abs=0.02)
    assert tail["outer"] >= 0.68 and tail["middle"] >= 0.78 and tail["deadpan"] >= 0.7
    assert tail["width"] <= plain["width"]
    assert 0 < fitted.stretch <= tc.STRETCHES[-1] and fitted.tail_level == pytest.approx(0.7)


def test_intervals_of_two_levels_nest():
    y, p, rows = _data(300, 6, d=3)
    (lo8, hi8), (lo9, hi9) = (tc.TailConformal.fit(y, p, level, rows).interval(p, UNBOUNDED, rows)
                              for level in (0.8, 0.9))
    assert np.all((lo9 <= lo8) & (hi8 <= hi9)) and np.all(hi9 - lo9 > hi8 - lo8)


def test_interval_holds_the_prediction_is_clipped_and_needs_its_rows():
    y, p, rows = _data(300, 2, d=2)
    c = tc.TailConformal.fit(y, p, 0.9, rows, folds=np.arange(300) % 3)
    low, high = c.interval(p[:5], (0.45, 0.55), rows[:5])
    assert low.shape == high.shape == (5, 2)
    assert np.all(low >= 0.45) and np.all(high <= 0.55)
    assert np.all((low <= np.clip(p[:5], 0.45, 0.55)) & (np.clip(p[:5], 0.45, 0.55) <= high))
    one = c.interval(p[0], UNBOUNDED, rows[0])
    assert one[0].shape == (2,) and one[0][0] <= p[0, 0] <= one[1][0]
    with pytest.raises(ValueError, match="descriptor rows"):
        c.interval(p[:5])
    without = tc.TailConformal.fit(y, p, 0.9)  # the predictions alone
    assert not without.with_rows and without.interval(p[:5])[0].shape == (5, 2)


def test_refuses_bad_levels_shapes_and_too_few_segments():
    y, p, _ = _data(20, 3, d=2)
    with pytest.raises(ValueError, match="strictly between"):
        tc.TailConformal.fit(y, p, 1.0)
    with pytest.raises(ValueError, match="same"):
        tc.TailConformal.fit(y, p[:, :1], 0.8)
    with pytest.raises(ValueError, match="cannot give 99% coverage"):
        tc.TailConformal.fit(y, p, 0.99)
    with pytest.raises(ValueError, match="unknown method"):
        tc.fold_intervals(y, p, np.arange(20) % 2, 0.8, "cqr")


def test_out_of_fold_plain_coverage_matches_fold_coverage():
    """``fold_intervals(..., "marginal")`` is ``conformal.fold_coverage``'s procedure."""
    y, p, _ = _data(400, 4)
    folds = np.arange(400) % 4
    low, high = tc.fold_intervals(y, p, folds, 0.8, "marginal")
    want = fold_coverage(pd.DataFrame(y), pd.DataFrame(p), folds, 0.8)
    np.testing.assert_allclose(tc.group_coverage(y, low, high)["per_dimension"], want)


def test_group_coverage_counts_each_group():
    y = np.arange(20.0)[:, None]  # the outer tenths: 0, 1 and 18, 19
    low, high = y - 0.5, y + 0.5
    low[[0, 5]] = y[[0, 5]] + 0.25  # miss one outer label and one middle label
    g = tc.group_coverage(y, low, high, deadpan=np.arange(20) < 2)
    assert g["outer"] == 0.75 and g["middle"] == 15 / 16 and g["deadpan"] == 0.5
    assert g["marginal"] == 0.9 and g["width"] == pytest.approx((15 * 1.0 + 0.25) / 16)


def test_coverage_by_method_is_json_able_per_level():
    import json

    y, p, rows = _data(200, 5, d=2)
    out = tc.coverage_by_method(y, p, np.arange(200) % 4, (0.8,), rows, rows[:, 0] > 1)
    json.dumps(out)
    for key in ("coverage", "coverage_marginal"):
        c = out[key]["0.8"]
        assert set(c) == {"mean", "min", "max", "marginal", "outer", "middle", "width",
                          "deadpan"}
        assert c["min"] <= c["mean"] <= c["max"] and c["mean"] == pytest.approx(c["marginal"])


def test_calibration_rows_of_a_single_fold_cross_fit_over_random_folds():
    from percepiano.analysis.tail_conformal import TailConformal

    rng = np.random.default_rng(0)
    y = rng.normal(0.5, 0.1, (80, 3))
    p = 0.5 + 0.5 * (y - 0.5) + rng.normal(0, 0.03, y.shape)
    one = TailConformal.fit(y, p, 0.8, folds=np.zeros(80, int))
    assert np.array_equal(one.q, TailConformal.fit(y, p, 0.8).q)
