"""A tiny AST, its training settings and synthetic data, shared by the training and CLI tests."""

import jax
import numpy as np
import pandas as pd
from flax import nnx

from percepiano.data.dataset import DIMENSIONS
from percepiano.models import ast
from percepiano.training import batches, steps

CFG = ast.preset("micro", dim=16, depth=1, heads=2, crop_frames=160)  # 4 x 5 = 20 tokens
TC = steps.TrainConfig(epochs=2, batch_size=4, patience=5, max_steps=3, eval_batch=8)


def toy_data(n=24, seed=0):
    """``n`` model inputs (from log-mels of 128 x 100..300 frames) whose loudness drives the
    labels."""
    rng = np.random.default_rng(seed)
    names = [f"seg{i:02d}" for i in range(n)]
    loud = rng.uniform(-1, 1, n)
    specs = {nm: (rng.normal(-40 + 10 * v, 5, (128, rng.integers(100, 300)))).astype(np.float16)
             for nm, v in zip(names, loud, strict=True)}
    w = rng.normal(size=len(DIMENSIONS))
    labels = pd.DataFrame(0.5 + 0.1 * np.outer(loud, w) + 0.01 * rng.normal(size=(n, 19)),
                          index=names, columns=list(DIMENSIONS))
    return batches.model_inputs(specs, CFG), labels, names[:16], names[16:]


def params(model):
    return jax.tree.leaves(nnx.to_pure_dict(nnx.state(model, nnx.Param)))
