"""The AST's training recipe as free functions, in the Flax examples' shape: ``TrainConfig``,
``loss_fn``, ``train_step`` (one batch, ``nnx.jit``), the optimiser, and the compiled loops
the training uses: ``train_epoch`` and ``eval_crops``.

The recipe of AST (Gong et al., 2021) on a CPU budget: mean squared error on standardised
targets, AdamW with linear warm-up then cosine decay after global-norm clipping. Everything random
derives from ``TrainConfig.seed``; dropout keys from ``fold_in(key(seed), step)``.

``train_epoch`` runs a whole epoch as one XLA program: a ``fori_loop`` over the steps, each
cutting its batch of crops out of the packed training set on the device
(``batches.pack``) with ``dynamic_slice``, so there is one dispatch per epoch and no host
copy of spectrograms. Under a mesh the batch is sharded on the ``'data'`` axis and XLA inserts
the gradient all-reduce. The step count is an argument, not a shape, so folds of different
sizes share one compiled program.
"""

from __future__ import annotations

import collections
import functools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import NamedSharding

from percepiano.audio.augment import InputAugment, augment_inputs
from percepiano.config import profile
from percepiano.models.ast import ASTModel

TRACES: collections.Counter = collections.Counter()  # jit traces per step function (tests)

_PROFILE_DEFAULTS = {          # epochs, batch, patience, max steps per epoch (None: all)
    "smoke": dict(epochs=2, batch_size=4, patience=2, max_steps=2),
    "quick": dict(epochs=15, batch_size=32, patience=6, max_steps=None),
    "full": dict(epochs=100, batch_size=32, patience=20, max_steps=None),
}


def _profiled(key):
    return lambda: _PROFILE_DEFAULTS[profile()][key]


@dataclass(frozen=True)
class TrainConfig:
    """How to train; ``epochs``, ``batch_size``, ``patience``, ``max_steps`` follow the profile."""

    epochs: int = field(default_factory=_profiled("epochs"))  # smoke 2, quick 15, full 100
    batch_size: int = field(default_factory=_profiled("batch_size"))  # 32: ~25 steps an epoch
    patience: int = field(default_factory=_profiled("patience"))  # epochs without a better val r
    max_steps: int | None = field(default_factory=_profiled("max_steps"))  # smoke: 2 steps
    lr: float = 1e-3            # AdamW peak; 1e-3 beat 5e-4 for the 0.2 M default in 15 epochs
    warmup_frac: float = 0.1    # linear warm-up over the first 10 % of steps stabilises attention
    weight_decay: float = 0.05  # ViT/DeiT's value; strong regularisation for ~900 segments
    clip_norm: float = 1.0      # global-norm clipping keeps early steps from blowing up
    eval_hop: float = 0.5       # evaluation crops overlap by half a crop
    max_eval_crops: int = 8     # caps the cost of the longest segments (up to 100 s)
    eval_batch: int = 64        # fixed evaluation batch: one compiled shape
    seed: int = 0               # everything random derives from it

    @classmethod
    def for_profile(cls, name: str, **overrides) -> TrainConfig:
        """The defaults of profile ``name`` (not the active one), with optional overrides."""
        return cls(**{**_PROFILE_DEFAULTS[profile(name)], **overrides})


def loss_fn(model: ASTModel, x, y, key):
    """Mean squared error on standardised targets; returns (loss, predictions). ``x`` is the
    model input, or a tuple of inputs (spectrogram crops, descriptors) for a hybrid model."""
    pred, _ = model(*x, key=key) if isinstance(x, tuple) else model(x, key=key)
    return jnp.mean((pred - y) ** 2), pred


@nnx.jit
def train_step(model: ASTModel, optimizer: nnx.Optimizer, x, y, key):
    """One AdamW step on a batch; returns the batch loss."""
    TRACES["train_step"] += 1
    (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, x, y, key)
    optimizer.update(model, grads)
    return loss


@functools.lru_cache(maxsize=32)
def _transform(lr, warmup_frac, weight_decay, clip_norm, total_steps):
    # one object per setting: the transform is static in the jitted step, so an equal object
    # lets a second run (another fold, a resumed run) reuse the compiled step
    warmup = max(1, int(warmup_frac * total_steps))
    schedule = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(total_steps, warmup + 1))
    return optax.chain(optax.clip_by_global_norm(clip_norm),
                       optax.adamw(schedule, weight_decay=weight_decay))


def make_optimizer(model, tc: TrainConfig, total_steps: int) -> nnx.Optimizer:
    """AdamW with linear warm-up then cosine decay, after global-norm clipping."""
    tx = _transform(tc.lr, tc.warmup_frac, tc.weight_decay, tc.clip_norm, total_steps)
    return nnx.Optimizer(model, tx, wrt=nnx.Param)


def crops(frames: jax.Array, starts: jax.Array, length: int) -> jax.Array:
    """(rows, F) packed frames, (B,) starts -> (B, length, F) crops, gathered on the device."""
    return jax.vmap(lambda s: jax.lax.dynamic_slice_in_dim(frames, s, length, axis=0))(starts)


def _constrain(x, sharding: NamedSharding | None):
    return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)


@functools.partial(jax.jit, static_argnames=("graphdef", "crop", "sharding", "aug"),
                   donate_argnames=("state",))
def train_epoch(graphdef, state, frames, starts, y, n_steps, key, first_step, *, crop: int,
                sharding: NamedSharding | None = None, desc=None, index=None,
                aug: InputAugment | None = None):
    """``n_steps`` AdamW steps in one program; returns (state, losses (rows,)).

    ``graphdef``/``state`` are ``nnx.split((model, optimizer))``; ``starts`` (rows, B) and ``y``
    (rows, B, 19) come from ``batches.epoch_plan``; step ``s`` uses dropout key
    ``fold_in(key, first_step + s)``. Rows from ``n_steps`` on are not run (loss 0).
    A hybrid model also gets ``desc[index[s]]``: ``desc`` (n, d) standardised descriptors of
    the packed segments, ``index`` (rows, B) each crop's segment. ``aug`` applies SpecAugment
    and mixup to each batch with key ``fold_in(k, 1)`` of the step's key ``k`` (dropout keeps
    ``k``, so a run without it is the same program as before)."""
    TRACES["train_epoch"] += 1

    def step(s, carry):
        state, losses = carry
        model, optimizer = nnx.merge(graphdef, state)
        x = _constrain(crops(frames, starts[s], crop), sharding)
        yb = _constrain(y[s], sharding)
        d = None if desc is None else _constrain(desc[index[s]], sharding)
        k = jax.random.fold_in(key, first_step + s)
        if aug is not None and aug.active:
            x, yb, d = augment_inputs(aug, jax.random.fold_in(k, 1), x, yb, d)
        inputs = x if d is None else (x, d)
        (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, inputs, yb, k)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), losses.at[s].set(loss)

    return jax.lax.fori_loop(0, n_steps, step, (state, jnp.zeros(starts.shape[0], jnp.float32)))


@functools.partial(jax.jit, static_argnames=("graphdef", "crop", "sharding", "pooled"))
def eval_crops(graphdef, state, frames, starts, *, crop: int,
               sharding: NamedSharding | None = None, desc=None, pooled: bool = False):
    """Predictions (standardised, no dropout) for the crops at ``starts`` (B,) of ``frames``,
    or with ``pooled`` the model's pooled embeddings (B, dim); ``graphdef``/``state`` are
    ``nnx.split(model)``; ``desc`` (B, d): each crop's descriptors, for a hybrid model."""
    TRACES["eval_crops"] += 1
    model = nnx.merge(graphdef, state)
    x = _constrain(crops(frames, starts, crop), sharding)
    out = model(x) if desc is None else model(x, _constrain(desc, sharding))
    return out[1]["pooled"] if pooled else out[0]
