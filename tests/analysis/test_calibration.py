"""Shrinkage and spread-skill: known answers on simulated predictions."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import calibration


def _labels(n=4000, d=3, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n, d))
    return signal, signal + rng.normal(size=(n, d))  # what a model can know, and the ratings


def test_a_model_that_halves_its_predictions_has_slope_two_and_a_quarter_of_the_variance():
    signal, y = _labels()
    out = calibration.shrinkage(y, 0.5 * signal)
    assert out.calibration_slope.to_numpy() == pytest.approx([2.0] * 3, abs=0.1)
    # var(0.5 s) / var(s + e) = 0.25 / 2
    assert out.variance_ratio.to_numpy() == pytest.approx([0.125] * 3, abs=0.01)
    exact = calibration.shrinkage(y, signal)
    assert exact.calibration_slope.to_numpy() == pytest.approx([1.0] * 3, abs=0.05)
    over = calibration.shrinkage(y, 2.0 * signal)
    assert (over.calibration_slope < 0.6).all()  # overreaching predictions
    off = calibration.shrinkage(y, signal + 0.3)
    assert off.calibration_in_the_large.to_numpy() == pytest.approx(
        y.mean(0) - signal.mean(0) - 0.3, abs=1e-12)


def test_dimension_names_come_from_a_frame_and_constant_predictions_give_nan():
    y = pd.DataFrame(np.random.default_rng(1).normal(size=(10, 2)), columns=["a", "b"])
    p = pd.DataFrame({"a": np.zeros(10), "b": np.arange(10.0)})
    out = calibration.shrinkage(y, p)
    assert list(out.index) == ["a", "b"] and np.isnan(out.calibration_slope["a"])
    assert out.variance_ratio["a"] == 0.0


def test_spread_skill_is_positive_when_members_disagree_where_the_mean_errs():
    rng = np.random.default_rng(2)
    n, d = 3000, 2
    y = rng.normal(size=(n, d))
    scale = rng.uniform(0.05, 1.0, size=(n, d))  # how hard each segment is
    members = y + scale * rng.normal(size=(5, n, d))
    out = calibration.spread_skill(y, members)
    assert (out.spread_skill_rho > 0.3).all()
    blind = y + 0.5 * rng.normal(size=(5, n, d))  # the same difficulty everywhere
    assert (calibration.spread_skill(y, blind).spread_skill_rho.abs() < 0.1).all()
    assert out.mean_abs_error.to_numpy() == pytest.approx(
        np.abs(members.mean(0) - y).mean(0))


def test_bad_shapes_are_refused():
    y = np.zeros((5, 2))
    with pytest.raises(ValueError, match="one \\(n, d\\) shape"):
        calibration.shrinkage(y, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="three segments"):
        calibration.shrinkage(y[:2], y[:2])
    with pytest.raises(ValueError, match="members >= 2"):
        calibration.spread_skill(y, y[None])
    with pytest.raises(ValueError, match="finite"):
        calibration.shrinkage(y, np.full((5, 2), np.nan))
