"""`percepiano train`: one AST on one cross-validation fold, checkpointed and resumable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from percepiano import config
from percepiano.cli.common import add_data_option, emit
from percepiano.errors import UserError


def default_run_dir(preset: str = "micro", split: str = "piece", k: int = 4, fold: int = 0,
                    seed: int = 0) -> Path:
    """Where ``percepiano train`` writes (and ``predict`` reads) a run by default."""
    return (config.cache_dir() / "runs" / config.profile()
            / f"ast-{preset}-{split}-k{k}-fold{fold}-seed{seed}")


def register(sub) -> None:
    p = sub.add_parser("train", help="train the AST on one cross-validation fold",
                       description="Train the Audio Spectrogram Transformer on the training part "
                                   "of one fold, early-stopping on its nested validation part; "
                                   "the run is checkpointed each epoch and resumes if re-run.")
    p.add_argument("--preset", default=None, help="model size (default: the CPU default)")
    p.add_argument("--split", default="piece", help="random, piece, performer or composer")
    p.add_argument("--k", type=int, default=4, help="number of folds")
    p.add_argument("--fold", type=int, default=0, help="test fold (its metrics are reported)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    p.add_argument("--out", type=Path, default=None, help="run directory (default: in cache)")
    p.add_argument("--json", action="store_true")
    add_data_option(p)
    p.set_defaults(func=_train)


def _train(args) -> int:
    from percepiano.audio import spectrogram
    from percepiano.data import dataset, splits
    from percepiano.evaluation.metrics import evaluate
    from percepiano.models import ast
    from percepiano.training import steps, train

    preset = args.preset or ast.DEFAULT_PRESET
    cfg = ast.preset(preset)
    ds = dataset.load(args.data)
    folds = splits.make_folds(ds.segments, args.split, args.k, args.seed)
    if not 0 <= args.fold < args.k:
        raise UserError(f"--fold {args.fold} is out of range; choose 0..{args.k - 1}")
    test = list(folds.index[folds == args.fold])
    tr, val = splits.nested_split(ds.segments, folds.index[folds != args.fold], args.split,
                                  args.seed)
    tc = steps.TrainConfig(seed=args.seed)
    if args.epochs is not None:
        tc = dataclasses.replace(tc, epochs=args.epochs)
    out = args.out or default_run_dir(preset, args.split, args.k, args.fold, args.seed)
    inputs = spectrogram.compute_dataset(ds, transform=lambda s: ast.pool_input(s, cfg))
    res = train.fit(inputs, ds.labels, tr, val, cfg, tc, out_dir=out)
    m = evaluate(ds.labels.loc[test, list(dataset.DIMENSIONS)].to_numpy(),
                 train.predict(res.model, inputs, test, res.norm, tc))
    summary = {"run_dir": str(out), "preset": preset, "split": args.split, "k": args.k,
               "fold": args.fold, "seed": args.seed, "best_epoch": res.best_epoch,
               "val_mean_r": res.best_val_r, "test_mean_r2": m["mean_r2"],
               "test_mean_r": m["mean_r"], "epochs_run": len(res.history)}
    table = (f"AST {preset}, {args.split} split fold {args.fold}/{args.k}, seed {args.seed}: "
             f"best epoch {res.best_epoch}, validation mean r {res.best_val_r:.3f}; on the "
             f"test fold R² {m['mean_r2']:.3f}, r {m['mean_r']:.3f} (means over the 19 "
             f"dimensions)\ncheckpoint: {out}")
    emit(summary, args.json, table)
    return 0
