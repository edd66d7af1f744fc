"""Training the listener (``models.listener``): pretraining stages, then fine-tuning on labels.

A ``Recipe`` says what happens inside one cross-validation fold, on that fold's *inner training*
names only (its validation and test music is never varied, pretrained on or fitted):

1. optional pretraining stages, in order, each a fixed number of steps on the fold's pool of
   expressive variants (``features.variants.pool``) and the original training segments:
   ``"masked"`` (masked-patch reconstruction) or ``"descriptors"`` (regressing each render's
   exact, standardised performance descriptors);
2. fine-tuning on the 19 labels, with (``aux``) or without the auxiliary descriptor head's loss,
   early-stopped on the validation names' mean r, as ``training.train.fit`` does.

Descriptor standardisation and input normalisation are fitted on the training names' original
segments and shared by every stage. Each stage's epoch is one compiled XLA program
(``listener_epoch``), built like ``steps.train_epoch``: crops cut on the device, targets per
crop from ``batches.epoch_plan`` (labels and descriptors side by side).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from flax import nnx
from jax.sharding import NamedSharding
from tqdm.auto import tqdm

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.metrics import evaluate
from percepiano.models.listener import ListenerConfig, ListenerModel, masked_loss
from percepiano.training.batches import Normaliser, bucket, epoch_plan, eval_plan, pack
from percepiano.training.sharding import batch_sharding, data_mesh, replicate, replicated
from percepiano.training.steps import TRACES, TrainConfig, crops, make_optimizer
from percepiano.training.train import predict

STAGES = ("masked", "descriptors")
N_LABELS = len(DIMENSIONS)


@dataclass(frozen=True)
class Task:
    """What a step's loss reads (static in the compiled epoch): the labels (target columns
    0-18), the descriptors (the columns after them, or all columns without labels), or
    masked-patch reconstruction alone."""

    labels: bool = True
    descriptors: bool = False
    masked: bool = False


def task_loss(model: ListenerModel, x, y, key, task: Task):
    if task.masked:
        return masked_loss(model, x, jax.random.fold_in(key, 2), dropout_key=key)
    pred, inter = model(x, key=key)
    label_loss = jnp.mean((pred - y[:, :N_LABELS]) ** 2) if task.labels else 0.0
    if not task.descriptors:
        return label_loss
    d = y[:, N_LABELS:] if task.labels else y
    descriptor_loss = jnp.mean((inter["descriptors"] - d) ** 2)
    return model.combine(label_loss, descriptor_loss) if task.labels else descriptor_loss


def _constrain(x, sharding):
    return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)


@functools.partial(jax.jit, static_argnames=("graphdef", "crop", "task", "sharding"),
                   donate_argnames=("state",))
def listener_epoch(graphdef, state, frames, starts, y, n_steps, key, first_step, *, crop: int,
                   task: Task, sharding: NamedSharding | None = None):
    """``n_steps`` AdamW steps of ``task`` in one program; returns (state, losses (rows,)).
    As ``steps.train_epoch``: step ``s`` uses key ``fold_in(key, first_step + s)``."""
    TRACES["listener_epoch"] += 1

    def step(s, carry):
        state, losses = carry
        model, optimizer = nnx.merge(graphdef, state)
        x = _constrain(crops(frames, starts[s], crop), sharding)
        k = jax.random.fold_in(key, first_step + s)
        loss, grads = nnx.value_and_grad(task_loss)(model, x, _constrain(y[s], sharding), k,
                                                    task)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), losses.at[s].set(loss)

    return jax.lax.fori_loop(0, n_steps, step, (state, jnp.zeros(starts.shape[0], jnp.float32)))


def _steps_per_epoch(n: int, tc: TrainConfig) -> int:
    steps = n // tc.batch_size
    return min(steps, tc.max_steps) if tc.max_steps else steps


def pretrain(model: ListenerModel, inputs: dict, names: list[str], y: np.ndarray,
             norm: Normaliser, tc: TrainConfig, task: Task, steps: int,
             progress: bool = False) -> list[float]:
    """``steps`` AdamW steps of ``task`` on ``names`` (targets ``y`` (n, d), standardised, in
    the order of ``names``; ignored by masked reconstruction). Returns each epoch's mean loss."""
    if len(names) < tc.batch_size:
        raise ValueError(f"pretraining needs at least {tc.batch_size} segments, got {len(names)}")
    mesh = data_mesh()
    packed = pack(inputs, names, norm, model.cfg.input_frames)
    frames = replicated(mesh, packed.frames)
    per_epoch = _steps_per_epoch(len(names), tc)
    epochs = max(1, math.ceil(steps / per_epoch))
    optimizer = make_optimizer(model, tc, epochs * per_epoch)
    replicate(mesh, model, optimizer)
    key = jax.random.fold_in(jax.random.key(tc.seed), 7)
    rows = bucket(per_epoch, 8)
    history = []
    for epoch in tqdm(range(epochs), desc="pretrain", disable=not progress, leave=False):
        starts, yb = epoch_plan(packed, np.asarray(y, np.float32), tc, epoch, per_epoch, rows)
        graphdef, state = nnx.split((model, optimizer))
        state, losses = listener_epoch(graphdef, state, frames, starts, yb, per_epoch, key,
                                       epoch * per_epoch, crop=packed.crop, task=task,
                                       sharding=batch_sharding(mesh))
        nnx.update((model, optimizer), state)
        history.append(float(np.mean(np.asarray(losses)[:per_epoch])))
    return history


@dataclass
class Finetuned:
    model: ListenerModel
    history: list
    best_epoch: int
    best_val_r: float


def finetune(model: ListenerModel, inputs: dict, labels: pd.DataFrame, train_names, val_names,
             norm: Normaliser, tc: TrainConfig, aux: bool = False,
             descriptors: pd.DataFrame | None = None, progress: bool = False) -> Finetuned:
    """Train on the labels (plus the descriptor head's loss with ``aux``), keep the parameters
    with the best validation mean r (``training.train.fit``'s rule)."""
    train_names, val_names = list(train_names), list(val_names)
    y = norm.y(labels.loc[train_names, list(DIMENSIONS)].to_numpy(np.float64))
    if aux:
        if descriptors is None:
            raise ValueError("the auxiliary head needs the descriptors table")
        y = np.concatenate([y, norm.d(descriptors, train_names)], axis=1)
    y_val = labels.loc[val_names, list(DIMENSIONS)].to_numpy(np.float64)
    mesh = data_mesh()
    packed = pack(inputs, train_names, norm, model.cfg.input_frames)
    frames = replicated(mesh, packed.frames)
    per_epoch = _steps_per_epoch(len(train_names), tc)
    optimizer = make_optimizer(model, tc, tc.epochs * per_epoch)
    replicate(mesh, model, optimizer)
    key = jax.random.key(tc.seed)
    rows = bucket(per_epoch, 8)
    task = Task(labels=True, descriptors=aux)
    best = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    out = Finetuned(model, [], -1, -np.inf)
    for epoch in tqdm(range(tc.epochs), desc="fine-tune", disable=not progress, leave=False):
        if out.best_epoch >= 0 and epoch - out.best_epoch > tc.patience:
            break
        t0 = time.perf_counter()
        starts, yb = epoch_plan(packed, y, tc, epoch, per_epoch, rows)
        graphdef, state = nnx.split((model, optimizer))
        state, losses = listener_epoch(graphdef, state, frames, starts, yb, per_epoch, key,
                                       epoch * per_epoch, crop=packed.crop, task=task,
                                       sharding=batch_sharding(mesh))
        nnx.update((model, optimizer), state)
        m = evaluate(y_val, predict(model, inputs, val_names, norm, tc, mesh))
        out.history.append({"epoch": epoch, "train_loss": float(np.mean(
            np.asarray(losses)[:per_epoch])), "val_r": m["mean_r"], "val_r2": m["mean_r2"],
                            "seconds": time.perf_counter() - t0})
        if m["mean_r"] > out.best_val_r:
            out.best_val_r, out.best_epoch = m["mean_r"], epoch
            best = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.Param)))
    params = nnx.state(model, nnx.Param)
    nnx.replace_by_pure_dict(params, best)
    nnx.update(model, params)
    return out


@functools.partial(jax.jit, static_argnames=("graphdef", "crop"))
def _descriptor_crops(graphdef, state, frames, starts, *, crop: int):
    TRACES["descriptor_crops"] += 1
    model = nnx.merge(graphdef, state)
    return model(crops(frames, starts, crop))[1]["descriptors"]


def predict_descriptors(model: ListenerModel, inputs: dict, names, norm: Normaliser,
                        tc: TrainConfig) -> np.ndarray:
    """The descriptor head's output (len(names), n_descriptors) in the descriptors' own units,
    averaged over each segment's evaluation grid (as ``train.predict`` does for labels)."""
    names = list(names)
    packed = pack(inputs, names, norm, model.cfg.input_frames)
    starts, owner = eval_plan(packed, tc)
    graphdef, state = nnx.split(model)
    out = []
    for b in range(0, len(starts), tc.eval_batch):
        chunk = np.zeros(tc.eval_batch, np.int32)
        chunk[:len(starts[b:b + tc.eval_batch])] = starts[b:b + tc.eval_batch]
        out.append(np.asarray(_descriptor_crops(graphdef, state, packed.frames, chunk,
                                                crop=packed.crop)))
    z = np.concatenate(out)[:len(starts)]
    sums = np.zeros((len(names), z.shape[1]))
    np.add.at(sums, owner, z)
    z = sums / np.bincount(owner, minlength=len(names))[:, None]
    return z * np.array(norm.d_std) + np.array(norm.d_mean)


@dataclass(frozen=True)
class Recipe:
    """What one fold does (see the module docstring): pretraining ``stages`` of ``steps`` each
    on ``n_variants`` variants per training segment, then fine-tuning with or without ``aux``."""

    stages: tuple[str, ...] = ()
    steps: int = 2000
    n_variants: int = 8
    aux: bool = False

    def __post_init__(self):
        bad = [s for s in self.stages if s not in STAGES]
        if bad:
            raise ValueError(f"unknown pretraining stage {bad[0]!r}; choose from "
                             f"{', '.join(STAGES)}")


def pool_name(segment: str, k: int) -> str:
    return f"{segment}#{k}"


def check_pool(pool: dict, train_names) -> None:
    """Raise unless every pooled input is a variant (``<segment>#<k>``) of a training segment."""
    train = set(train_names)
    bad = [n for n in pool if n.rpartition("#")[0] not in train]
    if bad:
        raise ValueError(f"{len(bad)} pooled inputs are not variants of training segments "
                         f"(e.g. {bad[0]!r}): variants of held-out music never train")


def make_fit_predict(inputs: dict, labels: pd.DataFrame, descriptors: pd.DataFrame,
                     cfg: ListenerConfig, tc: TrainConfig, recipe: Recipe,
                     pool_inputs: Callable | None = None, fits: list | None = None,
                     progress: bool = False):
    """A ``fit_predict(train, val, test)`` for ``cross_validation.cross_validate``.

    ``pool_inputs(train_names, held_out, n)`` returns the pretraining pool of the fold:
    ({pool name: model input}, descriptors DataFrame indexed by pool name) of variants of
    ``train_names`` only, each named ``<segment>#<k>`` (``check_pool`` refuses any other).
    ``fits`` collects each fold's record: pretraining losses and time, the selected epoch and
    its validation r, and the descriptor head's predictions for the test names (how much of
    each descriptor the listener hears)."""
    def fit_predict(train_names, val_names, test_names):
        train_names, val_names = list(train_names), list(val_names)
        norm = Normaliser.fit(inputs, labels, train_names, descriptors)
        model = ListenerModel(cfg, rngs=nnx.Rngs(tc.seed))
        record = {"n_train": len(train_names), "pretrain": {}}
        if recipe.stages:
            if pool_inputs is None:
                raise ValueError("pretraining needs a pool of variants")
            held_out = val_names + list(test_names)
            extra, extra_desc = pool_inputs(train_names, held_out, recipe.n_variants)
            check_pool(extra, train_names)
            data = {**{n: inputs[n] for n in train_names}, **extra}
            names = train_names + list(extra)
            table = pd.concat([descriptors.loc[train_names], extra_desc.loc[list(extra)]])
            y = norm.d(table, names)
            for stage in recipe.stages:
                task = Task(labels=False, descriptors=stage == "descriptors",
                            masked=stage == "masked")
                t0 = time.perf_counter()
                losses = pretrain(model, data, names, y, norm, tc, task, recipe.steps, progress)
                record["pretrain"][stage] = {"losses": losses, "seconds":
                                             time.perf_counter() - t0, "segments": len(names)}
        res = finetune(model, inputs, labels, train_names, val_names, norm, tc, recipe.aux,
                       descriptors, progress)
        best = next((h for h in res.history if h["epoch"] == res.best_epoch), {})
        record.update(best_epoch=res.best_epoch, val_r=res.best_val_r,
                      train_loss=best.get("train_loss"), epochs=len(res.history))
        if fits is not None:
            record["test_names"] = list(test_names)
            record["test_descriptors"] = predict_descriptors(res.model, inputs, test_names,
                                                             norm, tc)
            fits.append(record)
        return predict(res.model, inputs, list(test_names), norm, tc)

    return fit_predict
