"""Training losses against hand-computed values and finite differences; the excerpt sampler."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from percepiano.training import losses, sampling

LN2 = np.log(2.0)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _fd_grad(f, x, h=1e-6):
    """Central finite differences of the scalar f at the float64 array x."""
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (float(f(jnp.asarray(up))) - float(f(jnp.asarray(down)))) / (2 * h)
    return g


# ranking example: rows 0-2 perform excerpt 0, row 3 excerpt 1 (its extreme values would change
# the loss if it were paired across groups). Dimension 0: targets 0 < 1 < 2, so every pair has
# an order; dimension 1: rows 0 and 1 differ by 0.03 <= tie, so (0, 1) is ignored there.
RANK_PRED = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.0], [9.0, -9.0]], np.float32)
RANK_TARGET = np.array([[0.0, 0.0], [1.0, 0.03], [2.0, 1.0], [-5.0, 7.0]], np.float32)
RANK_GROUPS = np.array([0, 0, 0, 1], np.int32)


def test_mse_and_weighted_mse_by_hand():
    p = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    t = jnp.array([[0.0, 2.0], [3.0, 2.0]])
    # squared errors [[1, 0], [0, 4]] -> mean 5 / 4
    assert float(losses.mse(p, t)) == pytest.approx(1.25)
    assert losses.mse(p, t).dtype == jnp.float32 and losses.mse(p, t).shape == ()
    # w = (2, 0.5): weighted [[2, 0], [0, 2]] -> row sums / D = 1, 1 -> 1
    assert float(losses.weighted_mse(p, t, jnp.array([2.0, 0.5]))) == pytest.approx(1.0)
    assert float(losses.weighted_mse(p, t, jnp.ones(2))) == pytest.approx(1.25)
    with pytest.raises(ValueError, match="weights"):
        losses.weighted_mse(p, t, jnp.ones(3))
    with pytest.raises(ValueError, match="pred and target"):
        losses.mse(p, t[:1])


def test_pearson_by_hand():
    # column 0: p = (1, 2, 4), t = (1, 3, 2): centred (-4/3, -1/3, 5/3), (-1, 1, 0);
    # sum xy = 1, sum x² = 14/3, sum y² = 2 -> r = sqrt(3/28).
    # column 1: p = (1, 2, 3), t = (3, 2, 1): r = -1 -> 1 - r = 2.
    p = jnp.array([[1.0, 1.0], [2.0, 2.0], [4.0, 3.0]])
    t = jnp.array([[1.0, 3.0], [3.0, 2.0], [2.0, 1.0]])
    want = ((1 - np.sqrt(3 / 28)) + 2.0) / 2
    assert float(losses.pearson(p, t)) == pytest.approx(want, abs=1e-5)


def test_ccc_by_hand_and_penalises_a_shift_pearson_ignores():
    # column 0: p = (1, 2, 3), t = (2, 3, 4): var 2/3 each, cov 2/3, shift 1
    #   -> CCC = (4/3) / (4/3 + 1) = 4/7, loss 3/7.
    # column 1: p = (1, 2, 4), t = (1, 3, 2): var_p 14/9, var_t 2/3, cov 1/3, shift² 1/9
    #   -> CCC = (2/3) / (7/3) = 2/7, loss 5/7.   mean (3/7 + 5/7) / 2 = 4/7
    p = jnp.array([[1.0, 1.0], [2.0, 2.0], [3.0, 4.0]])
    t = jnp.array([[2.0, 1.0], [3.0, 3.0], [4.0, 2.0]])
    assert float(losses.ccc(p, t)) == pytest.approx(4 / 7, abs=1e-5)
    shifted_p, shifted_t = p[:, :1], t[:, :1]  # t = p + 1
    assert float(losses.pearson(shifted_p, shifted_t)) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.ccc(shifted_p, shifted_t)) == pytest.approx(3 / 7, abs=1e-5)


def test_perfect_predictions_give_zero_correlation_losses():
    t = jnp.asarray(np.random.default_rng(0).normal(size=(8, 3)), jnp.float32)
    assert float(losses.pearson(t, t)) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.ccc(t, t)) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.pearson(-t, t)) == pytest.approx(2.0, abs=1e-5)


def test_pair_mask_counts_each_unordered_same_group_untied_pair_once():
    mask = np.asarray(losses.pair_mask(jnp.asarray(RANK_TARGET), jnp.asarray(RANK_GROUPS)))
    assert mask.shape == (4, 4, 2)
    # dimension 0: (0,1), (0,2), (1,2); dimension 1: (0,2), (1,2) -- (0,1) tied, row 3 alone
    assert sorted(zip(*np.nonzero(mask), strict=True)) == [
        (0, 1, 0), (0, 2, 0), (0, 2, 1), (1, 2, 0), (1, 2, 1)]


def test_ranking_by_hand():
    p, t, g = jnp.asarray(RANK_PRED), jnp.asarray(RANK_TARGET), jnp.asarray(RANK_GROUPS)
    # with (hi, lo) the rows of higher and lower target, each entry scores f(p_hi - p_lo):
    # dim 0: (1 over 0) 1, (2 over 0) 0.5, (2 over 1) -0.5; dim 1: (2 over 0) 0, (2 over 1) 0
    gaps = np.array([1.0, 0.5, -0.5, 0.0, 0.0])
    want = _softplus(-gaps).mean()  # = (sp(-1) + sp(-0.5) + sp(0.5) + 2 ln 2) / 5
    assert float(losses.ranking(p, t, g)) == pytest.approx(want, rel=1e-6)
    assert want == pytest.approx((_softplus(-1) + _softplus(-0.5) + _softplus(0.5) + 2 * LN2) / 5)
    # hinge, margin 0.1: relu(0.1 - gap) = 0, 0, 0.6, 0.1, 0.1 -> 0.8 / 5
    assert float(losses.ranking(p, t, g, kind="margin")) == pytest.approx(0.16, rel=1e-6)
    assert float(losses.ranking(p, t, g, kind="margin", margin=1.0)) == pytest.approx(
        (0 + 0.5 + 1.5 + 1 + 1) / 5, rel=1e-6)


def test_ranking_ignores_ties_and_pairs_across_groups():
    p, t, g = jnp.asarray(RANK_PRED), jnp.asarray(RANK_TARGET), jnp.asarray(RANK_GROUPS)
    base = float(losses.ranking(p, t, g))
    # moving row 3 (alone in its group) or the tied dimension-1 predictions of rows 0 and 1
    # relative to each other changes nothing
    assert float(losses.ranking(p.at[3].set(jnp.array([-50.0, 50.0])), t, g)) == base
    moved = p.at[0, 1].add(0.3).at[1, 1].add(0.3)
    assert float(losses.ranking(moved, t, g)) == pytest.approx(
        (_softplus(-1) + _softplus(-0.5) + _softplus(0.5) + 2 * _softplus(0.3)) / 5, rel=1e-6)
    # with tie 1.5 only dimension 0's (0, 2) pair (targets 2 apart, gap 0.5) is left
    assert float(losses.ranking(p, t, g, tie=1.5)) == pytest.approx(_softplus(-0.5), rel=1e-6)
    # put row 3 in group 0: its pairs now count and the loss changes
    assert float(losses.ranking(p, t, jnp.array([0, 0, 0, 0]))) != pytest.approx(base)


@pytest.mark.parametrize("groups", [[-1, -1, 0, 1], [0, 1, 2, 3], [-1, -1, -1, -1]])
def test_ranking_without_pairs_is_zero_with_zero_gradient(groups):
    p, t, g = jnp.asarray(RANK_PRED), jnp.asarray(RANK_TARGET), jnp.asarray(groups)
    value, grad = jax.jit(jax.value_and_grad(losses.ranking))(p, t, g)
    assert float(value) == 0.0
    assert np.all(np.isfinite(grad)) and not np.any(grad)


def test_ranking_jits_and_raises_on_bad_arguments():
    p, t, g = jnp.asarray(RANK_PRED), jnp.asarray(RANK_TARGET), jnp.asarray(RANK_GROUPS)
    jitted = jax.jit(losses.ranking, static_argnames="kind")
    for kind in ("logistic", "margin"):
        assert float(jitted(p, t, g, kind=kind)) == pytest.approx(
            float(losses.ranking(p, t, g, kind=kind)), rel=1e-6)
    with pytest.raises(ValueError, match="unknown ranking kind"):
        losses.ranking(p, t, g, kind="hinge")
    with pytest.raises(ValueError, match="needs groups"):
        losses.LOSSES["ranking"](p, t, None)
    with pytest.raises(ValueError, match="groups"):
        losses.ranking(p, t, g[:3])


def test_every_loss_takes_groups_uniformly():
    p, t, g = jnp.asarray(RANK_PRED), jnp.asarray(RANK_TARGET), jnp.asarray(RANK_GROUPS)
    assert set(losses.LOSSES) == {"mse", "pearson", "ccc", "ranking"}
    for name, fn in losses.LOSSES.items():
        value = fn(p, t, g)
        assert value.shape == () and np.isfinite(float(value)), name


GRAD_CASES = [
    ("mse", losses.mse),
    ("pearson", losses.pearson),
    ("ccc", losses.ccc),
    ("logistic", losses.ranking),
    ("margin", lambda p, t, g: losses.ranking(p, t, g, kind="margin", margin=0.5)),
]


@pytest.mark.parametrize("name,fn", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_match_finite_differences(name, fn):
    rng = np.random.default_rng(1)
    p0, t0 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    with jax.enable_x64(True):
        t, g = jnp.asarray(t0), jnp.asarray([0, 0, 1, 1, 1])

        def f(p):
            return fn(p, t, g)

        grad = np.asarray(jax.grad(f)(jnp.asarray(p0)))
        assert grad.dtype == np.float64 and np.any(grad)
        np.testing.assert_allclose(grad, _fd_grad(f, p0), rtol=1e-5, atol=1e-8)


def test_uncertainty_weighted_by_hand_and_gradient():
    # exp(0) * 1 + 0 + exp(-ln 2) * 2 + ln 2 = 2 + ln 2
    value = losses.uncertainty_weighted(jnp.array([1.0, 2.0]), jnp.array([0.0, LN2]))
    assert float(value) == pytest.approx(2 + LN2, rel=1e-6)
    with jax.enable_x64(True):
        x0 = np.array([1.0, 2.0, 0.5, 0.0, LN2, -0.3])  # losses then log-variances

        def f(x):
            return losses.uncertainty_weighted(x[:3], x[3:])

        grad = np.asarray(jax.grad(f)(jnp.asarray(x0)))
        # d/dL_k = exp(-s_k); d/ds_k = 1 - exp(-s_k) L_k
        np.testing.assert_allclose(grad[:3], np.exp(-x0[3:]), rtol=1e-12)
        np.testing.assert_allclose(grad, _fd_grad(f, x0), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="log_vars"):
        losses.uncertainty_weighted(jnp.ones(2), jnp.ones(3))


def test_dimension_weights():
    # clipped (0.5, 0.25, 0.05, 0.05), mean 0.2125
    w = losses.dimension_weights(np.array([0.5, 0.25, -0.1, 0.05]))
    assert w.dtype == np.float32 and w.shape == (4,)
    np.testing.assert_allclose(w, np.array([0.5, 0.25, 0.05, 0.05]) / 0.2125, rtol=1e-6)
    assert w.mean() == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="finite"):
        losses.dimension_weights(np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="shape"):
        losses.dimension_weights(np.ones((2, 2)))
    with pytest.raises(ValueError, match="floor"):
        losses.dimension_weights(np.array([-1.0, -2.0]), floor=0.0)


# the sampler: 14 excerpts with 1 to 12 performances, 72 segments, labels as strings
COUNTS = [1, 2, 3, 4, 5, 6, 7, 8, 4, 4, 8, 12, 3, 5]
LABELS = np.array([f"e{i}" for i, c in enumerate(COUNTS) for _ in range(c)])


def test_group_ids_in_first_appearance_order():
    ids = sampling.group_ids(["b", "a", "b", "c", "a"])
    assert ids.dtype == np.int32 and ids.tolist() == [0, 1, 0, 2, 1]


@pytest.mark.parametrize("batch_size,per_excerpt", [(8, 4), (9, 4), (6, 2)])
def test_excerpt_batches_come_in_blocks_of_one_excerpt(batch_size, per_excerpt):
    out = sampling.excerpt_batches(LABELS, batch_size, per_excerpt, seed=0, epoch=0)
    assert out.shape == (72 // batch_size, batch_size)
    assert np.issubdtype(out.dtype, np.integer) and out.min() >= 0 and out.max() < 72
    k = batch_size // per_excerpt
    for batch in out:
        blocks = LABELS[batch[:k * per_excerpt]].reshape(k, per_excerpt)
        assert (blocks == blocks[:, :1]).all()
        # as many distinct performances as the excerpt has, up to per_excerpt
        for rows in batch[:k * per_excerpt].reshape(k, per_excerpt):
            m = (LABELS == LABELS[rows[0]]).sum()
            assert len(set(rows)) == min(m, per_excerpt)
        rest = batch[k * per_excerpt:]  # the remainder: other segments, each once
        assert len(set(rest)) == len(rest) and not set(rest) & set(batch[:k * per_excerpt])


def test_excerpt_batches_are_seeded_per_epoch_and_cover_the_epoch():
    a = sampling.excerpt_batches(LABELS, 8, 4, seed=3, epoch=1)
    np.testing.assert_array_equal(a, sampling.excerpt_batches(LABELS, 8, 4, seed=3, epoch=1))
    assert not np.array_equal(a, sampling.excerpt_batches(LABELS, 8, 4, seed=3, epoch=2))
    assert not np.array_equal(a, sampling.excerpt_batches(LABELS, 8, 4, seed=4, epoch=1))
    coverage = [len(np.unique(sampling.excerpt_batches(LABELS, 8, 4, seed=s, epoch=0))) / 72
                for s in range(20)]
    assert min(coverage) > 0.7  # 72 slots per epoch; padding small excerpts wastes a few
    longer = sampling.excerpt_batches(LABELS, 8, 4, seed=0, epoch=0, n_steps=27)
    assert longer.shape == (27, 8) and len(np.unique(longer)) == 72


def test_excerpt_batches_raise_on_bad_arguments():
    with pytest.raises(ValueError, match="per_excerpt must be at least 2"):
        sampling.excerpt_batches(LABELS, 8, 1, seed=0, epoch=0)
    with pytest.raises(ValueError, match="batch_size"):
        sampling.excerpt_batches(LABELS, 3, 4, seed=0, epoch=0)
    with pytest.raises(ValueError, match="cannot fill a batch"):
        sampling.excerpt_batches(LABELS[:6], 8, 4, seed=0, epoch=0)
    with pytest.raises(ValueError, match=r"\(n,\)"):
        sampling.excerpt_batches(LABELS.reshape(8, 9), 4, 2, seed=0, epoch=0)
