"""The experiments of the listener chapter (``book/listener.py``): teaching the AST what the MIDI
knows, by an auxiliary descriptor head, by pretraining on expressive variants with exact
descriptors, and by masked-patch pretraining on the same renders.

Every configuration is cross-validated like ``ast_cv``'s default AST (same development part,
folds per seed, training recipe and epoch selection on the nested validation fold); inside each
fold, pretraining reads variants of that fold's inner training segments only
(``training.listener.Recipe``).

* ``listener_pretraining``: from scratch; + the auxiliary head (fixed and learned weights);
  + descriptor pretraining (then fine-tuning with the head); + masked pretraining; both
  pretraining stages (masked, then descriptors). Piece split; the performer and work splits
  as secondary rows for from-scratch and both. Besides the metrics: how well the listener's
  head recovers each descriptor of the test segments from their sound (R² per descriptor,
  pooled out of fold).
* ``listener_renders``: descriptor pretraining with 1, 2, 4 ... variants per segment (seed 0),
  how R² grows with the number of pretraining renders.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from percepiano.experiments.store import experiment
from percepiano.features.groups import group_of

# configurations of listener_pretraining: pretraining stages, auxiliary head, weighting
CONFIGS = {
    "from scratch": {"stages": [], "aux": False, "weighting": "fixed"},
    "+ auxiliary head": {"stages": [], "aux": True, "weighting": "fixed"},
    "+ auxiliary head (learned weights)": {"stages": [], "aux": True, "weighting": "learned"},
    "+ descriptor pretraining": {"stages": ["descriptors"], "aux": True, "weighting": "fixed"},
    "+ masked pretraining": {"stages": ["masked"], "aux": False, "weighting": "fixed"},
    "both": {"stages": ["masked", "descriptors"], "aux": True, "weighting": "fixed"},
}
SECONDARY = {"from scratch": ["performer", "work"], "both": ["performer", "work"]}
# variants per segment and steps per pretraining stage: quick keeps all pretraining of
# listener_pretraining near 30 min on 2 cores (4 stages x 4 folds x 3 seeds)
N_VARIANTS = {"smoke": 1, "quick": 8, "full": 32}
STEPS = {"smoke": 4, "quick": 1500, "full": 20000}
RENDER_COUNTS = {"smoke": [1], "quick": [1, 2, 4, 8], "full": [1, 4, 16, 32]}
POOL_SEED = 0  # the same variants for every training seed

def _common(s) -> dict:
    from percepiano.audio import expressive, render
    from percepiano.audio.spectrogram import MelConfig
    from percepiano.features import variants
    from percepiano.models import ast
    from percepiano.training import steps

    ranges = {k: v for k, v in vars(expressive).items() if k.isupper() and
              isinstance(v, (int, float, tuple))}
    return {"default": ast.DEFAULT_PRESET,
            "train": dataclasses.asdict(steps.TrainConfig.for_profile(s.profile)),
            "mel": dataclasses.asdict(MelConfig()), "folds": s.folds, "seeds": list(s.seeds),
            "max_segments": s.max_segments, "n_variants": N_VARIANTS[s.profile],
            "steps": STEPS[s.profile], "pool_seed": POOL_SEED, "ranges": ranges,
            "descriptors": list(variants.DESCRIPTORS), "variant_version": variants.VERSION,
            "render_version": render.RENDER_VERSION}


def _load(cfg: dict):
    """The development data, model inputs, original descriptors, and every variant (rendered
    once, up front, so pretraining never waits for FluidSynth) as a pool loader."""
    from percepiano.audio import spectrogram
    from percepiano.data import dataset
    from percepiano.features import variants
    from percepiano.models import ast, forest
    from percepiano.training import listener

    ds = dataset.subset(dataset.load(), cfg["max_segments"])  # the development part only
    base = ast.preset(cfg["default"])
    mel = spectrogram.MelConfig(**cfg["mel"])
    inputs = spectrogram.compute_dataset(ds, mel=mel, progress=False,
                                         transform=lambda x: ast.pool_input(x, base))
    table = forest.feature_table(ds, "midi")
    descriptors = table[[f"midi:{n}" for n in cfg["descriptors"]]].set_axis(
        cfg["descriptors"], axis=1)
    start = time.perf_counter()
    n_max = max([cfg["n_variants"], *cfg.get("render_counts", [])])
    variants.pool(ds, ds.names, n_max, cfg["pool_seed"], mel=mel)
    render_s = time.perf_counter() - start
    loaded: dict = {}

    def pool_inputs(train_names, held_out, n):
        p = variants.pool(ds, train_names, n, cfg["pool_seed"], held_out=held_out, mel=mel,
                          progress=False)
        names = [listener.pool_name(s, k) for s, k in zip(p.source, p.k, strict=True)]
        for name, path in zip(names, p.mels, strict=True):
            if name not in loaded:
                loaded[name] = ast.pool_input(np.load(path, allow_pickle=False), base)
        return {n_: loaded[n_] for n_ in names}, p.descriptors.set_axis(names, axis=0)

    return ds, inputs, descriptors, pool_inputs, render_s


def _listener_cfg(cfg: dict, c: dict):
    from percepiano.models import ast
    from percepiano.models.listener import ListenerConfig

    return ListenerConfig(ast=ast.preset(cfg["default"]), n_descriptors=len(cfg["descriptors"]),
                          weighting=c["weighting"])


def _cross_validate(ds, inputs, descriptors, pool_inputs, cfg: dict, name: str, c: dict,
                    split: str, seeds: list[int], n_variants: int) -> dict:
    from percepiano.evaluation import cross_validation
    from percepiano.training import listener, steps

    tc = steps.TrainConfig(**cfg["train"])
    recipe = listener.Recipe(stages=tuple(c["stages"]), steps=cfg["steps"],
                             n_variants=n_variants, aux=c["aux"])
    model_cfg = _listener_cfg(cfg, c)
    fits: list = []
    start = time.perf_counter()
    res = cross_validation.cross_validate_seeds(
        ds, split, cfg["folds"], seeds,
        lambda seed: listener.make_fit_predict(inputs, ds.labels, descriptors, model_cfg,
                                               dataclasses.replace(tc, seed=seed), recipe,
                                               pool_inputs, fits),
        desc=f"{name} {split}")
    wall = (time.perf_counter() - start) / len(seeds)
    pre_s = sum(st["seconds"] for f in fits for st in f["pretrain"].values()) / len(seeds)
    summary = {"wall_s": wall, "pretrain_s": pre_s, "n_variants": n_variants,
               "epochs_run": float(np.mean([f["epochs"] for f in fits])),
               "best_epoch": float(np.mean([f["best_epoch"] for f in fits])),
               "val_r": float(np.mean([f["val_r"] for f in fits]))}
    heard = pd.concat([pd.DataFrame(f["test_descriptors"], index=f["test_names"],
                                    columns=descriptors.columns) for f in fits])
    return {"rows": [{"config": name, "kind": split, **summary, **r} for r in res["seeds"]],
            "per_fold": [{"config": name, "kind": split, **r} for r in res["per_fold"]],
            "oof": res["oof"].assign(config=name, kind=split), "heard": heard,
            "pretrain_losses": {st: f["pretrain"][st]["losses"] for f in fits[:1]
                                for st in f["pretrain"]}}


def recovery(heard: pd.DataFrame, descriptors: pd.DataFrame) -> pd.DataFrame:
    """R² of the descriptor head on held-out segments, per descriptor (pooled over folds and
    seeds), with its group."""
    from percepiano.evaluation.metrics import r2

    truth = descriptors.loc[heard.index]
    ok = np.isfinite(truth.to_numpy()).all(axis=1)
    scores = r2(truth.to_numpy()[ok], heard.to_numpy()[ok])
    return pd.DataFrame({"descriptor": list(descriptors.columns), "r2": scores,
                         "group": [group_of(d) for d in descriptors.columns]})


def _gather(parts: list, extra: dict) -> tuple[dict, pd.DataFrame]:
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


def _pretraining_config(s) -> dict:
    return {**_common(s), "configs": CONFIGS, "splits": ["piece"], "secondary": SECONDARY}


@experiment("listener_pretraining", config=_pretraining_config)
def listener_pretraining(cfg: dict) -> dict:
    """The AST from scratch, with the auxiliary head, and pretrained on descriptors, masked
    patches or both; what its head hears of each descriptor."""
    ds, inputs, descriptors, pool_inputs, render_s = _load(cfg)
    parts, heard = [], {}
    for name, c in cfg["configs"].items():
        for split in cfg["splits"] + cfg["secondary"].get(name, []):
            part = _cross_validate(ds, inputs, descriptors, pool_inputs, cfg, name, c, split,
                                   cfg["seeds"], cfg["n_variants"])
            parts.append(part)
            if split == "piece" and c["aux"]:
                heard[name] = recovery(part["heard"], descriptors).to_dict(orient="records")
    losses = {p["rows"][0]["config"]: p["pretrain_losses"] for p in parts
              if p["pretrain_losses"]}
    out, table = _gather(parts, {"recovery": heard, "pretrain_losses": losses,
                                 "render_s": render_s, "n_segments": len(ds.names),
                                 "n_renders": len(ds.names) * cfg["n_variants"]})
    return {**_headline(table, "both"), **out}


def _renders_config(s) -> dict:
    return {**_common(s), "render_counts": RENDER_COUNTS[s.profile],
            "config": CONFIGS["+ descriptor pretraining"], "seeds": [0], "splits": ["piece"]}


@experiment("listener_renders", config=_renders_config)
def listener_renders(cfg: dict) -> dict:
    """Descriptor pretraining on 1, 2, 4 ... variants per segment: R² against renders."""
    ds, inputs, descriptors, pool_inputs, render_s = _load(cfg)
    parts = [_cross_validate(ds, inputs, descriptors, pool_inputs, cfg, f"{n} per segment",
                             cfg["config"], "piece", cfg["seeds"], n)
             for n in cfg["render_counts"]]
    out, table = _gather(parts, {"render_s": render_s, "n_segments": len(ds.names)})
    return {**_headline(table, f"{cfg['render_counts'][-1]} per segment"), **out}
