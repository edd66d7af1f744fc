"""The final models `percepiano predict` scores with: what they are, how they are built, how
they are stored, and what their cross-validation says about them.

One model per kind of input, each the best system the book has measured for it on the piece
split (a test checks the choice against the stored results):

* ``midi``: a random forest on the performance's MIDI descriptors. The score-relative
  descriptors are left out, since a take comes without its aligned score; on the piece split
  that costs nothing measurable.
* ``audio``: a random forest on audio descriptors of the sound (it scores above the AST trained
  from scratch on the same split).
* ``notes``: for a recording scored through its transcription, the MIDI forest also trained on
  every segment's MIDI passed through the transcription-error model that the transcription
  chapter fitted (``analysis.notes_route``); its intervals are calibrated on that chapter's
  out-of-fold predictions on real transcriptions, and its percentiles rank among out-of-fold
  predictions on simulated transcriptions.

``build`` trains a model on all development data (never the locked final exam): first a
``K``-fold piece-split cross-validation of the same recipe, whose out-of-fold predictions give
the accuracy (cluster-bootstrap CIs over music groups), the calibration set of the intervals,
their measured coverage on unseen music, and the reference that a take's percentiles rank
against; then the fit on every development segment.

The intervals ``predict`` prints are ``analysis.tail_conformal``'s: split conformal with the
centre stretched away from the mean and the width scaled by a difficulty forest on the
descriptors and predictions, so that ratings in the outer tenths of a dimension are covered
about as often as the nominal level says, not half as often (``marginal`` gives the plain
split-conformal intervals of one width per dimension, whose 80 % is an average over segments).
``build`` stores the coverage of both, by group of labels, in ``meta``.

Percentiles rank a prediction among *predictions*, the out-of-fold ones for the development
performances, not among their labels: a model's predictions shrink toward the mean, so against
the labels a segment rated in the top tenth would rank near the 70th percentile on average
(``tests/analysis/test_final.py`` measures both rankings).

``FinalModel.save`` writes plain arrays (``model.npz``, read with ``allow_pickle=False``) and
``meta.json``; nothing is pickled. Format 3 added the development segments' names and
descriptor rows (what ``analysis.explain`` places a take's descriptors among) and each tree
node's cover (what TreeSHAP weighs paths by); later format-3 models also store the fold of
each out-of-fold row (``folds``, ``cal_folds``: what the intervals' difficulty model is
cross-fitted over; a model without them cross-fits over seeded random folds).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from percepiano.analysis import notes_route
from percepiano.analysis.conformal import Conformal, percentile
from percepiano.analysis.notes_route import SIMULATED
from percepiano.analysis.tail_conformal import TailConformal
from percepiano.data.dataset import DIMENSIONS, SCALE_MAX
from percepiano.io import atomic_path
from percepiano.models.treearrays import ArrayForest

KINDS = ("midi", "audio", "notes")
SPLIT, K, SEED = "piece", 4, 0  # the cross-validation behind intervals and accuracy
LEVELS = (0.8, 0.9)  # coverage levels whose out-of-fold coverage `model info` reports
METRICS = ("mean_r2", "mean_r", "mean_within_rho", "mean_pairwise")
FORMAT = 3  # bump when the stored layout changes

DESCRIPTIONS = {
    "midi": "random forest on the performance's MIDI descriptors (timing, dynamics, "
            "articulation, pedal, texture; no score-relative ones, as a take comes without "
            "its score)",
    "audio": "random forest on audio descriptors of the conditioned sound (spectrum, loudness "
             "contour, onsets, harmony; trimmed to the music, loudness-normalised), trained on "
             "two sampled pianos and on recordings in simulated rooms",
    "notes": "random forest on the MIDI descriptors of transkun's transcription of the sound, "
             "trained on the true MIDI and on MIDI with simulated transcription errors",
}


def descriptor_columns(kind: str) -> list[str]:
    """The descriptor columns (``forest.feature_table``'s names) a kind's model reads."""
    if kind in ("midi", "notes"):
        from percepiano.features.midi import MIDI_FEATURES, SCORE_FEATURES

        return [f"midi:{n}" for n in MIDI_FEATURES if n not in SCORE_FEATURES]
    if kind == "audio":
        from percepiano.features.takes import TAKE_FEATURES

        return [f"audio:{n}" for n in TAKE_FEATURES]
    raise ValueError(f"unknown input kind {kind!r}; choose from {', '.join(KINDS)}")


@dataclass
class FinalModel:
    """A built final model: the forest, its inputs, and what calibrates and describes it.

    ``oof_true``/``oof_pred``: (n, 19) labels and out-of-fold predictions of the
    cross-validation on the label scale, one row per development segment (the calibration
    residuals; ``oof_pred`` is also what percentiles rank against); ``names`` (n,) and
    ``rows`` (n, columns): those segments and their descriptors (for the audio model, of their
    FluidR3 renderings; for notes, of their MIDI), in the same order; ``meta``: what
    ``percepiano model info`` prints (JSON-able); ``calibration``: other (labels, predictions)
    the intervals are calibrated on instead of the out-of-fold ones, for a route whose inputs
    carry more error than the development files (``recalibrated``), stored beside them;
    ``folds``/``calibration_folds`` (n,): the cross-validation fold of each of those rows."""

    kind: str
    columns: list[str]
    forest: ArrayForest
    oof_true: np.ndarray
    oof_pred: np.ndarray
    names: np.ndarray
    rows: np.ndarray
    meta: dict = field(default_factory=dict)
    calibration: tuple[np.ndarray, np.ndarray] | None = None  # (labels, predictions) (n, 19)
    folds: np.ndarray | None = None  # (n,) fold of each out-of-fold row
    calibration_folds: np.ndarray | None = None  # (n,) fold of each calibration row
    _fitted: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def predict(self, rows) -> np.ndarray:
        """(n, 19) predictions on the label scale (rating / 7) for descriptor rows (n, columns)."""
        return self.forest.predict(rows)

    def conformal(self, level: float) -> TailConformal:
        """The intervals ``predict`` prints at ``level`` (``tail_conformal.TailConformal``),
        fitted on the out-of-fold labels, predictions and descriptor rows (or on
        ``calibration``'s labels and predictions alone); fitted once per level (a few
        seconds). Raises ValueError for a level outside (0, 1)."""
        if level not in self._fitted:
            if self.calibration is not None:
                self._fitted[level] = TailConformal.fit(*self.calibration, level,
                                                        folds=self.calibration_folds,
                                                        seed=int(self.meta.get("seed", SEED)))
            else:
                self._fitted[level] = TailConformal.fit(self.oof_true, self.oof_pred, level,
                                                        self.rows, self.folds,
                                                        seed=int(self.meta.get("seed", SEED)))
        return self._fitted[level]

    def interval(self, pred, rows, level: float, bounds: tuple[float, float]):
        """(low, high) of ``conformal(level)`` for predictions ``pred`` ((19,) or (n, 19))
        of descriptor ``rows`` ((columns,) or (n, columns)), clipped to ``bounds``."""
        c = self.conformal(level)
        return c.interval(pred, bounds, rows if c.with_rows else None)

    def marginal(self, level: float) -> Conformal:
        """Plain split-conformal half-widths at ``level`` from the out-of-fold residuals (or
        from ``calibration``'s): one width per dimension, covering ``level`` on average over
        segments, far less in the outer tenths of the ratings."""
        dims = list(DIMENSIONS)
        true, pred = self.calibration or (self.oof_true, self.oof_pred)
        return Conformal.fit(pd.DataFrame(true, columns=dims), pd.DataFrame(pred, columns=dims),
                             level)

    def recalibrated(self, true: np.ndarray, pred: np.ndarray, why: str,
                     folds: np.ndarray | None = None) -> FinalModel:
        """The same model with its intervals calibrated on (labels, predictions) ``true`` and
        ``pred`` (n, 19, label scale), of cross-validation ``folds`` (n,), ``why`` recorded
        in ``meta["calibrated_on"]``; its percentiles still rank among the development
        performances' predictions."""
        import dataclasses

        true, pred = np.asarray(true, np.float64), np.asarray(pred, np.float64)
        if true.shape != pred.shape or true.ndim != 2 or true.shape[1] != len(DIMENSIONS):
            raise ValueError(f"calibration needs two (n, {len(DIMENSIONS)}) arrays, got "
                             f"{true.shape} and {pred.shape}")
        return dataclasses.replace(self, calibration=(true, pred),
                                   calibration_folds=None if folds is None else np.asarray(folds),
                                   meta={**self.meta, "calibrated_on": why})

    def percentile(self, pred) -> np.ndarray:
        """Percentile (0-100, mid-rank) of predictions (19,) or (n, 19), label scale, among the
        development performances' out-of-fold predictions, per dimension; same shape."""
        return percentile(pred, pd.DataFrame(self.oof_pred, columns=list(DIMENSIONS)))

    @property
    def percentile_of(self) -> str:
        """What ``percentile`` ranks against, in words for the output."""
        through = " through simulated transcriptions" if self.kind == "notes" else ""
        return (f"the out-of-fold predictions for the {len(self.oof_pred)} development "
                f"performances{through} ({K}-fold {SPLIT}-split cross-validation)")

    def save(self, folder: str | os.PathLike) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        cal = dict(zip(("cal_true", "cal_pred"), self.calibration or (), strict=False))
        cal.update({k: v for k, v in (("folds", self.folds),
                                      ("cal_folds", self.calibration_folds)) if v is not None})
        with atomic_path(folder / "model.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, oof_true=self.oof_true, oof_pred=self.oof_pred,
                         names=np.asarray(self.names, str), rows=self.rows,
                         **self.forest.arrays("forest_"), **cal)
        meta = {**self.meta, "format": FORMAT, "kind": self.kind, "columns": self.columns}
        with atomic_path(folder / "meta.json") as tmp:  # written last: marks a finished model
            tmp.write_text(json.dumps(meta, indent=1, default=float))
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> FinalModel:
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: stored in format {meta.get('format')}, expected {FORMAT}"
                             " (an older build: `percepiano model build` builds the current one)")
        with np.load(folder / "model.npz", allow_pickle=False) as z:
            cal = (z["cal_true"], z["cal_pred"]) if "cal_true" in z.files else None
            return cls(kind=meta["kind"], columns=list(meta["columns"]),
                       forest=ArrayForest.from_arrays(z, "forest_"), oof_true=z["oof_true"],
                       oof_pred=z["oof_pred"], names=z["names"], rows=z["rows"], meta=meta,
                       calibration=cal, folds=z["folds"] if "folds" in z.files else None,
                       calibration_folds=z["cal_folds"] if "cal_folds" in z.files else None)


def build(ds, kind: str, cfg=None, seed: int = SEED, progress: bool = True) -> FinalModel:
    """Cross-validate, then fit on every development segment of ``ds`` (see the module
    docstring). ``cfg``: forest settings (default: the active profile's). The ``notes`` model
    learns from what the package froze of the transcription chapter (``notes_route.load``)."""
    from percepiano.analysis.tail_conformal import coverage_by_method
    from percepiano.data.dataset import assert_no_exam
    from percepiano.evaluation.cross_validation import cross_validate
    from percepiano.evaluation.stats import cluster_bootstrap_ci
    from percepiano.models import forest

    start = time.perf_counter()
    assert_no_exam(ds.names, "the final model's training data")
    cfg = cfg or forest.preset()
    columns = descriptor_columns(kind)
    route = notes_route.load() if kind == "notes" else None
    X, extra = training_rows(ds, kind, columns, progress, route)
    missing = sorted(set(ds.names) - set(X.index))
    if missing:
        raise ValueError(f"no {kind} descriptors for {len(missing)} segments, e.g. {missing[0]}")
    dims = list(DIMENSIONS)
    Y = ds.labels.loc[X.index, dims]
    other: dict[str, np.ndarray] = {}
    fit_predict = (versions_predictor(X, extra, Y, cfg, seed, other) if extra
                   else forest.forest_predictor(ds, X, "rf", cfg, seed))
    cv = cross_validate(ds, SPLIT, K, seed, fit_predict,
                        desc=f"cross-validating the {kind} model", progress=progress)
    oof = cv["oof"]
    y_oof = Y.loc[oof.index]
    seg = ds.segments.loc[oof.index]
    ci = cluster_bootstrap_ci(y_oof, oof[dims], seg["music_group"], list(METRICS),
                              groups=seg["excerpt"].astype(str) + "|" + oof["fold"].astype(str))
    accuracy = {m: {"estimate": float(r.estimate), "ci_lo": float(r.ci_lo),
                    "ci_hi": float(r.ci_hi)} for m, r in ci.iterrows()}
    coverage = coverage_by_method(y_oof, oof[dims], oof["fold"], LEVELS,
                                  X.loc[oof.index], seg["is_score"], seed)
    for version in extra:  # the held-out segments as another piano or room sounds them
        pred = pd.DataFrame(other[version], columns=dims).set_index(
            pd.Index(other[f"{version}:names"])).loc[oof.index]
        r = cluster_bootstrap_ci(y_oof.loc[pred.index], pred, seg["music_group"], ["mean_r2"],
                                 groups=seg["excerpt"].astype(str) + "|" + oof["fold"].astype(str))
        accuracy[f"mean_r2_on_{version}"] = {"estimate": float(r.estimate.iloc[0]),
                                             "ci_lo": float(r.ci_lo.iloc[0]),
                                             "ci_hi": float(r.ci_hi.iloc[0])}
    rows = [X] + list(extra.values())
    pipeline = forest.make_model("rf", cfg, seed).fit(
        np.vstack([t.to_numpy() for t in rows]),
        np.vstack([ds.labels.loc[t.index, dims].to_numpy() for t in rows]))
    wall = time.perf_counter() - start
    meta = {
        "description": DESCRIPTIONS[kind],
        "trained_on": {"segments": len(X), "excerpts": int(seg["excerpt"].nunique()),
                       "pieces": int(ds.segments["piece"].nunique()),
                       "music_groups": int(ds.segments["music_group"].nunique()),
                       "part": "the development part; the locked final exam left out"},
        "n_descriptors": len(columns),
        "augmented_with": sorted(extra),
        "forest": {k: v for k, v in cfg.__dict__.items() if k != "candidates"},
        "seed": seed,
        "cross_validation": {"split": SPLIT, "k": K, "seed": seed, "clusters": "music_group",
                             "accuracy": accuracy, **coverage},
        "build_s": wall,
        "built": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
    }
    model = FinalModel(kind, columns, ArrayForest.from_pipeline(pipeline),
                       y_oof.to_numpy(np.float64), oof[dims].to_numpy(np.float64),
                       np.asarray(oof.index, str), X.loc[oof.index].to_numpy(np.float64), meta,
                       folds=oof["fold"].to_numpy())
    return notes_route.finish(model, route, ds, other, oof.index, LEVELS) if kind == "notes" \
        else model


def training_rows(ds, kind: str, columns: list[str], progress: bool, route=None):
    """The descriptor rows a model of ``kind`` is cross-validated on (one per segment) and the
    extra versions of the same segments it also learns from (``{version: rows}``; for audio,
    ``features.takes``: the other soundfont and the simulated rooms; for notes, the MIDI with
    simulated transcription errors of ``route``, ``notes_route.load()``)."""
    if kind == "notes":
        X, _ = training_rows(ds, "midi", columns, progress)
        return X, {SIMULATED: notes_route.simulated_rows(route, ds, X.index, columns, SEED,
                                                         progress)}
    if kind == "midi":
        from percepiano.models import forest

        return forest.feature_table(ds, kind, progress=progress)[columns], {}
    from percepiano.features import takes

    def table(version):
        t = takes.take_table(ds, version, progress=progress)
        return t.set_axis([f"audio:{c}" for c in t.columns], axis=1)[columns]

    return table("fluidr3"), {v: table(v) for v in takes.VERSIONS if v != "fluidr3"}


def versions_predictor(X, extra: dict, Y, cfg, seed: int, other: dict):
    """``fit_predict`` for ``cross_validate``: a forest fitted on the training segments' rows
    in every version predicts the test segments' main rows, and those of their other versions
    into ``other`` (``{version: rows}``, with ``"<version>:names"``) where they have them."""
    from percepiano.models import forest

    def fit_predict(train, val, test):
        fit = list(train) + list(val)
        rows = [X.loc[fit]] + [t.loc[t.index.intersection(fit)] for t in extra.values()]
        model = forest.make_model("rf", forest.variant(cfg, {}), seed).fit(
            np.vstack([r.to_numpy() for r in rows]),
            np.vstack([Y.loc[r.index].to_numpy() for r in rows]))
        for version, t in extra.items():
            names = list(t.index.intersection(test))
            if not names:  # the test segments lack this version (the final exam's do)
                continue
            other[version] = np.vstack([other.get(version, np.empty((0, Y.shape[1]))),
                                        model.predict(t.loc[names].to_numpy())])
            other[f"{version}:names"] = list(other.get(f"{version}:names", [])) + names
        return model.predict(X.loc[list(test)].to_numpy())

    return fit_predict


def to_scale(values) -> np.ndarray:
    """Label-scale values (rating / 7) on the raters' 1-7 scale."""
    return np.asarray(values, np.float64) * SCALE_MAX

