"""Robustness levels are judged against the clean score paired, on the same segments."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import robustness_readings as robust
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import stats


def _oof(n_groups=12, per=6, seed=0):
    """Clean predictions with noise, a level that adds a little more noise to every
    prediction (worse on the same segments), and a level that is the clean one again."""
    rng = np.random.default_rng(seed)
    names = [f"s{i}" for i in range(n_groups * per)]
    y = pd.DataFrame(rng.normal(0.5, 0.1, (len(names), len(DIMENSIONS))), index=names,
                     columns=list(DIMENSIONS))
    clean = y + rng.normal(0, 0.08, y.shape)
    units = pd.Series(np.repeat(np.arange(n_groups), per).astype(str), index=names)
    rows = [clean.assign(perturbation="gain", level=0.0),
            (clean + rng.normal(0, 0.02, y.shape)).assign(perturbation="noise", level=20.0),
            clean.assign(perturbation="gain", level=6.0)]
    oof = pd.concat(rows).assign(system="audio forest", fold=0)
    return y, oof, units


def test_levels_name_the_clean_row_first_and_every_other_level():
    _, oof, _ = _oof()
    identities = {"gain": 0.0, "noise": np.inf}
    preds = robust.levels(oof, {"audio forest": ("gain", 0.0)}, identities)["audio forest"]
    assert list(preds) == ["clean", "noise at 20 dB SNR", "gain at +6 dB"]
    same = pd.concat([oof, oof[oof.perturbation == "gain"].assign(perturbation="noise",
                                                                  level=np.inf)])
    assert list(robust.levels(same, {"audio forest": ("gain", 0.0)}, identities)[
        "audio forest"]) == ["clean", "noise at 20 dB SNR", "gain at +6 dB"]  # no identity
    assert set(preds["clean"].columns) == set(DIMENSIONS)
    with pytest.raises(ValueError, match="no clean rows"):
        robust.levels(oof, {"audio forest": ("gain", 3.0)}, identities)


def test_a_small_paired_drop_is_found_where_the_unpaired_criterion_misses_it():
    y, oof, units = _oof()

    class Page:  # the piece split's units, as analysis.page.Page.compare uses them
        def compare(self, preds, reference, metrics):
            return stats.compare(y, preds, reference, units, metrics=metrics, n_boot=500)

    clean = {"audio forest": ("gain", 0.0)}
    paired = robust.versus_clean(Page(), oof, clean, {"gain": 0.0}, metrics=("mean_r2",))
    summary = stats.summarise(y, oof.drop(columns="fold"), ["system", "perturbation", "level"],
                              units, metrics=["mean_r2"], n_boot=500)
    noise = summary[summary.perturbation == "noise"].iloc[0]
    base = summary[(summary.perturbation == "gain") & (summary.level == 0.0)].iloc[0]
    assert noise.ci_hi > base.estimate  # the old, unpaired criterion saw nothing
    text = robust.robustness_text(paired, summary, clean, units.nunique())
    assert "noise at 20 dB SNR (-0." in text and "lowers it significantly" in text
    assert "gain at +6 dB" not in text and "only the intervals" not in text
    few = robust.robustness_text(paired.assign(verdict="interval only"), summary, clean, 4)
    assert "by an interval that excludes zero, not significantly" in few
    assert "on 4 music groups no sign-flip test can go below p = 0.12" in few
    table = robust.versus_table(paired)
    assert table.loc[("audio forest", "noise at 20 dB SNR"), "verdict (pooled R²)"] == "below"
    assert table.loc[("audio forest", "gain at +6 dB"), "verdict (pooled R²)"] == \
        "indistinguishable"
