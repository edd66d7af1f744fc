"""The week-3 chapter's generated sentences say what the numbers say."""

import numpy as np
import pandas as pd

from percepiano.analysis import readings


def _align(mean, lo, hi, cmean=1.0, clo=0.99, chi=1.01):
    return {"events": {"mean": mean, "ci": [lo, hi], "n": 10},
            "shifted": {"mean": cmean, "ci": [clo, chi], "n": 10}}


def test_alignment_verdicts_follow_the_intervals():
    text = readings.alignment({"onsets": _align(1.2, 1.1, 1.3),
                               "pedal_changes": _align(1.0, 0.9, 1.1),
                               "loudness_peaks": _align(0.8, 0.7, 0.9, 0.8, 0.7, 0.9)})
    assert "note onsets get more relevance" in text
    assert "sustain-pedal changes it cannot be told from 1" in text
    assert "loudness peaks get less relevance" in text and "shifted control" in text
    assert "by more than 5%" in text
    small = readings.alignment({"onsets": _align(1.01, 1.005, 1.02)})
    assert "within 5% of 1" in small
    # a control that leaves 1 the other way explains none of the events' excess
    other = readings.alignment({"onsets": _align(1.05, 1.04, 1.06, 0.996, 0.991, 0.9999)})
    assert "note onsets get more relevance" in other and "shifted control" not in other
    same = readings.alignment({"onsets": _align(1.05, 1.04, 1.06, 1.02, 1.01, 1.03)})
    assert "shifted control also leaves 1 the same way (1.020)" in same
    table = readings.alignment_table({"onsets": _align(1.2, 1.1, 1.3)})
    assert table.loc["note onsets", "relevance ratio at events"] == "1.200 [1.100, 1.300]"


def test_split_sentence_sees_a_changed_ranking():
    r2 = pd.DataFrame({"kind": ["piece", "piece", "work", "work"],
                       "learner": ["a", "b", "a", "b"], "estimate": [0.5, 0.4, 0.1, 0.2]})
    text = readings.splits(r2, ["piece", "work"])
    assert "a on piece and b on work" in text and "changes between splits" in text
    assert "highest on the piece split (0.450)" in text
    same = readings.splits(r2.assign(estimate=[0.5, 0.4, 0.3, 0.2]), ["piece", "work"])
    assert "a ranks first on every split" in same and "same on every split" in same


def test_error_pairs_name_the_extremes():
    corr = pd.DataFrame(np.array([[1, 0.9, 0.3], [0.9, 1, 0.4], [0.3, 0.4, 1]]),
                        index=["forest", "LightGBM", "listener"],
                        columns=["forest", "LightGBM", "listener"])
    text = readings.error_pairs(corr)
    assert "forest and LightGBM (r = 0.90)" in text and "forest and listener (r = 0.30)" in text
    assert "errs differently" in text
