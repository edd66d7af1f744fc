"""The experiment of the final results chapter (``book/results.py``): the locked final exam.

* ``final_exam``: the systems the development chapters chose, each trained on every
  development segment and scored once on the locked final exam (whole music groups, drawn by
  ``splits.draw_final_exam``): the identity references (the training mean; the performer's
  mean, which knows who plays) and the final models of ``analysis.final`` (the MIDI forest and
  the audio forest, each with the recipe ``percepiano predict`` ships: the same descriptors,
  forest settings and training versions of the sound). Beside each, the same recipe's
  ``final.K``-fold cross-validation on the development part (``final.SPLIT``), so the two
  columns of the chapter's table come from one code path. Every statistic that needs the
  exam's labels is computed here, once: pooled R², r, within-excerpt Spearman and pairwise
  accuracy with cluster-bootstrap intervals over the exam's music groups, on all and on the
  human performances; the paired differences against ``REFERENCE`` (Holm); and per-dimension
  pooled r. The stored predictions (``part``: ``development``, out of fold, or ``exam``) carry
  no label.

The exam is read through the capability of ``data.exam`` (``grant``), and the read is recorded
in the ledger beside these results: a second run in the same profile refuses unless
``FORCE_ENV`` is set (``percepiano run final_exam --force-exam``), and a forced read is
recorded as such. So the chapter reads the stored results whatever their code hash
(``exam_results``), and says when the code has changed since the exam was read.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from percepiano.experiments.store import experiment

FORCE_ENV = "PERCEPIANO_FORCE_EXAM"  # set to 1 to read the final exam a second time
SYSTEMS = {"training mean": None, "performer mean": "performer",
           "MIDI forest": "midi", "audio forest": "audio"}
REFERENCE = "MIDI forest"  # the best system of development, what every other is paired with
METRICS = ("mean_r2", "mean_r", "mean_within_rho", "mean_pairwise")


def _exam_config(s) -> dict:
    from percepiano import config
    from percepiano.analysis import final
    from percepiano.data import exam
    from percepiano.models import forest

    return {"profile": s.profile, "max_segments": s.max_segments, "seeds": list(s.seeds),
            "max_exam": 40 if s.profile == "smoke" else None,  # smoke: a few exam excerpts
            "split": final.SPLIT, "folds": final.K, "format": final.FORMAT,
            "systems": list(SYSTEMS), "reference": REFERENCE, "metrics": list(METRICS),
            "forest": {k: v for k, v in forest.preset(s.profile).__dict__.items()
                       if k != "candidates"},
            "n_boot": config.settings().n_boot, "lock": exam.lock_commit(),
            "exam_segments": len(exam.final_exam_names())}


@experiment("final_exam", config=_exam_config)
def final_exam(cfg: dict) -> dict:
    """Every chosen system trained on all development data and scored once on the exam."""
    from percepiano.data import dataset, exam
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.evaluation import stats
    from percepiano.evaluation.cross_validation import cross_validate_seeds

    start = time.perf_counter()
    dev = dataset.subset(dataset.load(), cfg["max_segments"])
    whole = dataset.load(part="all", key=exam.grant(exam.EXPERIMENT),
                         force=os.environ.get(FORCE_ENV) == "1")  # recorded in the ledger
    locked = dataset.subset(restrict(whole, list(exam.final_exam_names())), cfg["max_exam"])
    ds = restrict(whole, list(dev.names) + list(locked.names))
    dims, seeds = list(DIMENSIONS), cfg["seeds"]
    predictors, timing = _predictors(ds, cfg), {}
    dev_rows, exam_rows = [], []
    for system, make in predictors.items():
        clock = time.perf_counter()
        cv = cross_validate_seeds(dev, cfg["split"], cfg["folds"], seeds, make,
                                  desc=f"cross-validating the {system}")
        dev_rows.append(cv["oof"].assign(system=system, kind=cfg["split"]))
        for seed in seeds:
            pred = make(seed)(list(dev.names), [], list(locked.names))
            exam_rows.append(pd.DataFrame(pred, index=locked.names, columns=dims)
                             .assign(system=system, seed=seed))
        timing[system] = time.perf_counter() - clock
    oof = pd.concat(exam_rows).rename_axis("name")
    y, seg = locked.labels[dims], locked.segments
    units = stats.units_by_kind(seg)[cfg["split"]]  # the exam's music groups
    deadpan = seg["is_score"].astype(bool)
    summary = stats.summarise(y, oof, ["system"], units, seg["excerpt"], cfg["metrics"],
                              cfg["n_boot"], deadpan=deadpan)
    paired = stats.compare(y, stats.by_config(oof, "system"), cfg["reference"], units,
                           seg["excerpt"], metrics=cfg["metrics"], n_boot=cfg["n_boot"])
    best = summary[(summary.performances == "all") & (summary.metric == "mean_r2")]
    ref = best.set_index("system").loc[cfg["reference"]]
    stored = pd.concat([pd.concat(dev_rows).drop(columns="kind").assign(part="development"),
                        oof.assign(part="exam", fold=-1)]).rename_axis("name")
    return {"exam_r2": float(ref.estimate), "exam_r2_ci": [float(ref.ci_lo), float(ref.ci_hi)],
            "summary": summary.to_dict("records"), "paired": paired.to_dict("records"),
            "per_dimension_r": _per_dimension_r(y, oof),
            "exam": {"segments": len(locked.names), "excerpts": int(seg.excerpt.nunique()),
                     "music_groups": int(seg.music_group.nunique()),
                     "pieces": int(seg.piece.nunique()), "human": int((~deadpan).sum()),
                     "composers": sorted(map(str, seg.composer.unique()))},
            "development": {"segments": len(dev.names), "split": cfg["split"],
                            "folds": cfg["folds"]},
            "fit_s": timing, "wall_s": time.perf_counter() - start,
            "headline": {"keys": ["exam_r2"], "kind": "final exam",
                         "metric": f"pooled R² of the {cfg['reference']} on the locked final "
                                   "exam, mean over the 19 dimensions and over seeds"},
            "oof": stored.round(5)}


def _predictors(ds, cfg: dict) -> dict:
    """{system: make(seed) -> fit_predict(train, val, test)} on ``ds`` (development and exam
    segments): the identity means, and the final models' recipes (``analysis.final``)."""
    from percepiano.analysis.final import descriptor_columns, training_rows, versions_predictor
    from percepiano.data import exam
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.features import takes
    from percepiano.models import forest, identity

    fcfg = forest.variant(forest.ForestConfig(**cfg["forest"]), {})
    locked = [n for n in ds.names if n in set(exam.final_exam_names())]
    out = {}
    for system, kind in SYSTEMS.items():
        if kind in (None, "performer"):
            out[system] = lambda seed, column=kind: identity.group_mean_predictor(ds, column)
        elif kind == "midi":
            X = forest.feature_table(ds, "midi")[descriptor_columns("midi")]
            out[system] = lambda seed, X=X: forest.forest_predictor(ds, X, "rf", fcfg, seed)
        else:  # the audio forest learns from every training version of the development sound
            dev = dataset_without(ds, locked)
            X, extra = training_rows(dev, "audio", descriptor_columns("audio"), progress=False)
            t = takes.take_table(ds, "fluidr3", progress=False, names=locked)
            X = pd.concat([X, t.set_axis([f"audio:{c}" for c in t.columns], axis=1)[X.columns]])
            Y = ds.labels[list(DIMENSIONS)]
            out[system] = lambda seed, X=X, extra=extra, Y=Y: versions_predictor(
                X, extra, Y, fcfg, seed, {})
    return out


def restrict(ds, names):
    """``ds`` (a ``dataset.PercePiano``) with only the segments ``names``, in that order: their
    metadata, labels and ratings. Raises KeyError for a name ``ds`` does not hold."""
    import dataclasses

    return dataclasses.replace(ds, segments=ds.segments.loc[names], labels=ds.labels.loc[names],
                               label_std=ds.label_std.loc[names],
                               ratings=ds.ratings[ds.ratings["name"].isin(names)],
                               rated=ds.rated[ds.rated["name"].isin(names)])


def dataset_without(ds, names):
    """``ds`` without the segments ``names``."""
    gone = set(names)
    return restrict(ds, [n for n in ds.names if n not in gone])


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
    stale results are still what it said), else a first run. Returns ``store.Results``."""
    from percepiano.experiments import store

    return store.stored("final_exam", profile) or store.run("final_exam", profile)
