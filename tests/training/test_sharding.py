"""Data parallelism over a forced 4-device host gives the 1-device result."""

import os
import subprocess
import sys
import textwrap

MULTI = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from flax import nnx
    from percepiano.training import sharding, steps
    from percepiano.models import ast
    assert jax.device_count() == 4
    cfg = ast.preset("micro", dim=16, depth=1, heads=2, crop_frames=160)
    tc = steps.TrainConfig(epochs=1, batch_size=8, patience=1, max_steps=None)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 128, 160)).astype(np.float32)
    y = rng.normal(size=(8, 19)).astype(np.float32)
    out = []
    for devices in (jax.devices()[:1], jax.devices()):
        mesh = sharding.data_mesh(devices)
        model = ast.ASTModel(cfg, rngs=nnx.Rngs(0))
        opt = steps.make_optimizer(model, tc, 10)
        sharding.replicate(mesh, model, opt)
        xs, ys = sharding.shard(mesh, x, y)
        assert len(xs.sharding.device_set) == len(devices)
        losses = [float(steps.train_step(model, opt, xs, ys, jax.random.key(i))) for i in range(2)]
        out.append((losses, np.asarray(steps.eval_step(model, xs))))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-4)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-3, atol=1e-4)
    print("OK", out[0][0], out[1][0])
""")


def test_four_devices_match_one():
    """Data-parallel over 4 (forced host) devices gives the 1-device losses and predictions."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-c", MULTI], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "OK" in run.stdout
