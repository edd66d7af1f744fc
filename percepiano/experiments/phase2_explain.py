"""The Phase 2 chapter's third experiment (``book/phase2.py``): the explanations that
``percepiano explain`` prints, read beside the raters' ratings.

* ``phase2_explain``: the final MIDI model (``analysis.final.build``) on the development part,
  and for each fold of its cross-validation the same recipe refitted without that fold
  (``analysis.explain.out_of_fold``), which explains the fold's segments
  (``explain_segments``): every development segment is explained by a model that never saw
  its ratings. Stored: ``agreement`` per dimension (how often the sentence's reason pushes the
  way the raters went), the descriptors most often named per dimension, and the explanations
  of a few example performances, chosen by a seeded draw among the human performances of
  different works.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from percepiano.experiments.store import experiment


def _explain_config(s) -> dict:
    from percepiano.analysis import final
    from percepiano.models import forest

    return {"profile": s.profile, "max_segments": s.max_segments, "kind": "midi",
            "forest": {k: v for k, v in forest.preset(s.profile).__dict__.items()
                       if k != "candidates"},
            "seed": final.SEED, "split": final.SPLIT, "folds": final.K, "level": 0.8,
            "examples": 3, "top_named": 3, "format": final.FORMAT}


@experiment("phase2_explain", config=_explain_config)
def phase2_explain(cfg: dict) -> dict:
    """Every development segment explained by the final model's recipe fitted without it."""
    from percepiano.analysis import explain, final
    from percepiano.data import dataset
    from percepiano.data.splits import make_folds
    from percepiano.models import forest

    start = time.perf_counter()
    ds = dataset.subset(dataset.load(), cfg["max_segments"])
    fcfg = forest.ForestConfig(**cfg["forest"])
    model = final.build(ds, cfg["kind"], fcfg, cfg["seed"], progress=False)
    folds = make_folds(ds.segments.loc[ds.names], cfg["split"], cfg["folds"], cfg["seed"])
    frames = []
    for fold in sorted(set(folds)):
        names = list(folds.index[folds == fold])
        held = explain.out_of_fold(model, ds, names)
        frames.append(explain.explain_segments(held, ds, names, 1, cfg["level"])
                      .assign(fold=int(fold)))
    frame = pd.concat(frames, ignore_index=True)
    agree = explain.agreement(frame)
    named = (frame.groupby(["dimension", "descriptor"], sort=False).size()
             .rename("segments").reset_index()
             .sort_values(["dimension", "segments"], ascending=[True, False])
             .groupby("dimension", sort=False).head(cfg["top_named"]))
    examples = _examples(ds, cfg["examples"], cfg["seed"])
    shown = frame[frame.name.isin(examples)]
    return {"mean_agrees": float(agree.agrees.mean()),
            "agreement": agree.reset_index().to_dict("records"),
            "named": named.to_dict("records"), "examples": examples,
            "explanations": shown.to_dict("records"), "segments": int(frame.name.nunique()),
            "wall_s": time.perf_counter() - start,
            "headline": {"keys": ["mean_agrees"], "kind": cfg["split"],
                         "metric": "share of (segment, dimension) pairs, averaged over the 19 "
                                   "dimensions, where the explanation's reason pushes the score "
                                   "the way the raters' rating lies from the mean rating"}}


def _examples(ds, n: int, seed: int) -> list[str]:
    """``n`` human performances (no deadpan rendering of the score) of ``n`` different works,
    drawn with a generator seeded by ``seed``, in name order."""
    seg = ds.segments.loc[ds.names]
    human = seg[~seg.is_score.astype(bool)]
    rng = np.random.default_rng(seed)
    works = rng.choice(sorted(set(human.piece)), size=min(n, human.piece.nunique()),
                       replace=False)
    return sorted(str(rng.choice(sorted(human.index[human.piece == w]))) for w in works)
