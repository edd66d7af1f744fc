"""Descriptors that are zero in exact arithmetic, set to zero.

Many MIDI descriptors are exactly 0 for some performances: a deadpan rendering has no timing
deviation from its score and no tempo trend, a run of equal inter-onset intervals has no
spread. Floating-point arithmetic returns them as noise of either sign, from 1e-32 to about
1e-11 in PercePiano (``midi:timing_dev_ms``, ``midi:tempo_trend``, ``midi:ioi_std`` ...),
while every value that is not noise is above 1e-5: six orders of magnitude apart. The noise
depends on how the numbers were computed (the order of a sum, the library and machine that
filled the descriptor cache), and a tree reads it: sklearn casts the descriptors to float32,
which keeps the sign and order of such tiny values, so a split can fall between -1e-17 and
1e-17 and a forest fitted on another cache's noise grows other trees. Standardised descriptors
and linear models do not see it (the noise vanishes beside the mean), which is why only forests
on the raw descriptors moved between two copies of one experiment.

``snap_zeros`` sets every value with ``|x| < atol`` to 0, so a forest on the result depends on
the descriptors, not on their rounding: two tables that differ only in such noise give the same
bits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ZERO_ATOL = 1e-9  # between the noise (at most ~1e-11) and the smallest real value (~1e-5)


def snap_zeros(table: pd.DataFrame, atol: float = ZERO_ATOL) -> pd.DataFrame:
    """``table`` (rows, descriptors; numeric) with every value of magnitude below ``atol`` set
    to 0.0 (missing values stay missing). Raises ValueError for a negative ``atol``."""
    if atol < 0:
        raise ValueError(f"atol must be non-negative, got {atol}")
    return table.mask(np.abs(table) < atol, 0.0)
