"""The experiment of the final results chapter (``book/results.py``): the locked final exam.

* ``final_exam``: the systems the development chapters chose, each trained on every
  development segment and scored once on the locked final exam (whole music groups, drawn by
  ``splits.draw_final_exam``): the identity references (the training mean; the performer's
  mean, which knows who plays) and the final models of ``analysis.final`` (the MIDI forest and
  the audio forest, each with the recipe ``percepiano predict`` ships: the same descriptors,
  forest settings and training versions of the sound), and the best single learner of the
  week-3 chapter, LightGBM on the MIDI and audio descriptors with its settings chosen on an
  inner validation split (``models.ensemble.lgbm_predictor``). Beside each, the same recipe's
  ``final.K``-fold cross-validation on the development part (``final.SPLIT``), so the two
  columns of the chapter's table come from one code path. Every statistic that needs the
  exam's labels is computed here, once: pooled R², r, within-excerpt Spearman and pairwise
  accuracy with cluster-bootstrap intervals over the exam's music groups, on all and on the
  human performances; the paired differences against the reference, the system with the best
  development R² of this run, chosen before any exam label is scored (Holm); and per-dimension
  pooled r. The stored predictions (``part``: ``development``, out of fold, or ``exam``) carry
  no label.

The exam is read through the capability of ``data.exam`` (``grant``), and the read is recorded
in the ledger beside these results: a second run in the same profile refuses unless
``FORCE_ENV`` is set (``percepiano run final_exam --force-exam``), and a forced read is
recorded as such. So the chapter reads the stored results whatever their configuration
(``exam_results``), and says when the code has changed since the exam was read.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from percepiano.errors import UserError
from percepiano.experiments.store import experiment

FORCE_ENV = "PERCEPIANO_FORCE_EXAM"  # set to 1 to read the final exam a second time
SYSTEMS = {"training mean": None, "performer mean": "performer",
           "MIDI forest": "midi", "audio forest": "audio", "LightGBM": "both"}
METRICS = ("mean_r2", "mean_r", "mean_within_rho", "mean_pairwise")


def _exam_config(s) -> dict:
    from percepiano.analysis import final
    from percepiano.data import exam
    from percepiano.models import forest
    from percepiano.models.ensemble import LGBM_GRID

    return {"profile": s.profile, "max_segments": s.max_segments, "seeds": list(s.seeds),
            # smoke: a stand-in exam of about 40 development segments in whole music groups,
            # so the tests exercise every step without ever reading a real exam label
            "stand_in": 40 if s.profile == "smoke" else None,
            "split": final.SPLIT, "folds": final.K, "format": final.FORMAT,
            "systems": list(SYSTEMS), "metrics": list(METRICS),
            # smoke: the grid's first setting with fewer trees, to keep the test suite short
            "lgbm_grid": ([dict(LGBM_GRID[0], n_estimators=100)] if s.profile == "smoke"
                          else list(LGBM_GRID)),
            "forest": {k: v for k, v in forest.preset(s.profile).__dict__.items()
                       if k != "candidates"},
            "n_boot": s.n_boot, "lock": exam.lock_commit(),
            "exam_segments": len(exam.final_exam_names())}


@experiment("final_exam", config=_exam_config)
def final_exam(cfg: dict) -> dict:
    """Every chosen system trained on all development data and scored once on the exam."""
    from percepiano.analysis.systems import pooled_r2
    from percepiano.data import dataset, exam
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.data.splits import nested_split
    from percepiano.evaluation import stats
    from percepiano.evaluation.cross_validation import cross_validate_seeds

    start = time.perf_counter()
    _may_read(exam, cfg["profile"])  # refuse a second read before hours of fitting, not after
    if cfg["stand_in"]:  # smoke: development segments stand in for the exam
        everything = dataset.load()
        locked = stand_in_names(everything.segments, cfg["stand_in"])
        dev = dataset.subset(dataset.without(everything, locked), cfg["max_segments"])
        segments = everything.segments
    else:
        dev = dataset.subset(dataset.load(), cfg["max_segments"])
        segments = dataset.load(part="all").segments  # every segment's metadata, no exam label
        locked = sorted(exam.final_exam_names())
    ds = with_segments(dev, segments, locked)
    dims, seeds = list(DIMENSIONS), cfg["seeds"]
    predictors, timing = _predictors(ds, cfg), {}
    dev_rows, exam_rows = [], []
    for system, make in predictors.items():
        clock = time.perf_counter()
        cv = cross_validate_seeds(dev, cfg["split"], cfg["folds"], seeds, make,
                                  desc=f"cross-validating the {system}")
        dev_rows.append(cv["oof"].assign(system=system, kind=cfg["split"]))
        for seed in seeds:  # the development part split as each cross-validation fold is
            train, val = nested_split(dev.segments, dev.names, cfg["split"], seed)
            pred = make(seed)(train, val, locked)
            exam_rows.append(pd.DataFrame(pred, index=locked, columns=dims)
                             .assign(system=system, seed=seed))
        timing[system] = time.perf_counter() - clock
    development = {str(rows.system.iloc[0]): pooled_r2(dev.labels, rows) for rows in dev_rows}
    reference = max(development, key=development.get)  # before any exam label is read
    oof = pd.concat(exam_rows).rename_axis("name")
    y = (_stand_in_read(everything, exam, cfg["profile"]) if cfg["stand_in"]
         else _read_exam(dataset, exam, cfg["profile"])).labels.loc[locked, dims]  # one read
    seg = ds.segments.loc[locked]
    units = stats.units_by_kind(seg)[cfg["split"]]  # the exam's music groups
    deadpan = seg["is_score"].astype(bool)
    summary = stats.summarise(y, oof, ["system"], units, seg["excerpt"], cfg["metrics"],
                              cfg["n_boot"], deadpan=deadpan)
    paired = stats.compare(y, stats.by_config(oof, "system"), reference, units,
                           seg["excerpt"], metrics=cfg["metrics"], n_boot=cfg["n_boot"])
    best = summary[(summary.performances == "all") & (summary.metric == "mean_r2")]
    ref = best.set_index("system").loc[reference]
    stored = pd.concat([pd.concat(dev_rows).drop(columns="kind").assign(part="development"),
                        oof.assign(part="exam", fold=-1)]).rename_axis("name")
    return {"exam_r2": float(ref.estimate), "reference": reference,
            "development_r2": development, "exam_r2_ci": [float(ref.ci_lo), float(ref.ci_hi)],
            "summary": summary.to_dict("records"), "paired": paired.to_dict("records"),
            "per_dimension_r": _per_dimension_r(y, oof),
            "exam": {"segments": len(locked), "excerpts": int(seg.excerpt.nunique()),
                     "music_groups": int(seg.music_group.nunique()),
                     "pieces": int(seg.piece.nunique()), "human": int((~deadpan).sum()),
                     "composers": sorted(map(str, seg.composer.unique()))},
            "development": {"segments": len(dev.names), "split": cfg["split"],
                            "folds": cfg["folds"]},
            "fit_s": timing, "wall_s": time.perf_counter() - start,
            "headline": {"keys": ["exam_r2"], "kind": "final exam",
                         "metric": "pooled R² on the locked final exam of the system with the "
                                   "best development R², mean over the 19 dimensions and seeds"},
            "oof": stored.round(4)}


def _predictors(ds, cfg: dict) -> dict:
    """{system: make(seed) -> fit_predict(train, val, test)} on ``ds`` (development and exam
    segments): the identity means, and the final models' recipes (``analysis.final``)."""
    import dataclasses

    from percepiano.analysis.final import descriptor_columns, training_rows, versions_predictor
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.features import takes
    from percepiano.models import ensemble, forest, identity

    fcfg = forest.variant(forest.ForestConfig(**cfg["forest"]), {})
    locked = [n for n in ds.names if n not in set(ds.labels.index)]
    out = {}
    for system, kind in SYSTEMS.items():
        if kind == "both":
            X = forest.feature_table(ds, "both")
            out[system] = lambda seed, X=X: ensemble.lgbm_predictor(X, ds.labels, seed,
                                                                    cfg["lgbm_grid"])
        elif kind in (None, "performer"):
            out[system] = lambda seed, column=kind: identity.group_mean_predictor(ds, column)
        elif kind == "midi":
            X = forest.feature_table(ds, "midi")[descriptor_columns("midi")]
            out[system] = lambda seed, X=X: forest.forest_predictor(ds, X, "rf", fcfg, seed)
        else:  # the audio forest learns from every training version of the development sound
            dev = dataclasses.replace(ds, segments=ds.segments.drop(index=locked))
            X, extra = training_rows(dev, "audio", descriptor_columns("audio"), progress=False)
            t = takes.take_table(ds, "fluidr3", progress=False, names=locked)
            X = pd.concat([X, t.set_axis([f"audio:{c}" for c in t.columns], axis=1)[X.columns]])
            Y = ds.labels[list(DIMENSIONS)]
            out[system] = lambda seed, X=X, extra=extra, Y=Y: versions_predictor(
                X, extra, Y, fcfg, seed, {})
    return out


def _may_read(exam, profile: str) -> bool:
    """Whether this read of the exam in ``profile`` is forced; raises DataError naming
    ``--force-exam`` when that profile has read the exam before and the read is not forced
    (``FORCE_ENV``), and says so when that read stored no results (a run that failed after
    reading)."""
    from percepiano.errors import DataError
    from percepiano.experiments import store

    force, done = os.environ.get(FORCE_ENV) == "1", exam.reads(profile)
    if done and not force:
        last = done[-1]
        said = ("its stored results are its answer. Read it again only to replace them"
                if store.stored("final_exam", profile) is not None else
                "no results were stored from it (the run failed after the read). Read it "
                "again, recorded as forced")
        raise DataError(f"the locked final exam was read before in the {profile} profile "
                        f"(commit {str(last.get('commit'))[:8]}, {last.get('time')}; ledger "
                        f"{exam.ledger_path(profile)}); {said}: percepiano run final_exam "
                        f"--profile {profile} --force-exam")
    return force


def _read_exam(dataset, exam, profile: str):
    """The whole dataset with the exam's labels: the one read, recorded in ``profile``'s
    ledger (the read is recorded in the active profile's, so it is made active for it)."""
    force, before = _may_read(exam, profile), os.environ.get("PERCEPIANO_PROFILE")
    os.environ["PERCEPIANO_PROFILE"] = profile
    try:
        return dataset.load(part="all", key=exam.grant(exam.EXPERIMENT), force=force)
    finally:
        if before is None:
            os.environ.pop("PERCEPIANO_PROFILE")
        else:
            os.environ["PERCEPIANO_PROFILE"] = before


def stand_in_names(segments: pd.DataFrame, size: int) -> list[str]:
    """A stand-in exam drawn from the development ``segments``: whole music groups, sorted by
    name, up to ``size`` segments (at least one group), sorted. The smoke profile scores it
    in place of the locked exam, so no test reads a real exam label."""
    per = segments.groupby("music_group").size().sort_index()
    kept = set(per.index[(per.cumsum() <= size) | (np.arange(len(per)) == 0)])
    return sorted(segments.index[segments.music_group.isin(kept)])


def _stand_in_read(ds, exam, profile: str):
    """The stand-in exam's labels (``ds``: the development part), recorded in ``profile``'s
    ledger like a read of the exam, so the read-once rule is exercised as it is for the real
    one."""
    exam.record_read(exam.grant(exam.EXPERIMENT), os.environ.get(FORCE_ENV) == "1", profile)
    return ds


def with_segments(dev, segments: pd.DataFrame, extra: list[str]):
    """``dev`` (the development part) whose ``segments`` also hold the metadata of ``extra``
    (from ``segments``, every segment's), and whose labels stay the development part's: what
    the systems are trained on and predict the exam from, before any exam label is read."""
    import dataclasses

    return dataclasses.replace(dev, segments=segments.loc[list(dev.names) + list(extra)])


def _per_dimension_r(y: pd.DataFrame, oof: pd.DataFrame) -> dict:
    """{system: {dimension: pooled r on the exam, mean over seeds}}."""
    out = {}
    for system, part in oof.groupby("system", sort=False):
        rs = [[float(np.corrcoef(y.loc[p.index, d], p[d])[0, 1]) for d in y.columns]
              for _, p in part.groupby("seed")]
        out[str(system)] = dict(zip(y.columns, np.mean(rs, axis=0).tolist(), strict=True))
    return out


def exam_results(profile: str | None = None):
    """The stored final-exam results of ``profile``, current or not (the exam is read once;
    stale results are still what it said). Returns ``store.Results``; raises ``UserError``
    saying what to run when none are stored (the book only reads)."""
    from percepiano import config
    from percepiano.experiments import store

    if (res := store.stored("final_exam", profile)) is None:
        raise UserError(f"no stored results for final_exam in profile {config.profile(profile)}"
                        f": {store.run_command('final_exam', profile)}")
    return res
