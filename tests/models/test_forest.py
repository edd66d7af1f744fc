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
    assert {"fold_mean_r2", "fold_mean_r", "per_dimension", "per_fold", "oof"} <= set(res)
    assert set(res["per_dimension"]) == set(DIMENSIONS)
    assert res["features"]["n_features"] == len(MIDI_FEATURES)
    assert res["features"]["columns"][0].startswith("midi:")
    assert res["model"]["name"] == "rf"
    assert res["oof"][list(DIMENSIONS)].shape == (len(small.names), 19)
    assert np.isfinite(res["fold_mean_r2"]) and -1 < res["fold_mean_r2"] < 1
    assert res["selection"] is None  # fixed settings: nothing chosen


def test_bad_choices_raise():
    with pytest.raises(ValueError, match="unknown model"):
        forest.make_model("svm")
    with pytest.raises(ValueError, match="unknown feature set"):
        forest.feature_table(None, "video")
    assert forest.preset("smoke") == SMOKE


def test_joint_forest_is_the_default():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.multioutput import MultiOutputRegressor

    assert forest.ForestConfig().joint and all(c.joint for c in forest.PRESETS.values())
    assert all(not c.candidates for c in forest.PRESETS.values())  # no selection by default
    est = forest.make_model("rf", SMOKE)[-1]
    assert isinstance(est, RandomForestRegressor) and est.n_jobs == SMOKE.n_jobs
    per_dim = forest.make_model("rf", dataclasses.replace(SMOKE, joint=False))[-1]
    assert isinstance(per_dim, MultiOutputRegressor)
    assert per_dim.estimator.n_jobs == SMOKE.n_jobs  # each forest's trees on every core


def test_candidates_are_checked_and_survive_json():
    import json

    cfg = dataclasses.replace(SMOKE, candidates=forest.JOINT_OR_PER_DIMENSION)
    assert forest.ForestConfig(**json.loads(json.dumps(cfg.__dict__))) == cfg
    assert [forest.candidate_name(c) for c in cfg.candidates] == ["joint=True", "joint=False"]
    hash(cfg)
    with pytest.raises(ValueError, match="a candidate must override"):
        forest.ForestConfig(candidates=({"n_trees": 5},))
    with pytest.raises(ValueError, match="unknown select_metric"):
        forest.ForestConfig(select_metric="mse")


class _Spy:
    """A model that records which rows (by the ``row`` id in column 0) it fits and predicts."""

    def __init__(self, est, cfg, calls):
        self.est, self.cfg, self.calls = est, cfg, calls

    def fit(self, X, y):
        self.calls.append(("fit", self.cfg.min_samples_leaf, set(X[:, 0].astype(int))))
        self.est.fit(X, y)
        return self

    def predict(self, X):
        self.calls.append(("predict", self.cfg.min_samples_leaf, set(X[:, 0].astype(int))))
        return self.est.predict(X)


@pytest.fixture
def spied(synthetic, monkeypatch):
    """The synthetic data with a row id as first feature, and every model fit/predict recorded;
    candidates: a learning forest and one whose leaves need more rows than there are."""
    ds, X = synthetic
    X = pd.concat([pd.Series(np.arange(len(X)), index=X.index, name="row"), X], axis=1)
    calls, make = [], forest.make_model
    monkeypatch.setattr(forest, "make_model",
                        lambda model, cfg, seed: _Spy(make(model, cfg, seed), cfg, calls))
    monkeypatch.setattr(forest, "feature_table", lambda *a, **k: X)
    cfg = dataclasses.replace(SMOKE, candidates=({"min_samples_leaf": 1},
                                                 {"min_samples_leaf": 10_000}))
    return ds, X, cfg, calls


def test_inner_selection_fits_on_train_scores_on_val_and_refits(spied):
    ds, X, cfg, calls = spied
    rows = dict(zip(X.index, X.row, strict=True))
    train, val, test = ds.names[:40], ds.names[40:60], ds.names[60:]
    fp = forest.forest_predictor(ds, X, "rf", cfg)
    pred = fp(train, val, test)
    ids = [{rows[n] for n in part} for part in (train, val, test)]
    assert calls == [("fit", 1, ids[0]), ("predict", 1, ids[1]),
                     ("fit", 10_000, ids[0]), ("predict", 10_000, ids[1]),
                     ("fit", 1, ids[0] | ids[1]), ("predict", 1, ids[2])]
    assert pred.shape == (len(test), len(DIMENSIONS))
    assert fp.selections[0]["winner"] == "min_samples_leaf=1"
    assert set(fp.selections[0]["val"]) == {"min_samples_leaf=1", "min_samples_leaf=10000"}
    with pytest.raises(ValueError, match="two validation names"):
        fp(train, [], test)


def test_cross_validate_forest_records_the_inner_winner_per_fold(spied):
    from percepiano.data.splits import make_folds

    ds, X, cfg, calls = spied
    res = forest.cross_validate_forest(ds, features="midi", split="piece", k=4, seed=0,
                                       model="rf", cfg=cfg)
    folds = make_folds(ds.segments, "piece", 4, 0)
    assert len(calls) == 4 * 6  # per fold: two candidates fitted and scored, the winner refitted
    for f in range(4):
        test = set(X.row[folds.index[folds == f]])
        fold_calls = calls[6 * f: 6 * f + 6]
        assert all(not (rows & test) for kind, _, rows in fold_calls if kind == "fit")
        assert [rows == test for _, _, rows in fold_calls] == [False] * 5 + [True]
    sel = res["selection"]
    assert sel["metric"] == "mean_r2" and len(sel["candidates"]) == 2
    assert [s["fold"] for s in sel["per_fold"]] == [0, 1, 2, 3]
    assert all(s["winner"] == "min_samples_leaf=1" for s in sel["per_fold"])
    assert all(row["selected"] == "min_samples_leaf=1" for row in res["per_fold"])


def test_cli_bench_forest_json(synthetic, monkeypatch, capsys):
    import json

    from percepiano.cli.main import main
    from percepiano.data import dataset

    ds, X = synthetic
    monkeypatch.setattr(dataset, "load", lambda *a, **k: ds)
    monkeypatch.setattr(forest, "feature_table", lambda *a, **k: X)
    assert main(["bench", "--forest", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["wall_s"] > 0 and r["cpu_s"] > 0 and r["peak_rss_mb"] > 0
    assert r["trees"] == 4 * forest.PRESETS["quick"].n_estimators and r["joint"]
    assert r["n_segments"] == len(ds.names) and r["n_features"] == X.shape[1]
    assert 0 < r["fold_mean_r2"] < 1 and r["descriptors_included"] is False


def test_a_forest_predicts_the_same_bits_every_time():
    """Trees grown on two threads, predictions summed on one: a float sum in one order."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 12)), rng.normal(size=(200, 19))
    for model in ("rf", "et"):
        m = forest.make_model(model, forest.preset(), 0).fit(X, Y)
        est = m[-1]
        assert est.n_jobs == forest.preset().n_jobs == 2 and type(est).__name__ in (
            "RandomForestRegressor", "ExtraTreesRegressor")
        first = m.predict(X)
        assert all(np.array_equal(first, m.predict(X)) for _ in range(5))
        assert est.n_jobs == 2  # put back after predicting
