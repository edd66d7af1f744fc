"""Packing segments for the device, the epoch's crop plan and the evaluation grid."""

import numpy as np

from percepiano.training import batches
from percepiano.training.steps import TrainConfig

NORM = batches.Normaliser(0.0, 0.5, (0.0,), (1.0,))  # x -> x (mean 0, 2 std = 1)


def test_eval_grid():
    assert batches.eval_grid(100, 160, 0.5, 8) == [0]
    assert batches.eval_grid(400, 160, 0.5, 8) == [0, 80, 160, 240]
    assert len(batches.eval_grid(10_000, 160, 0.5, 8)) == 8


def _inputs():
    rng = np.random.default_rng(0)
    return {f"s{i}": rng.normal(size=(t, 3)).astype(np.float32)
            for i, t in enumerate([7, 20, 33, 12, 40])}


def test_pack_lays_segments_end_to_end_and_tiles_short_ones():
    inputs = _inputs()
    p = batches.pack(inputs, list(inputs), NORM, crop=10)
    assert p.frames.shape == (1024, 3) and p.frames.dtype == np.float32
    assert list(p.lengths) == [10, 20, 33, 12, 40]
    for i, name in enumerate(p.names):
        seg = p.frames[p.offsets[i]:p.offsets[i] + p.lengths[i]]
        want = inputs[name] if len(inputs[name]) >= 10 else np.tile(inputs[name], (2, 1))[:10]
        np.testing.assert_allclose(seg, want, rtol=1e-6)
    assert not p.frames[p.lengths.sum():].any()


def test_epoch_plan_crops_inside_their_segment_and_is_seeded():
    inputs = _inputs()
    p = batches.pack(inputs, list(inputs), NORM, crop=10)
    y = np.arange(5 * 19, dtype=np.float32).reshape(5, 19)
    tc = TrainConfig(batch_size=2, seed=4)
    starts, yb = batches.epoch_plan(p, y, tc, epoch=1, n_steps=2, rows=8)
    assert starts.shape == (8, 2) and yb.shape == (8, 2, 19)
    assert not starts[2:].any() and not yb[2:].any()           # padding rows
    for s, row in zip(starts[:2].ravel(), yb[:2].reshape(-1, 19), strict=True):
        i = int(row[0]) // 19                                  # which segment this target is
        assert p.offsets[i] <= s <= p.offsets[i] + p.lengths[i] - 10
    again = batches.epoch_plan(p, y, tc, epoch=1, n_steps=2, rows=8)
    np.testing.assert_array_equal(again[0], starts)
    other = batches.epoch_plan(p, y, tc, epoch=2, n_steps=2, rows=8)
    assert not np.array_equal(other[0], starts)


def test_eval_plan_covers_every_segment():
    inputs = _inputs()
    p = batches.pack(inputs, list(inputs), NORM, crop=10)
    starts, owner = batches.eval_plan(p, TrainConfig(eval_hop=0.5, max_eval_crops=8))
    assert sorted(set(owner)) == list(range(5))
    assert (starts + 10 <= p.offsets[owner] + p.lengths[owner]).all()


def test_bucket():
    assert [batches.bucket(n) for n in (1, 2, 3, 1000, 1024, 1025)] == [1, 2, 4, 1024, 1024, 2048]
    assert batches.bucket(5, minimum=8) == 8
