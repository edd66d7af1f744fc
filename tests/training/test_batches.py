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


def test_pool_members_are_drawn_per_epoch_and_keep_the_original_labels():
    """With a pool of variants, each crop lies inside one member of its segment's pool (the
    original or one of its variants), the target stays the original's, the draw is seeded, and
    the order and crop draws are those of a run without a pool."""
    inputs = _inputs()
    names = list(inputs)
    variants = {n: [inputs[n] + 100.0 * (k + 1) for k in range(2)] for n in names[:3]}
    p = batches.pack(inputs, names, NORM, crop=10, variants=variants)
    plain = batches.pack(inputs, names, NORM, crop=10)
    assert len(p.pool) == 5 and [len(m) for m in p.pool] == [3, 3, 3, 1, 1]
    for i, members in enumerate(p.pool):
        assert members[0] == i                                  # the original comes first
        for j, e in enumerate(members[1:]):
            seg = p.frames[p.offsets[e]:p.offsets[e] + p.lengths[e]]
            base = inputs[names[i]] if len(inputs[names[i]]) >= 10 else np.tile(
                inputs[names[i]], (2, 1))[:10]
            np.testing.assert_allclose(seg, base + 100.0 * (j + 1), rtol=1e-6)
    y = np.arange(5 * 19, dtype=np.float32).reshape(5, 19)
    tc = TrainConfig(batch_size=5, seed=1)
    members_seen = set()
    for epoch in range(12):
        starts, yb, idx = batches.epoch_plan(p, y, tc, epoch, n_steps=1, rows=8, with_index=True)
        ref_starts, ref_y = batches.epoch_plan(plain, y, tc, epoch, n_steps=1, rows=8)
        np.testing.assert_array_equal(yb, ref_y)                # same order, same labels
        np.testing.assert_array_equal(idx[0], yb[0, :, 0].astype(int) // 19)
        for s, i in zip(starts[0], idx[0], strict=True):
            inside = [e for e in p.pool[i]
                      if p.offsets[e] <= s <= p.offsets[e] + p.lengths[e] - 10]
            assert len(inside) == 1
            members_seen.add((int(i), int(inside[0])))
        again = batches.epoch_plan(p, y, tc, epoch, n_steps=1, rows=8, with_index=True)
        np.testing.assert_array_equal(again[0], starts)
    assert {e for i, e in members_seen if i == 0} == set(p.pool[0])  # every member drawn
    # the evaluation grid never reads a variant
    _, owner = batches.eval_plan(p, TrainConfig())
    assert set(owner) == set(range(5))


def test_normaliser_standardises_descriptors_on_training_rows():
    import pandas as pd

    inputs = _inputs()
    names = list(inputs)
    labels = pd.DataFrame(np.random.default_rng(0).normal(size=(5, 19)), index=names,
                          columns=list(batches.DIMENSIONS))
    d = pd.DataFrame({"a": [1.0, 2.0, 3.0, np.nan, 100.0], "b": [5.0, 5.0, 5.0, 5.0, 5.0]},
                     index=names)
    norm = batches.Normaliser.fit(inputs, labels, names[:4], d)
    z = norm.d(d, names)
    assert z.dtype == np.float32 and z.shape == (5, 2)
    np.testing.assert_allclose(z[:4, 0].mean(), 0.0, atol=1e-6)   # NaN filled by the median
    np.testing.assert_allclose(z[3, 0], 0.0, atol=1e-6)            # median of 1, 2, 3 = mean
    assert np.isfinite(z).all() and not z[:, 1].any()              # constant column: 0
    assert z[4, 0] > 10                                            # test rows not refitted
