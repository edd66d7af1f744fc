"""The data chapter's experiments run in the smoke profile."""

import numpy as np
import pytest

from percepiano import experiments


def test_data_ceiling_runs_in_smoke(ds, results_root):
    ceiling = experiments.run("data_ceiling", "smoke")
    assert 0 < ceiling["mean_r2"] <= 1 and ceiling["mean_r"] == pytest.approx(
        np.mean([np.sqrt(max(v, 0)) for v in ceiling["reliability"].values()]))
