"""The AST's training loop: early stopping on the nested validation fold, resumable runs.

``fit`` trains on the training names and keeps the parameters with the best mean Pearson r on
the validation names, never the test fold; with ``out_dir`` it checkpoints every epoch and
resumes a killed run to the same result. ``predict`` averages each segment's crop grid, in
label units. ``make_fit_predict`` wraps both for ``percepiano.evaluation.cross_validation``.

Both take ``inputs``, the segments at the model's resolution (``batches.model_inputs``). The
training and validation sets live on the device for the whole run (``batches.pack``); an epoch
is one call of the compiled ``steps.train_epoch``, an evaluation a few calls of
``steps.eval_crops`` with one fixed batch shape.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import pandas as pd
from flax import nnx
from jax.sharding import Mesh
from tqdm.auto import tqdm

from percepiano.audio.augment import InputAugment
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.metrics import evaluate
from percepiano.models.ast import ASTConfig, ASTModel
from percepiano.models.hybrid import HybridConfig, build
from percepiano.training.batches import (
    Normaliser,
    Packed,
    bucket,
    epoch_plan,
    eval_plan,
    model_inputs,
    pack,
)
from percepiano.training.checkpoint import check_same_run, manager, restore, save
from percepiano.training.sharding import batch_sharding, data_mesh, replicate, replicated
from percepiano.training.steps import TrainConfig, eval_crops, make_optimizer, train_epoch

__all__ = ["FitResult", "data_mesh", "embed", "fit", "make_fit_predict", "model_inputs",
           "predict"]


def _predict_packed(model: ASTModel, packed: Packed, frames, plan, norm: Normaliser,
                    tc: TrainConfig, mesh: Mesh, desc: np.ndarray | None = None,
                    pooled: bool = False) -> np.ndarray:
    """Predictions for ``packed`` (on the device as ``frames``) over its ``eval_plan``;
    ``desc`` (n, d): the packed segments' standardised descriptors, for a hybrid model; with
    ``pooled``, the mean pooled embedding of each segment's crops instead."""
    starts, owner = plan
    bs = -(-tc.eval_batch // mesh.size) * mesh.size
    graphdef, state = nnx.split(model)
    sharding = batch_sharding(mesh)
    out = []
    for b in range(0, len(starts), bs):
        chunk = np.zeros(bs, np.int32)
        chunk[:len(starts[b:b + bs])] = starts[b:b + bs]
        d = None
        if desc is not None:
            rows = np.zeros(bs, np.int64)
            rows[:len(owner[b:b + bs])] = owner[b:b + bs]
            d = desc[rows]
        out.append(eval_crops(graphdef, state, frames, chunk, crop=packed.crop,
                              sharding=sharding, desc=d, pooled=pooled))
    z = np.concatenate([np.asarray(o) for o in out])[:len(starts)]
    sums = np.zeros((len(packed.names), z.shape[1]))
    np.add.at(sums, owner, z)
    means = sums / np.bincount(owner, minlength=len(packed.names))[:, None]
    return means if pooled else norm.y_inverse(means)


def predict(model: ASTModel, inputs, names, norm: Normaliser, tc: TrainConfig,
            mesh: Mesh | None = None, descriptors: pd.DataFrame | None = None) -> np.ndarray:
    """Predictions (len(names), 19) in label units, averaged over each segment's crop grid;
    a hybrid model also needs the ``descriptors`` table (rows by name)."""
    mesh = mesh or data_mesh()
    packed = pack(inputs, list(names), norm, model.cfg.input_frames)
    desc = None if descriptors is None else norm.d(descriptors, names)
    return _predict_packed(model, packed, replicated(mesh, packed.frames),
                           eval_plan(packed, tc), norm, tc, mesh, desc)


def embed(model, inputs, names, norm: Normaliser, tc: TrainConfig,
          mesh: Mesh | None = None) -> np.ndarray:
    """(len(names), dim) pooled embeddings of an AST or listener (``intermediates["pooled"]``,
    no dropout), averaged over each segment's evaluation crop grid, like ``predict``."""
    mesh = mesh or data_mesh()
    packed = pack(inputs, list(names), norm, model.cfg.input_frames)
    return _predict_packed(model, packed, replicated(mesh, packed.frames),
                           eval_plan(packed, tc), norm, tc, mesh, pooled=True)


@dataclass
class FitResult:
    model: ASTModel
    norm: Normaliser
    history: list = dataclasses.field(default_factory=list)
    best_epoch: int = -1
    best_val_r: float = -np.inf


def fit(inputs: dict, labels: pd.DataFrame, train_names, val_names, cfg: ASTConfig,
        tc: TrainConfig | None = None, *, out_dir=None, stop_after: int | None = None,
        progress: bool = True, devices=None, descriptors: pd.DataFrame | None = None,
        variants: dict | None = None, aug: InputAugment | None = None) -> FitResult:
    """Train on ``train_names``, early-stop on ``val_names``; ``out_dir`` makes it resumable.

    ``inputs`` maps segment name -> model input (``batches.model_inputs``); ``labels`` has the
    19 dimension columns. ``stop_after`` ends this call after that many epochs (an interrupted
    run). Returns the model with the best validation mean r restored.

    ``cfg`` is an ``ASTConfig`` or a ``models.hybrid.HybridConfig``; a hybrid reads the rows
    of ``descriptors`` (standardised on the training names). ``variants`` {name: [model
    inputs]} is a pool of augmented renders per training segment, one member drawn per epoch
    (``batches.epoch_plan``); variants of names outside ``train_names`` are never read.
    ``aug`` applies SpecAugment / mixup inside the compiled step.
    """
    if isinstance(cfg, HybridConfig) and descriptors is None:
        raise ValueError("a hybrid model needs the descriptors table")
    tc = tc or TrainConfig()
    train_names, val_names = list(train_names), list(val_names)
    mesh = data_mesh(devices)
    if tc.batch_size % mesh.size or tc.batch_size > len(train_names):
        raise ValueError(f"batch_size {tc.batch_size} must divide by {mesh.size} devices and "
                         f"not exceed {len(train_names)} training segments")
    norm = Normaliser.fit(inputs, labels, train_names,
                          descriptors if isinstance(cfg, HybridConfig) else None)
    y = norm.y(labels.loc[train_names, list(DIMENSIONS)].to_numpy(np.float64))
    y_val = labels.loc[val_names, list(DIMENSIONS)].to_numpy(np.float64)
    pool = None if variants is None else {n: variants[n] for n in train_names if n in variants}
    train_pack = pack(inputs, train_names, norm, cfg.input_frames, pool)
    val_pack = pack(inputs, val_names, norm, cfg.input_frames)
    train_frames = replicated(mesh, train_pack.frames)
    val_frames = replicated(mesh, val_pack.frames)
    val_plan = eval_plan(val_pack, tc)  # fixed: computed once, read every epoch
    desc = val_desc = None
    if isinstance(cfg, HybridConfig):
        desc = replicated(mesh, norm.d(descriptors, train_names))
        val_desc = norm.d(descriptors, val_names)
    n_steps = len(train_names) // tc.batch_size
    n_steps = min(n_steps, tc.max_steps) if tc.max_steps else n_steps
    rows = bucket(n_steps, 8)
    model = build(cfg, rngs=nnx.Rngs(tc.seed))
    optimizer = make_optimizer(model, tc, tc.epochs * n_steps)
    key = jax.random.key(tc.seed)
    best = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    result = FitResult(model, norm)
    mngr, log, start = None, None, 0
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        mngr = manager(out_dir / "checkpoints")
        if mngr.latest_step() is not None:
            check_same_run(mngr, cfg, tc, norm, out_dir)
            best, key, meta = restore(mngr, model, optimizer)
            start = meta["epoch"] + 1
            result.history, result.best_epoch = meta["history"], meta["best_epoch"]
            result.best_val_r = meta["best_val_r"]
        log = open(out_dir / "log.jsonl", "a")
    replicate(mesh, model, optimizer)
    sharding = batch_sharding(mesh)
    bar = tqdm(range(start, tc.epochs), desc="train", disable=not progress, leave=False,
               initial=start, total=tc.epochs)
    for epoch in bar:
        if epoch - result.best_epoch > tc.patience and result.best_epoch >= 0:
            break
        t0 = time.perf_counter()
        starts, yb, index = epoch_plan(train_pack, y, tc, epoch, n_steps, rows, with_index=True)
        graphdef, state = nnx.split((model, optimizer))
        state, losses = train_epoch(graphdef, state, train_frames, starts, yb, n_steps, key,
                                    epoch * n_steps, crop=cfg.input_frames, sharding=sharding,
                                    desc=desc, index=None if desc is None else index, aug=aug)
        nnx.update((model, optimizer), state)
        m = evaluate(y_val, _predict_packed(model, val_pack, val_frames, val_plan, norm, tc,
                                            mesh, val_desc))
        rec = {"epoch": epoch, "train_loss": float(np.mean(np.asarray(losses)[:n_steps])),
               "val_r": m["mean_r"], "val_r2": m["mean_r2"],
               "seconds": time.perf_counter() - t0}
        result.history.append(rec)
        if m["mean_r"] > result.best_val_r:
            result.best_val_r, result.best_epoch = m["mean_r"], epoch
            best = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.Param)))
        bar.set_postfix(loss=f"{rec['train_loss']:.3f}", val_r=f"{m['mean_r']:.3f}")
        if mngr is not None:
            meta = {"epoch": epoch, "history": result.history, "best_epoch": result.best_epoch,
                    "best_val_r": result.best_val_r, "model": dataclasses.asdict(cfg),
                    "train": dataclasses.asdict(tc), "norm": dataclasses.asdict(norm)}
            save(mngr, epoch, model, optimizer, best, key, meta)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if stop_after is not None and epoch + 1 - start >= stop_after:
            break
    if log is not None:
        log.close()
    params = nnx.state(model, nnx.Param)
    nnx.replace_by_pure_dict(params, best)
    nnx.update(model, params)
    return result


def make_fit_predict(inputs, labels, cfg: ASTConfig, tc: TrainConfig | None = None,
                     progress: bool = False, descriptors: pd.DataFrame | None = None,
                     variants: dict | None = None, aug: InputAugment | None = None,
                     fits: list | None = None):
    """A ``fit_predict(train, val, test)`` for ``cross_validation.cross_validate``; the keyword
    arguments are ``fit``'s. ``fits`` collects a summary of each fit: the selected epoch, its
    training loss and validation r, and the number of training segments."""
    def fit_predict(train_names, val_names, test_names):
        res = fit(inputs, labels, train_names, val_names, cfg, tc, progress=progress,
                  descriptors=descriptors, variants=variants, aug=aug)
        if fits is not None:
            best = next((h for h in res.history if h["epoch"] == res.best_epoch), {})
            fits.append({"best_epoch": res.best_epoch, "epochs": len(res.history),
                         "train_loss": best.get("train_loss"), "val_r": res.best_val_r,
                         "n_train": len(list(train_names))})
        return predict(res.model, inputs, list(test_names), res.norm, tc or TrainConfig(),
                       descriptors=descriptors if isinstance(cfg, HybridConfig) else None)
    return fit_predict
