"""Resumable training runs with orbax: after every epoch, the model, optimiser, PRNG key and best
parameters so far, with the run's settings as JSON, so a killed run resumes to the same result and
a finished one loads for prediction (``load_model``).
"""

from __future__ import annotations

from pathlib import Path

import jax
import orbax.checkpoint as ocp
from flax import nnx

from percepiano.models.ast import ASTConfig, ASTModel
from percepiano.training.batches import Normaliser
from percepiano.training.steps import TrainConfig, make_optimizer


def manager(directory: Path) -> ocp.CheckpointManager:
    opts = ocp.CheckpointManagerOptions(max_to_keep=1, enable_async_checkpointing=False)
    return ocp.CheckpointManager(Path(directory).absolute(), options=opts)


def save(mngr, epoch, model, optimizer, best_state, key, meta):
    state = {"model": nnx.to_pure_dict(nnx.state(model)),
             "optimizer": nnx.to_pure_dict(nnx.state(optimizer)),
             "best": best_state, "key": jax.random.key_data(key)}
    mngr.save(epoch, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                             meta=ocp.args.JsonSave(meta)))
    mngr.wait_until_finished()


def restore(mngr, model, optimizer):
    """Restore the latest checkpoint into ``model``/``optimizer``; returns (best, key, meta)."""
    step = mngr.latest_step()
    abstract = {"model": nnx.to_pure_dict(nnx.state(model)),
                "optimizer": nnx.to_pure_dict(nnx.state(optimizer)),
                "best": nnx.to_pure_dict(nnx.state(model, nnx.Param)),
                "key": jax.random.key_data(jax.random.key(0))}
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract)
    got = mngr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract),
                                                     meta=ocp.args.JsonRestore()))
    for node, name in ((model, "model"), (optimizer, "optimizer")):
        st = nnx.state(node)
        nnx.replace_by_pure_dict(st, got.state[name])
        nnx.update(node, st)
    return got.state["best"], jax.random.wrap_key_data(got.state["key"]), dict(got.meta)


def load_model(directory) -> tuple[ASTModel, Normaliser, TrainConfig]:
    """The best model of a finished (or interrupted) run in ``directory``, for prediction."""
    if not (Path(directory) / "checkpoints").is_dir():
        raise FileNotFoundError(f"no checkpoint in {directory}; run `percepiano train` first")
    mngr = manager(Path(directory) / "checkpoints")
    if mngr.latest_step() is None:
        raise FileNotFoundError(f"no checkpoint in {directory}; run `percepiano train` first")
    meta = mngr.restore(mngr.latest_step(), args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
    meta = dict(meta.meta)
    cfg, tc = ASTConfig(**_tuples(meta["model"])), TrainConfig(**_tuples(meta["train"]))
    model = ASTModel(cfg, rngs=nnx.Rngs(0))
    best, _, _ = restore(mngr, model, make_optimizer(model, tc, 1))
    params = nnx.state(model, nnx.Param)
    nnx.replace_by_pure_dict(params, best)
    nnx.update(model, params)
    return model, Normaliser(**_tuples(meta["norm"])), tc


def check_same_run(mngr, cfg, tc, norm, out_dir) -> None:
    """Resuming needs the same model, training settings and data; refuse anything else."""
    meta = mngr.restore(mngr.latest_step(), args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
    meta = dict(meta.meta)
    saved = (ASTConfig(**_tuples(meta["model"])), TrainConfig(**_tuples(meta["train"])),
             Normaliser(**_tuples(meta["norm"])))
    if saved != (cfg, tc, norm):
        raise ValueError(f"{out_dir} holds a run with other settings or data; resume it with "
                         "the same ones or choose another output directory")


def _tuples(d: dict) -> dict:
    """JSON turned the dataclasses' tuples into lists; turn them back."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
