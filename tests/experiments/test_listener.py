"""The listener chapter's experiments run in the smoke profile and keep their promises."""

import numpy as np
import pandas as pd
import pytest

from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.experiments import listener as exp
from percepiano.features import variants
from percepiano.features.groups import MIDI_GROUPS


@pytest.mark.slow
def test_listener_pretraining_runs_in_smoke(ds, smoke_run):
    res = smoke_run("listener_pretraining")
    cfg = res.provenance["config"]
    table = pd.DataFrame(res["table"])
    assert list(dict.fromkeys(table.config)) == list(exp.CONFIGS)
    assert set(table.query("config == 'both'").kind) == {"piece", "performer", "work"}
    assert np.isfinite(res.oof[list(DIMENSIONS)].to_numpy()).all()
    dataset.assert_no_exam(res.oof.index, "listener_pretraining's predictions")
    # pretraining took time only where a configuration pretrains
    pre = table.groupby("config").pretrain_s.mean()
    assert pre["from scratch"] == 0 and pre["+ auxiliary head"] == 0 and pre["both"] > 0
    assert set(res["pretrain_losses"]["both"]) == {"masked", "descriptors"}
    # the recovery table: every descriptor, once, for every configuration with the head
    assert set(res["recovery"]) == {n for n, c in cfg["configs"].items() if c["aux"]}
    rec = pd.DataFrame(res["recovery"]["both"])
    assert list(rec.descriptor) == list(variants.DESCRIPTORS)
    assert set(rec.group) == set(MIDI_GROUPS)
    assert res["n_renders"] == res["n_segments"] * cfg["n_variants"]


@pytest.mark.slow
def test_listener_renders_runs_in_smoke(ds, smoke_run):
    res = smoke_run("listener_renders")
    table = pd.DataFrame(res["table"])
    assert list(table.n_variants) == res.provenance["config"]["render_counts"]
    assert (table.pretrain_s > 0).all()


def test_every_descriptor_has_one_group():
    groups = [exp.group_of(d) for d in variants.DESCRIPTORS]
    assert set(groups) == set(MIDI_GROUPS)
    with pytest.raises(ValueError, match="no group"):
        exp.group_of("loudness_war")
