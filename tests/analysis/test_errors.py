"""Error analysis on simulated predictions with known answers, and a reading of a PercePiano
performance."""

import numpy as np
import pandas as pd
import pytest

from percepiano.analysis import errors
from percepiano.data.dataset import DIMENSIONS, SCALE_MAX

DIMS = list(DIMENSIONS)


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    names = [f"s{i:03d}" for i in range(n)]
    y = pd.DataFrame(rng.uniform(0.3, 0.7, (n, 19)), index=names, columns=DIMS)
    work = pd.Series(np.repeat(["easy", "mid", "hard"], n // 3), index=names)
    noise = {"easy": 0.01, "mid": 0.05, "hard": 0.15}
    scale = work.map(noise).to_numpy()[:, None]
    p = y + scale * rng.standard_normal((n, 19))
    units = pd.Series([f"u{i // 10}" for i in range(n)], index=names)  # 10 segments a unit
    return y, p, work, units


def test_group_errors_rank_the_hard_work_first_with_intervals_around_it():
    y, p, work, units = _data()
    out = errors.group_errors(y, p, work, units, n_boot=300)
    assert list(out.group) == ["hard", "mid", "easy"]
    assert (out.segments == 200).all()
    hard = out.iloc[0]
    assert hard.ci_lo < hard.mae < hard.ci_hi
    # E|N(0, s)| = s sqrt(2/pi), on the 1-7 scale
    assert hard.mae == pytest.approx(0.15 * np.sqrt(2 / np.pi) * SCALE_MAX, rel=0.05)
    assert out.iloc[0].ci_lo > out.iloc[1].ci_hi  # told apart
    dims = errors.group_errors(y, p, None, units, n_boot=50)
    assert sorted(dims.group) == sorted(DIMS) and (dims.segments == 600).all()
    assert errors.group_errors(y, p, work, units, n_boot=50, seed=1).equals(
        errors.group_errors(y, p, work, units, n_boot=50, seed=1))


def test_errors_that_grow_with_disagreement_are_found():
    y, p, work, _ = _data()
    sd = pd.DataFrame(np.repeat(work.map({"easy": 0.1, "mid": 0.2, "hard": 0.3})
                                .to_numpy()[:, None], 19, axis=1), index=y.index, columns=DIMS)
    n = pd.Series(6, index=y.index)
    out = errors.against_disagreement(y, p, sd, n)
    assert (out.rho_disagreement > 0.5).all() and out.rho_ratings.isna().all()


def test_always_wrong_keeps_only_segments_every_system_errs_on():
    y, p, _, _ = _data()
    other = p.copy()
    bad = ["s000", "s001"]
    p.loc[bad] += 0.5
    p.loc["s002"] = y.loc["s002"]  # right for one system
    other.loc[bad] += 0.5
    other.loc["s002"] += 0.5  # and wrong for the other
    out = errors.always_wrong(y, {"a": p, "b": other}, share=3 / 600)  # the worst 3 of each
    assert set(out.index) == set(bad) and list(out.columns) == ["a", "b", "mean"]
    with pytest.raises(ValueError, match="share"):
        errors.always_wrong(y, {"a": p}, share=1.0)
    with pytest.raises(ValueError, match="columns"):
        errors.always_wrong(y, {"a": p[DIMS[:3]]})


def test_a_reading_names_where_a_performance_stands_out(ds):
    from percepiano.models import forest

    X = forest.feature_table(ds, "midi", progress=False)
    cols = [c for c in X.columns if c in ("midi:pedal_down_ratio", "midi:velocity_mean",
                                          "midi:onset_rate")] or list(X.columns[:5])
    ref = X[cols]
    loud = ref.iloc[0].copy()
    loud[cols[0]] = ref[cols[0]].max() + 1  # beyond every development performance
    text = errors.reading(loud, ref, top=1)
    assert text.endswith("than in any of the PercePiano performances.")
    assert text[0].isupper() and "midi:" not in text
    with pytest.raises(ValueError, match="no descriptor"):
        errors.reading(pd.Series({"x": 1.0}), pd.DataFrame({"x": [0.0, 2.0]}))
