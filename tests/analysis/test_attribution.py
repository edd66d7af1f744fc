"""Integrated gradients: exact on linear functions, complete on nonlinear ones and on an AST."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from percepiano.analysis import attribution as ig
from percepiano.models import ast
from percepiano.models.hybrid import HybridConfig, HybridModel
from percepiano.models.listener import ListenerConfig, ListenerModel

TINY = ast.preset("nano", dim=16, depth=2, heads=2, crop_frames=160,
                  patch=(16, 8), stride=(16, 8))  # (B, 40, 64) input, 20 tokens


def relative_gap(f, x, b, attr):
    """The completeness gap relative to the size of the outputs, |f(x)| + |f(b)|: relative to
    f(x) - f(b) alone it is ill-conditioned when the path returns near its start (the tiny AST's
    first example: f(x) - f(b) = 0.0016 while f dips by 0.1 along the path)."""
    scale = np.abs(np.asarray(f(x))) + np.abs(np.asarray(f(jnp.broadcast_to(b, x.shape))))
    return ig.completeness_gap(f, x, b, attr) / np.maximum(scale, 1e-6)


def test_linear_function_gets_exactly_its_weights_times_the_difference():
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)
    x = jnp.asarray(rng.normal(size=(2, 3, 4)), jnp.float32)
    b = jnp.asarray(rng.normal(size=(2, 3, 4)), jnp.float32)
    f = lambda z: jnp.sum(z * w[None], axis=(1, 2))   # noqa: E731
    attr = ig.integrated_gradients(f, x, b, steps=8)
    np.testing.assert_allclose(attr, (x - b) * w[None], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ig.integrated_gradients(f, x, steps=8), x * w[None],
                               rtol=1e-6, atol=1e-6)  # default baseline: zeros


def test_completeness_on_a_nonlinear_function_and_chunking():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(3, 5)), jnp.float32)
    f = lambda z: jnp.sum(jnp.tanh(2.0 * z) * z ** 2, axis=1) + jnp.sin(z[:, 0] * z[:, 1])  # noqa: E731
    attr = ig.integrated_gradients(f, x, steps=32)
    assert attr.shape == x.shape
    assert np.all(relative_gap(f, x, jnp.zeros_like(x), attr) < 1e-2)
    # the trapezoid rule's error falls as 1 / steps^2 (a one-sided Riemann sum's as 1 / steps)
    coarse = ig.integrated_gradients(f, x, steps=9)
    fine = ig.integrated_gradients(f, x, steps=33)
    ratio = ig.completeness_gap(f, x, None, coarse) / ig.completeness_gap(f, x, None, fine)
    assert np.all(ratio > 8)
    # per-example: the attribution of one example ignores the others in the batch
    alone = ig.integrated_gradients(f, x[:1], steps=32)
    np.testing.assert_allclose(alone, attr[:1], rtol=1e-5, atol=1e-6)
    chunked = ig.integrated_gradients(f, x, steps=32, chunk=5)  # 32 = 6 x 5 + 2: padded
    np.testing.assert_allclose(chunked, attr, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="steps"):
        ig.integrated_gradients(f, x, steps=1)


def test_completeness_on_a_tiny_ast():
    model = ast.ASTModel(TINY, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(2), (2, 40, 64))
    b = jnp.full((2, 40, 64), -1.5)                       # a silent, constant input
    f = ig.model_output_fn(model, 4)
    np.testing.assert_allclose(f(x), model(x)[0][:, 4])
    attr = ig.integrated_gradients(f, x, b, steps=64)
    assert attr.shape == x.shape
    assert np.all(relative_gap(f, x, b, attr) < 1e-2)


@pytest.mark.slow
def test_model_output_fn_for_listener_and_hybrid():
    x = jax.random.normal(jax.random.key(3), (2, 40, 64))
    listener = ListenerModel(ListenerConfig(ast=TINY, n_descriptors=3), rngs=nnx.Rngs(0))
    f = ig.model_output_fn(listener, "Timing_Stable_Unstable")
    np.testing.assert_allclose(f(x), listener(x)[0][:, 0])
    hybrid = HybridModel(HybridConfig(n_descriptors=3, ast=TINY), rngs=nnx.Rngs(0))
    d = jax.random.normal(jax.random.key(4), (2, 3))
    g = ig.model_output_fn(hybrid, 2, descriptors=d)
    np.testing.assert_allclose(g(x), hybrid(x, d)[0][:, 2], rtol=1e-6)
    # path points are stacked B rows at a time: each row keeps its own descriptors
    np.testing.assert_allclose(g(jnp.concatenate([x, x]))[2:], hybrid(x, d)[0][:, 2], rtol=1e-6)
    attr = ig.integrated_gradients(g, x, steps=16)
    assert attr.shape == x.shape and np.all(np.isfinite(attr))
    with pytest.raises(ValueError, match="descriptors"):
        ig.model_output_fn(hybrid, 0)
    with pytest.raises(ValueError, match="unknown dimension"):
        ig.model_output_fn(listener, "Loudness")


def test_silence_baseline_is_the_normalised_floor():
    class Norm:  # the Normaliser's input scaling, (x - mean) / (2 std)
        def x(self, spec):
            return (spec - (-40.0)) / (2 * 10.0)

    b = ig.silence_baseline(np.zeros((2, 3)), Norm())
    np.testing.assert_allclose(b, np.full((2, 3), -3.0))
