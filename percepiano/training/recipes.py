"""Week 2's fine-tuning: what the loss targets and how a small dataset is trained, from a
pretrained listener (``training.warmstart``), alone or fused with descriptors
(``models.hybrid``).

An ``Objective`` says what a step minimises (``training.losses``): mean squared error, 1 - r,
1 - CCC, a within-excerpt pairwise ranking loss, mean squared error plus ranking (fixed or
learned weights, Kendall et al. 2018), or mean squared error weighted per dimension (weights
from the forest's accuracy on the training folds, given by the caller). With ``per_excerpt``,
batches hold blocks of performances of one excerpt (``sampling.excerpt_batches``) so the
ranking loss has pairs. A listener also keeps its auxiliary descriptor head's loss (the
"both" recipe of the listener chapter).

A ``Regime`` says how: dropout, weight decay, a spectral-norm constraint on every linear map
(after each step, ``W <- W / max(1, sigma_max(W))``: the projection form of spectral
normalisation, Miyato et al. 2018; Gouk et al. 2021), the learning-rate schedule (linear
warm-up then cosine, one-cycle (Smith & Topin 2019), or constant with halving when the
validation r stops improving (optax's ``reduce_on_plateau``)), early stopping on validation
r or validation loss, and bf16 arithmetic with fp32 master weights.

An epoch is one compiled program (``recipe_epoch``), as in ``steps.train_epoch``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from flax import nnx

from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation.metrics import evaluate
from percepiano.training import losses
from percepiano.training.batches import Normaliser, bucket, pack
from percepiano.training.sampling import excerpt_batches, group_ids
from percepiano.training.sharding import batch_sharding, data_mesh, replicate, replicated
from percepiano.training.steps import TRACES, TrainConfig, crops
from percepiano.training.train import predict

N_LABELS = len(DIMENSIONS)
LOSS_NAMES = ("mse", "pearson", "ccc", "ranking", "mse+ranking")
WEIGHTINGS = ("fixed", "learned", "forest")
SCHEDULES = ("warmup_cosine", "one_cycle", "plateau")
STOPS = ("val_r", "val_loss")


@dataclass(frozen=True)
class Objective:
    """What a fine-tuning step minimises (module docstring)."""

    loss: str = "mse"
    weighting: str = "fixed"   # "learned" (mse+ranking), "forest" (per-dimension weights)
    rank_weight: float = 1.0   # fixed weighting of the ranking term
    per_excerpt: int = 0       # > 0: batches of blocks of this many performances per excerpt
    aux: bool = True           # a listener's descriptor-head loss, as in its pretraining recipe

    def __post_init__(self):
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSS_NAMES)}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {self.weighting!r}")
        if "ranking" in self.loss and self.per_excerpt < 2:
            raise ValueError("a ranking loss needs batches of performances of one excerpt "
                             "(per_excerpt >= 2)")


@dataclass(frozen=True)
class Regime:
    """How fine-tuning is regularised and scheduled (module docstring); None: the default."""

    dropout: float | None = None
    weight_decay: float | None = None
    spectral: bool = False
    schedule: str = "warmup_cosine"
    stop_on: str = "val_r"
    bf16: bool = False

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}")
        if self.stop_on not in STOPS:
            raise ValueError(f"unknown stopping rule {self.stop_on!r}")


class Tuned(nnx.Module):
    """The network being fine-tuned and the log-variances of learned loss weights."""

    def __init__(self, net: nnx.Module):
        self.net = net
        self.log_vars = nnx.Param(jnp.zeros((3,)))  # label MSE, ranking, descriptors


def _half(model):
    graphdef, state = nnx.split(model)
    return nnx.merge(graphdef, jax.tree.map(
        lambda a: a.astype(jnp.bfloat16) if a.dtype == jnp.float32 else a, state))


def objective_loss(tuned: Tuned, x, d, y, groups, weights, key, objective: Objective,
                   bf16: bool):
    """The step's loss: ``x`` crops (B, T, F), ``d`` standardised descriptors (B, n) or None,
    ``y`` (B, 19 [+ descriptors]) standardised targets, ``groups`` (B,) excerpt ids,
    ``weights`` (19,) per-dimension weights."""
    net = _half(tuned.net) if bf16 else tuned.net
    if bf16:
        x, d = x.astype(jnp.bfloat16), None if d is None else d.astype(jnp.bfloat16)
    pred, inter = net(x, key=key) if d is None else net(x, d, key=key)
    pred, yl = pred.astype(jnp.float32), y[:, :N_LABELS]
    s = tuned.log_vars[...]
    if objective.weighting == "forest":
        label = losses.weighted_mse(pred, yl, weights)
    elif objective.loss == "mse+ranking":
        parts = jnp.stack([losses.mse(pred, yl), losses.ranking(pred, yl, groups)])
        label = (losses.uncertainty_weighted(parts, s[:2]) if objective.weighting == "learned"
                 else parts[0] + objective.rank_weight * parts[1])
    else:
        label = losses.LOSSES[objective.loss](pred, yl, groups)
    if not (objective.aux and "descriptors" in inter):
        return label
    desc = jnp.mean((inter["descriptors"].astype(jnp.float32) - y[:, N_LABELS:]) ** 2)
    if objective.weighting == "learned":
        return label + losses.uncertainty_weighted(desc[None], s[2:])
    return tuned.net.combine(label, desc)


def _project(model):
    """Scale the kernel of every linear map to spectral norm at most 1."""
    for _, module in nnx.iter_modules(model):
        if isinstance(module, nnx.Linear):
            k = module.kernel[...]
            module.kernel[...] = k / jnp.maximum(1.0, jnp.linalg.norm(k, ord=2))


@functools.partial(jax.jit, static_argnames=("graphdef", "crop", "objective", "bf16",
                                             "spectral", "sharding"),
                   donate_argnames=("state",))
def recipe_epoch(graphdef, state, frames, starts, y, groups, desc, index, weights, n_steps,
                 key, first_step, plateau_value, *, crop: int, objective: Objective,
                 bf16: bool, spectral: bool, sharding=None):
    """``n_steps`` steps of ``objective`` in one program; returns (state, losses (rows,)).
    ``starts``/``index``/``groups`` (rows, B), ``y`` (rows, B, targets); ``desc`` (n, d) or
    None; ``plateau_value`` feeds a plateau schedule (ignored by the others)."""
    TRACES["recipe_epoch"] += 1

    def step(s, carry):
        state, out = carry
        tuned, optimizer = nnx.merge(graphdef, state)
        x = crops(frames, starts[s], crop)
        if sharding is not None:
            x = jax.lax.with_sharding_constraint(x, sharding)
        d = None if desc is None else desc[index[s]]
        k = jax.random.fold_in(key, first_step + s)
        loss, grads = nnx.value_and_grad(objective_loss)(tuned, x, d, y[s], groups[s], weights,
                                                         k, objective, bf16)
        optimizer.update(tuned, grads, value=plateau_value)
        if spectral:
            _project(tuned)
        return nnx.state((tuned, optimizer)), out.at[s].set(loss)

    return jax.lax.fori_loop(0, n_steps, step, (state, jnp.zeros(starts.shape[0], jnp.float32)))


@functools.lru_cache(maxsize=32)
def _transform(schedule: str, lr: float, warmup_frac: float, weight_decay: float,
               clip_norm: float, total: int, per_epoch: int):
    if schedule == "one_cycle":
        rate = optax.cosine_onecycle_schedule(max(total, 2), lr)
    elif schedule == "plateau":
        rate = lr
    else:
        warmup = max(1, int(warmup_frac * total))
        rate = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(total, warmup + 1))
    parts = [optax.clip_by_global_norm(clip_norm), optax.adamw(rate, weight_decay=weight_decay)]
    if schedule == "plateau":  # halve after 2 epochs without a better validation r
        parts.append(optax.contrib.reduce_on_plateau(factor=0.5, patience=2,
                                                     accumulation_size=per_epoch))
    return optax.chain(*parts)


def plan(packed, n_steps: int, rows: int, tc: TrainConfig, epoch: int, groups: np.ndarray,
         per_excerpt: int):
    """(starts, segment index) (rows, B) of one epoch: random batches drawn as
    ``batches.epoch_plan`` draws them, or blocks of one excerpt (``per_excerpt`` > 0)."""
    rng = np.random.default_rng([tc.seed, epoch])
    n = len(packed.names)
    if per_excerpt:
        idx = excerpt_batches(groups, tc.batch_size, per_excerpt, tc.seed, epoch, n_steps)
    else:
        idx = rng.permutation(n)[:n_steps * tc.batch_size].reshape(n_steps, tc.batch_size)
    starts = packed.offsets[idx] + rng.integers(packed.lengths[idx] - packed.crop + 1)
    out_s, out_i = np.zeros((rows, tc.batch_size), np.int32), np.zeros((rows, tc.batch_size),
                                                                         np.int32)
    out_s[:n_steps], out_i[:n_steps] = starts, idx
    return out_s, out_i


@dataclass
class Tuning:
    net: nnx.Module
    history: list
    best_epoch: int
    best_score: float


def finetune(net: nnx.Module, inputs: dict, labels: pd.DataFrame, train_names, val_names,
             norm: Normaliser, tc: TrainConfig, objective: Objective, regime: Regime,
             excerpts: pd.Series, descriptors: pd.DataFrame | None = None, fused: bool = False,
             weights: np.ndarray | None = None) -> Tuning:
    """Fine-tune ``net`` (a listener, or a hybrid with ``fused``) on the labels of
    ``train_names`` and keep the parameters of the best validation epoch (``regime.stop_on``).

    ``descriptors``: the listener's auxiliary targets, or the hybrid's input, by name;
    ``excerpts``: each segment's excerpt (for excerpt batches and the ranking loss);
    ``weights`` (19,): per-dimension weights of the "forest" weighting."""
    train_names, val_names = list(train_names), list(val_names)
    y = norm.y(labels.loc[train_names, list(DIMENSIONS)].to_numpy(np.float64))
    desc = None
    if fused:
        desc = norm.d(descriptors, train_names)
    elif objective.aux and descriptors is not None:
        y = np.concatenate([y, norm.d(descriptors, train_names)], axis=1)
    y_val = labels.loc[val_names, list(DIMENSIONS)].to_numpy(np.float64)
    groups = group_ids(excerpts.loc[train_names].to_numpy())
    mesh = data_mesh()
    packed = pack(inputs, train_names, norm, net.cfg.input_frames)
    frames = replicated(mesh, packed.frames)
    per_epoch = len(train_names) // tc.batch_size
    per_epoch = min(per_epoch, tc.max_steps) if tc.max_steps else per_epoch
    tuned = Tuned(net)
    tx = _transform(regime.schedule, tc.lr, tc.warmup_frac, tc.weight_decay, tc.clip_norm,
                    tc.epochs * per_epoch, per_epoch)
    optimizer = nnx.Optimizer(tuned, tx, wrt=nnx.Param)
    replicate(mesh, tuned, optimizer)
    key, rows = jax.random.key(tc.seed), bucket(per_epoch, 8)
    w = jnp.asarray(np.ones(N_LABELS, np.float32) if weights is None else weights, jnp.float32)
    best = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(net, nnx.Param)))
    out, plateau = Tuning(net, [], -1, -np.inf), 0.0
    for epoch in range(tc.epochs):
        if out.best_epoch >= 0 and epoch - out.best_epoch > tc.patience:
            break
        t0 = time.perf_counter()
        starts, index = plan(packed, per_epoch, rows, tc, epoch, groups, objective.per_excerpt)
        graphdef, state = nnx.split((tuned, optimizer))
        state, step_losses = recipe_epoch(
            graphdef, state, frames, starts, jnp.asarray(y[index]), jnp.asarray(groups[index]),
            None if desc is None else jnp.asarray(desc), index, w, per_epoch, key,
            epoch * per_epoch, jnp.float32(plateau), crop=packed.crop, objective=objective,
            bf16=regime.bf16, spectral=regime.spectral, sharding=batch_sharding(mesh))
        nnx.update((tuned, optimizer), state)
        pred = predict(net, inputs, val_names, norm, tc, mesh,
                       descriptors=descriptors if fused else None)
        m = evaluate(y_val, pred)
        val_loss = float(np.mean((norm.y(pred) - norm.y(y_val)) ** 2))
        score = m["mean_r"] if regime.stop_on == "val_r" else -val_loss
        plateau = -m["mean_r"]
        out.history.append({"epoch": epoch, "train_loss": float(np.mean(
            np.asarray(step_losses)[:per_epoch])), "val_r": m["mean_r"], "val_loss": val_loss,
                            "seconds": time.perf_counter() - t0})
        if score > out.best_score:
            out.best_score, out.best_epoch = score, epoch
            best = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(net, nnx.Param)))
    params = nnx.state(net, nnx.Param)
    nnx.replace_by_pure_dict(params, best)
    nnx.update(net, params)
    return out
