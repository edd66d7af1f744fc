"""The final exam experiment runs in the smoke profile on a stand-in exam of development music
(no real exam label is read outside the quick and full profiles): it trains on the rest of the
development part only, reads the stand-in once, refuses a second read before fitting anything
unless forced, and stores no label."""

import numpy as np
import pytest

from percepiano import experiments
from percepiano.data import exam
from percepiano.data.dataset import DIMENSIONS
from percepiano.errors import DataError
from percepiano.experiments import results


@pytest.mark.slow
def test_final_exam_reads_the_exam_once_and_refuses_a_second_read(ds, smoke_run, smoke_root,
                                                                  monkeypatch):
    monkeypatch.delenv(results.FORCE_ENV, raising=False)
    monkeypatch.setenv("PERCEPIANO_PROFILE", "quick")  # the run's profile, not this, counts
    res = smoke_run("final_exam")  # once per session: the smoke book reads it too
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(smoke_root))
    oof, m = res.oof, res.metrics
    assert set(oof.part) == {"development", "exam"}
    assert set(oof.system) == set(results.SYSTEMS)
    locked = set(results.stand_in_names(ds.segments, 40))
    dev_rows, exam_rows = oof[oof.part == "development"], oof[oof.part == "exam"]
    assert set(exam_rows.index) == locked and not set(exam_rows.index) & set(
        exam.final_exam_names())
    groups = ds.segments.music_group
    assert not set(groups[list(set(dev_rows.index))]) & set(groups[list(locked)])
    assert len(set(exam_rows.index)) == m["exam"]["segments"] > 0
    assert set(oof.columns) == {*DIMENSIONS, "system", "seed", "fold", "part"}  # no label
    # the reference is the best development system, chosen before the exam was scored
    assert m["reference"] == max(m["development_r2"], key=m["development_r2"].get)
    assert {r["config"] for r in m["paired"]} == set(results.SYSTEMS) - {m["reference"]}
    # the training mean predicts one row for every exam segment
    mean = exam_rows[exam_rows.system == "training mean"][list(DIMENSIONS)]
    assert np.allclose(mean.to_numpy(), mean.to_numpy()[0])
    reads = exam.reads("smoke")
    assert len(reads) == 1 and not reads[0]["forced"] and reads[0]["profile"] == "smoke"
    assert exam.reads("quick") == []
    with pytest.raises(DataError, match="--force-exam"):
        experiments.run("final_exam", "smoke")
    assert len(exam.reads("smoke")) == 1  # a refused run records nothing
    assert results.exam_results("smoke").metrics["exam_r2"] == m["exam_r2"]


def test_the_smoke_stand_in_exam_is_whole_development_music_groups(ds):
    segments = ds.segments
    few = results.stand_in_names(segments, 40)
    assert 0 < len(few) <= 40 and set(few) <= set(ds.names)
    assert not set(few) & set(exam.final_exam_names())
    kept = set(segments.loc[few, "music_group"])
    assert set(segments.index[segments.music_group.isin(kept)]) == set(few)
    assert len(results.stand_in_names(segments, 1)) > 1  # at least one whole group
