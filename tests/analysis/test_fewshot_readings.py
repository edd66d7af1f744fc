"""The Phase 2 chapter's sentences and figure follow the numbers they are given."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import fewshot_readings as say
from percepiano.data.dataset import DIMENSIONS


def _vs(rows):
    return pd.DataFrame([{"method": m, "config": str(k), "metric": "mean_r2", "difference": d,
                          "ci_lo": d - 0.02, "ci_hi": d + 0.02, "significant": s,
                          "excludes_zero": s} for m, k, d, s in rows])


def test_the_least_data_that_helps_is_the_smallest_significant_k_per_learner():
    table = _vs([("forest", 1, 0.01, False), ("forest", 2, 0.05, True),
                 ("forest", 8, 0.09, True), ("ridge", 1, -0.04, True),
                 ("ridge", 8, 0.00, False)])
    text = say.least_that_helps(table)
    assert "forest from k = 2 (+0.050 [+0.030, +0.070])" in text
    assert "up to the largest tried does for ridge" in text  # a significant drop is no help
    assert say.least_that_helps(_vs([("ridge", 1, 0.0, False)])) == (
        "No number of labelled performances of the new work, up to the largest tried, raises "
        "the pooled R² significantly for ridge.")


def test_best_at_names_the_highest_estimate_at_each_k():
    summary = pd.DataFrame({"method": ["a", "b", "a", "b"], "k": [0, 0, 4, 4],
                            "metric": "mean_r2", "estimate": [0.1, 0.2, 0.5, 0.3]})
    assert say.best_at(summary) == {0: "b", 4: "a"}


def test_against_no_labels_compares_each_learner_with_its_own_k_zero():
    calls = []

    class Page:
        def compare(self, preds, reference, kind):
            calls.append((sorted(preds), reference, kind))
            return pd.DataFrame({"config": [c for c in preds if c != reference]})

    names = ["s1", "s2"]
    rows = [pd.DataFrame(np.full((2, 19), 0.5), index=names, columns=list(DIMENSIONS))
            .assign(method=m, k=k, seed=0, work="w") for m in ("a", "b") for k in (0, 2)]
    out = say.against_no_labels(Page(), pd.concat(rows))
    assert calls == [(["0", "2"], "0", "work")] * 2
    assert list(out.method) == ["a", "b"] and list(out.config) == ["2", "2"]


def test_the_curve_has_one_line_per_learner_on_each_metric():
    summary = pd.DataFrame([{"method": m, "k": k, "metric": metric, "estimate": 0.1 * k,
                             "ci_lo": 0.1 * k - 0.05, "ci_hi": 0.1 * k + 0.05}
                            for m in ("a", "b") for k in (0, 1, 8)
                            for metric in ("mean_r2", "mean_pairwise")])
    fig = say.curve_figure(summary)
    assert [len(ax.lines) >= 2 for ax in fig.axes] == [True, True]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "1", "8"]


def test_transfer_compares_each_adaptation_with_its_own_learner_on_every_segment():
    calls = []

    class Page:
        def compare(self, preds, reference, kind):
            calls.append((sorted(preds), reference, kind))
            return pd.DataFrame({"config": [c for c in preds if c != reference],
                                 "metric": "mean_r2", "difference": 0.0, "ci_lo": -0.1,
                                 "ci_hi": 0.1, "p_holm": 1.0, "significant": False,
                                 "excludes_zero": False})

    rows = [pd.DataFrame(np.full((1, 19), 0.5), index=[f"{t}1"], columns=list(DIMENSIONS))
            .assign(config=learner + a, seed=0, target=t)
            for learner in ("forest", "ridge") for a in ("", " + CORAL")
            for t in ("B", "S")]
    out = say.transfer_against_plain(Page(), pd.concat(rows))
    assert calls == [(["forest", "forest + CORAL"], "forest", "composer"),
                     (["ridge", "ridge + CORAL"], "ridge", "composer")]
    text = say.transfer_text(out)
    assert text.count("\n\n") == 1 and "ridge on the descriptors as they are" in text


def test_label_shift_names_the_largest_differences_in_points_of_the_scale():
    dims = list(DIMENSIONS)
    labels = pd.DataFrame(0.5, index=["a1", "a2", "b1", "b2"], columns=dims)
    labels.loc[["b1", "b2"], dims[4]] = 0.5 + 1 / 7  # one point higher for composer b
    labels.loc[["b1", "b2"], dims[7]] = 0.5 - 2 / 7  # two points lower
    composer = pd.Series(["A", "A", "B", "B"], index=labels.index)
    text = say.label_shift(labels, composer, top=2)
    assert text.index("(-2.00)") < text.index("(+1.00)")
    assert "B minus A" in text
    with pytest.raises(ValueError, match="two composers"):
        say.label_shift(labels, pd.Series("A", index=labels.index))


def test_agreement_text_names_the_range_and_the_dimensions_below_half():
    dims = list(DIMENSIONS)
    agree = pd.DataFrame({"dimension": dims, "agrees": np.linspace(0.4, 0.8, 19),
                          "strongest_agrees": 0.6})
    text = say.agreement_text(agree, 1012)
    assert "Over the 1012 development performances" in text
    assert "on 60% of the (performance, dimension) pairs" in text
    assert "from 40% (Timing: stable – unstable) to 80%" in text
    assert "less than half the time" in text and text.count("Timing: stable") == 2
    assert "less than half" not in say.agreement_text(agree.assign(agrees=0.7), 10)


def test_example_table_keeps_the_dimensions_rated_furthest_from_the_mean():
    dims = list(DIMENSIONS)
    rows = pd.DataFrame({"name": "a", "dimension": dims, "rating": 4.0, "mean_rating": 4.0,
                         "sentence": [f"s{i}" for i in range(19)]})
    rows.loc[3, "rating"], rows.loc[11, "rating"] = 6.0, 1.0  # 2 and 3 points from the mean
    other = rows.assign(name="b", rating=7.0)
    table = say.example_table(pd.concat([rows, other], ignore_index=True), "a", rows=2)
    assert list(table.explanation) == ["s11", "s3"] and list(table.raters) == [1.0, 6.0]


def test_the_transfer_figure_has_a_bar_per_configuration_and_composer_on_each_metric():
    rows = [{"scored on": t, "config": c, "metric": m, "estimate": 0.6, "ci_lo": 0.55,
             "ci_hi": 0.65} for t in ("A", "B", "both") for c in ("forest", "forest + CORAL")
            for m in say.METRIC_NAMES]
    fig = say.transfer_figure(pd.DataFrame(rows))
    assert [len(ax.patches) for ax in fig.axes] == [6, 6]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "scored on\nA", "scored on\nB", "both"]


def _fewshot_table():
    return [{"method": m, "k": k, "pooled_r2": p, "per_work_r2": w, "per_work_r2_median": w - 0.1,
             "within_work_r2": i, "work_mean_r2": 0.2, "pairwise": 0.6}
            for m, k, p, w, i in [("forest", 0, 0.2, -1.1, 0.24), ("forest", 2, 0.3, -0.5, 0.25),
                                  ("forest", 8, 0.36, -0.4, 0.29), ("ridge", 0, 0.07, -1.6, 0.3),
                                  ("ridge", 8, 0.37, -0.3, 0.31)]]


def test_the_placing_table_shows_the_ends_of_the_curve_and_the_work_means():
    out = say.placing_table(_fewshot_table())
    assert list(out.columns) == ["learner", "k", *say.PLACING.values()]
    assert out.learner.tolist() == ["forest", "ridge", "forest", "ridge", say.PLACED]
    assert out.k.tolist()[:4] == [0, 0, 8, 8] and pd.isna(out.k.iloc[-1])
    assert out.iloc[-1, 2:].tolist() == [0.2, 0.0, 0.0, 0.0]
    assert out.loc[2, "within works"] == 0.29
    assert out.loc[1, "per work, median"] == pytest.approx(-1.7)


def test_placing_numbers_count_the_query_and_read_the_forest():
    names = [f"s{i}" for i in range(10)]
    works = ["a"] * 5 + ["b"] * 3 + ["c", "d"]
    oof = pd.concat([pd.DataFrame(np.full((10, 19), 0.5), index=names, columns=list(DIMENSIONS))
                     .assign(method=m, k=k, seed=s, work=works)
                     for m in ("forest", "ridge") for k in (0, 8) for s in (0, 1)])
    out = say.placing_numbers(_fewshot_table(), oof, top=2)
    assert (out["query_rows"], out["top_rows"], out["top"], out["kmax"]) == (10, 8, 2, 8)
    assert out["placed_r2"] == 0.2 and out["pooled_k0"] == 0.2 and out["within_kmax"] == 0.29
    assert out["per_work_k0"] == -1.1 and out["per_work_median_kmax"] == pytest.approx(-0.5)
