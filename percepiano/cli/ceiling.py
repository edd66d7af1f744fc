"""`percepiano ceiling`: the human noise ceiling per dimension."""

from __future__ import annotations

import pandas as pd

from percepiano.cli.common import add_data_option, emit
from percepiano.data import dataset
from percepiano.evaluation import ceiling


def register(sub) -> None:
    p = sub.add_parser(
        "ceiling", help="split-half reliability, ICC and the implied ceilings per dimension",
        description="Reliability of the mean label per dimension from the raw ratings: "
                    "Spearman-Brown corrected split-half (averaged over random rater splits) "
                    "and ICC(1,k); the ceilings for r (sqrt of reliability) and R².")
    p.add_argument("--splits", type=int, default=200, help="random rater splits (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    add_data_option(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    if args.splits < 1:
        raise ValueError("--splits must be >= 1")
    c = ceiling.noise_ceiling(dataset.load(args.data), n_splits=args.splits, seed=args.seed)
    cols = ["reliability", "icc", "ceiling_r", "ceiling_r2"]
    frame = pd.DataFrame({k: c[k] for k in cols}).round(3)
    table = (f"{frame.to_string()}\n\nmean reliability {c['mean_reliability']:.3f}   "
             f"mean ICC {c['mean_icc']:.3f}   mean ceiling r {c['mean_ceiling_r']:.3f}")
    emit(c, args.json, table)
    return 0
