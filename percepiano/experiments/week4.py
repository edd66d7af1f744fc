"""The experiments of the week-4 chapter (``book/week4.py``): how the book's systems hold up
when the scored input is worse than what they learned from.

* ``week4_robustness``: the piece split's first ``test_folds`` folds. For each, the final
  models' recipes are fitted on the other folds' clean inputs (``analysis.final``: the audio
  forest on every training version of the sound, the MIDI forest on the MIDI), then score the
  fold's segments with each perturbation of ``audio.perturb`` at each level, one at a time:
  the audio forest under noise, reverb, gain, tempo and a telephone band on the FluidR3
  rendering, and on a rendering with a piano no model trained on; the MIDI forest under
  velocity scaling and timing jitter. Every level, the identity too, goes through the same
  path (perturb, condition, describe), so a curve starts from the clean score. Stored: the
  predictions (``oof``, with ``system``, ``perturbation``, ``level``) and per system,
  perturbation and level the pooled R² and within-excerpt pairwise accuracy.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pandas as pd

from percepiano.experiments.store import experiment

SR = 16000  # the audio model's rate (``analysis.scoring.SR``)
SYSTEMS = {"audio forest": "audio", "MIDI forest": "midi"}


def _robustness_config(s) -> dict:
    from percepiano.analysis import final
    from percepiano.audio import perturb
    from percepiano.models import forest

    small = s.profile == "smoke"
    levels = {k: list(v) for k, v in perturb.LEVELS.items()}
    if small:  # the identity and the harshest level
        levels = {k: [v[0], v[-1]] for k, v in levels.items()}
    return {"profile": s.profile, "max_segments": s.max_segments, "split": final.SPLIT,
            "folds": final.K, "seed": final.SEED,
            "test_folds": [0] if s.profile != "full" else list(range(final.K)),
            "max_test": 12 if small else None,  # smoke: a dozen scored segments
            "levels": {k: [float(x) for x in v] for k, v in levels.items()},
            "piano": perturb.UNSEEN_PIANO, "sr": SR, "format": final.FORMAT,
            "forest": {k: v for k, v in forest.preset(s.profile).__dict__.items()
                       if k != "candidates"}}


@experiment("week4_robustness", config=_robustness_config)
def week4_robustness(cfg: dict) -> dict:
    """The final models' recipes scored on perturbed test inputs, one perturbation at a time."""
    from percepiano.analysis.final import descriptor_columns, training_rows
    from percepiano.audio import perturb
    from percepiano.data import dataset
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.data.splits import make_folds
    from percepiano.models import forest

    start = time.perf_counter()
    ds = dataset.subset(dataset.load(), cfg["max_segments"])
    folds = make_folds(ds.segments.loc[ds.names], cfg["split"], cfg["folds"], cfg["seed"])
    fcfg = forest.variant(forest.ForestConfig(**cfg["forest"]), {})
    dims = list(DIMENSIONS)
    rows, timing = [], {}
    for system, kind in SYSTEMS.items():
        columns = descriptor_columns(kind)
        X, extra = training_rows(ds, kind, columns, progress=False)
        for fold in cfg["test_folds"]:
            test = list(folds.index[folds == fold])[:cfg["max_test"]]
            fit = [n for n in X.index if folds[n] != fold]
            parts = [X.loc[fit]] + [t.loc[t.index.intersection(fit)] for t in extra.values()]
            model = forest.make_model("rf", fcfg, cfg["seed"]).fit(
                np.vstack([p.to_numpy() for p in parts]),
                np.vstack([ds.labels.loc[p.index, dims].to_numpy() for p in parts]))
            names = perturb.AUDIO if kind == "audio" else perturb.MIDI
            for name in names + (("piano",) if kind == "audio" else ()):
                clock = time.perf_counter()
                for level in ([1.0] if name == "piano" else cfg["levels"][name]):
                    R = perturbed_rows(ds, test, kind, name, level, cfg)
                    p = np.clip(model.predict(R[columns].to_numpy()), 0, 1)
                    rows.append(pd.DataFrame(p, index=R.index, columns=dims).assign(
                        system=system, perturbation=name, level=level, fold=fold))
                timing[f"{system}: {name}"] = (timing.get(f"{system}: {name}", 0.0)
                                               + time.perf_counter() - clock)
    oof = pd.concat(rows).rename_axis("name").round(4)
    table = _table(oof, ds)
    audio = table[table.system == "audio forest"]
    clean = audio[(audio.perturbation == "gain") & (audio.level == 0.0)].iloc[0]
    worst = audio.sort_values("pooled_r2").iloc[0]
    return {"clean_r2": float(clean.pooled_r2), "worst_r2": float(worst.pooled_r2),
            "worst": {"perturbation": str(worst.perturbation), "level": float(worst.level)},
            "table": table.to_dict("records"), "fit_s": timing,
            "wall_s": time.perf_counter() - start,
            "headline": {"keys": ["clean_r2", "worst_r2"], "kind": cfg["split"],
                         "metric": "pooled R² of the audio forest on its scored fold, clean "
                                   "and under the perturbation level that harms it most"},
            "oof": oof}


def perturbed_rows(ds, names, kind: str, name: str, level: float, cfg: dict) -> pd.DataFrame:
    """Descriptor rows (``forest.feature_table`` names) of ``names`` with perturbation ``name``
    at ``level``: audio, from the cached FluidR3 rendering (or, for ``piano``, the rendering
    with ``cfg["piano"]``), perturbed then conditioned and described as ``predict`` reads a
    recording; MIDI, the performance's file perturbed then described (without its score)."""
    from percepiano.audio import render
    from percepiano.features.cache import parallel_map
    from percepiano.features.midi import MIDI_FEATURES
    from percepiano.features.takes import TAKE_FEATURES

    seeds = {n: int(hashlib.sha256(f"{name}|{n}".encode()).hexdigest()[:8], 16) for n in names}
    if kind == "midi":  # the package's worker pool (``render.mp_context``), as every cache
        paths = ds.segments.midi_path.loc[list(names)]
        out = parallel_map(_midi_job, [(str(paths[n]), name, level, seeds[n]) for n in names],
                           progress=False)
        return pd.DataFrame(out, index=list(names), columns=[f"midi:{c}" for c in MIDI_FEATURES])
    soundfont = cfg["piano"] if name == "piano" else "fluidr3"
    paths = render.render_dataset(ds, soundfont=soundfont, sr=cfg["sr"], progress=False,
                                  names=list(names))
    kept = [n for n in names if n in paths]
    out = parallel_map(_audio_job, [(str(paths[n]), name, level, seeds[n], cfg["sr"])
                                    for n in kept], progress=False)
    return pd.DataFrame(out, index=kept, columns=[f"audio:{c}" for c in TAKE_FEATURES])


def _audio_job(task: tuple) -> np.ndarray:
    """Descriptors of one rendering, perturbed: ``task`` = (path, perturbation, level, seed,
    sample rate)."""
    from percepiano.audio import perturb, render
    from percepiano.features.takes import take_features

    path, name, level, seed, sr = task
    y = render.load_audio(path)
    if name != "piano":
        y = perturb.apply(name, y, level, seed, sr=sr)
    return take_features(y, sr)


def _midi_job(task: tuple) -> list[float]:
    """Descriptors of one performance, perturbed: ``task`` = (MIDI path, perturbation, level,
    seed)."""
    import warnings

    import pretty_midi

    from percepiano.audio import perturb
    from percepiano.features.midi import MIDI_FEATURES, performance_features

    path, name, level, seed = task
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = pretty_midi.PrettyMIDI(path)
    f = performance_features(perturb.apply(name, pm, level, seed), None)
    return [f.get(c, np.nan) for c in MIDI_FEATURES]


def _table(oof: pd.DataFrame, ds) -> pd.DataFrame:
    """Per system, perturbation and level: pooled R² and within-excerpt pairwise accuracy over
    the scored segments."""
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.evaluation.metrics import r2, within_excerpt

    dims, out = list(DIMENSIONS), []
    for (system, name, level), part in oof.groupby(["system", "perturbation", "level"],
                                                   sort=False):
        y, p = ds.labels.loc[part.index, dims].to_numpy(), part[dims].to_numpy()
        pw = within_excerpt(y, p, ds.segments.excerpt.loc[part.index])["pairwise"]
        out.append({"system": system, "perturbation": name, "level": float(level),
                    "segments": len(part), "pooled_r2": float(r2(y, p).mean()),
                    "pairwise": float(np.nanmean(pw))})
    return pd.DataFrame(out)
