"""The experiments of the baselines chapter (``book/baselines.py``): identity and forest baselines.

Each is registered with ``percepiano.experiments.store.experiment``; its configuration comes from
the profile's ``percepiano.config.Settings``. ``forest_baselines`` is registered only where
``percepiano.models.forest`` imports, and uses audio descriptors only where
``percepiano.features.audio`` exists.
"""

from __future__ import annotations

import importlib.util

import pandas as pd

from percepiano.data.dataset import subset
from percepiano.experiments.store import experiment

IDENTITY_HEADLINE = ("random", "excerpt_mean")  # the leak a random split rewards


@experiment("identity_baselines",
            config=lambda s: {"kinds": ["random", "piece", "performer", "composer"],
                              "folds": s.folds, "seeds": list(s.seeds)})
def identity_baselines(cfg: dict) -> dict:
    """Global, excerpt and performer means on random, piece, performer and composer splits."""
    from percepiano.data import dataset
    from percepiano.models import identity

    ds = dataset.load()
    rows, per_dimension = [], {}
    for kind in cfg["kinds"]:
        k = 2 if kind == "composer" else cfg["folds"]  # two composers: leave one out
        for seed in cfg["seeds"]:
            for name, res in identity.identity_baselines(ds, kind, k=k, seed=seed).items():
                rows.append({"kind": kind, "baseline": name, "seed": seed, "k": k,
                             **{m: res[m] for m in res if m.startswith("mean_")}})
                if seed == cfg["seeds"][0]:
                    per_dimension.setdefault(kind, {})[name] = res["per_dimension"]
    table = pd.DataFrame(rows)
    head = table[(table.kind == IDENTITY_HEADLINE[0]) & (table.baseline == IDENTITY_HEADLINE[1])]
    return {"mean_r2": head.mean_r2.mean(), "mean_r": head.mean_r.mean(),
            "headline": {"kind": IDENTITY_HEADLINE[0], "baseline": IDENTITY_HEADLINE[1]},
            "table": table.to_dict(orient="records"), "per_dimension": per_dimension}


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
        "splits": ["piece", "performer"],
        "folds": s.folds, "seeds": list(s.seeds), "model": "rf",
        "forest": dict(_forest.preset(s.profile).__dict__), "max_segments": s.max_segments,
        "feature_versions": _feature_versions()})
    def forest_baselines(cfg: dict) -> dict:
        """Random forests on MIDI, audio and combined descriptors, piece and performer splits."""
        from percepiano.data import dataset

        ds = subset(dataset.load(), cfg["max_segments"])
        forest_cfg = _forest.ForestConfig(**cfg["forest"])
        rows, per_dimension, oof = [], {}, []
        for features in cfg["features"]:
            for split in cfg["splits"]:
                for seed in cfg["seeds"]:
                    res = _forest.cross_validate_forest(ds, features, split, k=cfg["folds"],
                                                        seed=seed, model=cfg["model"],
                                                        cfg=forest_cfg)
                    rows.append({"features": features, "kind": split, "seed": seed,
                                 "n_features": res["features"]["n_features"],
                                 **{m: res[m] for m in res if m.startswith("mean_")}})
                    if seed == cfg["seeds"][0]:
                        per_dimension.setdefault(features, {})[split] = res["per_dimension"]
                    oof.append(res["oof"].assign(features=features, kind=split, seed=seed))
        table = pd.DataFrame(rows)
        feats = FOREST_HEADLINE[0] if FOREST_HEADLINE[0] in cfg["features"] else cfg["features"][0]
        head = table[(table.features == feats) & (table.kind == FOREST_HEADLINE[1])]
        return {"mean_r2": head.mean_r2.mean(), "mean_r": head.mean_r.mean(),
                "headline": {"features": feats, "kind": FOREST_HEADLINE[1]},
                "n_segments": len(ds.names), "table": table.to_dict(orient="records"),
                "per_dimension": per_dimension, "oof": pd.concat(oof).rename_axis("name")}
