"""Training losses for the 19 perceptual dimensions, as pure JAX functions.

Every loss takes ``pred`` and ``target`` of shape (B, D), standardised targets (per-dimension
z-scores, so units are standard deviations of the training labels), and returns a scalar
(float32 for float32 inputs; lower is better). Each also accepts ``groups`` (B,) int, the id of
the excerpt each row is a performance of, so a caller can write ``LOSSES[name](pred, target,
groups)`` for any name; only ``ranking`` uses it. Shapes are checked in Python, so a wrong shape
raises ``ValueError`` at trace time, also under ``jax.jit``.

- ``mse``: the recipe of AST (Gong et al., 2021).
- ``pearson``: 1 - Pearson's r per dimension over the batch, the metric the book reports.
- ``ccc``: 1 - Lin's concordance correlation coefficient (Lin, 1989), which also penalises a
  shift or a change of scale that r ignores.
- ``ranking``: a pairwise loss on performances of the same excerpt, RankNet's logistic loss
  (Burges et al., 2005) or a hinge; it trains what within-excerpt pairwise accuracy measures.
- ``uncertainty_weighted``: combines task losses with learned homoscedastic uncertainty
  (Kendall, Gal & Cipolla, 2018).
- ``dimension_weights`` and ``weighted_mse``: weight each dimension by how learnable it is
  (e.g. a forest's R² on the training folds).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["LOSSES", "ccc", "dimension_weights", "mse", "pair_mask", "pearson", "ranking",
           "uncertainty_weighted", "weighted_mse"]


def _check(pred: jax.Array, target: jax.Array) -> None:
    """Raise ``ValueError`` unless ``pred`` and ``target`` are both (B, D)."""
    if jnp.ndim(pred) != 2 or jnp.shape(pred) != jnp.shape(target):
        raise ValueError(f"pred and target must both be (B, D); got {jnp.shape(pred)} and "
                         f"{jnp.shape(target)}")


def mse(pred: jax.Array, target: jax.Array, groups: jax.Array | None = None) -> jax.Array:
    """Mean squared error over all B * D entries, in squared standard deviations.

    ``groups`` is ignored. Raises ``ValueError`` if the shapes are not both (B, D)."""
    _check(pred, target)
    return jnp.mean(jnp.square(pred - target))


def pearson(pred: jax.Array, target: jax.Array, groups: jax.Array | None = None,
            eps: float = 1e-6) -> jax.Array:
    """Mean over dimensions of 1 - r_d, r_d Pearson's correlation of column d over the batch.

    Each column is centred; r = sum(xy) / sqrt(sum(x²) sum(y²) + eps), so a constant column
    gives r = 0 and a finite gradient. The loss lies in [0, 2] and is blind to the scale and
    offset of ``pred``. ``groups`` is ignored. Raises ``ValueError`` on shapes other than (B, D).
    """
    _check(pred, target)
    x = pred - jnp.mean(pred, axis=0, keepdims=True)
    y = target - jnp.mean(target, axis=0, keepdims=True)
    r = jnp.sum(x * y, axis=0) / jnp.sqrt(jnp.sum(x * x, axis=0) * jnp.sum(y * y, axis=0) + eps)
    return jnp.mean(1.0 - r)


def ccc(pred: jax.Array, target: jax.Array, groups: jax.Array | None = None,
        eps: float = 1e-6) -> jax.Array:
    """Mean over dimensions of 1 - CCC_d, Lin's concordance correlation coefficient (Lin, 1989).

    CCC = 2 cov / (var_p + var_t + (mean_p - mean_t)² + eps), population (biased) moments of
    each column over the batch. CCC is 1 only when ``pred`` equals ``target``: unlike ``pearson``
    it also penalises a shift or a change of scale. The loss lies in [0, 2]. ``groups`` is
    ignored. Raises ``ValueError`` on shapes other than (B, D).
    """
    _check(pred, target)
    mp = jnp.mean(pred, axis=0, keepdims=True)
    mt = jnp.mean(target, axis=0, keepdims=True)
    x, y = pred - mp, target - mt
    cov = jnp.mean(x * y, axis=0)
    denom = jnp.mean(x * x, axis=0) + jnp.mean(y * y, axis=0) + jnp.square(mp - mt)[0] + eps
    return jnp.mean(1.0 - 2.0 * cov / denom)


def pair_mask(target: jax.Array, groups: jax.Array, tie: float = 0.05) -> jax.Array:
    """(B, B, D) bool: entry (i, j, d) is a pair ``ranking`` scores.

    True when i < j (each unordered pair once), ``groups[i] == groups[j] >= 0`` (performances of
    the same excerpt; a negative id is never paired) and |target[i, d] - target[j, d]| > ``tie``
    (in standard deviations; ties carry no order). Raises ``ValueError`` unless ``target`` is
    (B, D) and ``groups`` (B,).
    """
    if jnp.ndim(target) != 2 or jnp.shape(groups) != jnp.shape(target)[:1]:
        raise ValueError(f"target must be (B, D) and groups (B,); got {jnp.shape(target)} and "
                         f"{jnp.shape(groups)}")
    b = target.shape[0]
    g = jnp.asarray(groups)
    same = (g[:, None] == g[None, :]) & (g[:, None] >= 0)
    upper = jnp.arange(b)[:, None] < jnp.arange(b)[None, :]
    apart = jnp.abs(target[:, None, :] - target[None, :, :]) > tie
    return (same & upper)[:, :, None] & apart


def ranking(pred: jax.Array, target: jax.Array, groups: jax.Array, tie: float = 0.05,
            kind: str = "logistic", margin: float = 0.1) -> jax.Array:
    """Pairwise ranking loss within excerpts, averaged over the valid (pair, dimension) entries.

    For each pair of rows i < j with the same non-negative ``groups`` id and each dimension d
    with |t_i - t_j| > ``tie`` (see ``pair_mask``), with s = sign(t_i - t_j) and
    Δ = p_i - p_j: ``kind="logistic"`` scores softplus(-s Δ), RankNet's loss (Burges et al.,
    2005); ``kind="margin"`` scores relu(``margin`` - s Δ), a hinge. Only the order of the
    predictions matters, not their level, so it trains exactly what within-excerpt pairwise
    accuracy measures. With no valid entry the loss is 0.0 and its gradient zero and finite.
    Masks, not indexing, so it is ``jax.jit``-compatible (``kind`` static).

    Raises ``ValueError`` on shapes other than (B, D) and (B,), ``groups=None`` or an unknown
    ``kind``.
    """
    _check(pred, target)
    if groups is None:
        raise ValueError("ranking needs groups, the (B,) excerpt id of each row")
    if kind not in ("logistic", "margin"):
        raise ValueError(f"unknown ranking kind {kind!r}; choose from 'logistic', 'margin'")
    valid = pair_mask(target, groups, tie)
    s = jnp.sign(target[:, None, :] - target[None, :, :])
    sd = s * (pred[:, None, :] - pred[None, :, :])
    per_pair = jax.nn.softplus(-sd) if kind == "logistic" else jax.nn.relu(margin - sd)
    n = jnp.sum(valid)
    return jnp.sum(jnp.where(valid, per_pair, 0.0)) / jnp.maximum(n, 1).astype(pred.dtype)


LOSSES = {"mse": mse, "pearson": pearson, "ccc": ccc, "ranking": ranking}


def uncertainty_weighted(losses: jax.Array, log_vars: jax.Array) -> jax.Array:
    """Sum over K tasks of exp(-s_k) L_k + s_k (Kendall, Gal & Cipolla, 2018).

    ``losses`` (K,): the task losses; ``log_vars`` (K,): learned s_k = log σ_k², which
    down-weights a noisy task while the + s_k term keeps σ_k from growing without bound.
    Raises ``ValueError`` unless both are (K,).
    """
    if jnp.ndim(losses) != 1 or jnp.shape(losses) != jnp.shape(log_vars):
        raise ValueError(f"losses and log_vars must both be (K,); got {jnp.shape(losses)} and "
                         f"{jnp.shape(log_vars)}")
    return jnp.sum(jnp.exp(-log_vars) * losses + log_vars)


def dimension_weights(scores: np.ndarray, floor: float = 0.05) -> np.ndarray:
    """(D,) float32 weights of mean 1 from a per-dimension accuracy (e.g. a forest's R²).

    Scores below ``floor`` (> 0) are raised to it, so no dimension is dropped, then divided by
    their mean. NumPy, not JAX: computed once before training. Raises ``ValueError`` if
    ``scores`` is not a non-empty 1-D array of finite numbers or ``floor`` is not positive.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"scores must be a non-empty (D,) array; got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"scores must be finite; got {s.tolist()}")
    if not floor > 0:
        raise ValueError(f"floor must be positive; got {floor}")
    w = np.maximum(s, floor)
    return (w / w.mean()).astype(np.float32)


def weighted_mse(pred: jax.Array, target: jax.Array, weights: jax.Array) -> jax.Array:
    """Mean over rows of sum_d w_d (p - t)² / D; equals ``mse`` when every weight is 1.

    ``weights`` (D,), e.g. from ``dimension_weights``. Raises ``ValueError`` on shapes other
    than (B, D) and (D,).
    """
    _check(pred, target)
    if jnp.shape(weights) != jnp.shape(pred)[1:]:
        raise ValueError(f"weights must be (D,) = {jnp.shape(pred)[1:]}; got "
                         f"{jnp.shape(weights)}")
    w = jnp.asarray(weights, dtype=pred.dtype)[None, :]
    return jnp.mean(w * jnp.square(pred - target))
