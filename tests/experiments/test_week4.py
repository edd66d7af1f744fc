"""The week-4 robustness experiment runs in the smoke profile, scores every perturbation level
on the same segments, and starts every curve from the clean score."""

import numpy as np
import pytest

from percepiano.audio import perturb
from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.experiments import week4


@pytest.mark.slow
def test_week4_robustness_runs_in_smoke_with_every_level_on_one_set_of_segments(ds,
                                                                                smoke_run):
    res = smoke_run("week4_robustness")
    cfg = res.provenance["config"]
    oof = res.oof
    assert set(oof.system) == set(week4.SYSTEMS)
    audio = oof[oof.system == "audio forest"]
    assert set(audio.perturbation) == {*perturb.AUDIO, "piano"}
    assert set(oof[oof.system == "MIDI forest"].perturbation) == set(perturb.MIDI)
    for (_, name), part in oof.groupby(["system", "perturbation"]):
        want = [1.0] if name == "piano" else cfg["levels"][name]
        assert sorted(set(part.level)) == sorted(want)
        sets = {frozenset(g.index) for _, g in part.groupby("level")}
        assert len(sets) == 1 and len(next(iter(sets))) <= cfg["max_test"]
    assert ((oof[list(DIMENSIONS)] >= 0) & (oof[list(DIMENSIONS)] <= 1)).all().all()
    # the identity level of the MIDI forest reads the descriptors the forest was trained on
    dev = dataset.subset(ds, cfg["max_segments"])
    from percepiano.analysis.final import descriptor_columns
    from percepiano.models import forest

    X = forest.feature_table(dev, "midi", progress=False)[descriptor_columns("midi")]
    names = sorted(set(oof.index))[:3]
    R = week4.perturbed_rows(dev, names, "midi", "velocity", 1.0, cfg)
    assert np.allclose(R[X.columns].to_numpy(), X.loc[names].to_numpy(), equal_nan=True)
