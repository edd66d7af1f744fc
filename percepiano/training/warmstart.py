"""Pretrained listeners kept on disk, so every fine-tuning recipe of a fold starts from the same
weights without pretraining again.

A cross-validation fold pretrains the listener (``training.listener``: masked patches, then
descriptors, on the fold's pool of expressive variants) before fine-tuning. Week 2 compares many
fine-tuning recipes from that one starting point; pretraining each time would cost minutes per
fold and recipe, and would add pretraining noise to every paired comparison. ``pretrained``
returns the listener after its pretraining stages, computed once and stored under
``<cache>/pretrained/<key>.npz``, where the key hashes everything that determines the weights:
the model and training configurations, the recipe, the fold's training and held-out names, the
pool's seed and the source of the training code (``codehash``). Loading the file gives the same
parameters, bit for bit, as pretraining again on the same machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import numpy as np
import pandas as pd
from flax import nnx

from percepiano import codehash, config
from percepiano.features.cache import table_key
from percepiano.io import atomic_path
from percepiano.models.listener import ListenerConfig, ListenerModel
from percepiano.training import listener
from percepiano.training.batches import Normaliser
from percepiano.training.steps import TrainConfig

VERSION = 1


def _key(cfg: ListenerConfig, tc: TrainConfig, recipe: listener.Recipe, train_names,
         held_out, pool_seed: int) -> str:
    code = codehash.digest(codehash.module_hashes("percepiano.training.listener"))
    return table_key(VERSION, cfg, tc, recipe.stages, recipe.steps, recipe.n_variants,
                     sorted(train_names), sorted(held_out), pool_seed, code)


def _flat(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for k, v in tree.items():
        name = f"{prefix}/{k}" if prefix else str(k)
        out.update(_flat(v, name) if isinstance(v, dict) else {name: np.asarray(v)})
    return out


def _nested(flat: dict[str, np.ndarray], like: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in like.items():
        name = f"{prefix}/{k}" if prefix else str(k)
        out[k] = _nested(flat, v, name) if isinstance(v, dict) else flat[name]
    return out


def pretrained(cfg: ListenerConfig, tc: TrainConfig, recipe: listener.Recipe, inputs: dict,
               descriptors: pd.DataFrame, pool_inputs: Callable, train_names, held_out,
               pool_seed: int, record: dict | None = None) -> ListenerModel:
    """The listener of ``cfg`` (seeded by ``tc.seed``) after ``recipe``'s pretraining stages on
    the pool of ``train_names`` (``pool_inputs(train_names, held_out, n)``, as in
    ``listener.make_fit_predict``), from the cache when present. ``record`` (optional) receives
    ``{"cached": bool, "seconds": float, "losses": {stage: [...]}}``. Raises ValueError when
    the recipe has no pretraining stage."""
    if not recipe.stages:
        raise ValueError("a recipe without pretraining stages has nothing to warm-start from")
    train_names, held_out = list(train_names), list(held_out)
    key = _key(cfg, tc, recipe, train_names, held_out, pool_seed)
    path = config.cache_dir() / "pretrained" / f"{key}.npz"
    model = ListenerModel(cfg, rngs=nnx.Rngs(tc.seed))
    params = nnx.state(model, nnx.Param)
    start = time.perf_counter()
    info = {"cached": path.is_file(), "losses": {}}
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            nnx.replace_by_pure_dict(params, _nested(dict(z), nnx.to_pure_dict(params)))
        nnx.update(model, params)
    else:
        norm = Normaliser.fit(inputs, _labels_stub(train_names), train_names, descriptors)
        extra, extra_desc = pool_inputs(train_names, held_out, recipe.n_variants)
        listener.check_pool(extra, train_names)
        data = {**{n: inputs[n] for n in train_names}, **extra}
        names = train_names + list(extra)
        table = pd.concat([descriptors.loc[train_names], extra_desc.loc[list(extra)]])
        y = norm.d(table, names)
        for stage in recipe.stages:
            task = listener.Task(labels=False, descriptors=stage == "descriptors",
                                 masked=stage == "masked")
            info["losses"][stage] = listener.pretrain(model, data, names, y, norm, tc, task,
                                                      recipe.steps)
        flat = _flat(jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.Param))))
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **flat)
    info["seconds"] = time.perf_counter() - start
    if record is not None:
        record.update(info)
    return model


def _labels_stub(names) -> pd.DataFrame:
    """Zero labels: pretraining never reads labels, but ``Normaliser.fit`` wants a table."""
    from percepiano.data.dataset import DIMENSIONS

    return pd.DataFrame(0.0, index=list(names), columns=list(DIMENSIONS))
