"""The experiments of the week-2 chapter (``book/week2.py``): losses that target what the task
measures, small-data training, fusion of listening and descriptors, and descriptors of the music.

Every model starts from the listener chapter's best recipe ("both": masked-patch, then
descriptor pretraining on the fold's expressive variants), pretrained once per fold and seed
(``training.warmstart``) so that each configuration differs from its reference by one choice
only; fine-tuning is ``training.recipes.finetune``. Same development part, folds per seed and
epoch selection on the nested validation fold as ``listener_pretraining``. Piece split.

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

import numpy as np
import pandas as pd

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


def _load(cfg: dict):
    from percepiano.experiments import listener

    return listener._load(cfg)


def descriptor_table(ds, extras=(), features: str = "both") -> pd.DataFrame:
    """The forests' descriptors, plus music-level (``music:``) and excerpt-relative (``@rel``)
    ones of the performance descriptors."""
    from percepiano.features import music
    from percepiano.models import forest

    X = forest.feature_table(ds, features)
    parts = [X]
    if "music" in extras:
        parts.append(music.music_feature_table(ds, progress=False).add_prefix("music:"))
    if "relative" in extras:
        parts.append(music.excerpt_relative(X, ds.segments.excerpt.loc[X.index]))
    return pd.concat(parts, axis=1).loc[ds.names]


def _forest_weights(ds, X, train_names, seed: int) -> np.ndarray:
    """Per-dimension weights from the forest's R² inside the training names (3 folds grouped
    by excerpt): ``losses.dimension_weights``."""
    from sklearn.model_selection import GroupKFold

    from percepiano.data.dataset import DIMENSIONS
    from percepiano.evaluation.metrics import r2
    from percepiano.models import forest
    from percepiano.training.losses import dimension_weights

    names = np.array(train_names)
    y = ds.labels.loc[names, list(DIMENSIONS)].to_numpy()
    pred = np.zeros_like(y)
    fit = forest.forest_predictor(ds, X, seed=seed)
    for tr, te in GroupKFold(3).split(names, groups=ds.segments.excerpt.loc[names]):
        pred[te] = fit(list(names[tr]), [], list(names[te]))
    return dimension_weights(r2(y, pred))


def _make(ds, inputs, descriptors, pool_inputs, cfg, name, spec, kind, records, X=None,
          init: int = 0, tta: dict | None = None, keep: list | None = None,
          outer_pretraining: bool = False):
    """``make_fit_predict(seed)`` of one configuration (listener or hybrid).

    ``init`` > 0 fine-tunes from the same pretrained weights with another initialisation and
    data order (seed + 1000 * init), a member of a seed ensemble. With ``tta`` ({view: (inputs,
    TrainConfig overrides)}) fit_predict returns {"plain": predictions, view: predictions of
    the same model on that view of the test segments} instead of the array. ``keep`` collects
    each fit's {"net", "norm", "tc", "table", "test"} for analysis. With ``outer_pretraining``
    a fit inside an outer fold's training rows (a stack's inner fold: train + val + test are
    the outer fold's training rows) starts from the listener pretrained for that outer fold
    (the outer split recovered with ``nested_split``) instead of pretraining on its own rows:
    pretraining reads no label, so the stacker still never sees a prediction from a model
    fitted to its row's label, and four pretrainings per fold become one."""
    from flax import nnx

    from percepiano.data.dataset import DIMENSIONS
    from percepiano.experiments import listener as L
    from percepiano.models.hybrid import HybridConfig, HybridModel
    from percepiano.models.listener import ListenerModel
    from percepiano.training import listener, recipes, steps, warmstart
    from percepiano.training.batches import Normaliser
    from percepiano.training.train import predict

    family, fields, extra = spec
    c = cfg["listener_recipe"]
    base_cfg = L._listener_cfg(cfg, c)
    recipe = listener.Recipe(stages=tuple(c["stages"]), steps=cfg["steps"],
                             n_variants=cfg["n_variants"], aux=c["aux"])
    objective = recipes.Objective(**(fields if kind == "listener" else {"aux": False}))
    regime = recipes.Regime(**(extra if kind == "listener" else {}))

    def make(seed):
        tc0 = dataclasses.replace(steps.TrainConfig(**cfg["train"]), seed=seed)
        tc = dataclasses.replace(tc0, seed=seed + 1000 * init)
        tc = tc if regime.weight_decay is None else dataclasses.replace(
            tc, weight_decay=regime.weight_decay)

        def fit_predict(train, val, test):
            train, val, test = list(train), list(val), list(test)
            rec, info = {"config": name, "seed": seed, "init": init}, {}
            start = time.perf_counter()
            p_train, p_held = pretraining_names(ds, train, val, test, seed, outer_pretraining)
            warm = warmstart.pretrained(base_cfg, tc0, recipe, inputs, descriptors, pool_inputs,
                                        p_train, p_held, cfg["pool_seed"], info)
            rec.update(pretrained_cached=info["cached"], pretrain_s=info["seconds"])
            if kind == "listener":
                mcfg = base_cfg if regime.dropout is None else dataclasses.replace(
                    base_cfg, ast=dataclasses.replace(base_cfg.ast, dropout=regime.dropout))
                net = ListenerModel(mcfg, rngs=nnx.Rngs(tc.seed))
                nnx.update(net, nnx.state(warm, nnx.Param))
                table = descriptors
            else:
                net = HybridModel(HybridConfig(X.shape[1], ast=base_cfg.ast, **fields),
                                  rngs=nnx.Rngs(tc.seed))
                nnx.update(net.ast, nnx.state(warm.ast, nnx.Param))
                table = X
            norm = Normaliser.fit(inputs, ds.labels, train, table)
            weights = (_forest_weights(ds, descriptor_table(ds, features="midi"), train, seed)
                       if objective.weighting == "forest" else None)
            res = recipes.finetune(net, inputs, ds.labels, train, val, norm, tc, objective,
                                   regime, ds.segments.excerpt, table, kind == "hybrid",
                                   weights)
            best = res.history[res.best_epoch]
            rec.update(best_epoch=res.best_epoch, epochs=len(res.history),
                       val_r=best["val_r"], train_loss=best["train_loss"],
                       s_per_epoch=float(np.mean([h["seconds"] for h in res.history])),
                       wall_s=time.perf_counter() - start)
            records.append(rec)
            d = table if kind == "hybrid" else None
            if keep is not None:
                keep.append({"net": res.net, "norm": norm, "tc": tc, "table": d, "test": test})
            out = predict(res.net, inputs, test, norm, tc, descriptors=d)
            assert out.shape == (len(test), len(DIMENSIONS))
            if tta is None:
                return out
            return {"plain": out, **{view: predict(res.net, x, test, norm,
                                                   dataclasses.replace(tc, **over), descriptors=d)
                                     for view, (x, over) in tta.items()}}

        return fit_predict

    return make


def pretraining_names(ds, train, val, test, seed: int, outer: bool = False):
    """(names pretrained on, names held out of pretraining) for a fit on (train, val, test):
    (train, val + test); with ``outer``, the fit lies inside an outer fold's training rows
    (train + val + test), and the names are the outer fit's, recovered with ``nested_split``
    as ``cross_validation.cross_validate`` drew them, so its cached pretraining is reused."""
    from percepiano.data.splits import nested_split

    if not outer:
        return list(train), list(val) + list(test)
    rows = list(train) + list(val) + list(test)
    p_train, p_val = nested_split(ds.segments, rows, "piece", seed)
    return p_train, p_val + sorted(set(ds.names) - set(rows))


def _run(ds, loaded, cfg, table, kind, X_of=None) -> dict:
    from percepiano.evaluation import cross_validation

    inputs, descriptors, pool_inputs = loaded
    rows, per_fold, oofs, records = [], [], [], []
    for name, spec in _configs(table, cfg["profile"]).items():
        X = X_of(spec[2]) if X_of else None
        res = cross_validation.cross_validate_seeds(
            ds, "piece", cfg["folds"], cfg["seeds"],
            _make(ds, inputs, descriptors, pool_inputs, cfg, name, spec, kind, records, X),
            desc=name)
        rows += [{"config": name, "family": spec[0], "kind": "piece", **r} for r in res["seeds"]]
        per_fold += [{"config": name, "kind": "piece", **r} for r in res["per_fold"]]
        oofs.append(res["oof"].assign(config=name, kind="piece"))
    return {"table": rows, "per_fold": per_fold, "fits": records,
            "oof": pd.concat(oofs).rename_axis("name")}


def _headline(out: dict, config: str) -> dict:
    from percepiano.evaluation.cross_validation import POOLED

    t = pd.DataFrame(out["table"])
    head = t[t.config == config]
    return {"pooled_r2": float(head.pooled_r2.mean()), "pooled_r": float(head.pooled_r.mean()),
            "headline": {"keys": ["pooled_r2", "pooled_r"], "config": config, "kind": "piece",
                         "metric": POOLED}}


def _training_config(s) -> dict:
    return {**_common(s), "profile": s.profile, "configs": _configs(LISTENER, s.profile),
            "per_excerpt": PER_EXCERPT}


@experiment("week2_training", config=_training_config)
def week2_training(cfg: dict) -> dict:
    """The pretrained listener fine-tuned with each loss and each small-data regime."""
    ds, inputs, descriptors, pool_inputs, _ = _load(cfg)
    out = _run(ds, (inputs, descriptors, pool_inputs), cfg, cfg["configs"], "listener")
    return {**_headline(out, "MSE (reference)"), **out, "cpu": _cpu()}


def _fusion_config(s) -> dict:
    return {**_common(s), "profile": s.profile, "configs": _configs(FUSION, s.profile),
            "features": "both"}


@experiment("week2_fusion", config=_fusion_config)
def week2_fusion(cfg: dict) -> dict:
    """Hybrids from the pretrained listener: three fusions, branch widths, new descriptors."""
    ds, inputs, descriptors, pool_inputs, _ = _load(cfg)
    tables: dict = {}

    def X_of(extras):
        key = tuple(extras)
        if key not in tables:
            tables[key] = descriptor_table(ds, extras, cfg["features"])
        return tables[key]

    out = _run(ds, (inputs, descriptors, pool_inputs), cfg, cfg["configs"], "hybrid", X_of)
    return {**_headline(out, "concat (reference)"), **out,
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
    full = descriptor_table(ds, ("music", "relative"), cfg["features"])
    X0 = descriptor_table(ds, (), cfg["features"])
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
    head = _headline({"table": [r for r in rows if r["learner"] == "forest"]}, "base")
    return {**head, **out}
