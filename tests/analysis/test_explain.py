"""Explanations of the final model: SHAP values that add up to its predictions (and equal the
shap library's own on the scikit-learn forest), sentences built the same way every time, and
explanations of development segments by a model that never saw them."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import descriptor_words as W
from percepiano.analysis import explain, final, scoring
from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.models import forest
from percepiano.models.treearrays import ArrayForest

PEDAL = "Pedal_Clean_Blurred"


def _forest(seed=0, n=200, p=6, outputs=3, constant=()):
    """A small fitted pipeline, its ArrayForest, inputs and labels; columns in ``constant``
    never vary."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, list(constant)] = 1.0
    X[rng.random(size=X.shape) < 0.05] = np.nan  # filled in as the forest fills them
    X[:, list(constant)] = 1.0
    Y = np.tanh(np.nan_to_num(X[:, :1]) + np.nan_to_num(X[:, 1:2]) ** 2)[:, [0] * outputs]
    Y = Y + rng.normal(0, 0.1, (n, outputs))
    pipe = forest.make_model("rf", forest.ForestConfig(n_estimators=15, n_jobs=1), seed).fit(X, Y)
    return pipe, ArrayForest.from_pipeline(pipe), X, Y


def test_attributions_add_up_to_the_prediction():
    """SHAP's local accuracy: base value + attributions = the forest's prediction, per row and
    output, NaN descriptors included."""
    _, arr, X, _ = _forest()
    phi, base = explain.attributions(arr, X[:40])
    assert phi.shape == (40, 6, 3) and base.shape == (3,)
    np.testing.assert_allclose(base + phi.sum(axis=1), arr.predict(X[:40]), rtol=0, atol=1e-9)
    one, _ = explain.attributions(arr, X[3])  # a single row
    np.testing.assert_allclose(one[0], phi[3], atol=1e-12)


def test_attributions_are_shaps_own_for_the_sklearn_forest():
    """The forest handed over in shap's custom format gets the values shap computes for the
    scikit-learn forest it came from (same covers, same thresholds, float32 inputs)."""
    import shap

    pipe, arr, X, _ = _forest(1)
    rows = np.where(np.isnan(X[:25]), arr.fill, X[:25])
    ref = shap.TreeExplainer(pipe[-1], feature_perturbation="tree_path_dependent")
    expected = np.asarray(ref.shap_values(rows, check_additivity=False))
    phi, base = explain.attributions(arr, X[:25])
    np.testing.assert_allclose(phi, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(base, np.ravel(ref.expected_value), atol=1e-9)


def test_a_descriptor_the_forest_cannot_split_on_gets_nothing():
    _, arr, X, _ = _forest(2, constant=(4, 5))
    phi, base = explain.attributions(arr, X[:30])
    assert np.all(phi[:, 4:, :] == 0)
    assert np.abs(phi[:, :2, :]).sum() > 3 * np.abs(phi[:, 2:4, :]).sum()  # the signal's two


def test_the_base_value_is_the_mean_training_label():
    """Each tree's leaves average the labels of the sample it was grown on, so the base value
    is the forest's mean of those labels: close to the labels' mean."""
    _, arr, X, Y = _forest(3)
    _, base = explain.attributions(arr, X[:1])
    assert np.abs(base - Y.mean(axis=0)).max() < 0.05


@pytest.mark.parametrize("value, reference, words", [
    (0.81, np.linspace(0, 1, 101), "more than in 80 % of"),  # 81 of 101 below: 80.2 %
    (0.9, np.arange(10) / 10, "more than in 90 % of"),  # exactly 9 of 10 below
    (5.0, [1.0, 2.0, 3.0], "more than in any of"),  # the 100 % edge
    (0.0, [1.0, 2.0, 3.0], "less than in any of"),  # the 0 % edge
    (0.2, [0.1, 0.3, 0.4, 0.5, np.nan], "less than in 70 % of"),  # 3 of 4 finite above
    (0.0, [0.0] * 19 + [1.0], "as in 95 % of"),  # ties the largest group
    (2.0, [1.0, 2.0, 3.0], "more than in 30 % of"),  # a tie below and above: 'more' first
])
def test_standing_words_stay_true_and_round_down(value, reference, words):
    assert W.standing(value, reference) == f"{words} the PercePiano performances"


def test_standing_needs_reference_values():
    with pytest.raises(ValueError, match="no reference values"):
        W.standing(1.0, [np.nan])


def test_every_descriptor_of_every_model_has_words_without_its_column_name():
    for kind in ("midi", "audio"):
        for column in final.descriptor_columns(kind):
            w = W.words(column)
            said = w.say(0.5) + w.say(-0.5) + w.what
            name = column.split(":")[1]
            assert name not in said and "_" not in said, column
    with pytest.raises(KeyError, match="midi:rel_tempo"):
        W.words("midi:rel_tempo")  # score-relative: no final model reads it
    assert W.words("midi:pitch_mean").say(60.2) == "the mean pitch is C4 (MIDI 60)"
    assert (W.words("midi:melody_lead_ms").say(-12.3)
            == "the top note of a chord lags the others by 12 ms on average")


def test_sentence_templates_exactly():
    pedal = ("the sustain pedal is down for 81 % of the take, more than in 90 % of the "
             "PercePiano performances")
    assert explain.sentence(PEDAL, 4.9, 4.1, 5.6, 4.6, [(pedal, 0.21)]) == (
        "Pedal (clean - blurred) 4.9 [4.1, 5.6] (toward 'blurred', 0.30 from the PercePiano "
        "mean 4.6): the sustain pedal is down for 81 % of the take, more than in 90 % of the "
        "PercePiano performances, which moves it 0.21 toward 'blurred'.")
    assert explain.sentence("Music_Making_Fast_paced_Slow_paced", 2.94, 2.2, 3.5, 3.61,
                            [("A", -0.1), ("B", -0.05), ("C", -0.01)]) == (
        "Music making (fast-paced - slow-paced) 2.9 [2.2, 3.5] (toward 'fast-paced', 0.67 "
        "from the PercePiano mean 3.6): A, which moves it 0.10 toward 'fast-paced'; B, which "
        "adds 0.05; and C, which adds 0.01.")
    assert explain.sentence(PEDAL, 4.601, 4.0, 5.2, 4.6, [("A", 0.02), ("B", 0.01)]) == (
        "Pedal (clean - blurred) 4.6 [4.0, 5.2] (at the PercePiano mean 4.6): A, which moves it "
        "0.02 toward 'blurred'; and B, which adds 0.01.")


def test_reasons_push_the_way_the_prediction_leans():
    columns = ["midi:pedal_down_frac", "midi:tempo_bpm", "midi:soft_pedal_frac"]
    reference = np.array([[0.1, 60.0, 0.0], [0.2, 80.0, 0.0], [0.3, 100.0, 0.5]])
    values = np.array([0.81, 50.0, np.nan])
    phi = np.array([0.3, -0.5, 0.1]) / 7  # label scale: 0.3, -0.5, 0.1 rating points
    up = explain.reasons(phi, values, reference, columns, direction=+1, top=3)
    assert [r["column"] for r in up] == ["midi:pedal_down_frac", "midi:soft_pedal_frac"]
    assert up[0]["clause"] == ("the sustain pedal is down for 81 % of the take, more than in "
                               "any of the PercePiano performances")
    assert up[0]["shap"] == pytest.approx(0.3) and up[0]["shares"]["below"] == 1
    assert up[1]["clause"].startswith("the time the soft pedal is down could not be measured")
    assert up[1]["value"] is None and up[1]["shares"] is None
    down = explain.reasons(phi, values, reference, columns, direction=-1, top=3)
    assert [r["clause"] for r in down] == [
        "the onsets come at a median pace of 50 a minute, slower than in any of the PercePiano "
        "performances"]
    either = explain.reasons(phi, values, reference, columns, direction=0, top=2)
    assert [r["column"] for r in either] == ["midi:tempo_bpm"]  # the largest move either way


@pytest.fixture(scope="module")
def dev(data_root):
    return dataset.subset(dataset.load(data_root), 120)


@pytest.fixture(scope="module")
def model(dev):
    return final.build(dev, "midi", cfg=forest.preset("smoke"), progress=False)


def test_a_percepiano_take_is_explained_in_words(dev, model):
    take = scoring.read_take(dev.segments.loc[dev.names[0], "midi_path"], model.columns)
    prof = explain.explain(take, model, 0.8, top=2)
    assert [d["dimension"] for d in prof["dimensions"]] == list(DIMENSIONS)
    phi, base = explain.attributions(model.forest, take.rows)
    for j, d in enumerate(prof["dimensions"]):
        assert d["mean"] == pytest.approx(base[j] * 7)
        assert d["score"] == pytest.approx(d["mean"] + phi[0, :, j].sum() * 7, abs=1e-9)
        assert 1 <= len(d["reasons"]) <= 2 and d["sentence"].endswith(".")
        assert d["toward"] in (d["pole_1"], d["pole_7"], None)
        assert "midi:" not in d["sentence"] and "_" not in d["sentence"]
        moved = [r["shap"] for r in d["reasons"]]
        assert moved == sorted(moved, key=abs, reverse=True)
    assert explain.explain(take, model, 0.8, top=2) == prof  # deterministic
    assert str(len(dev.names)) in prof["attribution"]["compared_with"]


def test_a_long_take_is_explained_by_the_mean_of_its_windows(tmp_path, model):
    from tests.analysis.test_scoring import _melody

    _melody(200.0).write(str(tmp_path / "long.mid"))
    take = scoring.read_take(tmp_path / "long.mid", model.columns)
    take.rows[:, model.columns.index("midi:pedal_down_frac")] = np.nan  # unmeasured throughout
    prof = explain.explain(take, model, 0.8, top=len(model.columns))
    assert prof["windows"] == 7 and "scored in 7 spans" in prof["notes"][0]
    phi, _ = explain.attributions(model.forest, take.rows)
    for j, d in enumerate(prof["dimensions"]):
        assert d["score"] == pytest.approx(d["mean"] + phi[:, :, j].sum(axis=1).mean() * 7,
                                           abs=1e-9)
        for r in d["reasons"]:
            if r["column"] == "midi:pedal_down_frac":
                assert r["value"] is None and "could not be measured" in r["clause"]
            else:
                assert r["value"] == pytest.approx(np.mean(take.rows[:, model.columns.index(
                    r["column"])]))


def test_out_of_fold_is_the_cross_validations_model_for_that_fold(dev, model):
    from percepiano.data.splits import make_folds

    folds = make_folds(dev.segments, final.SPLIT, final.K, final.SEED)
    held = list(folds.index[folds == 1][:5])
    oof = explain.out_of_fold(model, dev, held)
    assert not set(oof.names) & set(folds.index[folds == 1])
    assert set(oof.names) == set(folds.index[folds != 1])
    X = forest.feature_table(dev, "midi")[model.columns]
    where = [list(model.names).index(n) for n in held]
    np.testing.assert_allclose(oof.predict(X.loc[held].to_numpy()), model.oof_pred[where],
                               rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="give names of one fold"):
        explain.out_of_fold(model, dev, [held[0], folds.index[folds == 2][0]])


def test_segments_are_explained_beside_their_ratings(dev, model):
    from percepiano.data.splits import make_folds

    folds = make_folds(dev.segments, final.SPLIT, final.K, final.SEED)
    held = list(folds.index[folds == 0][:4])
    oof = explain.out_of_fold(model, dev, held)
    frame = explain.explain_segments(oof, dev, held, top=1)
    assert len(frame) == 4 * 19 and list(frame["dimension"][:19]) == list(DIMENSIONS)
    first = frame[frame["name"] == held[0]].set_index("dimension")
    np.testing.assert_allclose(first["rating"], dev.labels.loc[held[0], list(DIMENSIONS)] * 7)
    assert (np.sign(first["shap"]) == np.sign(first["prediction"] - first["expected"])).all()
    assert ((first["low"] <= first["prediction"]) & (first["prediction"] <= first["high"])).all()
    summary = explain.agreement(frame)
    assert list(summary.index) == list(DIMENSIONS)
    assert summary["agrees"].between(0, 1).all() and (summary["segments"] <= 4).all()


def test_agreement_counts_directions():
    frame = pd.DataFrame({
        "name": ["a", "b", "c", "d"], "dimension": [PEDAL] * 4,
        "rating": [5.0, 3.0, 5.0, 4.0], "mean_rating": [4.0] * 4,
        "prediction": [4.5, 4.5, 3.5, 4.2], "expected": [4.0] * 4,
        "shap": [0.25, 0.1, -0.4, 0.1], "strongest_shap": [0.25, -0.3, -0.4, 0.1]})
    row = explain.agreement(frame).loc[PEDAL]
    assert row["segments"] == 3  # 'd' is rated exactly the mean
    assert row["agrees"] == pytest.approx(1 / 3) and row["strongest_agrees"] == pytest.approx(2 / 3)
    assert row["explained"] == pytest.approx(0.5)  # median of 0.5, 0.2, 0.8
