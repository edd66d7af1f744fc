"""The listener: a descriptor head beside the labels, loss weighting, masked patches."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from percepiano.models import ast
from percepiano.models.listener import ListenerConfig, ListenerModel, masked_loss

AST = ast.preset("micro", dim=16, depth=1, heads=2, crop_frames=160)  # 1 x 5 = 5 tokens


@pytest.fixture
def model():
    return ListenerModel(ListenerConfig(ast=AST, n_descriptors=7), rngs=nnx.Rngs(0))


def _x(seed=0, b=3):
    return jax.random.normal(jax.random.key(seed), (b, 40, 64))


def test_outputs(model):
    pred, inter = model(_x())
    assert pred.shape == (3, 19) and inter["descriptors"].shape == (3, 7)
    np.testing.assert_allclose(pred, model.ast(_x())[0], atol=1e-6)  # the AST's own output


def test_fixed_and_learned_weighting(model):
    assert float(model.combine(2.0, 3.0)) == pytest.approx(5.0)
    weighted = ListenerModel(ListenerConfig(ast=AST, n_descriptors=7, aux_weight=0.1),
                             rngs=nnx.Rngs(0))
    assert float(weighted.combine(2.0, 3.0)) == pytest.approx(2.3)
    learned = ListenerModel(ListenerConfig(ast=AST, n_descriptors=7, weighting="learned"),
                            rngs=nnx.Rngs(0))
    assert float(learned.combine(2.0, 3.0)) == pytest.approx(5.0)  # s = 0 at the start
    grads = nnx.grad(lambda m: m.combine(2.0, 3.0))(learned)
    # d/ds (exp(-s) L + s) = 1 - L at s = 0: the weight of a larger loss shrinks
    np.testing.assert_allclose(grads.log_vars[...], [-1.0, -2.0], atol=1e-6)


def test_patch_values_are_what_the_patch_embedding_reads(model):
    x = _x()
    kernel = model.ast.patch.kernel[...]
    flat = kernel.transpose(1, 0, 2, 3).reshape(-1, kernel.shape[-1])
    want = model.ast.patches(x).reshape(3, -1, AST.dim)
    bias = model.ast.patch.bias[...][None, None]
    np.testing.assert_allclose(model.patch_values(x) @ flat + bias, want, atol=1e-5)


def test_masked_tokens_hide_their_content(model):
    key = jax.random.key(1)
    x = _x()
    recon, target, mask = model.masked(x, key)
    n = target.shape[1]
    assert recon.shape == target.shape == (3, n, 64 * 8)
    assert (mask.sum(axis=1) == round(0.5 * n)).all()
    # change the input only inside masked patches: no reconstruction may change
    pv = model.patch_values(x)
    noise = jnp.where(mask[..., None], 5.0, 0.0) * jax.random.normal(jax.random.key(2), pv.shape)
    b, _, _ = x.shape
    x2 = x + (noise.reshape(b, 1, n, 8, 64).transpose(0, 2, 3, 1, 4).reshape(b, n * 8, 64))
    recon2, target2, mask2 = model.masked(x2, key)
    assert (mask2 == mask).all() and not np.allclose(target2, target)
    np.testing.assert_allclose(recon2, recon, atol=1e-5)
    assert float(masked_loss(model, x, key)) > 0


def test_bad_configs():
    with pytest.raises(ValueError, match="unknown weighting"):
        ListenerConfig(weighting="auto")
    with pytest.raises(ValueError, match="mask_ratio"):
        ListenerConfig(mask_ratio=1.0)
    with pytest.raises(ValueError, match="non-overlapping"):
        ListenerConfig(ast=ast.preset("micro", stride=(64, 4)))
