"""Generated comparison sentences say what the numbers say."""

import pandas as pd

from percepiano.evaluation import stats


def _row(config, diff, lo, hi, significant, metric="mean_r2"):
    return {"config": config, "metric": metric, "difference": diff, "ci_lo": lo, "ci_hi": hi,
            "excludes_zero": lo > 0 or hi < 0, "significant": significant}


def test_tally_sorts_rows_by_what_their_numbers_show():
    table = pd.DataFrame([_row("a", 0.10, 0.05, 0.15, True), _row("b", -0.10, -0.2, -0.01, True),
                          _row("c", 0.04, 0.01, 0.07, False), _row("d", 0.01, -0.02, 0.04, False),
                          _row("e", 0.0, -0.03, 0.03, False),
                          _row("a", 0.02, -0.01, 0.05, False, "mean_pairwise")])
    text = stats.tally(table, "the base")
    assert text.startswith("In R²: a (+0.100 [+0.050, +0.150]) is significantly above the base")
    assert "b (-0.100 [-0.200, -0.010]) is significantly below the base" in text
    assert ("c (+0.040 [+0.010, +0.070]) is not significantly different after Holm's "
            "correction, though its interval excludes zero, from the base") in text
    assert "d (+0.010 [-0.020, +0.040]) and e (+0.000 [-0.030, +0.030]) are not " \
           "significantly different from the base" in text
    assert text.endswith("In within-excerpt pairwise accuracy: a (+0.020 [-0.010, +0.050]) is "
                         "not significantly different from the base.")
    assert stats.join_items(["x", "y", "z"]) == "x, y and z"
