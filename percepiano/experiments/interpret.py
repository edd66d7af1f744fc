"""The experiments of the chapter on what the models use (``book/interpret.py``).

* ``week3_interpret``: the week-3 hybrid (seed 0, the four piece folds) explained: the R² it
  loses when each descriptor group, or the whole audio branch, is permuted across the test
  segments (Breiman 2001); LightGBM's SHAP values per descriptor group (Lundberg & Lee 2017);
  attention rollout (Abnar & Zuidema 2020) and mean attention distance per layer (Dosovitskiy
  et al. 2021) of its listening branch; integrated gradients (Sundararajan et al. 2017) for
  the segments rated highest and lowest on two dimensions; and whether attention falls on
  musical events (onsets, sustain-pedal changes, loudness peaks), with the same events moved
  half a crop away as the control (``analysis.pathways``, ``analysis.attention``).

Its configuration is the week-3 chapter's (``experiments.week3``), so the hybrid explained is
the one that chapter's ensembles use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from percepiano.experiments import networks as N
from percepiano.experiments.store import experiment

IG_DIMS = ("Pedal_Sparse/dry_Saturated/wet", "Dynamic_Little_dynamic_range_Large_dynamic_range")


def _interpret_config(s) -> dict:
    from percepiano.experiments import week3

    return {**week3._common(s), "seed": 0,
            "repeats": {"smoke": 1, "quick": 2, "full": 5}[s.profile],
            "ig_dims": list(IG_DIMS), "ig_steps": 32, "n_boot": s.n_boot}


@experiment("week3_interpret", config=_interpret_config)
def week3_interpret(cfg: dict) -> dict:
    """The hybrid (seed 0, piece folds): permutation of its pathways, LightGBM's SHAP values,
    attention rollout, distance and integrated gradients, attention on musical events."""
    from percepiano.analysis import attention, pathways
    from percepiano.data.splits import make_folds, nested_split
    from percepiano.evaluation import cross_validation
    from percepiano.features.groups import descriptor_group

    ds, inputs, descriptors, pool_inputs, _ = N.load(cfg)
    X = N.descriptor_table(ds, (), cfg["features"])
    groups = pd.Series({c: descriptor_group(c) for c in X.columns})
    seed, keep = cfg["seed"], []
    make = N.network_maker(ds, inputs, descriptors, pool_inputs, cfg, "hybrid", cfg["hybrid"],
                       "hybrid", [], X=X, keep=keep)
    cv = cross_validation.cross_validate(ds, "piece", cfg["folds"], seed, make(seed),
                                         progress=False)
    folds = make_folds(ds.segments, "piece", cfg["folds"], seed)
    perm, shap_rows, listen = [], [], []
    for f, fitted in enumerate(keep):
        perm.append(pathways.permutation_drop(fitted, inputs, ds.labels, groups,
                                              cfg["repeats"], seed).assign(fold=f))
        train, val = nested_split(ds.segments, folds.index[folds != f], "piece", seed)
        shap_rows.append(pathways.lgbm_shap(X, ds.labels, train + val, fitted["test"], groups,
                                            dict(cfg["lgbm_grid"][0]), seed).assign(fold=f))
        test = fitted["test"]
        for b in range(0, len(test), 64):
            lis = pathways.listening(fitted, inputs, test[b:b + 64], ds.segments.midi_path)
            listen.append((test[b:b + 64], lis, f))
    names = [n for chunk, _, _ in listen for n in chunk]
    rel = np.concatenate([lis["rollout"] for _, lis, _ in listen])
    valid = np.concatenate([lis["valid"] for _, lis, _ in listen])
    align = {}
    for ev in ("onsets", "pedal_changes", "loudness_peaks"):
        e = np.concatenate([lis["events"][ev] for _, lis, _ in listen])
        r_, e_ = [rel[i][valid[i]] for i in range(len(rel))], [e[i][valid[i]] for i in
                                                              range(len(rel))]
        shifted = [np.roll(x, len(x) // 2) for x in e_]  # the same events half a crop away
        align[ev] = {k: _plain(attention.alignment(r_, ev_, cfg["n_boot"], seed))
                     for k, ev_ in (("events", e_), ("shifted", shifted))}
    dist = np.concatenate([lis["distance"] for _, lis, _ in listen])
    examples = []
    for dim in cfg["ig_dims"]:
        y = ds.labels.loc[names, dim]
        for end, name in (("high", y.idxmax()), ("low", y.idxmin())):
            f = int(folds[name])
            lis = pathways.listening(keep[f], inputs, [name], ds.segments.midi_path, [dim],
                                     cfg["ig_steps"])
            examples.append({"name": name, "dimension": dim, "end": end, "rating": float(y[name]),
                             "prediction": float(cv["oof"].loc[name, dim]), "fold": f,
                             "times": lis["times"].round(3).tolist(),
                             "rollout": lis["rollout"][0].round(5).tolist(),
                             "ig": lis["ig"][dim][0].round(5).tolist(),
                             "crop": lis["crops"][0].round(0).tolist()})
    return {"pooled_r2": float(cv["pooled"]["mean_r2"]), "pooled_r": float(cv["pooled"]["mean_r"]),
            "headline": {"keys": ["pooled_r2", "pooled_r"], "kind": "piece", "seed": seed,
                         "metric": "pooled out-of-fold R² and r of the hybrid explained"},
            "permutation": pd.concat(perm).to_dict("records"),
            "shap": pd.concat(shap_rows).to_dict("records"), "alignment": align,
            "distance": dist.round(4).tolist(),
            "examples": examples, "groups": groups.to_dict()}


def _plain(res: dict) -> dict:
    return {"mean": res["mean"], "ci": list(res["ci"]), "n": res["n"]}
