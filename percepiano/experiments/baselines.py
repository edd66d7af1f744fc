"""The experiments of the baselines chapter (``book/baselines.py``): identity and forest baselines.

Each is registered with ``percepiano.experiments.store.experiment``; its configuration comes from
the profile's ``percepiano.config.Settings``. ``forest_baselines`` is registered only where
``percepiano.models.forest`` imports, and uses audio descriptors only where
``percepiano.features.audio`` exists.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pandas as pd

from percepiano.data.dataset import subset
from percepiano.experiments.store import experiment

IDENTITY_HEADLINE = ("random", "excerpt_mean")  # the leak a random split rewards
MAIN_KINDS = ("piece", "performer", "work")  # the splits every model is compared on


@experiment("identity_baselines",
            config=lambda s: {"kinds": ["random", "piece", "performer", "work", "composer"],
                              "folds": s.folds, "seeds": list(s.seeds),
                              # the segments of the other experiments, so they pair with these
                              "max_segments": s.max_segments})
def identity_baselines(cfg: dict) -> dict:
    """Identity baselines (who plays, which music) on every split; the strongest is the bar."""
    from percepiano.data import dataset
    from percepiano.evaluation.cross_validation import POOLED, cross_validate_seeds
    from percepiano.models import identity

    ds = subset(dataset.load(), cfg["max_segments"])  # development part: the exam stays locked
    rows, per_fold, per_dimension, bars, oof = [], [], {}, {}, []
    for kind in cfg["kinds"]:
        k = 2 if kind == "composer" else cfg["folds"]  # two composers: leave one out
        runs = {name: cross_validate_seeds(ds, kind, k, cfg["seeds"], lambda seed, f=f: f,
                                           desc=name)
                for name, f in identity.predictors(ds).items()}
        for name, res in runs.items():
            rows += [{"kind": kind, "baseline": name, "k": k, **r} for r in res["seeds"]]
            per_fold += [{"kind": kind, "baseline": name, **r} for r in res["per_fold"]]
            per_dimension.setdefault(kind, {})[name] = res["per_dimension"]
        pooled = {name: {"pooled_r2": float(np.mean([r["pooled_r2"] for r in res["seeds"]]))}
                  for name, res in runs.items()}
        bars[kind] = identity.bar(pooled, "pooled_r2")
        oof += [res["oof"].assign(kind=kind, baseline=name) for name, res in runs.items()]
    table = pd.DataFrame(rows)
    head = table[(table.kind == IDENTITY_HEADLINE[0]) & (table.baseline == IDENTITY_HEADLINE[1])]
    return {"pooled_r2": head.pooled_r2.mean(), "pooled_r": head.pooled_r.mean(),
            "headline": {"keys": ["pooled_r2", "pooled_r"], "kind": IDENTITY_HEADLINE[0],
                         "baseline": IDENTITY_HEADLINE[1], "metric": POOLED},
            "bar": bars, "n_segments": len(ds.names), "table": table.to_dict(orient="records"),
            "per_fold": per_fold, "per_dimension": per_dimension,
            "oof": pd.concat(oof).rename_axis("name")}


try:
    from percepiano.models import forest as _forest
except ImportError:  # the forest baselines appear only where their module imports
    _forest = None

if _forest is not None:
    FOREST_HEADLINE = ("both", "piece")

    def _available(features: str) -> bool:
        """Audio descriptors need ``percepiano.features.audio``; MIDI ones are always there."""
        return features == "midi" or importlib.util.find_spec("percepiano.features.audio") \
            is not None

    def _feature_versions() -> dict:
        """Descriptor code versions: a change to the descriptors makes stored results stale."""
        from percepiano.features import midi

        versions = {"midi": midi.FEATURE_VERSION}
        if _available("audio"):
            from percepiano.features import audio

            versions["audio"] = audio.FEATURE_VERSION
        return versions

    @experiment("forest_baselines", config=lambda s: {
        "features": [f for f in s.forest_features if _available(f)],
        "splits": list(MAIN_KINDS),
        "folds": s.folds, "seeds": list(s.seeds), "model": "rf",
        "forest": dict(_forest.preset(s.profile).__dict__), "max_segments": s.max_segments,
        "feature_versions": _feature_versions()})
    def forest_baselines(cfg: dict) -> dict:
        """Random forests on MIDI, audio and combined descriptors, piece, performer and work
        splits."""
        from percepiano.data import dataset
        from percepiano.evaluation.cross_validation import POOLED, cross_validate_seeds

        ds = subset(dataset.load(), cfg["max_segments"])  # development part only
        forest_cfg = _forest.ForestConfig(**cfg["forest"])
        rows, per_fold, per_dimension, oof = [], [], {}, []
        for features in cfg["features"]:
            X = _forest.feature_table(ds, features)
            for split in cfg["splits"]:
                start = time.perf_counter()
                res = cross_validate_seeds(
                    ds, split, cfg["folds"], cfg["seeds"],
                    lambda seed, X=X: _forest.forest_predictor(ds, X, cfg["model"], forest_cfg,
                                                               seed),
                    desc=f"forest {features} {split}")
                wall = (time.perf_counter() - start) / len(cfg["seeds"])
                rows += [{"features": features, "kind": split, "n_features": int(X.shape[1]),
                          "wall_s": wall, **r} for r in res["seeds"]]
                per_fold += [{"features": features, "kind": split, **r}
                             for r in res["per_fold"]]
                per_dimension.setdefault(features, {})[split] = res["per_dimension"]
                oof.append(res["oof"].assign(features=features, kind=split))
        table = pd.DataFrame(rows)
        feats = FOREST_HEADLINE[0] if FOREST_HEADLINE[0] in cfg["features"] else cfg["features"][0]
        head = table[(table.features == feats) & (table.kind == FOREST_HEADLINE[1])]
        return {"pooled_r2": head.pooled_r2.mean(), "pooled_r": head.pooled_r.mean(),
                "headline": {"keys": ["pooled_r2", "pooled_r"], "features": feats,
                             "kind": FOREST_HEADLINE[1], "metric": POOLED},
                "n_segments": len(ds.names), "table": table.to_dict(orient="records"),
                "per_fold": per_fold, "per_dimension": per_dimension,
                "oof": pd.concat(oof).rename_axis("name")}
