"""The experiments of the week-2 chapter (``book/week2.py``): losses that target what the task
measures, small-data training, fusion of listening and descriptors, and descriptors of the music.

Every model starts from the listener chapter's best recipe ("both": masked-patch, then
descriptor pretraining on the fold's expressive variants), pretrained once per fold and seed
(``training.warmstart``) so that each configuration differs from its reference by one choice
only; fine-tuning is ``training.recipes.finetune``, both through ``experiments.networks``.
Same development part, folds per seed and epoch selection on the nested validation fold as
``listener_pretraining``. Piece split.

* ``week2_training``: the listener fine-tuned with each loss (``losses``) and each
  small-data regime (dropout, weight decay, spectral norm, schedules, stopping rule, bf16),
  against "MSE (reference)", the "both" recipe.
* ``week2_fusion``: hybrids whose AST branch starts from the pretrained listener:
  concatenation (the reference), cross-attention and a gate; a narrow descriptor branch;
  the concatenation with music-level and with excerpt-relative descriptors added.
* ``week2_descriptors``: the forest and the descriptor network alone, without each group of
  descriptors in turn, and with the music-level and excerpt-relative descriptors added.
"""

from __future__ import annotations

import dataclasses
import time

import pandas as pd

from percepiano.experiments import networks as N
from percepiano.experiments.store import experiment

PER_EXCERPT = 4  # performances of one excerpt per block of a ranking batch (8 blocks of 32)
# name: (family, Objective fields, Regime fields); FULL_ONLY configurations run in full only
LISTENER = {
    "MSE (reference)": ("reference", {}, {}),
    "MSE, excerpt batches": ("loss", {"per_excerpt": PER_EXCERPT}, {}),
    "Pearson": ("loss", {"loss": "pearson"}, {}),
    "CCC": ("loss", {"loss": "ccc"}, {}),
    "ranking": ("loss", {"loss": "ranking", "per_excerpt": PER_EXCERPT}, {}),
    "MSE + ranking (learned weights)": ("loss", {"loss": "mse+ranking", "weighting": "learned",
                                                 "per_excerpt": PER_EXCERPT}, {}),
    "MSE, forest-weighted dimensions": ("loss", {"weighting": "forest"}, {}),
    "dropout 0.3": ("regime", {}, {"dropout": 0.3}),
    "weight decay 0.2": ("regime", {}, {"weight_decay": 0.2}),
    "spectral norm": ("regime", {}, {"spectral": True}),
    "one-cycle schedule": ("regime", {}, {"schedule": "one_cycle"}),
    "constant, halved on plateau": ("regime", {}, {"schedule": "plateau"}),
    "stop on validation loss": ("regime", {}, {"stop_on": "val_loss"}),
    "bf16": ("regime", {}, {"bf16": True}),
    "MSE + ranking (fixed weights)": ("loss", {"loss": "mse+ranking",
                                               "per_excerpt": PER_EXCERPT}, {}),
    "dropout 0.5": ("regime", {}, {"dropout": 0.5}),
    "weight decay 0": ("regime", {}, {"weight_decay": 0.0}),
}
FUSION = {  # name: (family, HybridConfig fields, extra descriptors)
    "concat (reference)": ("reference", {}, ()),
    "cross-attention": ("fusion", {"fusion": "attention"}, ()),
    "gate": ("fusion", {"fusion": "gate"}, ()),
    "concat, narrow descriptor branch": ("capacity", {"desc_hidden": 32, "desc_dim": 16}, ()),
    "concat + music-level": ("descriptors", {}, ("music",)),
    "concat + excerpt-relative": ("descriptors", {}, ("relative",)),
    "concat, wide descriptor branch": ("capacity", {"desc_hidden": 256, "desc_dim": 256}, ()),
    "concat + both": ("descriptors", {}, ("music", "relative")),
}
FULL_ONLY = {"MSE + ranking (fixed weights)", "dropout 0.5", "weight decay 0",
             "concat, wide descriptor branch", "concat + both"}
# smoke checks one configuration of each code path (the unit tests check every option)
SMOKE = {"MSE (reference)", "MSE + ranking (learned weights)", "MSE, forest-weighted dimensions",
         "constant, halved on plateau", "concat (reference)", "cross-attention",
         "concat + excerpt-relative"}  # a configuration of every family the chapter reads
SMOKE_NET_SETS = ["base", "+ both"]  # the descriptor network's sets in smoke (forest: all)
EXTRAS = {"base": (), "+ music-level": ("music",), "+ excerpt-relative": ("relative",),
          "+ both": ("music", "relative")}


def _configs(table: dict, profile: str) -> dict:
    if profile == "smoke":
        return {k: v for k, v in table.items() if k in SMOKE}
    return {k: v for k, v in table.items() if profile == "full" or k not in FULL_ONLY}


def _common(s) -> dict:
    from percepiano.experiments import listener
    from percepiano.features import music

    return {**listener._common(s), "listener_recipe": listener.CONFIGS["both"],
            "music_version": music.VERSION}


def _run(ds, loaded, cfg, table, kind, X_of=None) -> dict:
    from percepiano.evaluation import cross_validation

    inputs, descriptors, pool_inputs = loaded
    rows, per_fold, oofs, records = [], [], [], []
    for name, spec in _configs(table, cfg["profile"]).items():
        X = X_of(spec[2]) if X_of else None
        res = cross_validation.cross_validate_seeds(
            ds, "piece", cfg["folds"], cfg["seeds"],
            N.network_maker(ds, inputs, descriptors, pool_inputs, cfg, name, spec, kind,
                            records, X), desc=name)
        rows += [{"config": name, "family": spec[0], "kind": "piece", **r} for r in res["seeds"]]
        per_fold += [{"config": name, "kind": "piece", **r} for r in res["per_fold"]]
        oofs.append(res["oof"].assign(config=name, kind="piece"))
    return {"table": rows, "per_fold": per_fold, "fits": records,
            "oof": pd.concat(oofs).rename_axis("name")}


def _training_config(s) -> dict:
    return {**_common(s), "profile": s.profile, "configs": _configs(LISTENER, s.profile),
            "per_excerpt": PER_EXCERPT}


@experiment("week2_training", config=_training_config)
def week2_training(cfg: dict) -> dict:
    """The pretrained listener fine-tuned with each loss and each small-data regime."""
    ds, inputs, descriptors, pool_inputs, _ = N.load(cfg)
    out = _run(ds, (inputs, descriptors, pool_inputs), cfg, cfg["configs"], "listener")
    return {**N.headline(out, "MSE (reference)"), **out, "cpu": _cpu()}


def _fusion_config(s) -> dict:
    return {**_common(s), "profile": s.profile, "configs": _configs(FUSION, s.profile),
            "features": "both"}


@experiment("week2_fusion", config=_fusion_config)
def week2_fusion(cfg: dict) -> dict:
    """Hybrids from the pretrained listener: three fusions, branch widths, new descriptors."""
    ds, inputs, descriptors, pool_inputs, _ = N.load(cfg)
    tables: dict = {}

    def X_of(extras):
        key = tuple(extras)
        if key not in tables:
            tables[key] = N.descriptor_table(ds, extras, cfg["features"])
        return tables[key]

    out = _run(ds, (inputs, descriptors, pool_inputs), cfg, cfg["configs"], "hybrid", X_of)
    return {**N.headline(out, "concat (reference)"), **out,
            "n_descriptors": {"+".join(k) or "base": int(v.shape[1]) for k, v in tables.items()}}


def _cpu() -> dict:
    """The CPU's model and whether it has bf16 matrix units (AMX, AVX-512 BF16)."""
    import platform
    from pathlib import Path

    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), platform.processor())
    flags = set(next((ln.split(":", 1)[1].split() for ln in info.splitlines()
                      if ln.startswith("flags")), []))
    return {"model": model, "amx_bf16": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags}


# ---- descriptors: groups and new descriptors, forest and descriptor network ---------------------

def _descriptors_config(s) -> dict:
    from percepiano.experiments import week1
    from percepiano.experiments.baselines import _feature_versions
    from percepiano.features import music
    from percepiano.models import hybrid

    fields = {f.name: f.default for f in dataclasses.fields(hybrid.HybridConfig)
              if f.name not in ("n_descriptors", "ast")}
    cfg = {**week1._common(s), "features": "both", "feature_versions": _feature_versions(),
           "music_version": music.VERSION, "hybrid": fields,
           "learners": ["forest", "descriptor net"], "extras": EXTRAS}
    if s.profile == "smoke":
        cfg["net_sets"] = SMOKE_NET_SETS
    return cfg


@experiment("week2_descriptors", config=_descriptors_config)
def week2_descriptors(cfg: dict) -> dict:
    """The forest and the descriptor network without each descriptor group, and with the
    music-level and excerpt-relative descriptors."""
    from percepiano.evaluation import cross_validation
    from percepiano.experiments import week1
    from percepiano.features.groups import descriptor_group
    from percepiano.models import forest, hybrid
    from percepiano.training import steps, train

    ds, inputs = week1._load(cfg)
    full = N.descriptor_table(ds, ("music", "relative"), cfg["features"])
    X0 = N.descriptor_table(ds, (), cfg["features"])
    groups = pd.Series({c: descriptor_group(c) for c in X0.columns})
    sets = {name: full[list(X0.columns) + [c for c in full.columns if c not in X0.columns and (
        ("music" in extras and c.startswith("music:")) or
        ("relative" in extras and c.endswith("@rel")))]]
        for name, extras in cfg["extras"].items()}
    sets.update({f"without {g}": X0[groups.index[groups != g]] for g in groups.unique()})
    tc = steps.TrainConfig(**cfg["train"])
    rows, per_fold, oofs = [], [], []
    for learner in cfg["learners"]:
        for name, X in sets.items():
            if learner != "forest" and name not in cfg.get("net_sets", sets):
                continue
            if learner == "forest":
                def make(seed, X=X):
                    return forest.forest_predictor(ds, X, seed=seed)
            else:
                mcfg = hybrid.HybridConfig(X.shape[1], ast=None, **cfg["hybrid"])

                def make(seed, X=X, mcfg=mcfg):
                    return train.make_fit_predict(inputs, ds.labels, mcfg,
                                                  dataclasses.replace(tc, seed=seed),
                                                  descriptors=X)
            start = time.perf_counter()
            res = cross_validation.cross_validate_seeds(ds, "piece", cfg["folds"], cfg["seeds"],
                                                        make, desc=f"{learner} {name}")
            wall = (time.perf_counter() - start) / len(cfg["seeds"])
            family = "ablation" if name.startswith("without") else "descriptors"
            rows += [{"learner": learner, "config": name, "family": family, "kind": "piece",
                      "wall_s": wall, "n_descriptors": X.shape[1], **r} for r in res["seeds"]]
            per_fold += [{"learner": learner, "config": name, "kind": "piece", **r}
                         for r in res["per_fold"]]
            oofs.append(res["oof"].assign(learner=learner, config=name, kind="piece"))
    out = {"table": rows, "per_fold": per_fold, "oof": pd.concat(oofs).rename_axis("name"),
           "groups": groups.to_dict(), "group_sizes": groups.value_counts().to_dict()}
    head = N.headline({"table": [r for r in rows if r["learner"] == "forest"]}, "base")
    return {**head, **out}
