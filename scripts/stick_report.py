"""Print, for the headline models, pooled out-of-fold R² and within-excerpt pairwise accuracy on
the piece, performer and work splits with bootstrap intervals over music groups (what every
split once resampled) and over the units each split generalises over (``stats.units``), and the
same on human performances only. Reads the committed quick results; about a minute.

    .venv/bin/python scripts/stick_report.py [--n-boot 2000]
"""

import argparse

import pandas as pd

from percepiano import experiments
from percepiano.analysis import headline
from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import stats


def models() -> dict[str, pd.DataFrame]:
    ast = experiments.stored("ast_cv").oof
    forest = experiments.stored("forest_baselines").oof
    listener = experiments.stored("listener_pretraining").oof
    return {"AST (default)": ast,
            "listener (both)": listener[listener.config == "both"].drop(columns="config"),
            "forest (MIDI descriptors)": forest[forest.features == "midi"].drop(
                columns="features")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=stats.N_RESAMPLES)
    args = parser.parse_args()
    ds = dataset.load()
    y, music = ds.labels[list(DIMENSIONS)], ds.segments.music_group
    rows = []
    for name, oof in models().items():
        for kind in ("piece", "performer", "work"):
            part = oof[oof.kind == kind].drop(columns="kind")
            units = stats.units(ds.segments, kind)
            old = stats.cluster_bootstrap_ci(y, part, music, list(headline.METRICS),
                                             ds.segments.excerpt, args.n_boot)
            new = stats.cluster_bootstrap_ci(y, part, units, list(headline.METRICS),
                                             ds.segments.excerpt, args.n_boot)
            human = part[~headline.deadpan(ds.segments).reindex(part.index).to_numpy()]
            hum = stats.cluster_bootstrap_ci(y, human, units, list(headline.METRICS),
                                             ds.segments.excerpt, args.n_boot)
            for m in headline.METRICS:
                o, n, h = old.loc[m], new.loc[m], hum.loc[m]
                rows.append({"model": name, "split": kind, "metric": m,
                             "estimate": f"{n.estimate:.3f}",
                             "old interval (music groups)": f"[{o.ci_lo:+.3f}, {o.ci_hi:+.3f}]",
                             f"new interval ({stats.describe_units(units)})":
                                 f"[{n.ci_lo:+.3f}, {n.ci_hi:+.3f}]",
                             "width ratio": f"{(n.ci_hi - n.ci_lo) / (o.ci_hi - o.ci_lo):.2f}",
                             "human only": f"{h.estimate:.3f} [{h.ci_lo:+.3f}, {h.ci_hi:+.3f}]"})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        for _, part in table.groupby("split", sort=False):
            print(part.dropna(axis=1, how="all").to_string(index=False), "\n")


if __name__ == "__main__":
    main()
