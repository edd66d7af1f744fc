"""Integrated gradients: which input values of a spectrogram a prediction rests on.

Sundararajan, Taly & Yan (2017), "Axiomatic Attribution for Deep Networks", ICML: the
attribution of input ``x_i`` is ``(x_i - b_i)`` times the gradient ``df/dx_i`` averaged along the
straight path from a baseline ``b`` to ``x``. Here the path integral is a Riemann sum with the
trapezoid rule over ``steps`` equally spaced points (both ends included), so the attributions
add up to ``f(x) - f(b)`` (completeness) up to the quadrature error; ``completeness_gap``
measures it and should be checked before attributions are read.

**Baseline.** The default is zeros. For a normalised log-mel input a zero is the training
set's mean level, not silence; the better baseline for "what does the sound contribute" is
silence, the minimum dB of the log-mel (``MelConfig.amin``: -100 dB) pooled and normalised
like the input: ``silence_baseline(x, norm)``.

The model's input for a segment is made as the training code makes it
(``training.batches.model_inputs``, i.e. ``models.ast.pool_input``, then
``Normaliser.x``): (frames / time_pool, n_mels / freq_pool), time-major, one crop of
``cfg.input_frames`` rows at a time.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from percepiano.data.dataset import DIMENSIONS

SILENCE_DB = -100.0  # 10 log10(MelConfig.amin): the floor of every cached log-mel


@functools.partial(jax.jit, static_argnames=("f",))
def _path_gradients(f, path):
    """Gradients of ``sum(f(path))`` with respect to each row of the batched ``path``."""
    return jax.grad(lambda z: jnp.sum(f(z)))(path)


def trapezoid_weights(steps: int) -> np.ndarray:
    """Weights (steps,) of the trapezoid rule on ``steps`` equal intervals' ends in [0, 1]."""
    if steps < 2:
        raise ValueError(f"integrated gradients needs steps >= 2, got {steps}")
    w = np.full(steps, 1.0 / (steps - 1))
    w[[0, -1]] /= 2.0
    return w


def integrated_gradients(f, x, baseline=None, steps: int = 32, chunk: int | None = None):
    """Integrated gradients (Sundararajan et al. 2017) of a batched function.

    ``f`` maps a batch (B, ...) to one scalar per example (B,), and its examples must not
    interact (true of the models here in inference: layer norm is per token, no batch norm).
    ``x`` (B, ...) the inputs, ``baseline`` an array of ``x``'s shape (or broadcastable to it;
    None: zeros). The ``steps`` path points are evaluated ``chunk`` at a time (None: all in one
    batch of ``steps * B`` rows; lower it to save memory); gradients are jitted once per ``f``
    and shape. Returns attributions (B, ...) float32 as a ``jax.Array``, adding up per example
    to ``f(x) - f(baseline)`` up to the quadrature error. Raises ValueError for ``steps < 2``.
    """
    x = jnp.asarray(x, jnp.float32)
    b = jnp.zeros_like(x) if baseline is None else jnp.broadcast_to(
        jnp.asarray(baseline, jnp.float32), x.shape)
    weights = trapezoid_weights(steps)
    alphas = np.linspace(0.0, 1.0, steps)
    chunk = steps if chunk is None else max(1, min(chunk, steps))
    pad = -steps % chunk                                   # zero-weight points: one compile
    alphas, weights = np.pad(alphas, (0, pad)), np.pad(weights, (0, pad))
    diff, shape = x - b, (-1,) + (1,) * x.ndim
    total = jnp.zeros_like(x)
    for s in range(0, len(alphas), chunk):
        a = jnp.asarray(alphas[s:s + chunk], jnp.float32).reshape(shape)
        path = b[None] + a * diff[None]                    # (chunk, B, ...)
        g = _path_gradients(f, path.reshape((-1,) + x.shape[1:])).reshape(path.shape)
        total = total + jnp.tensordot(jnp.asarray(weights[s:s + chunk], jnp.float32), g, axes=1)
    return diff * total


def completeness_gap(f, x, baseline, attributions) -> np.ndarray:
    """Per example (B,), ``|sum(attributions) - (f(x) - f(baseline))|``: the quadrature error
    of ``integrated_gradients`` (the completeness axiom holds exactly in the limit)."""
    x = jnp.asarray(x, jnp.float32)
    b = jnp.zeros_like(x) if baseline is None else jnp.broadcast_to(
        jnp.asarray(baseline, jnp.float32), x.shape)
    total = np.asarray(attributions, np.float64).reshape(x.shape[0], -1).sum(axis=1)
    delta = np.asarray(f(x), np.float64) - np.asarray(f(b), np.float64)
    return np.abs(total - delta)


def silence_baseline(x, norm, db: float = SILENCE_DB) -> np.ndarray:
    """A silent input of ``x``'s shape: ``db`` (default the log-mel floor, -100 dB) normalised
    by ``norm`` (a ``training.batches.Normaliser``) as the model's inputs are. Pooling leaves a
    constant unchanged, so the full-resolution silence and the pooled one are the same."""
    return norm.x(np.full(np.shape(x), db, np.float32))


def model_output_fn(model, dim, descriptors=None):
    """``f`` for ``integrated_gradients``: model input (B, T, F) -> (B,) the normalised
    (standardised-label) prediction of dimension ``dim`` (index, or a name in ``DIMENSIONS``).

    ``model``: an ``ASTModel``, ``ListenerModel`` or ``HybridModel``, called in inference mode
    (``key=None``: no dropout or stochastic depth; the models take no other train flag). A
    hybrid needs ``descriptors``, its standardised descriptor vector(s) (n,) or (B, n)
    (``Normaliser.d``), held fixed: they are tiled to however many rows ``f`` is given, so the
    rows must be a multiple of B (``integrated_gradients`` stacks path points B rows at a
    time). Raises ValueError on an unknown dimension or a hybrid without descriptors."""
    from percepiano.models.hybrid import HybridModel

    if isinstance(dim, str):
        if dim not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dim!r}; choose from DIMENSIONS")
        dim = DIMENSIONS.index(dim)
    if not 0 <= int(dim) < len(DIMENSIONS):
        raise ValueError(f"dimension index {dim} is outside 0..{len(DIMENSIONS) - 1}")
    dim = int(dim)
    if not isinstance(model, HybridModel):
        return lambda x: model(x)[0][:, dim]
    if descriptors is None:
        raise ValueError("a hybrid model needs its descriptors (Normaliser.d) to be held fixed")
    d = jnp.atleast_2d(jnp.asarray(descriptors, jnp.float32))

    def f(x):
        if x.shape[0] % d.shape[0]:
            raise ValueError(f"{x.shape[0]} rows are not a multiple of {d.shape[0]} "
                             "descriptor rows")
        return model(x, jnp.tile(d, (x.shape[0] // d.shape[0], 1)))[0][:, dim]
    return f
