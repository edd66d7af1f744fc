"""Batches for the AST: crops of cached log-mel spectrograms, normalised with training-only
statistics.

* Training draws one random crop per segment and epoch; the epoch's order and crops derive from
  ``(seed, epoch)``, so a resumed run sees the same batches.
* Evaluation reads whole segments through a fixed, deterministic grid of evenly spaced,
  overlapping crops (``eval_grid``), so a score never depends on a random draw.
* ``Normaliser`` holds the spectrogram mean/std and the per-dimension label mean/std of the
  *training* segments only; targets are standardised with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from percepiano.audio.spectrogram import norm_stats, normalise
from percepiano.data.dataset import DIMENSIONS

if TYPE_CHECKING:
    from percepiano.models.ast import ASTConfig
    from percepiano.training.steps import TrainConfig


def crop(spec: np.ndarray, start: int, frames: int) -> np.ndarray:
    """``frames`` columns of ``spec`` from ``start``; a shorter segment is tiled to length."""
    if spec.shape[1] < frames:
        spec = np.tile(spec, (1, -(-frames // spec.shape[1])))
    return spec[:, start:start + frames]


def eval_grid(length: int, frames: int, hop: float, max_crops: int) -> list[int]:
    """Fixed crop starts covering a segment of ``length`` frames (deterministic)."""
    if length <= frames:
        return [0]
    n = min(max_crops, int(np.ceil((length - frames) / (hop * frames))) + 1)
    return [int(round(s)) for s in np.linspace(0, length - frames, n)]


@dataclass(frozen=True)
class Normaliser:
    """Training-only statistics: spectrogram (mean, std) and per-dimension label mean/std."""

    spec_mean: float
    spec_std: float
    y_mean: tuple[float, ...]
    y_std: tuple[float, ...]

    @classmethod
    def fit(cls, specs, labels: pd.DataFrame, train_names) -> Normaliser:
        mean, std = norm_stats(specs, list(train_names))
        y = labels.loc[list(train_names), list(DIMENSIONS)].to_numpy(np.float64)
        return cls(mean, std, tuple(map(float, y.mean(0))), tuple(map(float, y.std(0))))

    def x(self, spec):
        """Spectrogram scaled as AST does: (x - mean) / (2 std), float32."""
        return normalise(spec, (self.spec_mean, self.spec_std))

    def y(self, y):
        return ((y - np.array(self.y_mean)) / np.array(self.y_std)).astype(np.float32)

    def y_inverse(self, z):
        return np.asarray(z, np.float64) * np.array(self.y_std) + np.array(self.y_mean)


def epoch_batches(specs, names, y, norm: Normaliser, cfg: ASTConfig, tc: TrainConfig, epoch: int,
                  n_steps: int):
    """The epoch's normalised batches: a permutation and random crops seeded by (seed, epoch)."""
    rng = np.random.default_rng([tc.seed, epoch])
    order = rng.permutation(len(names))
    for s in range(n_steps):
        idx = order[s * tc.batch_size:(s + 1) * tc.batch_size]
        xs = []
        for i in idx:
            spec = specs[names[i]]
            starts = max(1, spec.shape[1] - cfg.crop_frames + 1)
            xs.append(norm.x(crop(spec, int(rng.integers(starts)), cfg.crop_frames)))
        yield np.stack(xs), y[idx]
