"""The week-2 chapter's generated sentences and tables say what the numbers say."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import training_readings as tr
from percepiano.data.dataset import DIMENSIONS

REF = "MSE (reference)"
CPU = {"model": "Test CPU", "amx_bf16": False, "avx512_bf16": False}


def _rows(*rows, **columns):
    """A ``compare`` table from (config, metric, difference, ci_lo, ci_hi, significant) rows;
    ``excludes_zero`` follows from the interval."""
    t = pd.DataFrame(rows, columns=["config", "metric", "difference", "ci_lo", "ci_hi",
                                    "significant"])
    t["excludes_zero"] = (t.ci_lo > 0) | (t.ci_hi < 0)
    t["borderline"] = False
    return t.assign(**columns)


def _preds(shift=0.0, n=4):
    """Predictions of ``n`` segments (n x 19 dimensions), all 0.5 plus ``shift``."""
    return pd.DataFrame(np.full((n, len(DIMENSIONS)), 0.5 + shift), columns=list(DIMENSIONS),
                        index=[f"seg{i}" for i in range(n)])


def _bf16(speed, significant=False):
    comparison = _rows(("bf16", "mean_r2", 0.01, 0.005 if significant else -0.01, 0.02,
                        significant),
                       ("bf16", "mean_r", 0.0, -0.01, 0.01, False),
                       ("other", "mean_r2", -0.5, -0.6, -0.4, True))
    fits = pd.DataFrame({"s_per_epoch": [1.0, speed]}, index=[REF, "bf16"])
    return tr.bf16(comparison, fits, {REF: _preds(), "bf16": _preds(0.02)}, CPU, REF)


def test_bf16_is_faster_only_under_the_threshold():
    fast = _bf16(0.5)
    assert "takes 0.50 times as long" in fast
    assert "It is faster here" in fast and "suits this machine" in fast
    assert "not faster" not in fast
    slow = _bf16(0.9)
    assert "takes 0.90 times as long" in slow and "It is not faster here" in slow
    assert "suits this machine" not in slow
    at = _bf16(tr.FASTER)
    assert "It is faster here" in at


def test_bf16_says_which_metric_moved_and_by_how_much():
    text = _bf16(0.5, significant=True)
    assert "differs from fp32 in R²," in text and "cannot be told apart" not in text
    assert "not faster" in text  # faster, but not as accurate: no recommendation
    assert "at most 0.140 on the raters" in _bf16(0.5) and "cannot be told apart" in _bf16(0.5)
    assert "without bf16 matrix units" in _bf16(0.5)


def test_bf16_without_a_run_says_nothing():
    comparison = _rows(("other", "mean_r2", 0.0, -0.1, 0.1, False))
    fits = pd.DataFrame({"s_per_epoch": [1.0]}, index=[REF])
    assert tr.bf16(comparison, fits, {REF: _preds()}, CPU, REF) == ""


def test_forest_is_reached_only_by_intervals_that_include_zero_or_favour_the_model():
    bar = _rows(("below", "mean_r2", -0.2, -0.3, -0.1, False),
                ("close", "mean_r2", -0.05, -0.1, 0.01, False),
                ("better", "mean_r2", 0.1, 0.05, 0.15, True),
                ("below", "mean_r", 0.1, 0.05, 0.15, True))  # other metrics do not count
    text = tr.against_forest(bar)
    assert "In R², close and better reach the forest" in text
    assert "below reach" not in text and "below and" not in text
    one = tr.against_forest(bar[bar.config != "better"])
    assert "In R², close reaches the forest" in one
    none = tr.against_forest(bar[bar.config == "below"])
    assert "No listening or hybrid model reaches the forest in R²" in none
    assert tr.against_forest(None).startswith("No random forest results are stored")


def test_choices_lists_only_significant_moves():
    choices = _rows(("a", "mean_r2", 0.1, 0.05, 0.15, True),
                    ("a", "mean_r", 0.1, 0.05, 0.15, True),
                    ("b", "mean_r2", 0.1, 0.05, 0.15, False),  # interval only
                    ("c", "mean_r2", 0.1, -0.05, 0.15, True),  # test only
                    ("d", "mean_pairwise", -0.1, -0.15, -0.05, True))
    text = tr.choices(choices)
    assert text == ("Choices that improve on their reference significantly: a (R², r). "
                    "Choices that make things significantly worse: d (pairwise accuracy).")
    quiet = tr.choices(choices[choices.config.isin(["b", "c"])])
    assert quiet.startswith("No choice improves on its reference significantly")
    assert quiet.endswith("None makes things significantly worse.")


def test_choices_table_subtracts_each_reference():
    choices = _rows(("a", "mean_r2", 0.1, 0.05, 0.15, True), ("a", "mean_r", 0.2, 0.1, 0.3, True),
                    ("h", "mean_r2", -0.1, -0.2, 0.1, False), reference=[REF, REF, "cat"])
    summary = pd.DataFrame({"config": [REF, "a", "cat", "h", "a"],
                            "performances": ["human"] * 4 + ["all"],
                            "metric": ["mean_pairwise"] * 5,
                            "estimate": [0.60, 0.65, 0.70, 0.66, 0.99]})
    table = tr.choices_table(choices, summary)
    assert list(table.columns) == ["R²", "r", "pairwise, human only"]
    assert table.loc["a", "R²"] == pytest.approx(0.1)
    assert table.loc["a", "pairwise, human only"] == pytest.approx(0.05)
    assert table.loc["h", "pairwise, human only"] == pytest.approx(-0.04)
    assert np.isnan(table.loc["h", "r"])


def test_reproduces_needs_the_same_predictions():
    assert tr.reproduces(_preds(), None) == ""
    same = tr.reproduces(_preds(), _preds(1e-5))
    assert "match that chapter's to within 7.0e-05 on the raters' 1-7 scale" in same
    assert "differ from that chapter's" in tr.reproduces(_preds(), _preds(0.01))
    assert "differ from that chapter's" in tr.reproduces(_preds(), _preds(n=3))


def test_new_descriptors_count_the_raised_r2():
    new = _rows(("+ a", "mean_r2", 0.02, 0.01, 0.03, True),
                ("+ b", "mean_r2", 0.01, -0.01, 0.03, False),
                ("+ a", "mean_r2", -0.01, -0.03, 0.01, False),
                ("+ b", "mean_r", 0.02, 0.01, 0.03, True),
                ("+ c", "mean_r2", -0.02, -0.03, -0.01, True),  # significant, but lower
                learner=["forest", "forest", "hybrid", "forest", "forest"])
    text = tr.new_descriptors(new)
    assert "**forest**: In R²: + a" in text and "**hybrid**: In R²:" in text
    assert text.endswith("Of the 4 additions, 2 raise R² in the estimate and 1 significantly.")


def test_ablation_names_the_forest_s_costliest_groups():
    table = _rows(*[(f"without {g}", "mean_r2", d, d - 0.01, d + 0.01, False)
                    for g, d in [("pedal", -0.05), ("timing", 0.01), ("dynamics", -0.02),
                                 ("onsets", -0.01), ("pedal", -0.9)]],
                  learner=["forest"] * 4 + ["descriptor net"])
    text = tr.ablation(table, {"pedal": 12, "timing": 3, "dynamics": 8, "onsets": 2})
    assert text.startswith("Removing a group costs the forest most R² for pedal (-0.050, 12 "
                           "descriptors), dynamics (-0.020, 8 descriptors) and onsets (-0.010, "
                           "2 descriptors).")
    assert "-0.900" not in text  # another learner's rows are not the forest's
    helps = _rows(("without mfcc", "mean_r2", 0.01, 0.0, 0.02, False), learner=["forest"])
    assert tr.ablation(helps, {"mfcc": 20}).startswith("Removing any one group costs the "
                                                        "forest no R²")
    assert tr.ablation(helps.assign(learner="descriptor net"), {"mfcc": 20}) == ""


def test_max_gap_pairs_rows_by_segment_and_seed():
    a = pd.concat([_preds().assign(seed=0), _preds(0.1).assign(seed=1)])
    b = pd.concat([_preds(0.1).assign(seed=1), _preds().assign(seed=0)])  # seeds listed the
    assert tr.max_gap(a, b) == pytest.approx(0.0)                         # other way round
    with pytest.raises(ValueError, match="different"):
        tr.max_gap(a, _preds().assign(seed=0))


def test_in_family_keeps_the_reference_and_the_order():
    preds = {REF: 0, "x": 1, "y": 2, "z": 3}
    table = [{"config": REF, "family": "reference"}, {"config": "z", "family": "loss"},
             {"config": "x", "family": "loss"}, {"config": "y", "family": "regime"}]
    assert list(tr.in_family(preds, table, "loss")) == [REF, "x", "z"]
    assert list(tr.in_family(preds, table, "loss", "regime")) == [REF, "x", "y", "z"]


def test_per_learner_compares_within_each_learner():
    oof = pd.DataFrame({"learner": ["f", "f", "f", "n", "n"],
                        "config": ["base", "without a", "+ m", "base", "+ m"],
                        "kind": "piece", "v": range(5)})
    seen = []

    def compare(preds):
        seen.append(list(preds))
        return _rows(*[(c, "mean_r2", 0.0, -0.1, 0.1, False) for c in preds if c != "base"])

    table = tr.per_learner(oof, lambda k: k == "base" or k.startswith("without"), compare,
                           {"hybrid": _rows(("cat + m", "mean_r2", 0.0, -0.1, 0.1, False))})
    assert seen == [["base", "without a"]]  # learner n has no ablation: skipped
    assert list(table.row) == ["f: without a", "hybrid: cat + m"]


def test_best_reads_r2_on_all_performances():
    summary = pd.DataFrame({"config": ["a", "b", "a", "b", "c"],
                            "performances": ["all", "all", "human", "human", "all"],
                            "metric": ["mean_r2"] * 4 + ["mean_r"],
                            "estimate": [0.2, 0.3, 0.9, 0.1, 0.99]})
    assert tr.best(summary) == "b"
