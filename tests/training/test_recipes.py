"""Week 2's fine-tuning: objectives, regimes, batches of one excerpt, and warm starts."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from flax import nnx

from percepiano.models.hybrid import HybridConfig, HybridModel
from percepiano.models.listener import ListenerConfig, ListenerModel
from percepiano.training import batches, listener, recipes, warmstart
from percepiano.training.batches import Normaliser
from tests.training.toy import CFG, params, toy_data

LCFG = ListenerConfig(ast=CFG, n_descriptors=2)
TC = dataclasses.replace(__import__("tests.training.toy", fromlist=["TC"]).TC, epochs=3,
                         max_steps=None)


@pytest.fixture(scope="module")
def data():
    inputs, labels, train, val = toy_data(n=32)
    names = list(inputs)
    desc = pd.DataFrame({"level": [float(np.mean(inputs[n])) for n in names],
                         "spread": [float(np.std(inputs[n])) for n in names]}, index=names)
    excerpts = pd.Series([f"e{i // 4}" for i in range(len(names))], index=names)
    return inputs, labels, train + val[:8], val[8:], desc, excerpts


def test_objectives_and_regimes_refuse_unknown_settings():
    with pytest.raises(ValueError, match="per_excerpt"):
        recipes.Objective(loss="ranking")
    with pytest.raises(ValueError, match="loss"):
        recipes.Objective(loss="mae")
    with pytest.raises(ValueError, match="schedule"):
        recipes.Regime(schedule="step")
    with pytest.raises(ValueError, match="stopping"):
        recipes.Regime(stop_on="val_r2")


def test_random_batches_are_those_of_the_ast_loop(data):
    inputs, labels, train, _, _, excerpts = data
    norm = Normaliser.fit(inputs, labels, train)
    packed = batches.pack(inputs, train, norm, CFG.input_frames)
    y = np.zeros((len(train), 19), np.float32)
    for epoch in (0, 3):
        want, _, want_idx = batches.epoch_plan(packed, y, TC, epoch, 5, 8, with_index=True)
        starts, idx = recipes.plan(packed, 5, 8, TC, epoch, np.zeros(len(train)), 0)
        np.testing.assert_array_equal(starts, want)
        np.testing.assert_array_equal(idx, want_idx)


def test_excerpt_batches_hold_blocks_of_one_excerpt(data):
    inputs, labels, train, _, _, excerpts = data
    norm = Normaliser.fit(inputs, labels, train)
    packed = batches.pack(inputs, train, norm, CFG.input_frames)
    groups = excerpts.loc[train].to_numpy()
    _, idx = recipes.plan(packed, 3, 8, TC, 0, groups, 2)
    blocks = groups[idx[:3]].reshape(3, 2, 2)
    assert (blocks[..., 0] == blocks[..., 1]).all()


def _finetune(data, objective, regime, fused=False):
    inputs, labels, train, val, desc, excerpts = data
    norm = Normaliser.fit(inputs, labels, train, desc)
    net = (HybridModel(HybridConfig(2, ast=CFG, desc_hidden=8, desc_dim=8), rngs=nnx.Rngs(0))
           if fused else ListenerModel(LCFG, rngs=nnx.Rngs(0)))
    return recipes.finetune(net, inputs, labels, train, val, norm, TC, objective, regime,
                            excerpts, desc, fused)


@pytest.mark.parametrize("objective,regime", [
    (recipes.Objective(), recipes.Regime()),
    (recipes.Objective(loss="mse+ranking", weighting="learned", per_excerpt=2),
     recipes.Regime(schedule="plateau", stop_on="val_loss")),
    (recipes.Objective(loss="ccc"), recipes.Regime(schedule="one_cycle", bf16=True)),
])
def test_finetuning_keeps_the_best_validation_epoch(data, objective, regime):
    res = _finetune(data, objective, regime)
    scores = [h["val_r"] if regime.stop_on == "val_r" else -h["val_loss"] for h in res.history]
    assert len(res.history) == TC.epochs
    assert res.best_epoch == int(np.argmax(scores)) and res.best_score == max(scores)
    assert all(np.isfinite(h["train_loss"]) for h in res.history)


def test_the_spectral_constraint_bounds_every_linear_map(data):
    res = _finetune(data, recipes.Objective(), recipes.Regime(spectral=True))
    kernels = [np.asarray(v) for p, v in nnx.to_flat_state(nnx.state(res.net, nnx.Param))
               if p[-1] == "kernel" and np.ndim(v) == 2]
    assert kernels and max(np.linalg.norm(k, 2) for k in kernels) <= 1 + 1e-4
    free = _finetune(data, recipes.Objective(), recipes.Regime())
    assert max(np.linalg.norm(np.asarray(v), 2) for p, v in
               nnx.to_flat_state(nnx.state(free.net, nnx.Param))
               if p[-1] == "kernel" and np.ndim(v) == 2) > 1.0


def test_a_hybrid_finetunes_on_its_descriptors(data):
    res = _finetune(data, recipes.Objective(aux=False), recipes.Regime(), fused=True)
    assert np.isfinite(res.best_score) and res.best_epoch >= 0


def test_forest_weights_change_the_loss_only_through_the_weights():
    pred, target = jnp.ones((4, 19)), jnp.zeros((4, 19))
    w = np.full(19, 2.0, np.float32)
    net = ListenerModel(LCFG, rngs=nnx.Rngs(0))
    tuned = recipes.Tuned(net)
    assert float(tuned.log_vars[...].sum()) == 0.0
    from percepiano.training import losses

    assert float(losses.weighted_mse(pred, target, w)) == pytest.approx(
        2 * float(losses.mse(pred, target)))


def test_a_warm_start_is_computed_once_and_read_back_unchanged(data, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    inputs, labels, train, val, desc, _ = data
    calls = []

    def pool_inputs(names, held_out, n):
        calls.append(n)
        pool = {f"{s}#0": inputs[s] * 0.9 for s in names}
        return pool, desc.loc[list(names)].set_axis(list(pool), axis=0)

    recipe = listener.Recipe(stages=("descriptors",), steps=4, n_variants=1, aux=True)
    first, second = {}, {}
    a = warmstart.pretrained(LCFG, TC, recipe, inputs, desc, pool_inputs, train, val, 0, first)
    b = warmstart.pretrained(LCFG, TC, recipe, inputs, desc, pool_inputs, train, val, 0, second)
    assert not first["cached"] and second["cached"] and calls == [1]
    for x, y in zip(params(a), params(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    fresh = ListenerModel(LCFG, rngs=nnx.Rngs(TC.seed))
    assert any(not np.array_equal(np.asarray(x), np.asarray(y))
               for x, y in zip(params(a), params(fresh), strict=True))
    with pytest.raises(ValueError, match="pretraining stages"):
        warmstart.pretrained(LCFG, TC, listener.Recipe(), inputs, desc, pool_inputs, train, val,
                             0)
