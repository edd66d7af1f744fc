"""The experiment of the data chapter (``book/data.py``): the human noise ceiling per dimension."""

from __future__ import annotations

from percepiano.experiments.store import experiment


@experiment("data_ceiling", config=lambda s: {"n_splits": s.ceiling_splits,
                                              "icc_draws": s.icc_draws, "seed": 0})
def data_ceiling(cfg: dict) -> dict:
    """Noise ceiling per dimension: split-half reliability (Spearman-Brown) and ICC(1,k)."""
    from percepiano.data import dataset
    from percepiano.evaluation import ceiling

    res = ceiling.noise_ceiling(dataset.load(), n_splits=cfg["n_splits"], seed=cfg["seed"],
                                icc_draws=cfg["icc_draws"])
    return {"mean_r2": res["mean_ceiling_r2"], "mean_r": res["mean_ceiling_r"], **res}
