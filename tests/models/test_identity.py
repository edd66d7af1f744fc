"""Identity baselines: the means of the training folds, by group."""

import numpy as np
import pytest

from percepiano.models.identity import (
    bar,
    group_mean_predictor,
    identity_baselines,
    performer_work_predictor,
    work_offset_predictor,
)


def test_random_split_rewards_recognising_the_music(ds):
    rnd = identity_baselines(ds, "random", k=4)
    piece = identity_baselines(ds, "piece", k=4)
    # knowing the excerpt helps a lot when test excerpts were heard in training ...
    assert rnd["excerpt_mean"]["fold_mean_r2"] > 0.2
    # ... and not at all when they were not: it falls back to the global mean
    assert piece["excerpt_mean"]["fold_mean_r2"] == pytest.approx(
        piece["global_mean"]["fold_mean_r2"])
    assert piece["global_mean"]["fold_mean_r2"] < 0.01
    assert piece["global_mean"]["fold_mean_r"] == 0


def test_group_mean_uses_training_portion_only(ds):
    names = ds.names
    train, test = names[:600], names[600:610]
    pred = group_mean_predictor(ds, None)(train, [], test)
    np.testing.assert_allclose(pred[0], ds.labels.loc[train].mean().to_numpy())
    perf = group_mean_predictor(ds, "performer")(train, [], test)
    p0 = ds.segments.loc[test[0], "performer"]
    same = [n for n in train if ds.segments.loc[n, "performer"] == p0]
    expected = ds.labels.loc[same].mean().to_numpy() if same else pred[0]
    np.testing.assert_allclose(perf[0], expected)


def test_performer_work_mean_and_work_offset_by_hand(ds):
    names = ds.names
    train, test = names[:900], names[900:905]
    seg, y = ds.segments, ds.labels
    pw = performer_work_predictor(ds)(train, [], test)
    off = work_offset_predictor(ds)(train, [], test)
    for i, name in enumerate(test):
        who, work = seg.loc[name, "performer"], seg.loc[name, "piece"]
        same = [n for n in train if seg.loc[n, "performer"] == who and seg.loc[n, "piece"] == work]
        perf = [n for n in train if seg.loc[n, "performer"] == who]
        expected = y.loc[same or perf or train].mean().to_numpy()
        np.testing.assert_allclose(pw[i], expected)
        in_work = [n for n in train if seg.loc[n, "piece"] == work]
        base = y.loc[in_work or train].mean().to_numpy()
        work_means = y.loc[train].groupby(seg.loc[train, "piece"]).mean()
        shift = (y.loc[perf].to_numpy() - work_means.loc[seg.loc[perf, "piece"]].to_numpy())
        np.testing.assert_allclose(off[i], base + (shift.mean(0) if perf else 0), atol=1e-12)


def test_the_bar_knows_the_performer_and_the_work(ds):
    piece = identity_baselines(ds, "piece", k=4)
    best = bar(piece, "fold_mean_r2")
    assert best in ("performer_work_mean", "work_performer_offset")
    # knowing the work as well as the performer beats the performer alone on the piece split
    assert piece[best]["fold_mean_r2"] > piece["performer_mean"]["fold_mean_r2"] + 0.05
    work = identity_baselines(ds, "work", k=4)
    # a held-out work leaves only the performer to know
    assert work["performer_work_mean"]["fold_mean_r2"] == pytest.approx(
        work["performer_mean"]["fold_mean_r2"])
