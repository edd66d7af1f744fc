"""The experiments of the week-3 chapter (``book/week3.py``): ensembles, interpretability and
cross-validation strategies.

* ``week3_ensembles``: six members on the piece split (forest, extremely randomised trees,
  LightGBM, the descriptor network, the pretrained listener and the hybrid, the last two as in
  ``week2_*``'s references), then what combining them buys: plain averages, seed ensembles and
  bagging of the networks, stacking on inner out-of-fold predictions, and test-time
  augmentation. Members are fitted once per (seed, fold) and shared by every ensemble that uses
  them (``models.ensemble.memoized``), whose cost is the sum of its members' fits.
* ``week3_splits``: the descriptor learners on random, piece, performer, composer, work and
  the temporal split (``data.temporal``).

What the models use, the chapter that follows, is ``experiments.interpret``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from percepiano.experiments import networks as N
from percepiano.experiments.store import experiment

MEMBERS = {"smoke": 2, "quick": 5, "full": 10}  # networks in a seed ensemble, bags
K_INNER = {"smoke": 2, "quick": 3, "full": 5}   # inner folds of the stack
TREES = ("forest", "extra trees", "LightGBM")
SINGLES = (*TREES, "descriptor net", "listener", "hybrid")
AVERAGES = {"forest + LightGBM": ("forest", "LightGBM"),
            "extra trees + LightGBM": ("extra trees", "LightGBM"),
            "trees (mean of three)": TREES,
            "forest + hybrid": ("forest", "hybrid"),
            "LightGBM + hybrid": ("LightGBM", "hybrid"),
            "all six (mean)": SINGLES}
STACKS = {"stack: trees": TREES, "stack: all six": SINGLES}
# test-time views of a network's test segments: (inputs, TrainConfig overrides)
TTA = {"denser crop grid": ("dense",), "+ other soundfont": ("plain", "soundfont"),
       "+ transposed ±1": ("plain", "pitch down", "pitch up"),
       "all views": ("dense", "soundfont", "pitch down", "pitch up")}
SPLITS = ("random", "piece", "performer", "composer", "work", "temporal")
SPLIT_LEARNERS = ("forest", "extra trees", "LightGBM", "descriptor net")


def _common(s) -> dict:
    from percepiano.experiments import week1, week2
    from percepiano.models import ensemble, hybrid

    fields = {f.name: f.default for f in dataclasses.fields(hybrid.HybridConfig)
              if f.name not in ("n_descriptors", "ast")}
    return {**week2._common(s), "profile": s.profile, "features": "both",
            "descriptor_net": fields, "lgbm_grid": list(ensemble.LGBM_GRID),
            "lgbm": ensemble.LGBM, "tta_pool_seed": week1.POOL_SEED,
            "listener": week2.LISTENER["MSE (reference)"],
            "hybrid": week2.FUSION["concat (reference)"]}


def _learners(ds, X, cfg, inputs=None, grid=None) -> dict:
    """make(seed, init) of the descriptor learners (init: a network's other initialisation)."""
    from percepiano.models import ensemble, forest, hybrid
    from percepiano.training import steps, train

    tc = steps.TrainConfig(**cfg["train"])
    net = hybrid.HybridConfig(X.shape[1], ast=None, **cfg["descriptor_net"])
    grid = [dict(g) for g in (grid or cfg["lgbm_grid"])]
    return {
        "forest": lambda seed, init=0: forest.forest_predictor(ds, X, seed=seed),
        "extra trees": lambda seed, init=0: forest.forest_predictor(ds, X, model="et",
                                                                      seed=seed),
        "LightGBM": lambda seed, init=0: ensemble.lgbm_predictor(X, ds.labels, seed, grid),
        "descriptor net": lambda seed, init=0: train.make_fit_predict(
            inputs=inputs, labels=ds.labels, cfg=net,
            tc=dataclasses.replace(tc, seed=seed + 1000 * init), descriptors=X)}


def _tta_inputs(ds, cfg, inputs) -> dict:
    """{view: (inputs, TrainConfig overrides)}: the crop grid at a quarter-crop hop, the other
    soundfont's render, and the performance transposed a semitone down and up (the fixed
    variant pools of ``week1_augmentation``)."""
    from percepiano.audio import augment, spectrogram
    from percepiano.models import ast

    base, mel = ast.preset(cfg["default"]), spectrogram.MelConfig(**cfg["mel"])

    def load(kind, n, k):
        paths = augment.variant_spectrograms(ds, kind, n, mel, cfg["tta_pool_seed"],
                                             progress=False)
        return {nm: ast.pool_input(np.load(ps[k], allow_pickle=False), base)
                for nm, ps in paths.items()}

    return {"dense": (inputs, {"eval_hop": 0.25, "max_eval_crops": 16}),
            "soundfont": (load("soundfont", 1, 0), {}),
            "pitch down": (load("pitch", 2, 0), {}), "pitch up": (load("pitch", 2, 1), {})}


def _ensemble_config(s) -> dict:
    return {**_common(s), "members": MEMBERS[s.profile], "k_inner": K_INNER[s.profile],
            "averages": AVERAGES, "stacks": STACKS, "tta": TTA, "stack_alpha": 1.0}


@experiment("week3_ensembles", config=_ensemble_config)
def week3_ensembles(cfg: dict) -> dict:
    """Six members, their averages, seed ensembles, bagging, stacks and test-time views."""
    from percepiano.data.splits import nested_split
    from percepiano.evaluation import cross_validation
    from percepiano.models import ensemble as E

    ds, inputs, descriptors, pool_inputs, _ = N.load(cfg)
    X = N.descriptor_table(ds, (), cfg["features"])
    learners, tta = _learners(ds, X, cfg, inputs), _tta_inputs(ds, cfg, inputs)
    records, log, M = [], [], cfg["members"]

    def net(kind, init, views, outer):
        spec, table = (cfg["listener"], None) if kind == "listener" else (cfg["hybrid"], X)
        return N.network_maker(ds, inputs, descriptors, pool_inputs, cfg, kind, spec, kind,
                           records, X=table, init=init, tta=views,
                           outer_pretraining=not outer)

    def makes(outer: bool) -> dict:
        views = tta if outer else None
        out = {name: (lambda seed, f=f: f(seed)) for name, f in learners.items()}
        out["listener"] = net("listener", 0, views, outer)
        for j in range(M if outer else 1):
            out[f"hybrid#{j}"] = net("hybrid", j, views if j == 0 else None, outer)
            out[f"descriptor net#{j}"] = (lambda seed, j=j: learners["descriptor net"](seed, j))
        return out

    members: dict = {}

    def mem(seed):
        if seed not in members:
            m = {n: E.memoized(mk, seed, log, n) for n, mk in makes(True).items()}
            m["hybrid"], m["descriptor net"] = m["hybrid#0"], m["descriptor net#0"]
            inner = {n: E.memoized(mk, seed, log, n + " (inner)")
                     for n, mk in makes(False).items()}
            inner["hybrid"], inner["descriptor net"] = inner["hybrid#0"], inner["descriptor net#0"]
            bags = E.bagged(lambda b: learners["descriptor net"](seed, b),
                            ds.segments.music_group, M, seed)
            for b, fp in enumerate(bags):
                m[f"bag#{b}"] = E.memoized(lambda s_, fp=fp: fp, seed, log, f"bag#{b}")
            members[seed] = (m, inner)
        return members[seed]

    def split(seed):
        return lambda rest: nested_split(ds.segments, rest, "piece", seed)

    configs = {n: ("single", lambda seed, n=n: _views(E, mem(seed)[0][n], ("plain",)), (n,))
               for n in SINGLES}
    configs |= {n: ("average", lambda seed, ms=ms: E.average([mem(seed)[0][m] for m in ms]),
                    tuple(ms)) for n, ms in cfg["averages"].items()}
    for m in range(2, M + 1):
        for base, key in (("hybrid", "hybrid#"), ("descriptor net", "descriptor net#")):
            ms = tuple(f"{key}{j}" for j in range(m))
            configs[f"{base} × {m} seeds"] = (
                "seeds", lambda seed, ms=ms: E.average([mem(seed)[0][x] for x in ms]), ms)
    for m in range(1, M + 1):
        ms = tuple(f"bag#{b}" for b in range(m))
        configs[f"descriptor net × {m} bags"] = (
            "bagging", lambda seed, ms=ms: E.average([mem(seed)[0][x] for x in ms]), ms)
    stack_fits: list = []
    for n, ms in cfg["stacks"].items():
        configs[n] = ("stack", lambda seed, ms=ms: _stacked(E, mem(seed), ms, ds, cfg, split(seed),
                                                              seed, stack_fits),
                      tuple(ms) + tuple(f"{x} (inner)" for x in ms))
    for netname in ("listener", "hybrid"):
        for n, views in cfg["tta"].items():
            configs[f"{netname}, {n}"] = (
                "tta", lambda seed, nn=netname, v=views: _views(E, mem(seed)[0][nn], v),
                (netname,))

    rows, per_fold, oofs = [], [], []
    for name, (family, build, _) in configs.items():
        res = cross_validation.cross_validate_seeds(ds, "piece", cfg["folds"], cfg["seeds"],
                                                    build, desc=name)
        rows += [{"config": name, "family": family, "kind": "piece", **r} for r in res["seeds"]]
        per_fold += [{"config": name, "kind": "piece", **r} for r in res["per_fold"]]
        if family not in ("seeds", "bagging") or name.endswith((f"× {M} seeds", f"× {M} bags")):
            oofs.append(res["oof"].round(3).assign(config=name, kind="piece"))
    fits = pd.DataFrame(log)
    cost = fits.groupby("member").seconds.sum() / (len(cfg["seeds"]) * cfg["folds"])
    alias = {"hybrid": "hybrid#0", "descriptor net": "descriptor net#0"}

    def cost_of(m):
        base, inner = m.removesuffix(" (inner)"), m.endswith(" (inner)")
        return float(cost.get(alias.get(base, base) + (" (inner)" if inner else ""), 0.0))
    for r in rows:
        r["fit_s_per_fold"] = sum(cost_of(m) for m in configs[r["config"]][2])
    head = N.headline({"table": rows}, "stack: all six")
    return {**head, "table": rows, "per_fold": per_fold, "oof": pd.concat(oofs).rename_axis("name"),
            "fits": fits.to_dict("records"), "network_fits": records, "stack_weights": stack_fits,
            "members_used": {n: list(c[2]) for n, c in configs.items()}}


def _stacked(E, mem, names, ds, cfg, split, seed, fits):
    outer, inner = mem
    return E.stack({m: inner[m] for m in names}, ds.labels, ds.segments.music_group,
                   cfg["k_inner"], split, cfg["stack_alpha"], seed, fits,
                   outer={m: outer[m] for m in names})


def _views(E, member, views):
    def fit_predict(train, val, test):
        out = member(train, val, test)
        return np.mean([E.pick(out, v) for v in views], axis=0)
    return fit_predict


# ---- cross-validation strategies ----------------------------------------------------------------

def _splits_config(s) -> dict:
    from percepiano.data.temporal import TEMPORAL_SHARE

    return {**_common(s), "splits": list(SPLITS), "learners": list(SPLIT_LEARNERS),
            "k": {"composer": 2}, "temporal_share": TEMPORAL_SHARE}


@experiment("week3_splits", config=_splits_config, version=2)
def week3_splits(cfg: dict) -> dict:
    """The descriptor learners on six splits: random, piece, performer, composer, work and
    temporal (whole music groups held out). LightGBM chooses its setting from the grid inside
    each training fold, as in ``week3_ensembles`` and the final exam: one LightGBM everywhere."""
    from percepiano.data import temporal
    from percepiano.evaluation import cross_validation
    from percepiano.evaluation.temporal import cross_validate_temporal
    from percepiano.experiments import week1

    ds, inputs = week1._load(cfg)
    X = N.descriptor_table(ds, (), cfg["features"])
    learners = _learners(ds, X, cfg, inputs)
    rows, per_fold, oofs = [], [], []
    for split in cfg["splits"]:
        for name in cfg["learners"]:
            make = learners[name]
            if split == "temporal":
                res = cross_validate_temporal(ds, cfg["seeds"], make, cfg["temporal_share"])
            else:
                res = cross_validation.cross_validate_seeds(
                    ds, split, cfg["k"].get(split, cfg["folds"]), cfg["seeds"], make,
                    desc=f"{name} {split}")
            rows += [{"learner": name, "kind": split, **r} for r in res["seeds"]]
            per_fold += [{"learner": name, "kind": split, **r} for r in res["per_fold"]]
            oofs.append(res["oof"].round(3).assign(learner=name, kind=split))
    t = pd.DataFrame(rows)
    head = t[(t.learner == "LightGBM") & (t.kind == "piece")]
    return {"pooled_r2": float(head.pooled_r2.mean()), "pooled_r": float(head.pooled_r.mean()),
            "headline": {"keys": ["pooled_r2", "pooled_r"], "learner": "LightGBM",
                         "kind": "piece", "metric": "pooled out-of-fold R² and r"},
            "table": rows, "per_fold": per_fold, "oof": pd.concat(oofs).rename_axis("name"),
            "temporal_test": int(temporal.temporal_test(ds.segments,
                                                        cfg["temporal_share"]).sum())}
