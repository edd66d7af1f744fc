"""The data chapter's experiments run in the smoke profile."""

import numpy as np
import pytest


@pytest.mark.slow
def test_data_ceiling_runs_in_smoke(ds, smoke_run):
    ceiling = smoke_run("data_ceiling")
    assert 0 < ceiling["mean_ceiling_r2"] <= 1 and ceiling["mean_ceiling_r"] == pytest.approx(
        np.mean([np.sqrt(max(v, 0)) for v in ceiling["reliability"].values()]))
    assert ceiling["headline"]["keys"] == ["mean_ceiling_r2", "mean_ceiling_r"]
    assert "mean_r2" not in ceiling.metrics


@pytest.mark.slow
def test_data_duplicates_runs_in_smoke(ds, smoke_run):
    res = smoke_run("data_duplicates")
    assert res["identical_files"]["groups"] == 21  # byte-identical performance MIDI files
    assert res["near_identical_pairs"] >= res["identical_files"]["segments"] // 2
    assert 0 < res["retest_ceiling_r2"] <= 1 and res["test_retest"]["n_pairs"] >= 3
    assert res["retest_ceiling_r2"] == pytest.approx(res["test_retest"]["mean_retest_r"])
    from percepiano.data import dataset

    pairs = [name for pair in res["pairs"] for name in (pair["a"], pair["b"])]
    dataset.assert_no_exam(pairs, "the test-retest pairs")
