"""The experiments of the AST chapter (``book/ast.py``): the Audio Spectrogram Transformer
(Gong et al. 2021) trained from scratch.

``ast_cv``: the default AST (``models.ast.DEFAULT_PRESET`` with ``steps.TrainConfig``'s profile
defaults) cross-validated on the piece and performer splits, with the wall time of each
cross-validation, so the book can set it beside the noise ceiling and the forest baselines.
Epoch selection uses the nested validation fold inside each training portion only.
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
        "splits": ["piece", "performer"],
        "folds": s.folds, "seeds": list(s.seeds), "max_segments": s.max_segments,
    }


@experiment("ast_cv", config=_config)
def ast_cv(cfg: dict) -> dict:
    """The default AST, k-fold cross-validated on the piece and performer splits."""
    from flax import nnx

    from percepiano.audio import spectrogram
    from percepiano.data import dataset
    from percepiano.evaluation import cross_validation
    from percepiano.models import ast
    from percepiano.training import steps, train

    ds = subset(dataset.load(), cfg["max_segments"])
    specs = spectrogram.compute_dataset(ds, mel=spectrogram.MelConfig(**cfg["mel"]),
                                        progress=False)
    model_cfg = ast.preset(cfg["preset"])
    tc = steps.TrainConfig(**cfg["train"])
    rows, per_dimension, oof = [], {}, []
    for split in cfg["splits"]:
        for seed in cfg["seeds"]:
            tc_seed = dataclasses.replace(tc, seed=seed)
            start = time.perf_counter()
            res = cross_validation.cross_validate(
                ds, split, cfg["folds"], seed,
                train.make_fit_predict(specs, ds.labels, model_cfg, tc_seed),
                desc=f"AST {split}", progress=False)
            wall = time.perf_counter() - start
            rows.append({"kind": split, "seed": seed, "wall_s": wall,
                         **{m: res[m] for m in res if m.startswith("mean_")}})
            if seed == cfg["seeds"][0]:
                per_dimension[split] = res["per_dimension"]
            oof.append(res["oof"].assign(kind=split, seed=seed))
    table = pd.DataFrame(rows)
    head = table[table.kind == "piece"]
    return {"mean_r2": head.mean_r2.mean(), "mean_r": head.mean_r.mean(),
            "headline": {"kind": "piece"}, "n_segments": len(ds.names),
            "n_params": ast.n_params(ast.ASTModel(model_cfg, rngs=nnx.Rngs(0))),
            "table": table.to_dict(orient="records"), "per_dimension": per_dimension,
            "oof": pd.concat(oof).rename_axis("name")}


# Variants of the default, each changing one thing that sets the number of tokens or the width.
# Scored on the validation part of the first piece-split training portion (never a test fold),
# which is how the default was chosen.
TRADEOFF_VARIANTS: dict[str, dict] = {
    "default": {},
    "8 s crops": {"crop_frames": 800},
    "160 ms tokens": {"patch": (64, 4), "stride": (64, 4)},
    "16 bands x 320 ms tokens": {"patch": (16, 8), "stride": (16, 8)},
    "learned 2-D positions": {"positional": "learned"},
    "tiny preset (wider, deeper)": {"preset": "tiny"},
}


def _tradeoff_config(s) -> dict:
    base = _config(s)
    return {"preset": base["preset"], "train": base["train"], "mel": base["mel"],
            # smoke checks the code with two variants: each variant costs a compilation
            "variants": {k: {kk: list(vv) if isinstance(vv, tuple) else vv
                             for kk, vv in v.items()}
                         for k, v in list(TRADEOFF_VARIANTS.items())[
                             : 2 if s.profile == "smoke" else None]},
            "split": "piece", "folds": s.folds, "fold": 0, "seed": 0,
            "max_segments": s.max_segments}


@experiment("ast_tradeoff", config=_tradeoff_config)
def ast_tradeoff(cfg: dict) -> dict:
    """Speed against validation accuracy for variants of the default AST (one training run each
    on the first piece-split training portion, scored on its nested validation part)."""
    from flax import nnx

    from percepiano.audio import spectrogram
    from percepiano.data import dataset, splits
    from percepiano.models import ast
    from percepiano.training import steps, train

    ds = subset(dataset.load(), cfg["max_segments"])
    specs = spectrogram.compute_dataset(ds, mel=spectrogram.MelConfig(**cfg["mel"]),
                                        progress=False)
    folds = splits.make_folds(ds.segments, cfg["split"], cfg["folds"], cfg["seed"])
    tr, val = splits.nested_split(ds.segments, folds.index[folds != cfg["fold"]], cfg["split"],
                                  cfg["seed"])
    tc = steps.TrainConfig(**cfg["train"])
    rows = []
    for name, change in cfg["variants"].items():
        change = {k: tuple(v) if isinstance(v, list) else v for k, v in change.items()}
        preset = change.pop("preset", cfg["preset"])
        model_cfg = ast.preset(preset, **change)
        start = time.perf_counter()
        res = train.fit(specs, ds.labels, tr, val, model_cfg, tc, progress=False)
        wall = time.perf_counter() - start
        best = res.history[res.best_epoch]
        rows.append({
            "variant": name, "preset": preset, "tokens": model_cfg.n_tokens,
            "params": ast.n_params(ast.ASTModel(model_cfg, rngs=nnx.Rngs(0))),
            "epochs_run": len(res.history), "best_epoch": res.best_epoch,
            "s_per_epoch": float(sum(h["seconds"] for h in res.history) / len(res.history)),
            "wall_s": wall, "val_r": best["val_r"], "val_r2": best["val_r2"]})
    table = pd.DataFrame(rows)
    head = table[table.variant == "default"].iloc[0]
    return {"mean_r2": float(head.val_r2), "mean_r": float(head.val_r),
            "headline": {"variant": "default", "scored_on": "nested validation fold"},
            "n_train": len(tr), "n_val": len(val), "table": table.to_dict(orient="records")}
