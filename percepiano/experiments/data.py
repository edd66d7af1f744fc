"""The experiments of the data chapter (``book/data.py``): the human noise ceiling per dimension
and the identical recordings in the data.

Their headlines are ceilings, not a model's scores, and are named so: ``mean_ceiling_r2`` and
``mean_ceiling_r`` (the split-half ceiling, mean over dimensions) and ``retest_ceiling_r2`` and
``retest_ceiling_r`` (the ceiling the identical recordings' test-retest r implies)."""

from __future__ import annotations

from percepiano.experiments.store import experiment

CEILING = ("noise-ceiling R² and r: split-half reliability of the mean label (Spearman-Brown), "
           "and its square root, mean over the 19 dimensions")
RETEST = ("ceiling R² and r from identical recordings: the test-retest r of their mean labels "
          "(a ceiling R²) and its square root, mean over the 19 dimensions")


@experiment("data_ceiling", config=lambda s: {"n_splits": s.ceiling_splits,
                                              "icc_draws": s.icc_draws, "n_boot": s.n_boot,
                                              "seed": 0})
def data_ceiling(cfg: dict) -> dict:
    """Noise ceiling per dimension, split by raters: split-half reliability (Spearman-Brown),
    ICC(1,k) and the within-excerpt ceiling, with cluster-bootstrap intervals."""
    from percepiano.data import dataset
    from percepiano.evaluation import ceiling

    res = ceiling.noise_ceiling(dataset.load(), n_splits=cfg["n_splits"], seed=cfg["seed"],
                                icc_draws=cfg["icc_draws"], n_boot=cfg["n_boot"])
    return {"headline": {"keys": ["mean_ceiling_r2", "mean_ceiling_r"], "metric": CEILING},
            **res}


@experiment("data_duplicates", config=lambda s: {"threshold": 0.95})
def data_duplicates(cfg: dict) -> dict:
    """Identical recordings in the data, and the label noise they reveal (test-retest)."""
    import numpy as np

    from percepiano.data import dataset, duplicates

    full = dataset.load(part="all")  # where the duplicates are: the whole dataset
    ds = dataset.load()  # their labels: the development part only
    files = duplicates.identical_files(full.segments)
    pairs = duplicates.near_identical_pairs(full.segments, threshold=cfg["threshold"])
    dev = pairs[pairs.a.isin(ds.names) & pairs.b.isin(ds.names)]
    retest = duplicates.test_retest(ds.labels, dev)
    r = retest["r"]
    # two independent panels' means of the same sound correlate at the reliability of a label,
    # so the test-retest r is a ceiling R² and its square root a ceiling r, as in data_ceiling
    return {"retest_ceiling_r2": float(r.mean()),
            "retest_ceiling_r": float(np.sqrt(r.clip(lower=0)).mean()),
            "headline": {"keys": ["retest_ceiling_r2", "retest_ceiling_r"], "metric": RETEST},
            "identical_files": {"groups": int(files.group.nunique()),
                                "segments": int(len(files))},
            "near_identical_pairs": int(len(pairs)),
            "same_performer_pairs": int((full.segments.loc[pairs.a, "performer"].to_numpy()
                                         == full.segments.loc[pairs.b, "performer"].to_numpy()
                                         ).sum()),
            "test_retest": {"n_pairs": int(retest["n_pairs"]), "r": r, "mad": retest["mad"],
                            "sd": retest["sd"], "mean_retest_r": float(retest["mean_r"]),
                            "mean_mad": float(retest["mean_mad"])},
            "pairs": dev.to_dict(orient="records")}
