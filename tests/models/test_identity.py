"""Identity baselines: the means of the training folds, by group."""

import numpy as np
import pytest

from percepiano.models.identity import group_mean_predictor, identity_baselines


def test_random_split_rewards_recognising_the_music(ds):
    rnd = identity_baselines(ds, "random", k=4)
    piece = identity_baselines(ds, "piece", k=4)
    # knowing the excerpt helps a lot when test excerpts were heard in training ...
    assert rnd["excerpt_mean"]["mean_r2"] > 0.2
    # ... and not at all when they were not: it falls back to the global mean
    assert piece["excerpt_mean"]["mean_r2"] == pytest.approx(piece["global_mean"]["mean_r2"])
    assert piece["global_mean"]["mean_r2"] < 0.01
    assert piece["global_mean"]["mean_r"] == 0


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
