"""The compiled training step and the profile's training defaults."""

import jax
import jax.numpy as jnp
from flax import nnx

from percepiano.models import ast
from percepiano.training import steps
from tests.training.toy import CFG, TC


def test_train_step_does_not_retrace(key):
    model = ast.ASTModel(CFG, rngs=nnx.Rngs(0))
    opt = steps.make_optimizer(model, TC, 10)
    x = jnp.zeros((5, CFG.input_frames, CFG.bands))  # a batch size no other test uses
    y = jnp.zeros((5, 19))
    before = steps.TRACES["train_step"]
    losses = [steps.train_step(model, opt, x, y, jax.random.fold_in(key, i)) for i in range(3)]
    assert steps.TRACES["train_step"] - before == 1
    assert len({float(v) for v in losses}) == 3  # the model did change between steps


def test_profile_sets_defaults(monkeypatch):
    monkeypatch.setenv("PERCEPIANO_PROFILE", "smoke")
    smoke = steps.TrainConfig()
    monkeypatch.setenv("PERCEPIANO_PROFILE", "full")
    full = steps.TrainConfig()
    assert smoke.max_steps and smoke.epochs < full.epochs and full.max_steps is None
