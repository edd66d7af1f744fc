"""`percepiano ceiling`: the human noise ceiling per dimension, with intervals."""

from __future__ import annotations

import pandas as pd

from percepiano.cli.common import add_data_option, emit
from percepiano.data import dataset
from percepiano.evaluation import ceiling


def register(sub) -> None:
    p = sub.add_parser(
        "ceiling", help="split-half reliability, ICC and the implied ceilings per dimension",
        description="Reliability of the mean label per dimension from the raw ratings, splitting "
                    "each segment's raters (a rater's repeats averaged): Spearman-Brown "
                    "corrected split-half (averaged over random rater splits) and ICC(1,k); the "
                    "ceilings for r (sqrt of reliability) and R²; the half-panel within-excerpt "
                    "ceiling (how alike two halves of the raters rank an excerpt's "
                    "performances). Intervals: percentile, over random splits each scored on a "
                    "cluster-bootstrap resample of the music groups.")
    p.add_argument("--splits", type=int, default=200, help="random rater splits (default 200)")
    p.add_argument("--boot", type=int, default=ceiling.N_BOOT,
                   help=f"bootstrap replicates behind the intervals (default {ceiling.N_BOOT})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    add_data_option(p)
    p.set_defaults(func=_run)


def _ci(c: dict, key: str) -> str:
    lo, hi = c[f"{key}_ci"]
    return f"{c[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def _run(args) -> int:
    if args.splits < 1:
        raise ValueError("--splits must be >= 1")
    if args.boot < 1:
        raise ValueError("--boot must be >= 1")
    c = ceiling.noise_ceiling(dataset.load(args.data), n_splits=args.splits, seed=args.seed,
                              n_boot=args.boot)
    frame = pd.DataFrame({
        "reliability": c["reliability"],
        "lo": {d: v[0] for d, v in c["reliability_ci"].items()},
        "hi": {d: v[1] for d, v in c["reliability_ci"].items()},
        "icc": c["icc"], "ceiling_r": c["ceiling_r"], "ceiling_r2": c["ceiling_r2"],
        "within_rho_half": c["within_rho_half"], "within_rho_ceiling": c["within_rho_ceiling"],
        "pairwise_ceiling": c["pairwise_ceiling"],
    }).round(3)
    level = f"{ceiling.LEVEL:.0%} CI"
    table = "\n".join([
        frame.to_string(), "",
        f"by rater, {args.splits} splits, {level} over {args.boot} replicates:",
        f"  mean reliability (= ceiling R²)  {_ci(c, 'mean_reliability')}",
        f"  mean ceiling r                   {_ci(c, 'mean_ceiling_r')}",
        f"  mean ICC(1,k), stepped up        {c['mean_icc']:.3f}",
        "within excerpt, half panel vs half panel:",
        f"  mean within-excerpt rho          {_ci(c, 'mean_within_rho_half')}",
        f"  mean pairwise accuracy           {_ci(c, 'mean_pairwise_half')}",
        "within excerpt, ceiling of a model scored against whole panels (stepped up):",
        f"  mean within-excerpt rho          {_ci(c, 'mean_within_rho_ceiling')}",
        f"  mean pairwise accuracy           {_ci(c, 'mean_pairwise_ceiling')}",
    ])
    emit(c, args.json, table)
    return 0
