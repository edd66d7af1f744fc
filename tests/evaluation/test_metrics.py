import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from sklearn.metrics import mean_squared_error, r2_score

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import metrics

finite = st.floats(-10, 10, allow_nan=False, width=64)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(3, 30), st.integers(1, 5)), elements=finite),
       arrays(np.float64, st.tuples(st.integers(3, 30), st.integers(1, 5)), elements=finite))
def test_r2_and_mse_match_sklearn(a, b):
    n, d = min(len(a), len(b)), min(a.shape[1], b.shape[1])
    t, p = a[:n, :d], b[:n, :d]
    np.testing.assert_allclose(metrics.r2(t, p), r2_score(t, p, multioutput="raw_values"),
                               rtol=1e-9, atol=1e-9)
    assert np.isclose(metrics.r2(t, p).mean(), r2_score(t, p), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(metrics.mse(t, p),
                               mean_squared_error(t, p, multioutput="raw_values"), rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (12, 3), elements=finite), arrays(np.float64, (12, 3), elements=finite))
def test_correlations_match_scipy(t, p):
    r, rho = metrics.pearson(t, p), metrics.spearman(t, p)
    for j in range(3):
        if np.ptp(t[:, j]) == 0 or np.ptp(p[:, j]) == 0:
            assert r[j] == 0 and rho[j] == 0
            continue
        assert np.isclose(r[j], stats.pearsonr(t[:, j], p[:, j])[0], atol=1e-8)
        assert np.isclose(rho[j], stats.spearmanr(t[:, j], p[:, j])[0], atol=1e-8)


@pytest.mark.parametrize("scale", [1e-221, 1e-150, 1e150])
def test_correlations_of_tiny_and_huge_columns_match_scipy(scale):
    """A column of values near 1e-221 once scored r = 1.0 where scipy says 0.09: the squares
    underflowed to zero."""
    rng = np.random.default_rng(1)
    t, p = rng.normal(size=12), rng.normal(size=12)
    t[3] += 1.0
    expected = stats.pearsonr(t, p)[0]
    assert np.isclose(metrics.pearson(t * scale, p)[0], expected, atol=1e-12)
    assert np.isclose(metrics.pearson(t, p * scale)[0], expected, atol=1e-12)
    assert np.isclose(metrics.spearman(t * scale, p)[0], stats.spearmanr(t, p)[0], atol=1e-12)


def test_evaluate_known_values_and_ceiling():
    rng = np.random.default_rng(0)
    t = rng.random((50, 19))
    out = metrics.evaluate(t, t)
    assert out["mean_r2"] == 1.0 and np.isclose(out["mean_r"], 1.0) and out["mean_mse"] == 0
    const = metrics.evaluate(t, np.tile(t.mean(axis=0), (50, 1)))
    assert abs(const["mean_r2"]) < 1e-12 and const["mean_r"] == 0
    ceiling = {"ceiling_r": dict.fromkeys(DIMENSIONS, 0.5),
               "ceiling_r2": dict.fromkeys(DIMENSIONS, 0.25)}
    half = metrics.evaluate(t, t + 0.1 * rng.standard_normal(t.shape), ceiling)
    d = DIMENSIONS[3]
    pd_ = half["per_dimension"][d]
    assert np.isclose(pd_["r_norm"], pd_["r"] / 0.5)
    assert np.isclose(pd_["r2_norm"], pd_["r2"] / 0.25)
    assert np.isclose(half["mean_r_norm"], half["mean_r"] / 0.5)


def test_evaluate_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        metrics.evaluate(np.zeros((5, 19)), np.zeros((4, 19)))
    with pytest.raises(ValueError, match="expected 19 columns"):
        metrics.evaluate(np.zeros((5, 3)), np.zeros((5, 3)))


def test_within_excerpt_hand_computed():
    # excerpt a: labels 1, 2, 3; predictions order 3 > 1 > 2 -> pairs (1,2) wrong, (1,3) right,
    # (2,3) right; excerpt b: labels 5, 5 (no ordered pair), one performance alone in c
    t = np.array([1.0, 2.0, 3.0, 5.0, 5.0, 9.0])
    p = np.array([0.2, 0.1, 0.9, 0.3, 0.4, 0.0])
    out = metrics.within_excerpt(t, p, ["a", "a", "a", "b", "b", "c"])
    assert out["pairwise"][0] == pytest.approx(2 / 3)
    assert out["within_rho"][0] == pytest.approx(stats.spearmanr(t[:3], p[:3])[0])  # 0.5
    tie = metrics.within_excerpt(t[:3], np.array([0.1, 0.1, 0.9]), ["a"] * 3)
    assert tie["pairwise"][0] == pytest.approx((0.5 + 1 + 1) / 3)


def test_within_excerpt_ignores_the_music():
    """Adding a constant per excerpt to the predictions (recognising the music) changes nothing
    within excerpts, while it changes the overall correlation."""
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(10), 5)
    t = rng.normal(size=(50, 19))
    p = t + rng.normal(size=(50, 19))
    shifted = p + 10 * rng.normal(size=10)[groups][:, None]
    a, b = metrics.within_excerpt(t, p, groups), metrics.within_excerpt(t, shifted, groups)
    np.testing.assert_allclose(a["within_rho"], b["within_rho"])
    np.testing.assert_allclose(a["pairwise"], b["pairwise"])
    assert not np.allclose(metrics.pearson(t, p), metrics.pearson(t, shifted))
    perfect = metrics.evaluate(t, t, groups=groups)
    assert perfect["mean_pairwise"] == 1.0 and perfect["mean_within_rho"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="groups"):
        metrics.within_excerpt(t, p, groups[:-1])
