"""Data parallelism over a forced 4-device host gives the 1-device result."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MULTI = textwrap.dedent("""
    import dataclasses
    import jax, numpy as np
    from percepiano.training import train
    from tests.training.toy import CFG, TC, toy_data
    assert jax.device_count() == 4
    inputs, labels, tr, va = toy_data()
    tc = dataclasses.replace(TC, batch_size=4, eval_batch=8, epochs=2)
    out = []
    for devices in (jax.devices()[:1], jax.devices()):
        res = train.fit(inputs, labels, tr, va, CFG, tc, progress=False, devices=devices)
        losses = [h["train_loss"] for h in res.history]
        pred = train.predict(res.model, inputs, va, res.norm, tc,
                             mesh=train.data_mesh(devices))
        out.append((losses, pred))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-4)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-3, atol=1e-4)
    print("OK", out[0][0], out[1][0])
""")


@pytest.mark.slow
def test_four_devices_match_one():
    """The compiled epoch sharded over 4 (forced host) devices on the 'data' axis gives the
    1-device losses and predictions."""
    root = Path(__file__).resolve().parents[2]
    path = f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu", PYTHONPATH=path)
    run = subprocess.run([sys.executable, "-c", MULTI], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "OK" in run.stdout
