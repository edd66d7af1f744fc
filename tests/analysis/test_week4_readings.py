"""The week-4 and final-exam readings: the systems table's entries, the targets' verdicts,
conformal coverage by split, and sentences that say what their numbers say."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import exam_readings, systems
from percepiano.analysis import week4_readings as say
from percepiano.data.dataset import DIMENSIONS


def _oof(n=400, seeds=(0, 1), folds=4, noise=1.0, seed=0, kind="piece"):
    rng = np.random.default_rng(seed)
    names = [f"s{i}" for i in range(n)]
    signal = rng.normal(size=(n, len(DIMENSIONS)))
    y = pd.DataFrame(signal + noise * rng.normal(size=signal.shape), names, list(DIMENSIONS))
    rows = [pd.DataFrame(signal + 0.1 * rng.normal(size=signal.shape), names,
                         list(DIMENSIONS)).assign(seed=s, fold=np.arange(n) % folds, kind=kind)
            for s in seeds]
    return y, pd.concat(rows)


def test_every_system_names_a_registered_experiment_and_every_target_its_dimensions():
    from percepiano import experiments

    given = [(name, source) for name in systems.SYSTEMS for source in systems.sources(name)]
    for name, (experiment, where) in [*given, ("route", systems.ROUTE),
                                      ("few", systems.FEWSHOT)]:
        assert experiment in experiments.REGISTRY, name
        assert isinstance(where, dict)
    for name in systems.WEEK2:
        assert name in experiments.REGISTRY
    for target, prefixes in systems.TARGETS.items():
        assert [d for d in DIMENSIONS if d.startswith(prefixes)], target


def test_collect_reads_each_experiment_once_and_names_the_best_week2_recipe():
    from types import SimpleNamespace

    y, base = _oof(n=30, seeds=(0,))
    blocks = {}  # experiment: a block of rows per system it stores, with its columns set
    for experiment, where in [s for name in systems.SYSTEMS for s in systems.sources(name)]:
        values = {k: v.replace("*", "3 seeds") for k, v in where.items()}
        blocks.setdefault(experiment, []).append(base.assign(**values))
    for k, experiment in enumerate(systems.WEEK2):  # week2_fusion's recipe is the best one
        blocks[experiment] = [base.assign(**{d: y[d] * (k == 2) for d in DIMENSIONS},
                                          learner="forest", config=f"c{k}")]
    calls = []

    def load(name):
        calls.append(name)
        return SimpleNamespace(oof=pd.concat(blocks[name]))

    oof, recipe = systems.collect(load, y)
    assert sorted(calls) == sorted(blocks)  # once each, though several systems share one
    assert set(oof.system) == {*systems.SYSTEMS, systems.BEST_WEEK2}
    assert recipe == "week2_fusion: forest, c2"
    sizes = oof.groupby("system").size()
    assert sizes[systems.BEST_WEEK2] == 30
    for name in systems.SYSTEMS:  # one block per source: one split each, or every split
        assert sizes[name] == 30 * len(systems.sources(name)), name
    lgbm = oof[oof.system == "LightGBM (MIDI + audio)"]
    assert set(lgbm.kind) == {"piece", "performer", "work"}


def test_targets_say_met_missed_or_unsure_from_the_interval():
    y, oof = _oof(noise=0.3)  # r near 0.96: every target met
    units = pd.Series(np.arange(len(y)) // 4, index=y.index)
    ceiling = {d: 0.9 for d in DIMENSIONS}
    good = systems.targets(y, oof.drop(columns=["fold", "kind"]), units, ceiling, 200)
    assert (good.status == "met").all() and (good.ci_lo > systems.TARGET_R).all()
    assert set(good.target) == set(systems.TARGETS)
    y2, oof2 = _oof(noise=3.0, seed=1)  # r near 0.3: every target missed
    bad = systems.targets(y2, oof2.drop(columns=["fold", "kind"]), units, ceiling, 200)
    assert (bad.status == "missed").all()
    text = say.targets_text(bad, systems.TARGET_R, "model")
    assert "missed" in text and " 0 of " in text
    y3, oof3 = _oof(n=60, noise=1.0, seed=2)  # r near 0.7 with wide intervals
    near = systems.targets(y3, oof3.drop(columns=["fold", "kind"]), units.iloc[:60],
                           ceiling, 200).assign(status="unsure")
    assert "undecided" in say.targets_text(near, systems.TARGET_R, "model")
    assert "met;" not in say.targets_text(bad, systems.TARGET_R, "model")


def test_conformal_coverage_by_split_is_near_nominal_on_exchangeable_data():
    y, oof = _oof(n=2000, noise=1.0)
    cov = say.coverage_by_split(y, oof, 0.8)
    assert set(cov.kind) == {"piece"} and len(cov) == len(DIMENSIONS)
    assert cov.coverage.mean() == pytest.approx(0.8, abs=0.02)
    text = say.coverage_text(cov, 0.8)
    assert "piece split" in text and "below" not in text


def test_best_and_gap_sentences_follow_the_numbers():
    def summary(values):
        return pd.DataFrame([{"system": s, "kind": "piece", "performances": "all",
                              "metric": "mean_r2", "estimate": e, "ci_lo": lo, "ci_hi": hi}
                             for s, (e, lo, hi) in values.items()])

    best, text = say.best_text(summary({"a": (0.5, 0.45, 0.55), "b": (0.3, 0.25, 0.35)}))
    assert best == "a" and "do not overlap" in text
    three = summary({"a": (0.5, 0.45, 0.55), "b": (0.3, 0.25, 0.35), "c": (0.2, 0.1, 0.3)})
    assert say.best_text(three, exclude=("a",))[0] == "b"
    dev = summary({"a": (0.5, 0.45, 0.55)})
    for exam_value, where in ((0.5, "inside"), (0.6, "above"), (0.2, "below")):
        exam = summary({"a": (exam_value, exam_value - 0.1, exam_value + 0.1)})
        assert f"lies {where} the development" in exam_readings.gap_text(dev, exam, "a")


def test_the_caveat_names_what_was_never_remade():
    history = pd.DataFrame([
        {"short": "size", "kind": "choice", "segments": 906, "exam_segments": 85,
         "remade_by": "week1"},
        {"short": "crop length", "kind": "choice", "segments": 906, "exam_segments": 85,
         "remade_by": None}])
    text = exam_readings.caveat(history, 190)
    assert "1 of them has since" in text and "1 has not" in text
    assert "crop length (choice; 85 of its 906" in text
    assert "size (" not in text
    none_remade = exam_readings.caveat(history.assign(remade_by=None), 190)
    assert "since been made" not in none_remade and "2 have not" in none_remade


def test_the_disagreement_sentence_follows_the_sign_of_the_correlation():
    up = pd.DataFrame({"rho_disagreement": [0.2, 0.3, -0.1]})
    assert "the errors grow where the raters disagree" in say.disagreement_text(up)
    assert "positive on 2 of 3" in say.disagreement_text(up)
    flat = pd.DataFrame({"rho_disagreement": [0.05, -0.02, 0.0]})
    assert "barely depend" in say.disagreement_text(flat)
    down = pd.DataFrame({"rho_disagreement": [-0.2, -0.3, 0.1],
                         "rho_ratings": [-0.2, -0.1, np.nan]})
    assert "the errors shrink where the raters disagree" in say.disagreement_text(down)
    assert "rated by more listeners are predicted better" in say.disagreement_text(down)


def test_the_shrinkage_sentence_reads_the_calibration_slope():
    def table(slope):
        return pd.DataFrame({"variance_ratio": [0.5, 0.4], "calibration_slope": [slope] * 2})

    assert "calibrated in scale" in say.shrinkage_text(table(1.02), "m")
    assert "shrunk toward the mean further" in say.shrinkage_text(table(1.5), "m")
    assert "spread beyond" in say.shrinkage_text(table(0.6), "m")


def test_the_power_sentence_counts_intervals_that_holm_does_not_confirm():
    paired = pd.DataFrame({"excludes_zero": [True, True, False],
                           "significant": [False, True, False],
                           "p": [0.02, 0.001, 0.5], "p_holm": [0.04, 0.003, 0.5]})
    text = exam_readings.power_text(paired, 7)
    assert text.startswith("1 of the 2 differences") and "0.001 before" in text
    assert "0.003 after" in text and "7 music groups" in text
    assert exam_readings.power_text(paired.iloc[1:], 7).startswith("All 1 differences")
    assert exam_readings.power_text(paired.iloc[2:], 7).startswith("No difference")


def test_references_give_each_split_its_own_identity_bar():
    bars = pd.DataFrame([{"kind": k, "performances": "all", "metric": m, "estimate": v}
                         for k, v in (("piece", 0.2), ("work", 0.1))
                         for m in ("mean_r2", "mean_pairwise")])
    refs = systems.references({"mean_ceiling_r2": 0.7, "mean_pairwise_ceiling": 0.73}, bars)
    assert refs["piece"]["mean_r2"]["identity bar"] == 0.2
    assert refs["work"]["mean_pairwise"]["identity bar"] == 0.1
    assert refs["work"]["mean_r2"]["noise ceiling"] == 0.7


def test_exam_performers_count_those_heard_in_development():
    segments = pd.DataFrame({"performer": ["p1", "p2", "p1", "p3"]},
                            index=["d1", "d2", "e1", "e2"])
    text = exam_readings.performers_text(segments, ["e1", "e2"], ["e1", "e2"])
    assert text == "2 performers, 1 of whom also play in the development part"
    assert "all of whom" in exam_readings.performers_text(segments, ["e1"], ["e1", "e2"])


def test_a_split_table_lists_every_system_best_first_with_human_columns():
    rows = [{"system": s, "kind": "piece", "performances": who, "metric": m,
             "estimate": e + (0.0 if who == "all" else -0.1), "ci_lo": e - 0.1, "ci_hi": e + 0.1}
            for s, e in (("weak", 0.1), ("strong", 0.5)) for who in ("all", "human")
            for m in ("mean_r2", "mean_r", "mean_pairwise")]
    table = systems.split_table(pd.DataFrame(rows), "piece")
    assert list(table.index) == ["strong", "weak"]
    assert list(table.columns) == ["R²", "r", "pairwise accuracy", "R², human only",
                                   "pairwise accuracy, human only"]
    assert table.loc["strong", "R², human only"].startswith("0.400 [")
    assert systems.split_table(pd.DataFrame(rows), "work") is None


def test_a_recipe_with_excerpt_relative_descriptors_is_called_transductive():
    from percepiano.analysis import systems

    assert "transductive" in systems.transductive_note(
        "week2_descriptors: forest, + excerpt-relative")
    assert systems.transductive_note("week2_descriptors: forest, + music-level") == ""


def test_coverage_by_group_shows_both_intervals_and_says_whether_the_tails_reach_the_target():
    from percepiano.analysis import tail_conformal

    y, oof = _oof(n=600, noise=1.0)
    oof[list(DIMENSIONS)] = 0.6 * oof[list(DIMENSIONS)]  # shrunk toward the mean
    deadpan = pd.Series(np.arange(600) < 60, index=y.index)
    table = tail_conformal.coverage_table(y, oof, 0.8, deadpan=deadpan)
    assert list(table.intervals) == ["marginal", "tail"] and set(table.kind) == {"piece"}
    one, new = table.iloc[0], table.iloc[1]
    assert one.outer < 0.6 <= new.outer and abs(new.marginal - 0.8) < 0.03
    shown = say.coverage_group_table(table)
    assert list(shown.columns) == [*say.GROUPS.values(), "middle width (points)"]
    assert shown.iloc[0]["outer tenths"] == round(100 * one.outer, 1)
    assert shown.iloc[1]["middle width (points)"] == f"{new.width * 7:.2f}"
    text = say.coverage_group_text(table, 0.8, 0.5)
    assert f"one width covers {one.outer:.0%} of the outer tenths" in text
    assert "(reaching 50%)" in text and "(short of" in say.coverage_group_text(table, 0.8, 0.99)
