"""Headline tables: all and human performances, the identity bar, one row per model."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import headline
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import metrics


def _segments(n_music=8, performers=("a", "b", "c", "Score")):
    rows = [{"name": f"{m}_{p}", "music_group": f"m{m}", "excerpt": f"e{m}", "piece": f"w{m % 3}",
             "performer": p, "is_score": p == "Score", "composer": "c"}
            for m in range(n_music) for p in performers]
    return pd.DataFrame(rows).set_index("name")


def _oof(labels, noise, seed, kind="piece", deadpan_noise=None, segments=None):
    rng = np.random.default_rng(seed)
    pred = labels + noise * rng.standard_normal(labels.shape)
    if deadpan_noise is not None:
        dead = segments.is_score.to_numpy()
        shape = (int(dead.sum()), labels.shape[1])
        pred[dead] = labels[dead] + deadpan_noise * rng.standard_normal(shape)
    return pred.assign(kind=kind, seed=0, fold=0)


def test_human_rows_score_the_same_predictions_without_the_deadpan_renderings():
    seg = _segments()
    rng = np.random.default_rng(0)
    y = pd.DataFrame(rng.random((len(seg), len(DIMENSIONS))), index=seg.index,
                     columns=list(DIMENSIONS))
    # perfect on the deadpan renderings, noisy on the human performances
    oof = _oof(y, 0.3, 1, deadpan_noise=0.0, segments=seg)
    table = headline.summary(y, {"model": oof}, seg, n_boot=50)
    est = table.set_index(["performances", "metric"]).estimate
    assert set(table.performances) == {"all", "human"} and set(table.kind) == {"piece"}
    assert est[("human", "mean_r2")] < est[("all", "mean_r2")]
    human = ~seg.is_score
    want = metrics.evaluate(y[human].to_numpy(), oof.loc[human, list(DIMENSIONS)].to_numpy())
    assert est[("human", "mean_r2")] == pytest.approx(want["mean_r2"])


def test_identity_bar_takes_the_best_baseline_per_metric_and_wide_keeps_models_in_order():
    seg = _segments()
    rng = np.random.default_rng(1)
    y = pd.DataFrame(rng.random((len(seg), len(DIMENSIONS))), index=seg.index,
                     columns=list(DIMENSIONS))
    ident = pd.concat([_oof(y, noise, i).assign(baseline=name)
                       for i, (name, noise) in enumerate([("good", 0.1), ("bad", 1.0)])])
    bar = headline.identity_bar(y, ident, seg, ["piece"], n_boot=50)
    assert set(bar.baseline) == {"good"} and set(bar.model) == {"identity bar"}
    model = headline.summary(y, {"zeta": _oof(y, 0.5, 5)}, seg, n_boot=50)
    wide = headline.wide(pd.concat([model, bar], ignore_index=True))
    assert list(wide.index) == ["zeta", "identity bar"] and wide.index.name == "model"
    assert list(wide.columns) == [("piece", "R²", "all"), ("piece", "R²", "human only"),
                                  ("piece", "pairwise", "all"),
                                  ("piece", "pairwise", "human only")]
    assert all(" [" in cell for cell in wide.to_numpy().ravel())
    with pytest.raises(ValueError, match="kind"):
        headline.summary(y, {"x": _oof(y, 0.5, 5).drop(columns="kind")}, seg)
