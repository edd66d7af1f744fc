"""The experiments of the Phase 2 chapter (``book/phase2.py``): how little of a new piece fixes
what whole-work generalisation breaks.

* ``phase2_fewshot``: every work of the development part held out in turn
  (``evaluation.fewshot``: a fixed query per work, supports of ``k`` of its performances,
  nested, in several draws), and for each ``k`` of the curve the learners of ``models.adapt``
  and ``models.meta`` on the performance's MIDI descriptors (the forests' ``midi`` set):

  - ``mean of the k``: the bar, no features (the training mean at ``k = 0``);
  - ``forest``: the random forest refitted with the ``k`` rows up-weighted;
  - ``ridge``: ridge regression, the ``k`` rows up-weighted alike;
  - ``network, head tuned``: a small network trained on the other works, its head fine-tuned
    on the ``k`` rows;
  - ``network, all tuned``: the same network, every weight fine-tuned;
  - ``Reptile, all tuned``: the network after Reptile over the other works' episodes (support
    of ``meta_k`` performances of one work), every weight fine-tuned.

  Scored on the query (pooled R², within-excerpt pairwise accuracy: ``book/phase2.py`` with
  intervals over works and draws). The forest, the networks and Reptile are fitted once per
  held-out work; only the adaptation depends on the draw.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from percepiano.experiments.store import experiment

METHODS = ("mean of the k", "forest", "ridge", "network, head tuned", "network, all tuned",
           "Reptile, all tuned")


def _fewshot_config(s) -> dict:
    from percepiano.models import forest, meta

    small = s.profile == "smoke"
    net = meta.MetaConfig(steps=100, meta_steps=40) if small else meta.MetaConfig()
    return {"profile": s.profile, "max_segments": s.max_segments,
            "ks": [0, 1, 2] if small else [0, 1, 2, 4, 8],
            "draws": 1 if small else 3, "max_works": 2 if small else None,
            "seed": 0, "features": "midi", "meta_k": 2 if small else 4, "meta_query": 8,
            "share": 0.25, "ridge_alpha": 10.0,
            "forest": {k: v for k, v in forest.preset(s.profile).__dict__.items()
                       if k != "candidates"},
            "net": dataclasses.asdict(net)}


@experiment("phase2_fewshot", config=_fewshot_config)
def phase2_fewshot(cfg: dict) -> dict:
    """Every work held out in turn, adapted from k = 0, 1, 2, 4, 8 of its labelled performances."""
    from tqdm.auto import tqdm

    from percepiano.data import dataset
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.evaluation import fewshot
    from percepiano.models import forest, meta

    start = time.perf_counter()
    ds = dataset.subset(dataset.load(), cfg["max_segments"])
    dims, seed = list(DIMENSIONS), cfg["seed"]
    X = forest.feature_table(ds, cfg["features"], progress=False).loc[ds.names]
    Y = ds.labels.loc[ds.names, dims]
    tasks, skipped = fewshot.tasks(ds.segments, cfg["ks"], cfg["draws"], seed)
    works = sorted({t.work for t in tasks})[:cfg["max_works"]]
    tasks = [t for t in tasks if t.work in works]
    fcfg = forest.ForestConfig(**cfg["forest"])
    ncfg = meta.MetaConfig(**cfg["net"])
    rows, timing = [], {m: 0.0 for m in METHODS}
    fitted: dict = {}
    for t in tqdm(tasks, desc="held-out works", unit="task"):
        train, query = list(t.train), list(t.query)
        Xt, Yt, Xq = X.loc[train].to_numpy(), Y.loc[train].to_numpy(), X.loc[query].to_numpy()
        if t.work not in fitted:  # what depends on the work only
            fitted.clear()
            clock = time.perf_counter()
            net = meta.fit(Xt, Yt, ncfg, seed)
            timing["network, all tuned"] += time.perf_counter() - clock
            clock = time.perf_counter()
            pos = {n: i for i, n in enumerate(train)}
            eps = [([pos[n] for n in s], [pos[n] for n in q]) for s, q in fewshot.episodes(
                ds.segments, train, cfg["meta_k"], ncfg.meta_steps,
                np.random.default_rng([seed, works.index(t.work)]), cfg["meta_query"])
                   if len(q) == cfg["meta_query"]]
            reptile = meta.meta_fit(Xt, Yt, eps, ncfg, seed, start=net)
            timing["Reptile, all tuned"] += time.perf_counter() - clock
            fitted[t.work] = (net, reptile)
        net, reptile = fitted[t.work]
        for k in cfg["ks"]:
            sup = t.support(k)
            Xs, Ys = X.loc[sup].to_numpy(), Y.loc[sup].to_numpy()
            preds = {}
            for method in METHODS:
                clock = time.perf_counter()
                if k == 0 and (t.work, method) in fitted:  # no support: the same every draw
                    p = fitted[(t.work, method)]
                else:
                    p = _predict(method, Xt, Yt, Xs, Ys, Xq, net, reptile, fcfg, ncfg, cfg, seed)
                    if k == 0:
                        fitted[(t.work, method)] = p
                preds[method] = p
                timing[method] += time.perf_counter() - clock
            for method, p in preds.items():
                rows.append(pd.DataFrame(np.clip(p, 0, 1), index=query, columns=dims).assign(
                    method=method, k=k, seed=t.draw, work=t.work))
    oof = pd.concat(rows).rename_axis("name").round(4)
    table = _table(oof, Y, ds.segments)
    best = table[table.k == max(cfg["ks"])].sort_values("pooled_r2").iloc[-1]
    return {"pooled_r2": float(best.pooled_r2), "table": table.to_dict("records"),
            "works": works, "skipped": skipped, "fit_s": timing,
            "wall_s": time.perf_counter() - start,
            "headline": {"keys": ["pooled_r2"], "kind": "work", "method": str(best.method),
                         "k": int(best.k),
                         "metric": "pooled R² on the held-out works' query performances, mean "
                                   "over the 19 dimensions and the draws, of the best learner "
                                   "with the most labelled performances"},
            "oof": oof}


def _predict(method, Xt, Yt, Xs, Ys, Xq, net, reptile, fcfg, ncfg, cfg, seed):
    from percepiano.models import adapt, meta

    if method == "mean of the k":
        return adapt.support_mean(Yt, Ys, len(Xq))
    if method == "forest":
        return adapt.weighted_forest(Xt, Yt, Xs, Ys, Xq, fcfg, seed, cfg["share"])
    if method == "ridge":
        return adapt.ridge(Xt, Yt, Xs, Ys, Xq, cfg["ridge_alpha"], cfg["share"])
    start = reptile if method.startswith("Reptile") else net
    return meta.adapt(start, Xs, Ys, ncfg, head_only="head" in method).predict(Xq)


def _table(oof: pd.DataFrame, Y: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Per method and k: pooled R² and within-excerpt pairwise accuracy on the query, the mean
    over draws (point estimates; the chapter adds intervals)."""
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.evaluation.metrics import r2, within_excerpt

    dims, out = list(DIMENSIONS), []
    for (method, k, s), part in oof.groupby(["method", "k", "seed"], sort=False):
        y, p = Y.loc[part.index, dims].to_numpy(), part[dims].to_numpy()
        pw = within_excerpt(y, p, segments.excerpt.loc[part.index])["pairwise"]
        out.append({"method": method, "k": int(k), "seed": int(s),
                    "pooled_r2": float(r2(y, p).mean()), "pairwise": float(np.nanmean(pw))})
    return (pd.DataFrame(out).groupby(["method", "k"], sort=False)[["pooled_r2", "pairwise"]]
            .mean().reset_index())
