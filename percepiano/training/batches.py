"""The AST's data on the device: pooled, normalised segments packed into one array, and the
crop plans the compiled loops read them through.

* ``model_inputs`` pools each log-mel once to the model's resolution (``models.ast.pool_input``:
  64 bands x 40 ms, time-major); the full-resolution spectrogram never reaches the model.
* ``Normaliser`` holds the input mean/std and the per-dimension label mean/std of the
  *training* segments only; targets are standardised with them.
* ``pack`` lays the normalised segments end to end in one (rows, bands) float32 array, so a
  crop is a ``dynamic_slice`` at ``offset + start`` inside the compiled step. Segments shorter
  than a crop are tiled to crop length. Rows are padded to a power of two, so folds of
  slightly different sizes reuse one compiled program.
* ``epoch_plan``: one random crop per segment and epoch, in an order drawn, like the crops,
  from ``(seed, epoch)``, so a resumed run sees the same batches. With a pool of augmented
  variants packed beside the originals (``pack(..., variants=)``), each segment's crop comes
  from one member of its pool (the original or a variant), drawn per epoch.
* ``Normaliser`` also standardises descriptor vectors (hybrid models): missing values take
  the training median, then training mean and standard deviation.
* ``eval_plan``: a fixed, deterministic grid of evenly spaced, overlapping crops per segment
  (``eval_grid``), so a score never depends on a random draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from percepiano.audio.spectrogram import norm_stats, normalise
from percepiano.data.dataset import DIMENSIONS
from percepiano.models.ast import pool_input

if TYPE_CHECKING:
    from percepiano.models.ast import ASTConfig
    from percepiano.training.steps import TrainConfig

MIN_ROWS = 1024  # smallest packed array: tiny test sets still share one compiled shape


def model_inputs(specs: dict, cfg: ASTConfig) -> dict:
    """{name: log-mel (n_mels, frames)} -> {name: model input (frames / tp, n_mels / fp)}."""
    return {name: pool_input(np.asarray(spec), cfg) for name, spec in specs.items()}


def eval_grid(length: int, frames: int, hop: float, max_crops: int) -> list[int]:
    """Fixed crop starts covering a segment of ``length`` frames (deterministic)."""
    if length <= frames:
        return [0]
    n = min(max_crops, int(np.ceil((length - frames) / (hop * frames))) + 1)
    return [int(round(s)) for s in np.linspace(0, length - frames, n)]


def bucket(n: int, minimum: int = 1) -> int:
    """The power of two at or above ``max(n, minimum)``: array sizes that compile once."""
    return 1 << int(np.ceil(np.log2(max(n, minimum, 1))))


@dataclass(frozen=True)
class Normaliser:
    """Training-only statistics: input (mean, std) and per-dimension label mean/std."""

    spec_mean: float
    spec_std: float
    y_mean: tuple[float, ...]
    y_std: tuple[float, ...]
    d_fill: tuple[float, ...] = ()   # descriptors: training median (for missing values)
    d_mean: tuple[float, ...] = ()
    d_std: tuple[float, ...] = ()

    @classmethod
    def fit(cls, inputs, labels: pd.DataFrame, train_names,
            descriptors: pd.DataFrame | None = None) -> Normaliser:
        mean, std = norm_stats(inputs, list(train_names))
        y = labels.loc[list(train_names), list(DIMENSIONS)].to_numpy(np.float64)
        extra = {}
        if descriptors is not None:
            d = descriptors.loc[list(train_names)].to_numpy(np.float64)
            fill = np.nan_to_num(np.nanmedian(np.where(np.isfinite(d), d, np.nan), axis=0))
            d = np.where(np.isfinite(d), d, fill)
            sd = d.std(0)
            extra = {"d_fill": tuple(map(float, fill)), "d_mean": tuple(map(float, d.mean(0))),
                     "d_std": tuple(float(v) if v > 1e-12 else 1.0 for v in sd)}
        return cls(mean, std, tuple(map(float, y.mean(0))), tuple(map(float, y.std(0))), **extra)

    def x(self, spec):
        """Input scaled as AST does: (x - mean) / (2 std), float32."""
        return normalise(spec, (self.spec_mean, self.spec_std))

    def y(self, y):
        return ((y - np.array(self.y_mean)) / np.array(self.y_std)).astype(np.float32)

    def y_inverse(self, z):
        return np.asarray(z, np.float64) * np.array(self.y_std) + np.array(self.y_mean)

    def d(self, descriptors: pd.DataFrame, names) -> np.ndarray:
        """Standardised descriptor rows (len(names), n) float32, missing values filled."""
        if not self.d_mean:
            raise ValueError("this Normaliser was fitted without descriptors")
        d = descriptors.loc[list(names)].to_numpy(np.float64)
        d = np.where(np.isfinite(d), d, np.array(self.d_fill))
        return ((d - np.array(self.d_mean)) / np.array(self.d_std)).astype(np.float32)


@dataclass(frozen=True)
class Packed:
    """Normalised segments end to end: ``frames[offsets[i]:offsets[i] + lengths[i]]`` is
    segment ``names[i]`` (tiled to at least ``crop`` frames); rows beyond them are zeros."""

    frames: np.ndarray     # (rows, bands) float32, rows a power of two
    offsets: np.ndarray    # (n,) int32 (then those of the variants, if any)
    lengths: np.ndarray    # (n,) int32, each >= crop
    names: tuple[str, ...]
    crop: int
    pool: tuple[np.ndarray, ...] | None = None  # per name: its entries (0: original, variants)


def pack(inputs: dict, names, norm: Normaliser, crop: int,
         variants: dict | None = None) -> Packed:
    """Pack the model inputs of ``names`` (see the module docstring); ``variants`` maps a name
    to a list of augmented model inputs packed after all originals, forming its pool."""
    names = list(names)
    arrays = [inputs[name] for name in names]
    pool = None
    if variants is not None:
        pool = []
        for i, name in enumerate(names):
            extra = list(variants.get(name, []))
            pool.append(np.array([i] + list(range(len(arrays), len(arrays) + len(extra)))))
            arrays += extra
        pool = tuple(pool)
    parts = []
    for x in arrays:
        if len(x) < crop:
            x = np.tile(x, (-(-crop // len(x)), 1))[:crop]
        parts.append(x)
    lengths = np.array([len(p) for p in parts], np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
    total = int(lengths.sum())
    frames = np.zeros((bucket(total, MIN_ROWS), parts[0].shape[1]), np.float32)
    frames[:total] = norm.x(np.concatenate(parts))
    return Packed(frames, offsets, lengths, tuple(names), crop, pool)


def epoch_plan(packed: Packed, y: np.ndarray, tc: TrainConfig, epoch: int, n_steps: int,
               rows: int, with_index: bool = False):
    """The epoch's crop starts (rows, batch) and targets (rows, batch, 19): a permutation and
    random crops seeded by (seed, epoch); rows beyond ``n_steps`` are padding, never run.
    ``with_index`` also returns each crop's segment index (rows, batch) (for descriptors).
    With a pool, the member each segment is cropped from is drawn from (seed, epoch, 1), so the
    order and crop draws are those of a run without one."""
    rng = np.random.default_rng([tc.seed, epoch])
    order = rng.permutation(len(packed.names))[:n_steps * tc.batch_size]
    idx = order.reshape(n_steps, tc.batch_size)
    entry = idx
    if packed.pool is not None:
        draw = np.random.default_rng([tc.seed, epoch, 1]).random(idx.shape)
        sizes = np.array([len(p) for p in packed.pool])[idx]
        pick = np.minimum((draw * sizes).astype(int), sizes - 1)
        entry = np.array([[packed.pool[i][j] for i, j in zip(r, c, strict=True)]
                          for r, c in zip(idx, pick, strict=True)]).reshape(idx.shape)
    starts = packed.offsets[entry] + rng.integers(packed.lengths[entry] - packed.crop + 1)
    out_starts = np.zeros((rows, tc.batch_size), np.int32)
    out_y = np.zeros((rows, tc.batch_size, y.shape[1]), np.float32)
    out_starts[:n_steps], out_y[:n_steps] = starts, y[idx]
    if not with_index:
        return out_starts, out_y
    out_idx = np.zeros((rows, tc.batch_size), np.int32)
    out_idx[:n_steps] = idx
    return out_starts, out_y, out_idx


def eval_plan(packed: Packed, tc: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(crop starts, segment index of each crop) of every segment's evaluation grid (originals
    only, never pool variants)."""
    starts, owner = [], []
    n = len(packed.names)
    for i, (offset, length) in enumerate(zip(packed.offsets[:n], packed.lengths[:n],
                                             strict=True)):
        grid = eval_grid(int(length), packed.crop, tc.eval_hop, tc.max_eval_crops)
        starts += [int(offset) + s for s in grid]
        owner += [i] * len(grid)
    return np.array(starts, np.int32), np.array(owner, np.int64)
