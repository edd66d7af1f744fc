"""The week-2 chapter's experiments run in the smoke profile and keep their promises."""

import numpy as np
import pandas as pd
import pytest

from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.experiments import networks, week2
from percepiano.features.groups import AUDIO_GROUPS, MIDI_GROUPS, descriptor_group


def _check(res, configs):
    table = pd.DataFrame(res["table"])
    assert list(dict.fromkeys(table.config)) == list(configs)
    assert np.isfinite(res.oof[list(DIMENSIONS)].to_numpy()).all()
    dataset.assert_no_exam(res.oof.index, f"{res.provenance['experiment']}'s predictions")
    return table


@pytest.mark.slow
def test_week2_training_runs_in_smoke(ds, smoke_run):
    res = smoke_run("week2_training")
    configs = res.provenance["config"]["configs"]
    assert set(configs) == week2.SMOKE & set(week2.LISTENER)
    _check(res, configs)
    fits = pd.DataFrame(res["fits"])
    # every fold of every configuration started from one pretrained listener per fold: the
    # first configuration pretrained (or found the cache), the others read it back
    assert fits.groupby("config").pretrained_cached.sum().drop("MSE (reference)").eq(
        fits.groupby("config").size().drop("MSE (reference)")).all()
    assert set(res["cpu"]) == {"model", "amx_bf16", "avx512_bf16"}


@pytest.mark.slow
def test_week2_fusion_runs_in_smoke(ds, smoke_run):
    res = smoke_run("week2_fusion")
    configs = res.provenance["config"]["configs"]
    _check(res, configs)
    n = res["n_descriptors"]
    assert n["relative"] == 2 * n["base"]


@pytest.mark.slow
def test_week2_descriptors_runs_in_smoke(ds, smoke_run):
    res = smoke_run("week2_descriptors")
    table = pd.DataFrame(res["table"])
    assert set(table.learner) == {"forest", "descriptor net"}
    groups = set(res["groups"].values())
    forest = table[table.learner == "forest"]
    assert {f"without {g}" for g in groups} | set(week2.EXTRAS) == set(forest.config)
    assert set(table[table.learner != "forest"].config) == set(week2.SMOKE_NET_SETS)
    sizes = table[table.learner == "forest"].set_index("config").n_descriptors
    base = sizes["base"]
    assert all(sizes[f"without {g}"] == base - k for g, k in res["group_sizes"].items())
    assert sizes["+ excerpt-relative"] == 2 * base


def test_every_forest_descriptor_has_a_group():
    from percepiano.features.audio import AUDIO_FEATURES
    from percepiano.features.midi import MIDI_FEATURES

    columns = [f"midi:{n}" for n in MIDI_FEATURES] + [f"audio:{n}" for n in AUDIO_FEATURES]
    groups = {descriptor_group(c) for c in columns}
    assert groups == set(MIDI_GROUPS) | set(AUDIO_GROUPS) | {"score-relative"}
    with pytest.raises(ValueError, match="no group"):
        descriptor_group("midi:loudness_war")
    with pytest.raises(ValueError, match="no group"):
        descriptor_group("video:brightness")


def test_an_inner_fit_reuses_its_outer_folds_pretraining(ds):
    from percepiano.data.splits import make_folds, nested_split
    from percepiano.models.ensemble import inner_folds

    folds = make_folds(ds.segments, "piece", 4, seed=1)
    test = list(folds.index[folds == 2])
    train, val = nested_split(ds.segments, folds.index[folds != 2], "piece", 1)
    outer = networks.pretraining_names(ds, train, val, test, 1)
    assert outer == (train, val + test)
    rows = train + val
    fold = inner_folds(rows, ds.segments.music_group, 3, seed=1)
    for j in range(3):
        held = [n for n, f in zip(rows, fold, strict=True) if f == j]
        rest = [n for n, f in zip(rows, fold, strict=True) if f != j]
        tr, va = nested_split(ds.segments, rest, "piece", 1)
        assert networks.pretraining_names(ds, tr, va, held, 1, outer=True) == outer
