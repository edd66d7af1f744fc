"""`percepiano baselines`: identity baselines and tree models on descriptors."""

from __future__ import annotations

import dataclasses
import importlib

import pandas as pd

from percepiano.cli.common import add_data_option, emit
from percepiano.data import dataset, splits
from percepiano.evaluation.cross_validation import without_oof
from percepiano.models.identity import identity_baselines

TREE_MODELS = ("rf", "et", "hgb")


def register(sub) -> None:
    p = sub.add_parser(
        "baselines", help="identity baselines or tree models, cross-validated",
        description="Cross-validated baselines. --model identity (default): global, excerpt and "
                    "performer means fitted on training folds. --model rf|et|hgb: a tree model "
                    "on MIDI, audio or both descriptor sets (rf/et: one multi-output forest "
                    "for all dimensions; --per-dimension: one forest each).")
    p.add_argument("--split", default="piece", help=f"one of {', '.join(splits.KINDS)}")
    p.add_argument("--k", type=int, default=None, help="folds (default 4; composer: 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="identity", choices=("identity",) + TREE_MODELS)
    p.add_argument("--features", default="midi", choices=("midi", "audio", "both"),
                   help="descriptor set for tree models")
    p.add_argument("--per-dimension", action="store_true",
                   help="rf/et: one forest per dimension instead of one multi-output forest")
    p.add_argument("--json", action="store_true")
    add_data_option(p)
    p.set_defaults(func=_run)


def _summary(res: dict) -> dict:
    out = without_oof(res)
    return {"fold_mean_r2": out.pop("fold_mean_r2"), "fold_mean_r": out.pop("fold_mean_r"),
            "per_dimension": out.pop("per_dimension"), **out}


def _run(args) -> int:
    ds = dataset.load(args.data)
    k = args.k or (2 if args.split == "composer" else 4)
    splits.make_folds(ds.segments, args.split, k, args.seed)  # validate before heavy work
    if args.model == "identity":
        res = {name: _summary(r) for name, r in
               identity_baselines(ds, args.split, k, args.seed, progress=True).items()}
        frame = pd.DataFrame({n: {"fold-mean R²": r["fold_mean_r2"],
                                  "fold-mean r": r["fold_mean_r"]}
                              for n, r in res.items()}).T.round(3)
        table = f"identity baselines, {args.split} split, k={k}, seed={args.seed}\n{frame}"
    else:
        forest = importlib.import_module("percepiano.models.forest")
        cfg = dataclasses.replace(forest.preset(), joint=not args.per_dimension)
        res = _summary(forest.cross_validate_forest(ds, features=args.features, split=args.split,
                                                    k=k, seed=args.seed, model=args.model,
                                                    cfg=cfg))
        kind = ("" if args.model == "hgb" else
                ", one forest per dimension" if args.per_dimension else ", joint forest")
        table = (f"{args.model}{kind} on {args.features} descriptors, {args.split} split, k={k}: "
                 f"fold-mean R² {res['fold_mean_r2']:.3f}, fold-mean r "
                 f"{res['fold_mean_r']:.3f}")
    emit(res, args.json, table)
    return 0
