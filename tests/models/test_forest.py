import dataclasses

import numpy as np
import pandas as pd
import pytest

from percepiano.data.dataset import CATEGORIES, CATEGORY_NAMES, DIMENSIONS
from percepiano.models import forest

SMOKE = forest.PRESETS["smoke"]


@pytest.fixture(scope="module")
def small(ds):
    """Ten segments of each of eight pieces: enough for a 4-fold piece split."""
    seg = ds.segments
    keep = [n for p in sorted(seg.piece.unique())[:8] for n in seg.index[seg.piece == p][:10]]
    keep = sorted(keep)
    return dataclasses.replace(ds, segments=seg.loc[keep], labels=ds.labels.loc[keep],
                               label_std=ds.label_std.loc[keep])


@pytest.fixture(scope="module")
def synthetic(small):
    """Labels that are known step functions of two of six random features."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(size=(len(small.names), 6)), index=small.names,
                     columns=["x_pedal", "x_timing", "n1", "n2", "n3", "n4"])
    y = np.tile(0.5 + 0.05 * rng.standard_normal((len(X), 1)), (1, len(DIMENSIONS)))
    for j, d in enumerate(DIMENSIONS):
        if CATEGORIES[d] == "Pedal":
            y[:, j] = 0.3 + 0.4 * (X.x_pedal > 0.5)
        elif CATEGORIES[d] == "Timing":
            y[:, j] = 0.3 + 0.4 * (X.x_timing < 0.5)
    labels = pd.DataFrame(y, index=small.names, columns=list(DIMENSIONS))
    return dataclasses.replace(small, labels=labels), X


@pytest.mark.parametrize("model", forest.MODELS)
def test_models_learn_a_known_function(synthetic, model):
    from percepiano.evaluation.cross_validation import cross_validate

    ds, X = synthetic
    res = cross_validate(ds, "piece", 4, 0, forest.forest_predictor(ds, X, model, SMOKE),
                         progress=False)
    for d in DIMENSIONS:  # tiny smoke forests shrink their predictions: check r, not R²
        if CATEGORIES[d] in ("Pedal", "Timing"):
            assert res["per_dimension"][d]["r"] > 0.7, (model, d)
    assert res["oof"].notna().all().all()


def test_joint_forest_and_missing_values(synthetic):
    ds, X = synthetic
    X = X.copy()
    X.loc[X.index[:5], "n1"] = np.nan
    X["empty"] = np.nan
    fp = forest.forest_predictor(ds, X, "rf", dataclasses.replace(SMOKE, joint=True))
    pred = fp(ds.names[10:], [], ds.names[:10])
    assert pred.shape == (10, len(DIMENSIONS)) and np.isfinite(pred).all()


def test_permutation_importance_finds_the_driving_features(synthetic, monkeypatch):
    ds, X = synthetic
    monkeypatch.setattr(forest, "feature_table", lambda *a, **k: X)
    imp = forest.permutation_importance_by_category(ds, features="midi", k=2, n_repeats=3,
                                                    cfg=SMOKE)
    assert list(imp.columns) == list(CATEGORY_NAMES) and list(imp.index) == list(X.columns)
    assert imp["Pedal"].idxmax() == "x_pedal" and imp["Timing"].idxmax() == "x_timing"
    assert imp.loc["x_pedal", "Pedal"] > 0.5
    assert imp.attrs["std"].shape == imp.shape


def test_cross_validate_forest_on_midi_descriptors(small, tmp_path, monkeypatch):
    from percepiano.features.midi import MIDI_FEATURES

    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    res = forest.cross_validate_forest(small, features="midi", split="piece", k=4, seed=0,
                                       model="rf", cfg=SMOKE)
    assert {"mean_r2", "mean_r", "per_dimension", "per_fold", "oof"} <= set(res)
    assert set(res["per_dimension"]) == set(DIMENSIONS)
    assert res["features"]["n_features"] == len(MIDI_FEATURES)
    assert res["features"]["columns"][0].startswith("midi:")
    assert res["model"]["name"] == "rf" and res["oof"].shape == (len(small.names), 19)
    assert np.isfinite(res["mean_r2"]) and -1 < res["mean_r2"] < 1


def test_bad_choices_raise():
    with pytest.raises(ValueError, match="unknown model"):
        forest.make_model("svm")
    with pytest.raises(ValueError, match="unknown feature set"):
        forest.feature_table(None, "video")
    assert forest.preset("smoke") == SMOKE
