"""The final exam chapter's sentences about few music groups: what the tests could reach, and
which intervals its tables hold."""

import numpy as np
import pandas as pd

from percepiano.analysis import exam_readings as say
from percepiano.evaluation import small_g


def test_significance_out_of_reach_is_said_from_the_floors():
    text = say.reach_text(7, 16)
    assert "2/2^7 = 0.0156" in text and "below 0.25" in text
    assert "out of reach by design" in text
    within = say.reach_text(12, 16)
    assert "within reach" in within and "out of reach" not in within


def _summary(interval=None, df=np.nan):
    table = pd.DataFrame({"system": ["a"], "metric": ["mean_r2"], "estimate": [0.1],
                          "ci_lo": [0.0], "ci_hi": [0.2]})
    return table if interval is None else table.assign(interval=interval, df=df)


def test_interval_sentence_names_each_tables_intervals_and_warns_of_short_ones():
    stored = say.interval_text(_summary(small_g.PERCENTILE), _summary(), 40, 7)
    assert "percentile bootstrap intervals over 40" in stored
    assert "over its 7" in stored and "too narrow" in stored and "6 degrees" in stored
    fresh = say.interval_text(_summary(small_g.PERCENTILE), _summary(small_g.JACKKNIFE, 6.0),
                              40, 7)
    assert "jackknife t, 6 df intervals over its 7" in fresh and "too narrow" not in fresh
    many = say.interval_text(_summary(small_g.PERCENTILE), _summary(small_g.PERCENTILE), 40, 20)
    assert "too narrow" not in many
    one = say.interval_text(_summary(small_g.PERCENTILE), _summary(small_g.PERCENTILE), 40, 1)
    assert "nothing to resample" in one and "too narrow" not in one
