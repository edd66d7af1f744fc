"""The AST model: shapes for every option, presets, RoPE's time-shift invariance."""

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from percepiano.data.dataset import DIMENSIONS
from percepiano.models import ast

TINY = dict(dim=16, depth=2, heads=2, head_hidden=8, crop_frames=160,  # 64 x 40 pooled input
            patch=(16, 8), stride=(16, 8))                              # -> 4 x 5 patches


@pytest.mark.parametrize("positional,pooling,head",
                         list(itertools.product(ast.POSITIONAL, ast.POOLING, ast.HEADS)))
def test_shapes(positional, pooling, head, key):
    """(B, 40, 64) -> predictions (B, 19); tokens (B, 20, D); attention (B, H, N, N) a layer."""
    cfg = ast.preset("micro", positional=positional, pooling=pooling, head=head, **TINY)
    model = ast.ASTModel(cfg, rngs=nnx.Rngs(0))
    x = jax.random.normal(key, (3, 40, 64))
    pred, inter = model(x)
    n = 20 + (pooling == "cls")
    assert cfg.grid == (4, 5) and cfg.n_tokens == n
    assert pred.shape == (3, len(DIMENSIONS))
    assert inter["tokens"].shape == (3, 20, 16)
    assert inter["pooled"].shape == (3, 16)
    assert len(inter["attention"]) == 2
    for w in inter["attention"]:
        assert w.shape == (3, 2, n, n)
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    # training mode (a key) is stochastic, inference is not
    p1, _ = model(x, key=jax.random.key(1))
    assert not np.allclose(p1, pred)
    np.testing.assert_array_equal(model(x)[0], pred)


def test_overlapping_patches():
    """Stride below the patch size overlaps patches: (64 - 16) / 8 + 1 = 7 bands."""
    cfg = ast.preset("micro", **{**TINY, "stride": (8, 4)})
    assert cfg.grid == (7, 9)
    pred, inter = ast.ASTModel(cfg, rngs=nnx.Rngs(0))(jnp.zeros((1, 40, 64)))
    assert inter["tokens"].shape == (1, 63, 16) and pred.shape == (1, 19)


def test_spectro_accepts_other_lengths():
    """Frequency embedding + RoPE: no length is baked in, so longer inputs work too."""
    model = ast.ASTModel(ast.preset("micro", **TINY), rngs=nnx.Rngs(0))
    pred, inter = model(jnp.zeros((2, 80, 64)))
    assert pred.shape == (2, 19) and inter["tokens"].shape == (2, 40, 16)


def test_presets_sizes():
    def size(name):
        cfg = ast.preset(name)
        return ast.n_params(nnx.eval_shape(lambda: ast.ASTModel(cfg, rngs=nnx.Rngs(0))))

    sizes = {name: size(name) for name in ast.PRESETS}
    assert sizes["tiny"] == pytest.approx(1e6, rel=0.2)
    assert sizes["large"] == pytest.approx(30e6, rel=0.15)
    assert sizes["base"] == pytest.approx(86e6, rel=0.05)  # AST reports ~87 M
    assert list(sizes.values())[:7] == sorted(list(sizes.values())[:7])
    assert ast.preset("base").n_tokens == 12 * 101 + 1  # AST: 1212 patches for 1024 frames


def test_config_errors():
    with pytest.raises(ValueError, match="unknown preset .huge.; choose from nano, micro"):
        ast.preset("huge")
    with pytest.raises(ValueError, match="unknown positional"):
        ast.ASTConfig(positional="absolute")
    with pytest.raises(ValueError, match="even"):
        ast.ASTConfig(dim=18, heads=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ast.ASTConfig().dim = 3


def test_pool_input_matches_numpy(key):
    x = jax.random.normal(key, (2, 8, 11))
    cfg = ast.ASTConfig(n_mels=8, freq_pool=2, time_pool=4)
    want = np.asarray(x)[:, :, :8].reshape(2, 4, 2, 2, 4).mean(axis=(2, 4)).swapaxes(1, 2)
    np.testing.assert_allclose(ast.pool_input(x, cfg), want, rtol=1e-6)       # time-major
    got = ast.pool_input(np.asarray(x, np.float16), cfg)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32


@pytest.mark.parametrize("patch", [(16, 8), (64, 8)])
def test_patch_matmul_equals_the_strided_convolution(patch, key):
    """Non-overlapping patches are embedded by a reshape and a product with the conv kernel:
    the same numbers as the convolution over the (B, F, T) spectrogram."""
    cfg = ast.preset("micro", **{**TINY, "patch": patch, "stride": patch})
    model = ast.ASTModel(cfg, rngs=nnx.Rngs(0))
    x = jax.random.normal(key, (2, 40, 64))
    conv = model.patch(x.swapaxes(1, 2)[..., None])
    np.testing.assert_allclose(model.patches(x), conv, rtol=1e-4, atol=1e-5)


def test_dropout_rate_scale_and_determinism(key):
    x = jnp.ones((64, 50, 64))
    out = ast.dropout(x, 0.1, key)
    kept = np.asarray(out != 0)
    assert abs(kept.mean() - 0.9) < 0.005                      # 204,800 draws
    np.testing.assert_allclose(np.asarray(out)[kept], 1 / 0.9, rtol=1e-6)
    np.testing.assert_array_equal(ast.dropout(x, 0.1, key), out)
    assert not np.array_equal(ast.dropout(x, 0.1, jax.random.fold_in(key, 1)), out)
    assert ast.dropout(x, 0.1, None) is x
    # neighbouring elements are not correlated: the hash mixes the index
    flat = kept.ravel().astype(float)
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.02


def test_rope_scores_depend_on_time_difference_only(keys):
    """q(t+s) . k(u+s) == q(t) . k(u) for every shift s: attention is time-shift invariant."""
    q = jax.random.normal(keys[0], (1, 6, 2, 8))
    k = jax.random.normal(keys[1], (1, 6, 2, 8))
    pos = jnp.arange(6)

    def scores(p):
        return jnp.einsum("bqhd,bkhd->bhqk", ast.rope(q, p, 100.0), ast.rope(k, p, 100.0))

    base = scores(pos)
    for shift in (1, 7, 250):
        np.testing.assert_allclose(scores(pos + shift), base, rtol=1e-4, atol=1e-4)
    assert not np.allclose(base, jnp.einsum("bqhd,bkhd->bhqk", q, k))  # it does rotate


def test_model_attention_invariant_to_time_shift(key):
    """Patch-to-patch attention of the ``spectro`` encoding depends on time lags only.

    Two different time positions for the same tokens give the same first-layer attention.
    """
    model = ast.ASTModel(ast.preset("micro", **TINY), rngs=nnx.Rngs(0))
    x = jax.random.normal(key, (1, 20, 16))
    t = jnp.tile(jnp.arange(5), 4)
    _, w0 = model.blocks[0].attn(x, t)
    _, w1 = model.blocks[0].attn(x, t + 13)
    np.testing.assert_allclose(w0, w1, rtol=1e-4, atol=1e-6)


def test_sincos_positions_are_distinct():
    pe = np.asarray(ast.sincos_2d(4, 5, 16))
    assert pe.shape == (20, 16)
    assert len({tuple(np.round(r, 5)) for r in pe}) == 20


def test_category_head_keeps_dimension_order(key):
    """Each output column comes from its own category's head (zeroing one head moves only it)."""
    cfg = ast.preset("micro", head="category", **TINY)
    model = ast.ASTModel(cfg, rngs=nnx.Rngs(0))
    z = jax.random.normal(key, (2, 16))
    before = np.asarray(model.head(z))
    model.head.out[0].kernel[...] = jnp.zeros_like(model.head.out[0].kernel[...])
    model.head.out[0].bias[...] = jnp.zeros_like(model.head.out[0].bias[...])
    after = np.asarray(model.head(z))
    changed = ~np.isclose(before, after).all(axis=0)
    first_category = [i for i, d in enumerate(DIMENSIONS) if d.startswith("Timing_")]
    assert list(np.flatnonzero(changed)) == first_category
