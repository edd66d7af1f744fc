"""Adapting a small network to a new piece: fine-tuning on k labelled performances, from weights
trained on the other works or from a meta-learned initialisation (Reptile).

The network is a two-layer perceptron over standardised descriptors (or frozen embeddings),
``(n, d) -> (n, 19)`` on the 0-1 label scale, its output added to the training mean. It follows
the recipe of the week-2 descriptor network (``models.hybrid.HybridConfig(ast=None)``): dropout
of whole inputs and after each hidden layer, AdamW, and early stopping on held-out works.

* ``fit``: AdamW on minibatches of the training rows; with ``groups`` (the work of each row),
  a share of the works is held out and the weights of the best validation loss are kept (checked
  every ``eval_every`` steps, stopping ``patience`` checks after the best), the usual supervised
  start;
* ``meta_fit``: **Reptile** (Nichol, Achiam & Schulman 2018, "On first-order meta-learning
  algorithms"), with works as tasks, from the supervised weights: for each episode (a training
  work's support and query rows, ``evaluation.fewshot.episodes``), a few steps of SGD from the
  current weights, then the weights move a step ``outer_lr`` (annealed linearly to 0) toward
  the adapted ones. It learns an initialisation from which a few gradient steps on one work's
  performances go far;
* ``adapt``: SGD on the ``k`` support rows of the new work (full batch), all the weights or
  only the head (the last linear layer: "fine-tuning the head"); ``k = 0`` returns the network
  unchanged.

Training is functional (``nnx.split`` once, then pure ``jax`` functions of the parameters), so
each loop is one compiled ``lax.scan``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx


@dataclass(frozen=True)
class MetaConfig:
    hidden: int = 64  # a small net: a few hundred training rows per held-out work
    steps: int = 2000  # most AdamW steps of supervised training (early stopping ends sooner)
    input_dropout: float = 0.1  # drops whole descriptors, as the week-2 descriptor network
    dropout: float = 0.1  # after each hidden layer, as the week-2 descriptor network
    val_share: float = 0.2  # share of the training works held out for early stopping
    eval_every: int = 50  # steps between validation checks
    patience: int = 4  # checks without a better validation loss before stopping
    batch: int = 64
    lr: float = 1e-3  # Adam, as the descriptor network's
    weight_decay: float = 1e-4
    adapt_steps: int = 20  # SGD steps on the k support rows
    adapt_lr: float = 0.05  # large enough for 20 steps to move, small enough not to overfit 1 row
    meta_steps: int = 800  # Reptile outer steps, one training-work episode each
    inner_steps: int = 5  # Reptile's inner SGD steps per episode (Nichol et al.: 5-10)
    outer_lr: float = 0.5  # Reptile's step toward the adapted weights, annealed to 0


def _drop(x, rate: float, key):
    """Inverted dropout of ``x`` at ``rate`` (Srivastava et al. 2014); ``key=None``: none."""
    if key is None or rate == 0:
        return x
    return jnp.where(jax.random.bernoulli(key, 1 - rate, x.shape), x / (1 - rate), 0.0)


class Regressor(nnx.Module):
    """(n, d) standardised inputs -> ((n, 19) predictions around the training mean,
    {"embedding": (n, hidden)}); with a ``key``, dropout of inputs and hidden units."""

    def __init__(self, d: int, hidden: int, n_outputs: int = 19, input_dropout: float = 0.0,
                 dropout: float = 0.0, *, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(d, hidden, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, hidden, rngs=rngs)
        self.head = nnx.Linear(hidden, n_outputs, rngs=rngs)
        self.rates = (input_dropout, dropout)

    def __call__(self, x, key=None):
        k = jax.random.split(key, 3) if key is not None else (None,) * 3
        x = _drop(x, self.rates[0], k[0])
        h = _drop(jax.nn.gelu(self.fc1(x)), self.rates[1], k[1])
        h = _drop(jax.nn.gelu(self.fc2(h)), self.rates[1], k[2])
        return self.head(h), {"embedding": h}


@dataclass(frozen=True)
class Net:
    """A trained ``Regressor`` with its input standardisation (training medians for missing
    values, means, standard deviations) and the training mean of the labels."""

    graphdef: object
    params: object
    median: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    y_mean: np.ndarray

    def inputs(self, X) -> jnp.ndarray:
        X = np.asarray(X, np.float64)
        X = np.where(np.isnan(X), self.median, X)
        return jnp.asarray((X - self.mean) / self.sd, jnp.float32)

    def predict(self, X) -> np.ndarray:
        """(m, 19) predictions on the 0-1 label scale for rows ``X`` (m, d)."""
        out = _apply(self.graphdef, self.params, self.inputs(X))
        return np.asarray(out, np.float64) + self.y_mean


def _apply(graphdef, params, x, key=None):
    return nnx.merge(graphdef, params)(x, key)[0]


def _mse(params, graphdef, x, y, key=None):
    return jnp.mean((_apply(graphdef, params, x, key) - y) ** 2)


@functools.partial(jax.jit, static_argnums=(0, 5))
def _sgd(graphdef, params, x, y, lr, steps: int, mask):
    """``steps`` full-batch SGD steps at ``lr``; ``mask`` (a tree of 0/1 like ``params``)
    freezes the zeroed parameters."""

    def step(p, _):
        g = jax.grad(_mse)(p, graphdef, x, y)
        return jax.tree.map(lambda a, b, m: a - lr * m * b, p, g, mask), None

    return jax.lax.scan(step, params, None, length=steps)[0]


@functools.partial(jax.jit, static_argnums=(0, 5))
def _reptile(graphdef, params, xs, ys, eps, inner: int, lr):
    """Reptile's outer steps over episodes ``xs`` (E, r, d), ``ys`` (E, r, 19) with step sizes
    ``eps`` (E,)."""
    ones = jax.tree.map(jnp.ones_like, params)

    def outer(p, ep):
        x, y, e = ep
        q = _sgd(graphdef, p, x, y, lr, inner, ones)
        return jax.tree.map(lambda a, b: a + e * (b - a), p, q), None

    return jax.lax.scan(outer, params, (xs, ys, eps))[0]


@functools.lru_cache(maxsize=8)
def _adam(lr: float, weight_decay: float):
    return optax.adamw(lr, weight_decay=weight_decay)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _train(graphdef, tx, params, opt_state, xs, ys, keys):
    """(params, optimiser state) after AdamW over the minibatches ``xs`` (S, b, d), ``ys``
    (S, b, 19), with dropout keys ``keys`` (S, 2)."""

    def step(carry, batch):
        p, s = carry
        g = jax.grad(_mse)(p, graphdef, *batch)
        u, s = tx.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    return jax.lax.scan(step, (params, opt_state), (xs, ys, keys))[0]


@functools.partial(jax.jit, static_argnums=(0,))
def _loss(graphdef, params, x, y):
    return _mse(params, graphdef, x, y)


def _start(X, Y, cfg: MetaConfig, seed: int) -> Net:
    X = np.asarray(X, np.float64)
    median = np.nan_to_num(np.nanmedian(X, axis=0))
    filled = np.where(np.isnan(X), median, X)
    sd = filled.std(axis=0)
    model = Regressor(X.shape[1], cfg.hidden, np.shape(Y)[1], cfg.input_dropout, cfg.dropout,
                      rngs=nnx.Rngs(seed))
    graphdef, params = nnx.split(model)
    return Net(graphdef, params, median, filled.mean(axis=0), np.where(sd > 0, sd, 1.0),
               np.asarray(Y, np.float64).mean(axis=0))


def _targets(net: Net, Y) -> jnp.ndarray:
    return jnp.asarray(np.asarray(Y, np.float64) - net.y_mean, jnp.float32)


def held_out_groups(groups, share: float, seed: int) -> np.ndarray:
    """(n,) bool: the rows of a seeded random ``share`` of the distinct ``groups`` (at least
    one group, never all of them). Raises ValueError with fewer than two groups."""
    groups = np.asarray(groups)
    distinct = np.unique(groups)
    if len(distinct) < 2:
        raise ValueError("early stopping on held-out groups needs at least two groups")
    n = min(max(1, round(share * len(distinct))), len(distinct) - 1)
    chosen = np.random.default_rng(seed).choice(distinct, n, replace=False)
    return np.isin(groups, chosen)


def fit(X, Y, cfg: MetaConfig = MetaConfig(), seed: int = 0, groups=None) -> Net:
    """Supervised training on ``X`` (n, d), ``Y`` (n, 19): AdamW on minibatches drawn by a
    generator seeded with ``seed``, with dropout. With ``groups`` (n,) (each row's work),
    ``cfg.val_share`` of the groups is held out and the weights of the lowest validation loss
    are kept, stopping ``cfg.patience`` checks after it (at most ``cfg.steps`` steps); without,
    ``cfg.steps`` steps on every row."""
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    val = (held_out_groups(groups, cfg.val_share, seed) if groups is not None
           else np.zeros(len(X), bool))
    net = _start(X[~val], Y[~val], cfg, seed)
    x, y = net.inputs(X[~val]), _targets(net, Y[~val])
    xv, yv = net.inputs(X[val]), _targets(net, Y[val])
    b, chunk = min(cfg.batch, len(x)), cfg.eval_every if val.any() else cfg.steps
    rng, key = np.random.default_rng(seed), jax.random.key(seed)
    tx = _adam(cfg.lr, cfg.weight_decay)
    params, state = net.params, tx.init(net.params)
    best, best_loss, since = params, np.inf, 0
    for start in range(0, cfg.steps, chunk):
        idx = rng.integers(0, len(x), (min(chunk, cfg.steps - start), b))
        key, sub = jax.random.split(key)
        params, state = _train(net.graphdef, tx, params, state, x[idx], y[idx],
                               jax.random.split(sub, len(idx)))
        if not val.any():
            best = params
            continue
        loss = float(_loss(net.graphdef, params, xv, yv))
        best, best_loss, since = ((params, loss, 0) if loss < best_loss
                                  else (best, best_loss, since + 1))
        if since >= cfg.patience:
            break
    return Net(net.graphdef, best, net.median, net.mean, net.sd, net.y_mean)


def meta_fit(X, Y, episodes, cfg: MetaConfig = MetaConfig(), seed: int = 0,
             start: Net | None = None) -> Net:
    """Reptile on ``X`` (n, d), ``Y`` (n, 19) over ``episodes`` (row indices (support, query)
    of one training work each, all of one size; ``cfg.meta_steps`` of them are used, cycling),
    from the weights of ``start`` (``fit`` on the same rows: Reptile from a random start learns
    the shared part slowly) or from a random initialisation. Raises ValueError without
    episodes or with episodes of different sizes."""
    rows = [list(s) + list(q) for s, q in episodes]
    if not rows or len({len(r) for r in rows}) != 1:
        raise ValueError("meta_fit needs episodes, all with the same number of rows")
    net = start or _start(X, Y, cfg, seed)
    x, y = net.inputs(X), _targets(net, Y)
    idx = np.array([rows[i % len(rows)] for i in range(cfg.meta_steps)])
    eps = jnp.asarray(cfg.outer_lr * (1 - np.arange(cfg.meta_steps) / cfg.meta_steps),
                      jnp.float32)
    params = _reptile(net.graphdef, net.params, x[idx], y[idx], eps, cfg.inner_steps,
                      cfg.adapt_lr)
    return Net(net.graphdef, params, net.median, net.mean, net.sd, net.y_mean)


def adapt(net: Net, X_support, Y_support, cfg: MetaConfig = MetaConfig(),
          head_only: bool = False) -> Net:
    """``net`` after ``cfg.adapt_steps`` SGD steps on the support rows (all weights, or the
    head's only); ``net`` itself for an empty support."""
    if len(X_support) == 0:
        return net
    def keep(path, v):
        trained = not head_only or getattr(path[0], "key", None) == "head"
        return jnp.full_like(v, 1.0 if trained else 0.0)

    mask = jax.tree_util.tree_map_with_path(keep, net.params)
    params = _sgd(net.graphdef, net.params, net.inputs(X_support), _targets(net, Y_support),
                  cfg.adapt_lr, cfg.adapt_steps, mask)
    return Net(net.graphdef, params, net.median, net.mean, net.sd, net.y_mean)
