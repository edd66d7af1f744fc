"""A chapter's page: summaries with intervals, paired comparisons and the table it shows."""

import numpy as np
import pandas as pd

from percepiano.analysis.page import METRICS, Page


def _page(n=48, d=3, seed=0):
    rng = np.random.default_rng(seed)
    names = [f"s{i:02d}" for i in range(n)]
    y = pd.DataFrame(rng.uniform(0.2, 0.8, (n, d)), index=names, columns=list("abc")[:d])
    excerpts = pd.Series([f"e{i // 4}" for i in range(n)], index=names)
    music = excerpts.rename("music")
    deadpan = pd.Series([i % 4 == 0 for i in range(n)], index=names)
    return Page(ds=None, y=y, excerpts=excerpts, units={"piece": music, "temporal": music},
                deadpan=deadpan, n_boot=200)


def _oof(page, noise, config, seed):
    rng = np.random.default_rng(seed)
    pred = page.y + rng.normal(0, noise, page.y.shape)
    return pred.assign(seed=0, config=config, kind="piece")


def test_summary_scores_all_and_human_performances_and_shown_reads_them():
    page = _page()
    oof = pd.concat([_oof(page, 0.02, "good", 1), _oof(page, 0.3, "bad", 2)])
    summ = page.summary(oof)
    assert set(summ.performances) == {"all", "human"}
    assert set(summ.metric) == set(METRICS)
    r2 = summ[(summ.metric == "mean_r2") & (summ.performances == "all")].set_index("config")
    assert r2.estimate["good"] > 0.9 > r2.estimate["bad"]
    assert (r2.ci_lo <= r2.estimate).all() and (r2.estimate <= r2.ci_hi).all()
    table = Page.shown(summ)
    assert list(table.columns) == [*METRICS.values(), "pairwise, human only"]
    assert table.loc["good", "R²"].startswith(f"{r2.estimate['good']:.3f} [")
    assert "performances" not in page.summary(oof, human=False)


def test_summary_reads_the_split_from_the_kind_column():
    page = _page()
    oof = pd.concat([_oof(page, 0.05, "m", 1), _oof(page, 0.05, "m", 1).assign(kind="temporal")])
    summ = page.summary(oof, ["kind", "config"], kind=None, human=False)
    assert set(summ.kind) == {"piece", "temporal"}


def test_compare_pairs_each_configuration_with_the_reference():
    page = _page()
    oof = pd.concat([_oof(page, 0.02, "good", 1), _oof(page, 0.3, "bad", 2)])
    preds = {c: part.drop(columns=["config", "kind"]) for c, part in oof.groupby("config")}
    ab = page.compare(preds, "good").set_index("metric")
    assert set(ab.config) == {"bad"}
    assert ab.loc["mean_r2", "difference"] < 0
