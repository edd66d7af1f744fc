"""Crops and the deterministic evaluation grid."""

import numpy as np

from percepiano.training import batches


def test_eval_grid_and_crop():
    assert batches.eval_grid(100, 160, 0.5, 8) == [0]
    assert batches.eval_grid(400, 160, 0.5, 8) == [0, 80, 160, 240]
    assert len(batches.eval_grid(10_000, 160, 0.5, 8)) == 8
    spec = np.arange(2 * 70).reshape(2, 70)
    c = batches.crop(spec, 0, 160)
    assert c.shape == (2, 160) and (c[:, 70:140] == spec).all()
