"""The Phase 2 chapter's experiment runs in the smoke profile and keeps its protocol."""

import numpy as np
import pytest

from percepiano.data import dataset, music
from percepiano.data.dataset import DIMENSIONS
from percepiano.data.recordings import recording_groups
from percepiano.experiments import phase2


@pytest.mark.slow
def test_phase2_fewshot_runs_in_smoke_and_scores_every_method_on_one_query(ds, smoke_run):
    res = smoke_run("phase2_fewshot")
    cfg = res.provenance["config"]
    ds = dataset.subset(ds, cfg["max_segments"])  # what the experiment saw
    oof = res.oof
    assert set(oof.method) == set(phase2.METHODS) and sorted(set(oof.k)) == cfg["ks"]
    assert list(oof.columns[:19]) == list(DIMENSIONS)
    assert ((oof[list(DIMENSIONS)] >= 0) & (oof[list(DIMENSIONS)] <= 1)).all().all()
    # every method and k of a work is scored on the same query segments
    for work, part in oof.groupby("work"):
        sets = {frozenset(g.index) for _, g in part.groupby(["method", "k", "seed"])}
        assert len(sets) == 1
        assert not set(next(iter(sets))) & {n for n in ds.names
                                            if ds.segments.piece[n] != work}
    # the copies of one recording are all in a work's query or all outside it (in its pool)
    rec = recording_groups(ds.segments, music.RECORDING_MATCH, cfg["recordings"])
    for work, part in oof.groupby("work"):
        rest = [n for n in ds.names if ds.segments.piece[n] == work and n not in part.index]
        assert not set(rec[list(set(part.index))]) & set(rec[rest])
    # k = 0 has no support: the bar is the other works' mean, the same for the work's query
    bar = oof[(oof.method == "mean of the k") & (oof.k == 0)]
    for work, part in bar.groupby("work"):
        train = [n for n in ds.names if ds.segments.piece[n] != work]
        want = ds.labels.loc[train, list(DIMENSIONS)].mean().to_numpy()
        assert np.allclose(part[list(DIMENSIONS)].to_numpy(), want, atol=1e-4)
    table = {(r["method"], r["k"]): r for r in res["table"]}
    assert len(table) == len(phase2.METHODS) * len(cfg["ks"])
    assert res["headline"]["kind"] == "work" and res["works"]


@pytest.mark.slow
def test_phase2_transfer_scores_each_composer_only_from_the_other(ds, smoke_run):
    res = smoke_run("phase2_transfer")
    cfg = res.provenance["config"]
    ds = dataset.subset(ds, cfg["max_segments"])
    oof = res.oof
    want = {phase2.config_name(learner, a) for learner in cfg["learners"]
            for a in phase2.ADAPTATIONS}
    assert "forest" in want and "ridge + CORAL" in want
    assert set(oof.config) == want
    composer = ds.segments.composer
    for _, part in oof.groupby(["config", "seed"]):
        assert sorted(part.index) == sorted(ds.names)  # every segment scored once
        assert (composer.loc[part.index].to_numpy() == part.target.to_numpy()).all()
    table = {(r["config"], r["target"]) for r in res["table"]}
    assert table == {(c, t) for c in want for t in ["Beethoven", "Schubert", "both"]}
    assert res["headline"]["kind"] == "composer"


def test_the_adaptations_keep_the_table_shape_and_refuse_an_unknown_name(ds):
    ds = dataset.subset(ds, 60)
    from percepiano.models import forest

    X = forest.feature_table(ds, "midi", progress=False).loc[ds.names]
    composer = ds.segments.composer.loc[ds.names].to_numpy()
    plain = phase2.adapted(X, composer, "Schubert", "as they are", 1.0)
    assert np.array_equal(plain, X.to_numpy(np.float64), equal_nan=True)
    for a in phase2.ADAPTATIONS[1:]:
        Z = phase2.adapted(X, composer, "Schubert", a, 1.0)
        assert Z.shape == X.shape and np.isfinite(Z).all()
    with pytest.raises(ValueError, match="unknown adaptation"):
        phase2.adapted(X, composer, "Schubert", "mixup", 1.0)


@pytest.mark.slow
def test_phase2_explain_runs_in_smoke_and_explains_every_segment_once(ds, smoke_run):
    res = smoke_run("phase2_explain")
    cfg = res.provenance["config"]
    ds = dataset.subset(ds, cfg["max_segments"])
    assert res["segments"] == len(ds.names)
    assert [r["dimension"] for r in res["agreement"]] == list(DIMENSIONS)
    shown = {r["name"] for r in res["explanations"]}
    assert shown == set(res["examples"]) and len(shown) == cfg["examples"]
    works = {ds.segments.piece[n] for n in shown}
    assert len(works) == len(shown) and not ds.segments.is_score[list(shown)].any()
    assert all(0 <= r["agrees"] <= 1 for r in res["agreement"])
