"""The classical few-shot learners: the bar, the up-weighted forest and ridge on tiny inputs."""

import numpy as np
import pytest

from percepiano.models import adapt, forest


def _data(n=120, k=4, m=10, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n + k + m, d))
    Y = np.clip(0.5 + 0.05 * X[:, :1] + 0.01 * rng.normal(size=(n + k + m, 19)), 0, 1)
    return X[:n], Y[:n], X[n:n + k], Y[n:n + k], X[n + k:], Y[n + k:]


def test_support_weights_give_the_support_its_share():
    w = adapt.support_weights(300, 4, share=0.25)
    assert w.shape == (304,) and (w[:300] == 1).all()
    assert w[300:].sum() / w.sum() == pytest.approx(0.25)
    assert (adapt.support_weights(300, 0) == 1).all()
    with pytest.raises(ValueError, match="share"):
        adapt.support_weights(10, 2, share=1.0)


def test_the_bar_is_the_support_mean_or_the_training_mean():
    Xt, Yt, Xs, Ys, Xq, _ = _data()
    assert np.allclose(adapt.support_mean(Yt, Ys, 3), np.tile(Ys.mean(0), (3, 1)))
    assert np.allclose(adapt.support_mean(Yt, Ys[:0], 2), np.tile(Yt.mean(0), (2, 1)))


def test_a_heavier_support_pulls_the_forest_and_ridge_toward_it():
    """A new work rated higher than every training work: the more weight its few labelled rows
    get, the closer the query predictions come to its level."""
    Xt, Yt, Xs, Ys, Xq, _ = _data()
    Ys = Ys + 0.3  # the new piece is rated higher throughout
    cfg = forest.preset("smoke")
    for learner in (lambda s: adapt.weighted_forest(Xt, Yt, Xs, Ys, Xq, cfg, 0, share=s),
                    lambda s: adapt.ridge(Xt, Yt, Xs, Ys, Xq, share=s)):
        low, high = learner(0.0).mean(), learner(0.5).mean()
        assert low < high < Ys.mean() + 0.05
        assert learner(0.5).shape == (len(Xq), 19)
    none = adapt.ridge(Xt, Yt, Xs[:0], Ys[:0], Xq)  # k = 0: the training rows alone
    assert none.shape == (len(Xq), 19) and abs(none.mean() - Yt.mean()) < 0.05


def test_ridge_alpha_is_chosen_over_groups_and_prefers_a_large_penalty_on_noise():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(8), 20)
    X = rng.normal(size=(160, 30))
    noise = rng.normal(size=(160, 19))  # nothing to learn: a penalty that shrinks to the mean
    assert adapt.ridge_alpha(X, noise, groups) >= 1000
    signal = X[:, :19] + 0.01 * rng.normal(size=(160, 19))  # a clean linear map: the weakest
    assert adapt.ridge_alpha(X, signal, groups) == min(adapt.ALPHAS)
    assert adapt.ridge_alpha(X, noise, groups % 3) >= 1000  # three groups: three folds
    with pytest.raises(ValueError, match="at least 2 groups"):
        adapt.ridge_alpha(X, noise, np.zeros(160))
