"""The few-shot protocol: held-out works never reach training or meta-training, supports are
nested, and every k and every draw of a work is scored on the same query."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from percepiano.evaluation import fewshot


def _segments(sizes=(14, 20, 12, 30, 5), seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(f"w{w}_s{i:02d}", f"w{w}", f"w{w}_e{rng.integers(3)}")
            for w, n in enumerate(sizes) for i in range(n)]
    return pd.DataFrame(rows, columns=["name", "piece", "excerpt"]).set_index("name")


def test_every_large_enough_work_is_held_out_in_every_draw_and_the_rest_is_training():
    seg = _segments()
    tasks, skipped = fewshot.tasks(seg, ks=[0, 1, 2, 4, 8], draws=3, seed=0)
    assert skipped == ["w4"]  # 5 segments: fewer than 8 + 2
    assert sorted({t.work for t in tasks}) == ["w0", "w1", "w2", "w3"] and len(tasks) == 12
    for t in tasks:
        work = set(seg.index[seg.piece == t.work])
        assert set(t.pool) | set(t.query) == work and not work & set(t.train)
        assert not set(t.pool) & set(t.query) and set(t.train) | work == set(seg.index)
        assert len(t.pool) == max(8, len(work) // 2) and len(t.query) >= 2


def test_supports_are_nested_and_share_the_query_and_draws_differ():
    tasks, _ = fewshot.tasks(_segments(), ks=[0, 1, 2, 4, 8], draws=2, seed=1)
    t = tasks[0]
    assert t.support(0) == [] and t.support(1) == t.support(2)[:1] == t.support(8)[:1]
    assert not set(t.support(8)) & set(t.query)
    assert tasks[0].work == tasks[1].work and tasks[0].pool != tasks[1].pool
    assert tasks[0].query == tasks[1].query
    with pytest.raises(ValueError, match="outside"):
        t.support(9)


def test_the_draws_do_not_depend_on_the_row_order():
    seg = _segments()
    a, _ = fewshot.tasks(seg, ks=[1, 4], draws=2, seed=3)
    b, _ = fewshot.tasks(seg.sample(frac=1.0, random_state=0), ks=[4, 1], draws=2, seed=3)
    assert a == b


@given(seed=st.integers(0, 10_000), k=st.integers(0, 6))
def test_meta_training_never_sees_a_performance_of_the_held_out_work(seed, k):
    seg = _segments(seed=seed % 7)
    tasks, _ = fewshot.tasks(seg, ks=[0, 1, 2, 4, 8], draws=1, seed=seed)
    for t in tasks:
        eps = fewshot.episodes(seg, t.train, k, 20, np.random.default_rng(seed))
        seen = {n for s, q in eps for n in s + q}
        assert seen and not seen & (set(t.pool) | set(t.query))
        for s, q in eps:
            assert len(s) == k and not set(s) & set(q)
            assert len({seg.piece[n] for n in s + q}) == 1  # one work per episode


def test_bad_arguments_say_what_is_wrong():
    seg = _segments()
    with pytest.raises(ValueError, match="non-negative"):
        fewshot.tasks(seg, ks=[-1, 2], draws=1)
    with pytest.raises(ValueError, match="draws"):
        fewshot.tasks(seg, ks=[1], draws=0)
    with pytest.raises(ValueError, match="more than k=40"):
        fewshot.episodes(seg, seg.index, 40, 3, np.random.default_rng(0))


def test_copies_of_one_recording_stay_on_one_side_of_the_pool_and_the_query():
    seg = _segments(sizes=(30, 24))
    # copies in pairs and threes, the way PercePiano files one recording under several names
    rec = pd.Series(seg.index, index=seg.index)
    for i, name in enumerate(seg.index):
        if i % 5:
            rec[name] = seg.index[i - i % 5]
    plain, _ = fewshot.tasks(seg, ks=[0, 1, 8], draws=4, seed=0)
    split = [(set(t.pool), set(t.query)) for t in plain]
    assert any(set(rec[list(p)]) & set(rec[list(q)]) for p, q in split)  # one by one: mixed
    for seed in range(20):
        tasks, skipped = fewshot.tasks(seg, ks=[0, 1, 8], draws=4, seed=seed, recordings=rec)
        assert not skipped and len(tasks) == 8
        for t in tasks:
            assert not set(rec[list(t.pool)]) & set(rec[list(t.query)])
            assert not set(rec[t.support(8)]) & set(rec[list(t.query)])
            work = seg.index[seg.piece == t.work]
            assert set(t.pool) | set(t.query) == set(work) and len(t.pool) >= len(work) // 2


def test_with_every_segment_its_own_recording_the_draws_are_unchanged():
    seg = _segments()
    a, _ = fewshot.tasks(seg, ks=[0, 1, 2, 4, 8], draws=3, seed=5)
    b, _ = fewshot.tasks(seg, ks=[0, 1, 2, 4, 8], draws=3, seed=5,
                         recordings=pd.Series(seg.index, index=seg.index))
    assert a == b
    with pytest.raises(ValueError, match="no recording"):
        fewshot.tasks(seg, ks=[1], draws=1, recordings=pd.Series(seg.index[:3],
                                                                 index=seg.index[:3]))
