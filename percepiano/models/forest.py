"""Tree ensembles on handcrafted descriptors: the feature baselines every deep model must beat.

Breiman (2001), "Random forests"; Geurts et al. (2006), "Extremely randomized trees"; and
gradient-boosted histogram trees (sklearn's ``HistGradientBoostingRegressor``, after LightGBM).
By default one multi-output forest predicts all 19 dimensions, its splits shared across them:
over ten times cheaper than one forest per dimension (``joint=False``), which is still there.
Settings are fixed by default (no selection), so each fold's model is fitted on its whole
training portion (train + validation names of the harness) and the test fold is only scored.
Where a choice is wanted (joint or per-dimension, a hyperparameter), ``ForestConfig.candidates``
lists the variants: each is fitted on the harness's train names and scored on its validation
names, and only the winner, refitted on train + validation, ever predicts the test fold.
Missing descriptors are filled with training-fold medians.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from percepiano import config as _config
from percepiano.data.dataset import CATEGORIES, CATEGORY_NAMES, DIMENSIONS, PercePiano
from percepiano.evaluation.cross_validation import cross_validate
from percepiano.evaluation.metrics import evaluate

FEATURE_SETS = ("midi", "audio", "both")
MODELS = ("rf", "et", "hgb")
SELECT_METRICS = ("mean_r2", "mean_r")
JOINT_OR_PER_DIMENSION = ({"joint": True}, {"joint": False})  # candidates for that one choice


@dataclass(frozen=True)
class ForestConfig:
    """Tree-model settings, and optionally the variants to choose among inside training folds."""

    n_estimators: int = 300  # forests barely change past a few hundred trees here
    joint: bool = True  # one multi-output forest for all 19 dimensions; False: one forest per
    # dimension, ~15x the CPU (~60 vs ~4 CPU-s, quick 4-fold run on MIDI descriptors) for
    # 0.01-0.02 more mean R² on the piece split. hgb is single-output: one model per dimension
    min_samples_leaf: int = 3  # a leaf averages a few segments: smoother than single ratings
    max_features: float = 0.33  # regression-forest default (p / 3): decorrelates the trees
    hgb_max_iter: int = 300  # boosting rounds at the small learning rate below
    hgb_learning_rate: float = 0.03  # small steps: little data, noisy labels
    hgb_max_leaf_nodes: int = 15  # shallow trees: few interactions are supported by 900 samples
    hgb_l2: float = 1.0  # mild leaf shrinkage
    n_jobs: int = 2  # every forest grows its trees on both cores of the reader's CPU (threads)
    candidates: tuple = ()  # settings to override, one mapping per variant, compared on each
    # fold's inner validation split (e.g. JOINT_OR_PER_DIMENSION); empty: fixed settings
    select_metric: str = "mean_r2"  # what the validation split compares: mean_r2 or mean_r

    def __post_init__(self):
        # stored as sorted (name, value) pairs: hashable, and equal after a JSON round trip
        cands = tuple(tuple(sorted(dict(c).items())) for c in self.candidates)
        settable = {f.name for f in dataclasses.fields(self)} - {"candidates", "select_metric"}
        for c in cands:
            if not c or not {name for name, _ in c} <= settable:
                raise ValueError(f"a candidate must override some of {', '.join(sorted(settable))}"
                                 f" (got {dict(c)!r})")
        if self.select_metric not in SELECT_METRICS:
            raise ValueError(f"unknown select_metric {self.select_metric!r}; choose from "
                             f"{', '.join(SELECT_METRICS)}")
        object.__setattr__(self, "candidates", cands)


# quick keeps 200 trees: a 4-fold joint-forest cross-validation on the MIDI descriptors takes
# ~4 s on two cores, and its mean R² on the piece split moves by < 0.005 from 100 to 500 trees
PRESETS = {"smoke": ForestConfig(n_estimators=30, hgb_max_iter=40),
           "quick": ForestConfig(n_estimators=200, hgb_max_iter=200),
           "full": ForestConfig()}


def preset(name: str | None = None) -> ForestConfig:
    """The forest settings of a profile (``smoke``/``quick``/``full``; default: the active one)."""
    name = _config.profile(name)
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]


def candidate_name(overrides) -> str:
    """A candidate's label in results: ``joint=False``, ``joint=True, min_samples_leaf=5``."""
    return ", ".join(f"{k}={v}" for k, v in dict(overrides).items())


def variant(cfg: ForestConfig, overrides) -> ForestConfig:
    """``cfg`` with one candidate's settings applied and nothing left to select."""
    return dataclasses.replace(cfg, candidates=(), **dict(overrides))


def make_model(model: str = "rf", cfg: ForestConfig | None = None, seed: int = 0):
    """An sklearn pipeline (median imputation, then the tree model) predicting 19 outputs.

    Uses ``cfg``'s own settings (its ``candidates`` are chosen by ``forest_predictor``). A
    forest grows its trees on ``cfg.n_jobs`` threads and predicts on one: sklearn adds the
    trees' predictions in the order their threads finish, and float addition is not
    associative, so several threads give predictions that differ in the last bits from run to
    run."""
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        HistGradientBoostingRegressor,
        RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import make_pipeline

    cfg = cfg or preset()
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    if model == "hgb":
        est = MultiOutputRegressor(HistGradientBoostingRegressor(
            max_iter=cfg.hgb_max_iter, learning_rate=cfg.hgb_learning_rate,
            max_leaf_nodes=cfg.hgb_max_leaf_nodes, l2_regularization=cfg.hgb_l2,
            early_stopping=False, random_state=seed), n_jobs=cfg.n_jobs)
    else:
        forest = _one_thread_predict(RandomForestRegressor if model == "rf"
                                     else ExtraTreesRegressor)
        est = forest(n_estimators=cfg.n_estimators, min_samples_leaf=cfg.min_samples_leaf,
                     max_features=cfg.max_features, random_state=seed, n_jobs=cfg.n_jobs)
        if not cfg.joint:  # dimensions one after the other, each forest's trees on n_jobs threads
            est = MultiOutputRegressor(est)
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), est)


@functools.cache
def _one_thread_predict(forest: type) -> type:
    """``forest`` (an sklearn forest class) whose ``predict`` runs on one thread."""

    class OneThreadPredict(forest):
        def predict(self, X):
            threads, self.n_jobs = self.n_jobs, 1
            try:
                return super().predict(X)
            finally:
                self.n_jobs = threads

    OneThreadPredict.__name__ = forest.__name__  # repr and step name as before
    return OneThreadPredict


def feature_table(ds: PercePiano, features: str = "midi", soundfont: str | None = None,
                  progress: bool = False) -> pd.DataFrame:
    """Descriptors of every segment: ``midi``, ``audio`` or ``both`` (columns prefixed)."""
    if features not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {features!r}; choose from {', '.join(FEATURE_SETS)}")
    parts = []
    if features in ("midi", "both"):
        from percepiano.features.midi import midi_feature_table

        parts.append(midi_feature_table(ds, progress=progress).add_prefix("midi:"))
    if features in ("audio", "both"):
        from percepiano.audio.render import DEFAULT_SOUNDFONT
        from percepiano.features.audio import audio_feature_table

        parts.append(audio_feature_table(ds, soundfont=soundfont or DEFAULT_SOUNDFONT,
                                         progress=progress).add_prefix("audio:"))
    return pd.concat(parts, axis=1).loc[ds.names]


def forest_predictor(ds: PercePiano, X: pd.DataFrame, model: str = "rf",
                     cfg: ForestConfig | None = None, seed: int = 0):
    """``fit_predict(train, val, test)`` for the evaluation harness.

    Fixed settings (no ``cfg.candidates``): one model fitted on train + val predicts test.
    With candidates, each is fitted on ``train`` and scored on ``val`` by ``cfg.select_metric``;
    the best (the first on a tie) is refitted on train + val and predicts ``test``, which no
    candidate ever sees. Each call appends ``{"winner", "val"}`` (the name of the chosen
    candidate, every candidate's validation score) to ``fit_predict.selections``.
    """
    cfg = cfg or preset()
    Y = ds.labels[list(DIMENSIONS)]

    def fit(c: ForestConfig, names: list[str]):
        return make_model(model, c, seed).fit(X.loc[names].to_numpy(), Y.loc[names].to_numpy())

    def fit_predict(train, val, test):
        train, val, test = list(train), list(val), list(test)
        final = cfg
        if cfg.candidates:
            if len(val) < 2:
                raise ValueError("choosing among candidates needs at least two validation names")
            scores = []
            for overrides in cfg.candidates:
                pred = fit(variant(cfg, overrides), train).predict(X.loc[val].to_numpy())
                scores.append(evaluate(Y.loc[val].to_numpy(), pred)[cfg.select_metric])
            best = int(np.argmax(np.nan_to_num(scores, nan=-np.inf)))  # the first on a tie
            final = variant(cfg, cfg.candidates[best])
            fit_predict.selections.append({
                "winner": candidate_name(cfg.candidates[best]),
                "val": {candidate_name(c): v for c, v in zip(cfg.candidates, scores, strict=True)}})
        return fit(final, train + val).predict(X.loc[test].to_numpy())

    fit_predict.selections = []
    return fit_predict


def cross_validate_forest(ds: PercePiano, features: str = "midi", split: str = "piece",
                          k: int = 4, seed: int = 0, model: str = "rf",
                          cfg: ForestConfig | None = None, soundfont: str | None = None,
                          ceiling: Mapping | None = None, progress: bool = False) -> dict:
    """Cross-validated tree model on a descriptor set; the harness's result plus what was used.

    Keys: fold_mean_r2, fold_mean_r, ... per_dimension, per_fold, pooled, split, oof (as
    ``evaluation.cross_validate``), ``features`` / ``model`` describing the inputs, and
    ``selection``: None for fixed settings, else the metric, the candidate names and, per fold,
    the winner and every candidate's validation score (each ``per_fold`` row also gets
    ``selected``, the winner's name).
    """
    cfg = cfg or preset()
    X = feature_table(ds, features, soundfont, progress)
    fit_predict = forest_predictor(ds, X, model, cfg, seed)
    res = cross_validate(ds, split, k, seed, fit_predict, desc=f"{model} on {features}",
                         ceiling=ceiling, progress=progress)
    res["features"] = {"set": features, "n_features": int(X.shape[1]), "columns": list(X.columns)}
    res["model"] = {"name": model, "config": cfg.__dict__.copy()}
    res["selection"] = None
    if cfg.candidates:
        chosen = [{"fold": row["fold"], **s}
                  for row, s in zip(res["per_fold"], fit_predict.selections, strict=True)]
        for row, s in zip(res["per_fold"], chosen, strict=True):
            row["selected"] = s["winner"]
        res["selection"] = {"metric": cfg.select_metric,
                            "candidates": [candidate_name(c) for c in cfg.candidates],
                            "per_fold": chosen}
    return res


def bench_cross_validation(ds: PercePiano, features: str = "midi", model: str = "rf",
                           cfg: ForestConfig | None = None, split: str = "piece", k: int = 4,
                           seed: int = 0, soundfont: str | None = None,
                           progress: bool = False) -> dict:
    """What one ``cross_validate_forest`` costs here: wall and CPU seconds (this process and
    its finished children), trees grown (boosting rounds for hgb), the fold-mean R² and r reached,
    and the peak resident memory of the process. Descriptors are prepared (extracted, or read
    from the cache) before the clock starts, so extraction is not included; the timed run reads
    them back from the cache (``progress``: show the extraction's progress)."""
    cfg = cfg or preset()
    start = time.perf_counter()
    feature_table(ds, features, soundfont, progress)
    descriptors_s = time.perf_counter() - start
    cpu, start = _cpu_seconds(), time.perf_counter()
    res = cross_validate_forest(ds, features, split, k, seed, model, cfg, soundfont)
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu

    def trees(c: ForestConfig) -> int:
        if model == "hgb":
            return c.hgb_max_iter * len(DIMENSIONS)
        return c.n_estimators * (1 if c.joint else len(DIMENSIONS))

    if cfg.candidates:  # every candidate on every fold, then each fold's winner refitted
        by_name = {candidate_name(c): c for c in cfg.candidates}
        winners = [s["winner"] for s in res["selection"]["per_fold"]]
        grown = sum(k * trees(variant(cfg, c)) for c in cfg.candidates) + sum(
            trees(variant(cfg, by_name[w])) for w in winners)
    else:
        winners, grown = None, k * trees(cfg)
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
    return {"features": features, "n_features": res["features"]["n_features"],
            "n_segments": len(ds.names), "model": model, "joint": cfg.joint,
            "n_estimators": cfg.n_estimators, "n_jobs": cfg.n_jobs, "split": split, "k": k,
            "seed": seed, "wall_s": wall, "cpu_s": cpu, "trees": grown,
            "fold_mean_r2": res["fold_mean_r2"], "fold_mean_r": res["fold_mean_r"],
            "peak_rss_mb": peak_kb / 1024,
            "descriptors_s": descriptors_s, "descriptors_included": False, "selected": winners}


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _category_scorers(categories=CATEGORY_NAMES) -> dict:
    from sklearn.metrics import make_scorer, r2_score

    def scorer(idx):
        return make_scorer(lambda y, p: r2_score(y[:, idx], p[:, idx]))

    dims = list(DIMENSIONS)
    return {c: scorer([dims.index(d) for d in dims if CATEGORIES[d] == c]) for c in categories}


def permutation_importance_by_category(ds: PercePiano, features: str = "midi",
                                       split: str = "piece", k: int = 4, seed: int = 0,
                                       model: str = "rf", n_repeats: int = 5,
                                       cfg: ForestConfig | None = None,
                                       soundfont: str | None = None,
                                       progress: bool = False) -> pd.DataFrame:
    """Drop in held-out mean R² of each dimension category when one feature is shuffled.

    For every fold the model is fitted on the training portion and
    ``sklearn.inspection.permutation_importance`` shuffles each feature of the held-out fold
    ``n_repeats`` times. Returns a (features x categories) frame, averaged over folds; the
    ``attrs['std']`` frame holds the spread over folds and repeats.

    The model uses ``cfg``'s own settings (its ``candidates`` are not searched here). Cost: one
    prediction per feature, repeat and fold (all categories share it); with per-dimension
    forests (``joint=False``) that is ~10 CPU-minutes for the MIDI set at the quick preset, and
    the default joint forest is over ten times cheaper.
    """
    from sklearn.inspection import permutation_importance
    from tqdm.auto import tqdm

    from percepiano.data.splits import make_folds

    cfg = cfg or preset()
    X = feature_table(ds, features, soundfont, progress)
    Y = ds.labels.loc[X.index, list(DIMENSIONS)]
    folds = make_folds(ds.segments.loc[X.index], split, k, seed)
    scorers = _category_scorers()
    samples = {c: [] for c in scorers}
    for f in tqdm(range(k), desc="permutation importance", disable=not progress, leave=False):
        test = folds.index[folds == f]
        train = folds.index[folds != f]
        est = make_model(model, cfg, seed).fit(X.loc[train].to_numpy(), Y.loc[train].to_numpy())
        res = permutation_importance(est, X.loc[test].to_numpy(), Y.loc[test].to_numpy(),
                                     scoring=scorers, n_repeats=n_repeats, random_state=seed)
        for c in scorers:
            samples[c].append(res[c].importances)  # (n_features, n_repeats)
    mean = pd.DataFrame({c: np.concatenate(v, axis=1).mean(axis=1) for c, v in samples.items()},
                        index=pd.Index(X.columns, name="feature"))
    std = pd.DataFrame({c: np.concatenate(v, axis=1).std(axis=1) for c, v in samples.items()},
                       index=mean.index)
    mean.attrs["std"] = std
    mean.attrs["split"] = {"kind": split, "k": k, "seed": seed, "model": model,
                           "n_repeats": n_repeats}
    return mean
