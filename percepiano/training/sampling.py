"""Batches that hold several performances of one excerpt, so a within-excerpt loss has pairs.

A uniformly random batch of 32 out of ~1,000 segments seldom holds two performances of the same
excerpt, and ``losses.ranking`` then has nothing to compare. ``excerpt_batches`` fills each batch
with blocks of ``per_excerpt`` performances of one excerpt instead, while still visiting every
segment about once per epoch; ``group_ids`` turns the excerpt labels into the integer ids the
ranking loss takes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["excerpt_batches", "group_ids"]


def group_ids(groups) -> np.ndarray:
    """(n,) int32 ids 0..K-1 of the labels ``groups`` (n,), in order of first appearance.

    A missing label (None, NaN) gets -1, which ``losses.ranking`` never pairs."""
    return pd.factorize(np.asarray(groups, dtype=object))[0].astype(np.int32)


def _blocks(members: list[np.ndarray], per_excerpt: int, rng: np.random.Generator) -> list:
    """One pass over every segment as blocks of ``per_excerpt`` rows of one excerpt each."""
    out = []
    for idx in members:
        if len(idx) < per_excerpt:  # too few performances: all of them, topped up with repeats
            block = np.concatenate([idx, rng.choice(idx, per_excerpt - len(idx))])
            out.append(rng.permutation(block))
            continue
        perm = rng.permutation(idx)
        for start in range(0, len(perm), per_excerpt):
            block = perm[start:start + per_excerpt]
            if len(block) < per_excerpt:  # the last one: top up from the rest, without repeats
                rest = np.setdiff1d(idx, block)
                block = np.concatenate([block, rng.choice(rest, per_excerpt - len(block),
                                                          replace=False)])
            out.append(block)
    return [out[i] for i in rng.permutation(len(out))]


def excerpt_batches(groups, batch_size: int, per_excerpt: int, seed: int, epoch: int,
                    n_steps: int | None = None) -> np.ndarray:
    """(n_steps, batch_size) int32 row indices into ``groups``, one epoch of seeded batches.

    ``groups`` (n,): the excerpt label (any hashable) of each training segment. Each row is one
    batch: ``batch_size // per_excerpt`` blocks of ``per_excerpt`` consecutive indices of one
    excerpt (distinct when the excerpt has that many performances, else all of them topped up
    with repeats, so a single performance still fills its block and makes no pair), followed by
    ``batch_size % per_excerpt`` random other segments. Blocks come from shuffled passes over
    every segment, in an order drawn from ``np.random.default_rng([seed, epoch])``, so the
    result is deterministic per (seed, epoch) and each segment is seen about once per epoch.
    ``n_steps`` defaults to n // batch_size.

    Raises ``ValueError`` if ``groups`` is not 1-D or has a missing label, ``per_excerpt`` < 2,
    ``batch_size`` < ``per_excerpt``, fewer segments than ``batch_size``, or ``n_steps`` < 1.
    """
    if np.ndim(groups) != 1:
        raise ValueError(f"groups must be (n,); got shape {np.shape(groups)}")
    ids = group_ids(groups)
    n = len(ids)
    if per_excerpt < 2:
        raise ValueError(f"per_excerpt must be at least 2 to make pairs; got {per_excerpt}")
    if batch_size < per_excerpt:
        raise ValueError(f"batch_size ({batch_size}) must be at least per_excerpt "
                         f"({per_excerpt})")
    if n < batch_size:
        raise ValueError(f"{n} segments cannot fill a batch of {batch_size}; lower batch_size")
    if (ids < 0).any():
        raise ValueError("groups has missing labels; give every segment its excerpt")
    n_steps = n // batch_size if n_steps is None else n_steps
    if n_steps < 1:
        raise ValueError(f"n_steps must be at least 1; got {n_steps}")

    rng = np.random.default_rng([seed, epoch])
    members = [np.flatnonzero(ids == k) for k in range(ids.max() + 1)]
    k, rem = divmod(batch_size, per_excerpt)
    blocks: list = []
    while len(blocks) < n_steps * k:
        blocks += _blocks(members, per_excerpt, rng)
    out = np.empty((n_steps, batch_size), np.int32)
    for step in range(n_steps):
        chosen = np.concatenate(blocks[step * k:(step + 1) * k])
        out[step, :len(chosen)] = chosen
        if rem:
            out[step, len(chosen):] = rng.choice(np.setdiff1d(np.arange(n), chosen), rem,
                                                 replace=False)
    return out
