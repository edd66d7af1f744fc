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


@pytest.mark.parametrize("fusion", ["attention", "gate"])
def test_attention_and_gate_fusions_read_both_branches(fusion):
    cfg = hybrid.HybridConfig(5, ast=AST, desc_hidden=8, desc_dim=4, fusion=fusion)
    model = hybrid.build(cfg, rngs=nnx.Rngs(1))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(2, AST.input_frames, AST.bands)), jnp.float32)
    d = jnp.asarray(rng.normal(size=(2, 5)), jnp.float32)
    pred, inter = model(x, d)
    assert pred.shape == (2, 19) and inter["desc"].shape == (2, 4)
    assert inter["fused"].shape == ((2, 4) if fusion == "gate" else (2, 20))
    assert not np.allclose(pred, model(x + 1.0, d)[0])
    assert not np.allclose(pred, model(x, d + 1.0)[0])
    if fusion == "gate":
        z = np.asarray(inter["gate"])
        assert z.shape == (2, 4) and ((z > 0) & (z < 1)).all()
    with pytest.raises(ValueError, match="needs the AST branch"):
        hybrid.HybridConfig(5, ast=None, fusion=fusion)


def test_cross_attention_weighs_the_spectrogram_tokens():
    cross = hybrid.CrossAttention(3, 16, 2, rngs=nnx.Rngs(0))
    d = jnp.asarray([[0.5, -1.0, 2.0]], jnp.float32)
    tokens = jnp.asarray(np.random.default_rng(0).normal(size=(1, 6, 16)), jnp.float32)
    out = cross(d, tokens)
    assert out.shape == (1, 16)
    # one token repeated: attention over identical keys returns that token's value, whatever d
    same = jnp.broadcast_to(tokens[:, :1], (1, 6, 16))
    np.testing.assert_allclose(cross(d, same), cross(d * 3.0, same), rtol=1e-5, atol=1e-6)
    assert not np.allclose(out, cross(d * 3.0, tokens))
