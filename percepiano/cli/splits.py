"""`percepiano splits`: the deterministic group-aware folds."""

from __future__ import annotations

from percepiano.cli.common import add_data_option, emit
from percepiano.data import dataset, splits


def register(sub) -> None:
    p = sub.add_parser(
        "splits", help="show the cross-validation folds of a split kind",
        description="Deterministic k-fold splits: random, piece (grouped by excerpt), performer "
                    "(score renderings one group), composer (leave-one-composer-out, k=2). "
                    "--json prints {segment name: test fold}.")
    p.add_argument("--kind", default="piece", help=f"one of {', '.join(splits.KINDS)}")
    p.add_argument("--k", type=int, default=4, help="number of folds (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    add_data_option(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    ds = dataset.load(args.data)
    folds = splits.make_folds(ds.segments, args.kind, args.k, args.seed)
    desc = splits.describe(folds, ds.segments, args.kind)
    table = f"{args.kind} split, k={args.k}, seed={args.seed}\n{desc.to_string()}"
    emit({name: int(f) for name, f in folds.items()}, args.json, table)
    return 0
