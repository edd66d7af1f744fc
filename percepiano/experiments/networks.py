"""The networks the week-2 and week-3 experiments fit, shared by both chapters' modules.

* ``load``: the development part, spectrogram inputs, descriptor targets and variant pools of
  the listener chapter (``experiments.listener``).
* ``descriptor_table``: the forests' descriptors, with the music-level and excerpt-relative
  ones (``features.music``) on request.
* ``network_maker``: ``make_fit_predict(seed)`` of a listener or hybrid that starts from the
  listener chapter's best recipe ("both"), pretrained once per fold and seed
  (``training.warmstart``) and fine-tuned with ``training.recipes.finetune``.
* ``pretraining_names``: which names a fit pretrains on, and which it holds out.
* ``headline``: an experiment's headline numbers from its table of seeds.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd


def load(cfg: dict):
    """(ds, inputs, descriptors, pool_inputs, variants) as ``experiments.listener`` loads them."""
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


def forest_weights(ds, X, train_names, seed: int) -> np.ndarray:
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


def network_maker(ds, inputs, descriptors, pool_inputs, cfg, name, spec, kind, records,
                  X=None, init: int = 0, tta: dict | None = None, keep: list | None = None,
                  outer_pretraining: bool = False):
    """``make_fit_predict(seed)`` of one configuration (listener or hybrid).

    ``ds, inputs, descriptors, pool_inputs``: as ``load`` returns them; ``cfg``: the
    experiment's configuration (``week2._common``); ``spec``: (family, Objective fields for a
    listener or HybridConfig fields for a hybrid, Regime fields for a listener); ``kind``:
    ``"listener"`` or ``"hybrid"`` (which then reads the descriptor table ``X``, n segments x
    descriptors); ``records`` collects one dict per fit (epochs, validation r, seconds). The
    returned fit_predict(train, val, test) gives predictions (len(test), 19) on the 0-1 scale.
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
            weights = (forest_weights(ds, descriptor_table(ds, features="midi"), train, seed)
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


def headline(out: dict, config: str) -> dict:
    from percepiano.evaluation.cross_validation import POOLED

    t = pd.DataFrame(out["table"])
    head = t[t.config == config]
    return {"pooled_r2": float(head.pooled_r2.mean()), "pooled_r": float(head.pooled_r.mean()),
            "headline": {"keys": ["pooled_r2", "pooled_r"], "config": config, "kind": "piece",
                         "metric": POOLED}}


