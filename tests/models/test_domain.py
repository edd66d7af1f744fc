"""Domain adaptation of descriptor tables: per-domain standardisation and CORAL align the
moments they promise, and refuse what they cannot do."""

import numpy as np
import pytest

from percepiano.models import domain


def _two_domains(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(300, 4)) @ np.array([[2, 1, 0, 0], [0, 1, 0, 0], [0, 0, 3, 1],
                                              [0, 0, 0, 1.0]]) + 5
    B = rng.normal(size=(200, 4)) * [1, 4, 0.5, 2] - 3
    X = np.vstack([A, B])
    X[3, 2] = np.nan  # a missing descriptor takes its domain's median
    return X, np.array(["a"] * 300 + ["b"] * 200)


def test_per_domain_standardisation_centres_and_scales_each_domain():
    X, dom = _two_domains()
    Z = domain.per_domain_standardise(X, dom)
    assert Z.shape == X.shape and np.isfinite(Z).all()
    for d in "ab":
        assert np.allclose(Z[dom == d].mean(0), 0, atol=1e-12)
        assert np.allclose(Z[dom == d].std(0), 1, atol=1e-12)
    const = domain.per_domain_standardise(np.ones((4, 2)), np.array([0, 0, 1, 1]))
    assert (const == 0).all()


def test_coral_matches_the_source_covariance_to_the_target_and_leaves_the_target_alone():
    X, dom = _two_domains()
    Z = domain.coral(X, dom, target="b", eps=1e-6)
    std = domain.per_domain_standardise(X, dom)
    assert np.allclose(Z[dom == "b"], std[dom == "b"])
    cs, ct = np.cov(Z[dom == "a"], rowvar=False), np.cov(Z[dom == "b"], rowvar=False)
    assert np.allclose(cs, ct, atol=1e-4)  # second moments aligned
    before = np.cov(std[dom == "a"], rowvar=False)
    assert not np.allclose(before, ct, atol=0.1)  # and they were not before
    with pytest.raises(ValueError, match="target domain"):
        domain.coral(X, dom, target="c")
    with pytest.raises(ValueError, match=r"\(n, d\) table"):
        domain.per_domain_standardise(X, dom[:-1])
