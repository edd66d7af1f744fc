"""The experiments of the AST chapter (``book/ast.py``): the Audio Spectrogram Transformer
(Gong et al. 2021) trained from scratch.

``ast_cv``: the default AST (``models.ast.DEFAULT_PRESET`` with ``steps.TrainConfig``'s profile
defaults) cross-validated on the development part (the final exam stays locked) on the piece,
performer and work splits, over the profile's seeds (each seed sets the folds and the model's
initialisation), with the wall time of each cross-validation. Epoch selection uses the nested
validation fold inside each training portion only. Stored: per seed, per fold and pooled metrics
(within-excerpt ones included), per-dimension metrics and every seed's out-of-fold predictions,
from which the book computes confidence intervals and paired comparisons.
"""

from __future__ import annotations

import dataclasses
import time

import pandas as pd

from percepiano.data.dataset import subset
from percepiano.experiments.store import experiment


def _config(s) -> dict:
    from percepiano.audio.spectrogram import MelConfig
    from percepiano.models import ast
    from percepiano.training import steps

    return {
        "preset": ast.DEFAULT_PRESET,
        "model": dataclasses.asdict(ast.preset(ast.DEFAULT_PRESET)),
        "train": dataclasses.asdict(steps.TrainConfig.for_profile(s.profile)),
        "mel": dataclasses.asdict(MelConfig()),
        "splits": ["piece", "performer", "work"],
        "folds": s.folds, "seeds": list(s.seeds), "max_segments": s.max_segments,
    }


@experiment("ast_cv", config=_config)
def ast_cv(cfg: dict) -> dict:
    """The default AST, k-fold cross-validated on the piece, performer and work splits."""
    from flax import nnx

    from percepiano.audio import spectrogram
    from percepiano.data import dataset
    from percepiano.evaluation import cross_validation
    from percepiano.models import ast
    from percepiano.training import steps, train

    ds = subset(dataset.load(), cfg["max_segments"])
    model_cfg = ast.preset(cfg["preset"])
    inputs = spectrogram.compute_dataset(ds, mel=spectrogram.MelConfig(**cfg["mel"]),
                                         progress=False,
                                         transform=lambda s: ast.pool_input(s, model_cfg))
    tc = steps.TrainConfig(**cfg["train"])
    rows, per_fold, per_dimension, oof = [], [], {}, []
    for split in cfg["splits"]:
        start = time.perf_counter()
        res = cross_validation.cross_validate_seeds(
            ds, split, cfg["folds"], cfg["seeds"],
            lambda seed: train.make_fit_predict(inputs, ds.labels, model_cfg,
                                                dataclasses.replace(tc, seed=seed)),
            desc=f"AST {split}")
        wall = (time.perf_counter() - start) / len(cfg["seeds"])
        rows += [{"kind": split, "wall_s": wall, **r} for r in res["seeds"]]
        per_fold += [{"kind": split, **r} for r in res["per_fold"]]
        per_dimension[split] = res["per_dimension"]
        oof.append(res["oof"].assign(kind=split))
    table = pd.DataFrame(rows)
    head = table[table.kind == "piece"]
    return {"pooled_r2": head.pooled_r2.mean(), "pooled_r": head.pooled_r.mean(),
            "headline": {"keys": ["pooled_r2", "pooled_r"], "kind": "piece",
                         "metric": cross_validation.POOLED},
            "n_segments": len(ds.names),
            "n_params": ast.n_params(ast.ASTModel(model_cfg, rngs=nnx.Rngs(0))),
            "table": table.to_dict(orient="records"), "per_fold": per_fold,
            "per_dimension": per_dimension,
            "oof": pd.concat(oof).rename_axis("name")}
