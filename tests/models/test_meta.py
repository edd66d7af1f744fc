"""The few-shot networks: supervised training fits, head-only adaptation moves only the head,
Reptile runs one compiled loop, and bad episodes are refused."""

import jax
import numpy as np
import pytest

from percepiano.models import meta

CFG = meta.MetaConfig(hidden=16, steps=400, lr=1e-2, meta_steps=60, adapt_steps=10)


def _data(n=160, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = 0.5 + X @ rng.normal(size=(d, 19)) * 0.05 + 0.01 * rng.normal(size=(n, 19))
    X[0, 1] = np.nan  # a missing descriptor takes the training median
    return X, Y


def test_fit_learns_a_linear_map_and_is_deterministic():
    X, Y = _data()
    net = meta.fit(X, Y, CFG, seed=0)
    var = np.mean((Y - Y.mean(0)) ** 2)
    assert np.mean((net.predict(X) - Y) ** 2) < 0.3 * var
    assert np.allclose(net.predict(X[:5]), meta.fit(X, Y, CFG, seed=0).predict(X[:5]))
    assert net.predict(X[:3]).shape == (3, 19) and np.isfinite(net.predict(X)).all()


def test_adapt_moves_the_head_only_when_asked_and_nothing_without_support():
    X, Y = _data()
    net = meta.fit(X, Y, CFG)
    head = meta.adapt(net, X[:3], Y[:3] + 0.2, CFG, head_only=True)
    moved = {k: max(float(np.abs(a - b).max()) for a, b in
                    zip(jax.tree.leaves(net.params[k]), jax.tree.leaves(head.params[k]),
                        strict=True)) for k in ("fc1", "fc2", "head")}
    assert moved["fc1"] == moved["fc2"] == 0.0 and moved["head"] > 0
    assert head.predict(X[3:]).mean() > net.predict(X[3:]).mean()  # toward the support
    assert meta.adapt(net, X[:0], Y[:0], CFG) is net


def test_reptile_from_the_supervised_weights_keeps_them_useful():
    X, Y = _data()
    start = meta.fit(X, Y, CFG)
    eps = [(list(range(i, i + 2)), list(range(i + 2, i + 8))) for i in range(0, 150, 8)]
    net = meta.meta_fit(X, Y, eps, CFG, start=start)
    var = np.mean((Y - Y.mean(0)) ** 2)
    assert np.mean((net.predict(X) - Y) ** 2) < 0.5 * var
    with pytest.raises(ValueError, match="same number of rows"):
        meta.meta_fit(X, Y, [([0], [1, 2]), ([3], [4])], CFG)
    with pytest.raises(ValueError, match="needs episodes"):
        meta.meta_fit(X, Y, [], CFG)


def test_the_compiled_loops_do_not_retrace_for_another_support_of_the_same_size():
    X, Y = _data()
    net = meta.fit(X, Y, CFG)
    meta.adapt(net, X[:4], Y[:4], CFG)
    before = meta._sgd._cache_size()
    meta.adapt(net, X[4:8], Y[4:8], CFG)
    assert meta._sgd._cache_size() == before


def test_held_out_groups_are_whole_groups_never_all_of_them():
    groups = np.repeat(np.arange(5), 4)
    val = meta.held_out_groups(groups, 0.4, seed=0)
    assert set(groups[val]).isdisjoint(groups[~val]) and len(set(groups[val])) == 2
    assert meta.held_out_groups(groups, 1.0, 0).sum() == 16  # one group always trains
    assert meta.held_out_groups(groups, 0.0, 0).sum() == 4  # and one always validates
    with pytest.raises(ValueError, match="two groups"):
        meta.held_out_groups(np.zeros(6), 0.2, 0)


def test_early_stopping_on_held_out_groups_stops_before_memorising_noise():
    """Targets of pure noise: a long fit memorises them; early stopping on held-out groups
    keeps weights that predict fresh rows better."""
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(200, 20)), 0.5 + 0.1 * rng.normal(size=(200, 19))
    Xn, Yn = rng.normal(size=(200, 20)), 0.5 + 0.1 * rng.normal(size=(200, 19))
    cfg = meta.MetaConfig(hidden=64, steps=1500, lr=1e-2, eval_every=50, patience=2,
                          dropout=0.0, input_dropout=0.0)
    stopped = meta.fit(X, Y, cfg, groups=np.repeat(np.arange(10), 20))
    full = meta.fit(X, Y, cfg)
    assert (np.mean((stopped.predict(Xn) - Yn) ** 2)
            < 0.8 * np.mean((full.predict(Xn) - Yn) ** 2))
