"""The experiments of the Phase 2 chapter (``book/phase2.py``): how little of a new piece fixes
what whole-work generalisation breaks.

* ``phase2_fewshot``: every work of the development part held out in turn
  (``evaluation.fewshot``: a fixed query per work, supports of ``k`` of its performances,
  nested, in several draws, every copy of a recording on the query's side or the pool's:
  ``recordings``, the ``data.recordings.recording_groups`` share, ``contained`` as in
  ``data.music``), and for each ``k`` of the curve the learners of ``models.adapt``
  and ``models.meta`` on the performance's MIDI descriptors (the forests' ``midi`` set):

  - ``mean of the k``: the bar, no features (the training mean at ``k = 0``);
  - ``forest``: the random forest refitted with the ``k`` rows up-weighted;
  - ``ridge``: ridge regression, the ``k`` rows up-weighted alike, its penalty chosen by
    cross-validation over the other works;
  - ``ridge on listener embeddings``: the same on the frozen pooled embeddings of a listener
    pretrained without labels (masked patches, then descriptors: the listener chapter's
    recipe) on every development segment's audio and its expressive variants; it reads no
    rating, so no held-out label reaches it, only the held-out work's sound, as a foundation
    model's pretraining may have heard the music it is probed on;
  - ``network (head tuned)``: a small network trained on the other works (the week-2
    descriptor network's recipe: dropout, early stopping on held-out works), its head
    fine-tuned on the ``k`` rows;
  - ``network (all tuned)``: the same network, every weight fine-tuned;
  - ``Reptile (all tuned)``: the network after Reptile over the other works' episodes (support
    of ``meta_k`` performances of one work), every weight fine-tuned.

  Scored on the query (``evaluation.fewshot.scores``: pooled, per-work and within-work R²,
  within-excerpt pairwise accuracy; ``book/phase2.py`` adds intervals over works and
  draws). The forest, the networks and Reptile are fitted once per held-out work; only the
  adaptation depends on the draw.

* ``phase2_transfer``: Beethoven to Schubert and back (the composer split: trained on one
  composer's performances, scored on the other's), the forest and ridge on the MIDI
  descriptors as they are, after per-composer standardisation, and after CORAL
  (``models.domain``; both read the other composer's descriptors, never its ratings).

Both read the descriptors with their floating-point noise about zero set to zero
(``features.exact``): a forest on the raw descriptors otherwise splits on that noise, and two
runs from two descriptor caches differ.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from percepiano.experiments.store import experiment

METHODS = ("mean of the k", "forest", "ridge", "ridge on listener embeddings",
           "network (head tuned)", "network (all tuned)", "Reptile (all tuned)")
ADAPTATIONS = ("as they are", "per-composer standardisation", "CORAL")


def _forest(s) -> dict:
    from percepiano.models import forest

    return {k: v for k, v in forest.preset(s.profile).__dict__.items() if k != "candidates"}


def _fewshot_config(s) -> dict:
    from percepiano.experiments import week2
    from percepiano.models import meta

    small = s.profile == "smoke"
    net = meta.MetaConfig(steps=100, meta_steps=40) if small else meta.MetaConfig()
    return {"profile": s.profile, "max_segments": s.max_segments,
            "ks": [0, 1, 2] if small else [0, 1, 2, 4, 8],
            "draws": 1 if small else 3, "max_works": 2 if small else None,
            "recordings": "contained", "seed": 0, "features": "midi", "zero_atol": 1e-9,
            "meta_k": 2 if small else 4, "meta_query": 8, "share": 0.25,
            "forest": _forest(s), "net": dataclasses.asdict(net), "listener": week2._common(s)}


def listener_embeddings(cfg: dict, names) -> pd.DataFrame:
    """(len(names), dim) frozen pooled embeddings of the listener pretrained without labels on
    ``names`` and their expressive variants (``cfg``: the week-2 listener configuration), from
    the pretrained-listener cache when present (``training.warmstart``)."""
    from percepiano.experiments import listener as L
    from percepiano.experiments import networks as N
    from percepiano.training import listener, steps, train, warmstart
    from percepiano.training.batches import Normaliser

    _, inputs, descriptors, pool_inputs, _ = N.load(cfg)
    c, names = cfg["listener_recipe"], list(names)
    tc = steps.TrainConfig(**cfg["train"])
    recipe = listener.Recipe(stages=tuple(c["stages"]), steps=cfg["steps"],
                             n_variants=cfg["n_variants"], aux=c["aux"])
    model = warmstart.pretrained(L._listener_cfg(cfg, c), tc, recipe, inputs, descriptors,
                                 pool_inputs, names, [], cfg["pool_seed"])
    norm = Normaliser.fit(inputs, warmstart._labels_stub(names), names, descriptors)
    emb = train.embed(model, inputs, names, norm, tc)
    return pd.DataFrame(emb, index=names).add_prefix("emb")


@experiment("phase2_fewshot", config=_fewshot_config, version=2)
def phase2_fewshot(cfg: dict) -> dict:
    """Every work held out in turn, adapted from k = 0, 1, 2, 4, 8 of its labelled performances."""
    from tqdm.auto import tqdm

    from percepiano.data import dataset, music
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.data.recordings import recording_groups
    from percepiano.evaluation import fewshot
    from percepiano.features import exact
    from percepiano.models import forest, meta

    start = time.perf_counter()
    ds = dataset.subset(dataset.load(), cfg["max_segments"])
    dims, seed = list(DIMENSIONS), cfg["seed"]
    X = exact.snap_zeros(forest.feature_table(ds, cfg["features"], progress=False)
                         .loc[ds.names], cfg["zero_atol"])  # noise read as zero: see exact
    clock = time.perf_counter()
    E = listener_embeddings(cfg["listener"], ds.names)
    embed_s = time.perf_counter() - clock
    Y = ds.labels.loc[ds.names, dims]
    copies = recording_groups(ds.segments, music.RECORDING_MATCH, cfg["recordings"])
    tasks, skipped = fewshot.tasks(ds.segments, cfg["ks"], cfg["draws"], seed,
                                   recordings=copies)  # each recording on one side
    works = sorted({t.work for t in tasks})[:cfg["max_works"]]
    tasks = [t for t in tasks if t.work in works]
    fcfg = forest.ForestConfig(**cfg["forest"])
    ncfg = meta.MetaConfig(**cfg["net"])
    rows, timing = [], {m: 0.0 for m in METHODS}
    alphas: dict = {}  # held-out work -> the ridge penalties chosen without it
    fits, at_zero = None, {}  # the current work's fitted learners; its k = 0 predictions
    for t in tqdm(tasks, desc="held-out works", unit="task"):
        train, query = list(t.train), list(t.query)
        Yt = Y.loc[train].to_numpy()
        views = {v: (T.loc[train].to_numpy(), T.loc[query].to_numpy())
                 for v, T in (("descriptors", X), ("embeddings", E))}
        if fits is None or fits[0] != t.work:  # what depends on the work only
            at_zero.clear()
            fits = (t.work, *_per_work(t, ds, views, Yt, works, cfg, ncfg, seed, timing))
            alphas[t.work] = fits[3]
        _, net, reptile, alpha = fits
        for k in cfg["ks"]:
            sup = t.support(k)
            Ys = Y.loc[sup].to_numpy()
            for method in METHODS:
                clock = time.perf_counter()
                v = "embeddings" if "embeddings" in method else "descriptors"
                if k == 0 and method in at_zero:  # no support: the same every draw
                    p = at_zero[method]
                else:
                    Xs = (X if v == "descriptors" else E).loc[sup].to_numpy()
                    p = _predict(method, *views[v], Yt, Xs, Ys, net, reptile, fcfg, ncfg, cfg,
                                 alpha[v], seed)
                    at_zero.update({method: p} if k == 0 else {})
                timing[method] += time.perf_counter() - clock
                rows.append(pd.DataFrame(np.clip(p, 0, 1), index=query, columns=dims).assign(
                    method=method, k=k, seed=t.draw, work=t.work))
    oof = pd.concat(rows).rename_axis("name").round(4)
    table = _table(oof, Y, ds.segments)
    best = table[table.k == max(cfg["ks"])].sort_values("pooled_r2").iloc[-1]
    return {"pooled_r2": float(best.pooled_r2), "table": table.to_dict("records"),
            "work_mean_r2": float(table.work_mean_r2.iloc[0]),
            "works": works, "skipped": skipped, "fit_s": timing, "embed_s": embed_s,
            "alphas": alphas,
            "wall_s": time.perf_counter() - start,
            "headline": {"keys": ["pooled_r2"], "kind": "work", "method": str(best.method),
                         "k": int(best.k),
                         "metric": "pooled R² on the held-out works' query performances, mean "
                                   "over the 19 dimensions and the draws, of the best learner "
                                   "with the most labelled performances"},
            "oof": oof}


def _per_work(t, ds, views, Yt, works, cfg, ncfg, seed, timing):
    """The learners of held-out work ``t.work`` that no support changes: the ridge penalties
    (per view), the supervised network, and Reptile from it."""
    from percepiano.evaluation import fewshot
    from percepiano.models import adapt, meta

    train, work = list(t.train), ds.segments.piece.loc[list(t.train)].to_numpy()
    clock = time.perf_counter()
    alphas = {v: adapt.ridge_alpha(a, Yt, work) for v, (a, _) in views.items()}
    timing["ridge"] += time.perf_counter() - clock
    Xt = views["descriptors"][0]
    clock = time.perf_counter()
    net = meta.fit(Xt, Yt, ncfg, seed, groups=work)
    timing["network (all tuned)"] += time.perf_counter() - clock
    clock = time.perf_counter()
    pos = {n: i for i, n in enumerate(train)}
    eps = [([pos[n] for n in s], [pos[n] for n in q]) for s, q in fewshot.episodes(
        ds.segments, train, cfg["meta_k"], ncfg.meta_steps,
        np.random.default_rng([seed, works.index(t.work)]), cfg["meta_query"])
           if len(q) == cfg["meta_query"]]
    reptile = meta.meta_fit(Xt, Yt, eps, ncfg, seed, start=net)
    timing["Reptile (all tuned)"] += time.perf_counter() - clock
    return net, reptile, alphas


def _predict(method, Xt, Xq, Yt, Xs, Ys, net, reptile, fcfg, ncfg, cfg, alpha, seed):
    from percepiano.models import adapt, meta

    if method == "mean of the k":
        return adapt.support_mean(Yt, Ys, len(Xq))
    if method == "forest":
        return adapt.weighted_forest(Xt, Yt, Xs, Ys, Xq, fcfg, seed, cfg["share"])
    if method.startswith("ridge"):
        return adapt.ridge(Xt, Yt, Xs, Ys, Xq, alpha, cfg["share"])
    start = reptile if method.startswith("Reptile") else net
    return meta.adapt(start, Xs, Ys, ncfg, head_only="head" in method).predict(Xq)


def _table(oof: pd.DataFrame, Y: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Per method and k: ``evaluation.fewshot.scores`` on the query (pooled, per-work and
    within-work R², what placing the works scores, within-excerpt pairwise accuracy), the mean
    over draws (point estimates; the chapter adds intervals)."""
    from percepiano.evaluation import fewshot

    per_draw = fewshot.scores(oof, Y, segments.excerpt)
    return (per_draw.drop(columns="seed").groupby(["method", "k"], sort=False).mean()
            .reset_index())


def _transfer_config(s) -> dict:
    return {"profile": s.profile, "max_segments": s.max_segments, "features": "midi",
            "zero_atol": 1e-9, "seeds": list(s.seeds), "forest": _forest(s), "coral_eps": 1.0,
            "learners": ["forest", "ridge"], "adaptations": list(ADAPTATIONS)}


def config_name(learner: str, adaptation: str) -> str:
    """``forest`` on the descriptors as they are, ``forest + CORAL`` after an adaptation."""
    return learner if adaptation == ADAPTATIONS[0] else f"{learner} + {adaptation}"


def adapted(X: pd.DataFrame, composer, target: str, adaptation: str, eps: float) -> np.ndarray:
    """The descriptor table ``X`` (n, d) for a model trained off the ``target`` composer and
    scored on it: as it is, per-composer standardised, or after CORAL (``models.domain``)."""
    from percepiano.models import domain

    if adaptation == "as they are":
        return X.to_numpy(np.float64)
    if adaptation == "per-composer standardisation":
        return domain.per_domain_standardise(X, composer)
    if adaptation == "CORAL":
        return domain.coral(X, composer, target, eps)
    raise ValueError(f"unknown adaptation {adaptation!r}; choose from {', '.join(ADAPTATIONS)}")


@experiment("phase2_transfer", config=_transfer_config, version=2)
def phase2_transfer(cfg: dict) -> dict:
    """Trained on one composer's performances, scored on the other's: each learner on the MIDI
    descriptors as they are and after each unsupervised domain adaptation."""
    from percepiano.data import dataset
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.features import exact
    from percepiano.models import adapt, forest

    start = time.perf_counter()
    ds = dataset.subset(dataset.load(), cfg["max_segments"])
    dims, names = list(DIMENSIONS), np.array(ds.names)
    X = exact.snap_zeros(forest.feature_table(ds, cfg["features"], progress=False)
                         .loc[ds.names], cfg["zero_atol"])  # noise read as zero: see exact
    Y = ds.labels.loc[ds.names, dims].to_numpy()
    composer = ds.segments.composer.loc[ds.names].to_numpy()
    work = ds.segments.piece.loc[ds.names].to_numpy()
    fcfg = forest.ForestConfig(**cfg["forest"])
    rows, timing, alphas = [], {}, {}
    for target in sorted(set(composer)):
        src, tgt = composer != target, composer == target
        for adaptation in cfg["adaptations"]:
            Z = adapted(X, composer, target, adaptation, cfg["coral_eps"])
            for learner in cfg["learners"]:
                name = config_name(learner, adaptation)
                clock = time.perf_counter()
                for seed in cfg["seeds"] if learner == "forest" else cfg["seeds"][:1]:
                    if learner == "forest":
                        model = forest.make_model("rf", fcfg, seed).fit(Z[src], Y[src])
                        p = model.predict(Z[tgt])
                    else:
                        alphas[f"{name} → {target}"] = a = adapt.ridge_alpha(Z[src], Y[src],
                                                                              work[src])
                        p = adapt.ridge(Z[src], Y[src], Z[:0], Y[:0], Z[tgt], a, 0.0)
                    rows.append(pd.DataFrame(np.clip(p, 0, 1), index=names[tgt], columns=dims)
                                .assign(config=name, seed=seed, target=target))
                timing[name] = timing.get(name, 0.0) + time.perf_counter() - clock
    oof = pd.concat(rows).rename_axis("name").round(4)
    table = _transfer_table(oof, ds)
    plain = table[(table.config == "forest") & (table.target == "both")]
    return {"pooled_r2": float(plain.pooled_r2.iloc[0]), "table": table.to_dict("records"),
            "alphas": alphas, "fit_s": timing, "wall_s": time.perf_counter() - start,
            "headline": {"keys": ["pooled_r2"], "kind": "composer",
                         "metric": "pooled R² of the forest on the MIDI descriptors as they "
                                   "are, each composer scored by a model trained on the other, "
                                   "mean over the 19 dimensions and the seeds"},
            "oof": oof}


def _transfer_table(oof: pd.DataFrame, ds) -> pd.DataFrame:
    """Per configuration and target composer ("both": every segment, each scored from the
    other composer): pooled R² and within-excerpt pairwise accuracy, the mean over seeds."""
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.evaluation.metrics import r2, within_excerpt

    dims, out = list(DIMENSIONS), []
    for target in [*sorted(set(oof.target)), "both"]:
        part = oof if target == "both" else oof[oof.target == target]
        for (config, seed), p in part.groupby(["config", "seed"], sort=False):
            y = ds.labels.loc[p.index, dims].to_numpy()
            pw = within_excerpt(y, p[dims].to_numpy(), ds.segments.excerpt.loc[p.index])
            out.append({"config": config, "target": target, "seed": int(seed),
                        "pooled_r2": float(r2(y, p[dims].to_numpy()).mean()),
                        "pairwise": float(np.nanmean(pw["pairwise"]))})
    return (pd.DataFrame(out).groupby(["config", "target"], sort=False)[
        ["pooled_r2", "pairwise"]].mean().reset_index())
