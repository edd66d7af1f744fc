"""The hybrid model: shapes, what each branch reads, configuration errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from percepiano.models import ast, hybrid

AST = ast.preset("micro", dim=16, depth=1, heads=2, crop_frames=160)


def test_shapes_and_intermediates():
    cfg = hybrid.HybridConfig(12, ast=AST, desc_hidden=8, desc_dim=4)
    model = hybrid.HybridModel(cfg, rngs=nnx.Rngs(0))
    x, d = jnp.zeros((3, AST.input_frames, AST.bands)), jnp.ones((3, 12))
    pred, inter = model(x, d)
    assert pred.shape == (3, 19)
    assert inter["pooled"].shape == (3, 16) and inter["desc"].shape == (3, 4)
    assert inter["fused"].shape == (3, 20)
    pred_train, _ = model(x, d, key=jax.random.key(0))           # dropout on: differs
    assert not np.allclose(pred, pred_train)
    assert cfg.input_frames == AST.input_frames and cfg.bands == AST.bands


def test_each_branch_is_read():
    cfg = hybrid.HybridConfig(5, ast=AST, desc_hidden=8, desc_dim=4)
    model = hybrid.build(cfg, rngs=nnx.Rngs(1))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(2, AST.input_frames, AST.bands)), jnp.float32)
    d = jnp.asarray(rng.normal(size=(2, 5)), jnp.float32)
    base = model(x, d)[0]
    assert not np.allclose(base, model(x + 1.0, d)[0])        # hears the spectrogram
    assert not np.allclose(base, model(x, d + 1.0)[0])        # reads the descriptors
    alone = hybrid.build(hybrid.HybridConfig(5, ast=None, desc_hidden=8, desc_dim=4),
                         rngs=nnx.Rngs(1))
    np.testing.assert_array_equal(alone(x, d)[0], alone(x + 1.0, d)[0])  # ignores the audio
    assert ast.n_params(alone) < ast.n_params(model)


def test_build_and_config_errors():
    assert isinstance(hybrid.build(AST, rngs=nnx.Rngs(0)), ast.ASTModel)
    with pytest.raises(TypeError, match="no model"):
        hybrid.build({"dim": 3}, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="unknown fusion"):
        hybrid.HybridConfig(3, fusion="gated")
    with pytest.raises(ValueError, match="at least one descriptor"):
        hybrid.HybridConfig(0)
