"""The experiments of the week-1 chapter (``book/week1.py``): right-sizing the AST, augmenting
its training data, and giving it the descriptors.

Every configuration is cross-validated like the default AST of ``ast_cv`` (same development
part, same folds per seed, same training recipe, epoch chosen on the nested validation fold),
so the chapter compares them pairwise, fold for fold, with ``ast_cv``'s default and the random
forests of ``forest_baselines``:

* ``week1_architecture``: size presets from under 100 parameters per training segment up to
  what the profile affords (whole-band tokens, the spectrogram-aware positions), then, at the
  default size, the token layouts (16-band patches; overlapping time patches) and the other two
  positional encodings (learned, 2-D sincos). Piece split. Besides the metrics: parameter
  count, FLOPs of one training step (XLA's cost analysis) and of the whole fit, wall time,
  and the selected epoch's training loss (for the overfitting question).
* ``week1_augmentation``: the default AST with each augmentation alone (SpecAugment, mixup,
  and pools of rendered MIDI variants: tempo, pitch, velocity, soundfont), then all MIDI-level
  ones drawn together, then everything; the last on the performer and work splits too. The
  pools are fixed (``audio.augment.variant_spectrograms``, seed 0) and rendered once.
* ``week1_hybrid``: the descriptor network alone and the hybrid (default AST + descriptor
  network, concatenated) on the piece, performer and work splits, on the MIDI and audio
  descriptors the forests use.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from percepiano.data.dataset import subset
from percepiano.experiments.store import experiment

# presets of the size sweep, ~0.04 M (under 100 parameters per training segment) to ~4.9 M in
# quick (small alone is about half of the chapter's quick compute on 2 cores); full adds the
# roadmap's 14 and 32 M models (a GPU's job)
SIZES = {"smoke": ("micro",),
         "quick": ("nano", "micro", "mini", "tiny", "small"),
         "full": ("nano", "micro", "mini", "tiny", "small", "medium", "large")}
# at the default size: token layouts and positional encodings (overrides of the preset)
VARIANTS = {
    "16-band patches": {"patch": (16, 8), "stride": (16, 8)},
    "overlapping patches": {"patch": (64, 8), "stride": (64, 4)},
    "learned positions": {"positional": "learned"},
    "sincos positions": {"positional": "sincos"},
}
# the augmentation configurations: (name, MIDI-variant kind or None, InputAugment fields)
SPEC = {"time_masks": 2, "freq_masks": 2}
MIXUP = {"mixup_alpha": 0.4}
AUGMENTATIONS = (
    ("SpecAugment", None, SPEC),
    ("mixup", None, MIXUP),
    ("tempo", "tempo", {}),
    ("pitch", "pitch", {}),
    ("velocity", "velocity", {}),
    ("soundfont", "soundfont", {}),
    ("all MIDI-level", "midi", {}),
    ("all", "midi", {**SPEC, **MIXUP}),
)
POOL = {"smoke": 1, "quick": 2, "full": 4}  # rendered variants per segment and kind
POOL_SEED = 0  # the pools are the same for every training seed


def _common(s) -> dict:
    from percepiano.audio.spectrogram import MelConfig
    from percepiano.models import ast
    from percepiano.training import steps

    return {"default": ast.DEFAULT_PRESET,
            "train": dataclasses.asdict(steps.TrainConfig.for_profile(s.profile)),
            "mel": dataclasses.asdict(MelConfig()), "folds": s.folds, "seeds": list(s.seeds),
            "max_segments": s.max_segments}


def _load(cfg: dict):
    from percepiano.audio import spectrogram
    from percepiano.data import dataset
    from percepiano.models import ast

    ds = subset(dataset.load(), cfg["max_segments"])  # the development part only
    base = ast.preset(cfg["default"])
    inputs = spectrogram.compute_dataset(ds, mel=spectrogram.MelConfig(**cfg["mel"]),
                                         progress=False,
                                         transform=lambda x: ast.pool_input(x, base))
    return ds, inputs


def _cross_validate(ds, inputs, cfg: dict, name: str, model_cfg, split: str, **fit_kw) -> dict:
    """One configuration on one split over the profile's seeds: rows, per_fold, oof, fits."""
    from percepiano.evaluation import cross_validation
    from percepiano.training import steps, train

    tc = steps.TrainConfig(**cfg["train"])
    fits: list = []
    start = time.perf_counter()
    res = cross_validation.cross_validate_seeds(
        ds, split, cfg["folds"], cfg["seeds"],
        lambda seed: train.make_fit_predict(inputs, ds.labels, model_cfg,
                                            dataclasses.replace(tc, seed=seed), fits=fits,
                                            **fit_kw),
        desc=f"{name} {split}")
    wall = (time.perf_counter() - start) / len(cfg["seeds"])
    fit_table = pd.DataFrame(fits)
    summary = {"wall_s": wall, "epochs_run": float(fit_table.epochs.mean()),
               "best_epoch": float(fit_table.best_epoch.mean()),
               "train_loss": float(fit_table.train_loss.mean()),
               "val_r": float(fit_table.val_r.mean()), "n_train": float(fit_table.n_train.mean())}
    return {"rows": [{"config": name, "kind": split, **summary, **r} for r in res["seeds"]],
            "per_fold": [{"config": name, "kind": split, **r} for r in res["per_fold"]],
            "oof": res["oof"].assign(config=name, kind=split), "summary": summary}


def _gather(parts: list, extra: dict) -> dict:
    table = pd.DataFrame([r for p in parts for r in p["rows"]])
    return {"table": table.to_dict(orient="records"),
            "per_fold": [r for p in parts for r in p["per_fold"]],
            "oof": pd.concat([p["oof"] for p in parts]).rename_axis("name"), **extra}, table


def _headline(table: pd.DataFrame, config: str, kind: str = "piece") -> dict:
    from percepiano.evaluation.cross_validation import POOLED

    head = table[(table.config == config) & (table.kind == kind)]
    return {"pooled_r2": float(head.pooled_r2.mean()), "pooled_r": float(head.pooled_r.mean()),
            "headline": {"keys": ["pooled_r2", "pooled_r"], "config": config, "kind": kind,
                         "metric": POOLED}}


# ---- architecture -------------------------------------------------------------------------------

def _architecture_config(s) -> dict:
    from percepiano.models import ast

    configs = {f"size: {p}": {"preset": p, "overrides": {}} for p in SIZES[s.profile]}
    configs.update({name: {"preset": ast.DEFAULT_PRESET, "overrides": o}
                    for name, o in VARIANTS.items()})
    models = {name: dataclasses.asdict(ast.preset(c["preset"], **c["overrides"]))
              for name, c in configs.items()}
    return {**_common(s), "configs": configs, "models": models, "splits": ["piece"]}


def train_flops(model_cfg, batch_size: int) -> float:
    """FLOPs of one training step of ``model_cfg`` at ``batch_size`` (XLA's cost analysis)."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from percepiano.models import hybrid
    from percepiano.training import bench, steps

    model = hybrid.build(model_cfg, rngs=nnx.Rngs(0))
    opt = steps.make_optimizer(model, steps.TrainConfig(), 100)
    x = jnp.zeros((batch_size, model_cfg.input_frames, model_cfg.bands), jnp.float32)
    y = jnp.zeros((batch_size, model_cfg.n_outputs), jnp.float32)
    return bench.step_flops(model, opt, x, y, jax.random.key(0))


@experiment("week1_architecture", config=_architecture_config)
def week1_architecture(cfg: dict) -> dict:
    """AST sizes, token layouts and positional encodings, piece split."""
    from flax import nnx

    from percepiano.models import ast

    ds, inputs = _load(cfg)
    parts, shapes = [], {}
    for name, c in cfg["configs"].items():
        overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in c["overrides"].items()}
        model_cfg = ast.preset(c["preset"], **overrides)
        for split in cfg["splits"]:
            parts.append(_cross_validate(ds, inputs, cfg, name, model_cfg, split))
        flops = train_flops(model_cfg, cfg["train"]["batch_size"])
        summary = parts[-1]["summary"]
        steps_per_epoch = int(summary["n_train"]) // cfg["train"]["batch_size"]
        steps_per_epoch = min(steps_per_epoch, cfg["train"]["max_steps"] or steps_per_epoch)
        shapes[name] = {
            "preset": c["preset"], "n_params": ast.n_params(nnx.eval_shape(
                lambda m=model_cfg: ast.ASTModel(m, rngs=nnx.Rngs(0)))),
            "n_tokens": model_cfg.n_tokens, "dim": model_cfg.dim, "depth": model_cfg.depth,
            "patch": list(model_cfg.patch), "stride": list(model_cfg.stride),
            "positional": model_cfg.positional, "train_gflop_per_step": flops / 1e9,
            "train_pflop_per_fit": flops * steps_per_epoch * summary["epochs_run"] / 1e15,
            "params_per_sample": 0.0}
        shapes[name]["params_per_sample"] = shapes[name]["n_params"] / summary["n_train"]
    out, table = _gather(parts, {"models": shapes, "n_segments": len(ds.names)})
    return {**_headline(table, f"size: {cfg['default']}"), **out}


# ---- augmentation -------------------------------------------------------------------------------

def _augmentation_config(s) -> dict:
    from percepiano.audio import augment, render

    configs = {name: {"variants": kind, "input": inp} for name, kind, inp in AUGMENTATIONS}
    return {**_common(s), "configs": configs, "splits": ["piece"],
            "secondary": {"all": ["performer", "work"]}, "pool_size": POOL[s.profile],
            "pool_seed": POOL_SEED, "soundfonts": [render.DEFAULT_SOUNDFONT,
                                                   augment.SWAP_SOUNDFONT],
            "ranges": {"tempo": list(augment.TEMPO_RANGE), "semitones": list(augment.SEMITONES),
                       "velocity": list(augment.VELOCITY_RANGE)},
            "render_version": render.RENDER_VERSION}


def _pool_size(kind: str, cfg: dict) -> int:
    """Variants per segment: one for the soundfont swap (there is one other soundfont)."""
    return 1 if kind == "soundfont" else cfg["pool_size"]


@experiment("week1_augmentation", config=_augmentation_config)
def week1_augmentation(cfg: dict) -> dict:
    """The default AST with each augmentation alone, the MIDI-level ones together, and all."""
    from percepiano.audio import augment, spectrogram
    from percepiano.models import ast

    ds, inputs = _load(cfg)
    model_cfg = ast.preset(cfg["default"])
    mel = spectrogram.MelConfig(**cfg["mel"])
    pools, render_s = {}, {}
    for kind in sorted({c["variants"] for c in cfg["configs"].values() if c["variants"]}):
        start = time.perf_counter()
        paths = augment.variant_spectrograms(ds, kind, _pool_size(kind, cfg), mel,
                                             cfg["pool_seed"], progress=False)
        pools[kind] = {name: [ast.pool_input(np.load(p, allow_pickle=False), model_cfg)
                              for p in ps] for name, ps in paths.items()}
        render_s[kind] = time.perf_counter() - start
    parts = []
    for name, c in cfg["configs"].items():
        aug = augment.InputAugment(**c["input"]) if c["input"] else None
        variants = pools[c["variants"]] if c["variants"] else None
        for split in cfg["splits"] + cfg["secondary"].get(name, []):
            parts.append(_cross_validate(ds, inputs, cfg, name, model_cfg, split,
                                         variants=variants, aug=aug))
    out, table = _gather(parts, {"render_s": render_s, "n_segments": len(ds.names),
                                 "n_variants": {k: len(ds.names) * _pool_size(k, cfg)
                                                for k in pools}})
    return {**_headline(table, "all"), **out}


# ---- hybrid -------------------------------------------------------------------------------------

def _hybrid_config(s) -> dict:
    from percepiano.experiments.baselines import _feature_versions
    from percepiano.models import hybrid

    fields = {f.name: f.default for f in dataclasses.fields(hybrid.HybridConfig)
              if f.name not in ("n_descriptors", "ast")}
    return {**_common(s), "features": "both", "feature_versions": _feature_versions(),
            "hybrid": fields, "configs": ["descriptor net", "hybrid"],
            "splits": ["piece", "performer", "work"]}


@experiment("week1_hybrid", config=_hybrid_config)
def week1_hybrid(cfg: dict) -> dict:
    """The descriptor network alone and the hybrid AST + descriptor network, three splits."""
    from flax import nnx

    from percepiano.models import ast, forest, hybrid

    ds, inputs = _load(cfg)
    X = forest.feature_table(ds, cfg["features"])
    models = {"descriptor net": hybrid.HybridConfig(X.shape[1], ast=None, **cfg["hybrid"]),
              "hybrid": hybrid.HybridConfig(X.shape[1], ast=ast.preset(cfg["default"]),
                                            **cfg["hybrid"])}
    parts = [_cross_validate(ds, inputs, cfg, name, models[name], split, descriptors=X)
             for name in cfg["configs"] for split in cfg["splits"]]
    n_params = {name: ast.n_params(nnx.eval_shape(lambda m=m: hybrid.build(m, rngs=nnx.Rngs(0))))
                for name, m in models.items()}
    out, table = _gather(parts, {"n_params": n_params, "n_descriptors": int(X.shape[1]),
                                 "n_segments": len(ds.names)})
    return {**_headline(table, "hybrid"), **out}
