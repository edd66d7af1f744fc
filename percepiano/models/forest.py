"""Tree ensembles on handcrafted descriptors: the feature baselines every deep model must beat.

Breiman (2001), "Random forests"; Geurts et al. (2006), "Extremely randomized trees"; and
gradient-boosted histogram trees (sklearn's ``HistGradientBoostingRegressor``, after LightGBM).
Each dimension gets its own model (a multi-output forest sharing splits across the 19
dimensions is available, faster and slightly worse). Hyperparameters are fixed defaults (no
selection), so each fold's model is fitted on its whole training portion (train + validation
names of the harness) and the test fold is only scored. Missing descriptors are filled with
training-fold medians.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from percepiano import config as _config
from percepiano.data.dataset import CATEGORIES, CATEGORY_NAMES, DIMENSIONS, PercePiano
from percepiano.evaluation.cross_validation import cross_validate

FEATURE_SETS = ("midi", "audio", "both")
MODELS = ("rf", "et", "hgb")


@dataclass(frozen=True)
class ForestConfig:
    """Fixed tree-model settings: no per-fold selection, so test folds are only ever scored."""

    n_estimators: int = 300  # per dimension; forests barely change past a few hundred trees here
    joint: bool = False  # one forest per dimension (each picks its own splits: +0.01-0.02 R²
    # on the piece split); True = one multi-output forest for all 19, about 19x faster
    min_samples_leaf: int = 3  # a leaf averages a few segments: smoother than single ratings
    max_features: float = 0.33  # regression-forest default (p / 3): decorrelates the trees
    hgb_max_iter: int = 300  # boosting rounds at the small learning rate below
    hgb_learning_rate: float = 0.03  # small steps: little data, noisy labels
    hgb_max_leaf_nodes: int = 15  # shallow trees: few interactions are supported by 900 samples
    hgb_l2: float = 1.0  # mild leaf shrinkage
    n_jobs: int = 2  # the reader's CPU has two cores


PRESETS = {"smoke": ForestConfig(n_estimators=30, hgb_max_iter=40),
           "quick": ForestConfig(n_estimators=200, hgb_max_iter=200),
           "full": ForestConfig()}


def preset(name: str | None = None) -> ForestConfig:
    """The forest settings of a profile (``smoke``/``quick``/``full``; default: the active one)."""
    name = _config.profile(name)
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]


def make_model(model: str = "rf", cfg: ForestConfig | None = None, seed: int = 0):
    """An sklearn pipeline (median imputation, then the tree model) predicting 19 outputs."""
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
        est = HistGradientBoostingRegressor(
            max_iter=cfg.hgb_max_iter, learning_rate=cfg.hgb_learning_rate,
            max_leaf_nodes=cfg.hgb_max_leaf_nodes, l2_regularization=cfg.hgb_l2,
            early_stopping=False, random_state=seed)
    else:
        forest = RandomForestRegressor if model == "rf" else ExtraTreesRegressor
        est = forest(n_estimators=cfg.n_estimators, min_samples_leaf=cfg.min_samples_leaf,
                     max_features=cfg.max_features, random_state=seed,
                     n_jobs=cfg.n_jobs if cfg.joint else 1)
    if model == "hgb" or not cfg.joint:
        est = MultiOutputRegressor(est, n_jobs=cfg.n_jobs)
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), est)


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
    """``fit_predict(train, val, test)`` for the evaluation harness."""
    Y = ds.labels[list(DIMENSIONS)]

    def fit_predict(train, val, test):
        fit = list(train) + list(val)  # fixed hyperparameters: nothing to select on val
        est = make_model(model, cfg, seed).fit(X.loc[fit].to_numpy(), Y.loc[fit].to_numpy())
        return est.predict(X.loc[list(test)].to_numpy())

    return fit_predict


def cross_validate_forest(ds: PercePiano, features: str = "midi", split: str = "piece",
                          k: int = 4, seed: int = 0, model: str = "rf",
                          cfg: ForestConfig | None = None, soundfont: str | None = None,
                          ceiling: Mapping | None = None, progress: bool = False) -> dict:
    """Cross-validated tree model on a descriptor set; the harness's result plus what was used.

    Keys: mean_r2, mean_r, ... per_dimension, per_fold, pooled, split, oof (as
    ``evaluation.cross_validate``), and ``features`` / ``model`` describing the inputs.
    """
    cfg = cfg or preset()
    X = feature_table(ds, features, soundfont, progress)
    res = cross_validate(ds, split, k, seed, forest_predictor(ds, X, model, cfg, seed),
                         desc=f"{model} on {features}", ceiling=ceiling, progress=progress)
    res["features"] = {"set": features, "n_features": int(X.shape[1]), "columns": list(X.columns)}
    res["model"] = {"name": model, "config": cfg.__dict__.copy()}
    return res


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

    Cost: one prediction per feature, repeat and fold (all categories share it); with per-dimension
    forests that is ~10 CPU-minutes for the MIDI set at the quick preset. A joint forest
    (``dataclasses.replace(cfg, joint=True)``) is about 19 times cheaper.
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
