"""The AST's training loop: early stopping on the nested validation fold, resumable runs.

``fit`` trains on the training names and keeps the parameters with the best mean Pearson r on
the validation names, never the test fold; with ``out_dir`` it checkpoints every epoch and
resumes a killed run to the same result. ``predict`` averages each segment's crop grid, in
label units. ``make_fit_predict`` wraps both for ``percepiano.evaluation.cross_validation``.
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

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.metrics import evaluate
from percepiano.models.ast import ASTConfig, ASTModel
from percepiano.training.batches import Normaliser, crop, epoch_batches, eval_grid
from percepiano.training.checkpoint import check_same_run, manager, restore, save
from percepiano.training.sharding import data_mesh, replicate, shard
from percepiano.training.steps import TrainConfig, eval_step, make_optimizer, train_step


def predict(model: ASTModel, specs, names, norm: Normaliser, tc: TrainConfig,
            mesh: Mesh | None = None) -> np.ndarray:
    """Predictions (len(names), 19) in label units, averaged over each segment's crop grid."""
    cfg, mesh = model.cfg, mesh or data_mesh()
    items = [(i, s) for i, n in enumerate(names)
             for s in eval_grid(specs[n].shape[1], cfg.crop_frames, tc.eval_hop, tc.max_eval_crops)]
    bs = -(-tc.eval_batch // mesh.size) * mesh.size
    sums, counts = np.zeros((len(names), cfg.n_outputs)), np.zeros(len(names))
    for b in range(0, len(items), bs):
        chunk = items[b:b + bs]
        x = np.zeros((bs, cfg.n_mels, cfg.crop_frames), np.float32)
        for j, (i, s) in enumerate(chunk):
            x[j] = norm.x(crop(specs[names[i]], s, cfg.crop_frames))
        out = np.asarray(eval_step(model, *shard(mesh, x)))[:len(chunk)]
        for (i, _), o in zip(chunk, out, strict=True):
            sums[i] += o
            counts[i] += 1
    return norm.y_inverse(sums / counts[:, None])


@dataclass
class FitResult:
    model: ASTModel
    norm: Normaliser
    history: list = dataclasses.field(default_factory=list)
    best_epoch: int = -1
    best_val_r: float = -np.inf


def fit(specs: dict, labels: pd.DataFrame, train_names, val_names, cfg: ASTConfig,
        tc: TrainConfig | None = None, *, out_dir=None, stop_after: int | None = None,
        progress: bool = True, devices=None) -> FitResult:
    """Train on ``train_names``, early-stop on ``val_names``; ``out_dir`` makes it resumable.

    ``specs`` maps segment name -> log-mel (n_mels, frames); ``labels`` has the 19 dimension
    columns. ``stop_after`` ends this call after that many epochs (an interrupted run).
    Returns the model with the best validation mean r restored.
    """
    tc = tc or TrainConfig()
    train_names, val_names = list(train_names), list(val_names)
    mesh = data_mesh(devices)
    if tc.batch_size % mesh.size or tc.batch_size > len(train_names):
        raise ValueError(f"batch_size {tc.batch_size} must divide by {mesh.size} devices and "
                         f"not exceed {len(train_names)} training segments")
    norm = Normaliser.fit(specs, labels, train_names)
    y = norm.y(labels.loc[train_names, list(DIMENSIONS)].to_numpy(np.float64))
    y_val = labels.loc[val_names, list(DIMENSIONS)].to_numpy(np.float64)
    n_steps = len(train_names) // tc.batch_size
    n_steps = min(n_steps, tc.max_steps) if tc.max_steps else n_steps
    model = ASTModel(cfg, rngs=nnx.Rngs(tc.seed))
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
    bar = tqdm(range(start, tc.epochs), desc="train", disable=not progress, leave=False,
               initial=start, total=tc.epochs)
    for epoch in bar:
        if epoch - result.best_epoch > tc.patience and result.best_epoch >= 0:
            break
        t0, losses = time.perf_counter(), []
        for s, (xb, yb) in enumerate(epoch_batches(specs, train_names, y, norm, cfg, tc, epoch,
                                                        n_steps)):
            k = jax.random.fold_in(key, epoch * n_steps + s)
            losses.append(train_step(model, optimizer, *shard(mesh, xb, yb), k))
        m = evaluate(y_val, predict(model, specs, val_names, norm, tc, mesh))
        rec = {"epoch": epoch, "train_loss": float(np.mean(losses)), "val_r": m["mean_r"],
               "val_r2": m["mean_r2"], "seconds": time.perf_counter() - t0}
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


def make_fit_predict(specs, labels, cfg: ASTConfig, tc: TrainConfig | None = None,
                     progress: bool = False):
    """A ``fit_predict(train, val, test)`` for ``cross_validation.cross_validate``."""
    def fit_predict(train_names, val_names, test_names):
        res = fit(specs, labels, train_names, val_names, cfg, tc, progress=progress)
        return predict(res.model, specs, list(test_names), res.norm, tc or TrainConfig())
    return fit_predict
