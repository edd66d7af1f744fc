"""The speed benchmark (``percepiano bench``, ``make bench``): how fast the AST trains here.

``bench``: for the default preset and ``tiny``, the compiled training step on on-device data,
the same model's step in PyTorch eager when PyTorch is installed, their ratio, achieved vs
matmul GFLOP/s, predicting one 30 s segment, peak memory; then one k-fold piece-split
cross-validation of the default on the real data (the profile's epochs, seed 0) in a fresh
process: its wall time, peak memory and scores. It measures the machine, so ``run --all`` (and
the book's re-run) leaves it out; its results carry the machine in ``metrics.json``.

The segments the cross-validation reads are rendered and their spectrograms computed here,
before it starts: its process is a pool's worker, which may not start worker processes of its
own, so it only reads them back from the cache (and its loading time never includes rendering).
"""

from __future__ import annotations

from percepiano.experiments.store import experiment

STEPS = {"smoke": 3, "quick": 20, "full": 50}  # timed steps per epoch


def _config(s) -> dict:
    from percepiano.models import ast
    from percepiano.training import steps

    return {"presets": [ast.DEFAULT_PRESET, "tiny"],
            "batch": steps.TrainConfig.for_profile(s.profile).batch_size,
            "steps": STEPS[s.profile], "repeats": 3,
            "cv": {"preset": ast.DEFAULT_PRESET, "split": "piece", "k": s.folds, "seed": 0,
                   "max_segments": s.max_segments}}


@experiment("bench", config=_config, benchmark=True, atol=float("inf"))
def bench(cfg: dict) -> dict:
    """Training step and cross-validation speed of the AST on this machine."""
    from percepiano.evaluation.cross_validation import FOLD_MEAN
    from percepiano.training import bench as b

    prepare_inputs(cfg["cv"]["max_segments"])  # first: a missing soundfont fails in one line
    presets = {name: b.bench(name, batch_size=cfg["batch"], steps=cfg["steps"],
                             repeats=cfg["repeats"]) for name in cfg["presets"]}
    cv = b.cv_benchmark(**cfg["cv"])
    return {"fold_mean_r2": cv["fold_mean_r2"], "fold_mean_r": cv["fold_mean_r"],
            "headline": {"keys": ["fold_mean_r2", "fold_mean_r"], "kind": "piece",
                         "metric": f"{FOLD_MEAN}; one cross-validation of the default, seed 0"},
            "machine": b.machine(), "presets": presets, "cv": cv}


def prepare_inputs(max_segments: int | None = None, data=None) -> dict:
    """Render and compute, in this process, the log-mel spectrograms that the cross-validation
    of ``training.bench.cv_benchmark`` reads: those of the development part of ``data`` (default
    ``$PERCEPIANO_DATA``, else ``data/PercePiano``) cut to ``max_segments`` as it cuts it.
    Returns {name: cached float16 ``.npy`` of (n_mels, frames)}; with these in the cache its
    worker starts no processes.

    Raises ``UserError`` when the data or the soundfont is missing, and ``DataError`` when a
    segment cannot be rendered (the worker would try it again, in processes it may not start).
    """
    from percepiano.audio import spectrogram
    from percepiano.data import dataset
    from percepiano.errors import DataError

    ds = dataset.subset(dataset.load(data), max_segments)
    paths = spectrogram.spectrogram_paths(ds)
    missing = sorted(set(ds.names) - set(paths))
    if missing:
        raise DataError(f"{len(missing)} segment(s) could not be rendered (e.g. {missing[0]}); "
                        "check the data with `percepiano data verify`")
    return paths
