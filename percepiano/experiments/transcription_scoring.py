"""The scoring half of ``transcription_route``: the final models' recipes, fitted fold by fold,
applied to the true MIDI, to transcriptions and to the audio of the transcribed subset.

Every route is scored on the same segments with the same folds (``analysis.final``'s piece
split), and every file is read as ``percepiano predict`` reads it (``analysis.scoring.read_take``):
the true MIDI file, the transcribed MIDI, the render's audio descriptors (``features.takes``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from percepiano.analysis.notes_route import (  # the route names, shared with the final model
    TRUE,
    audio,
    notes_json,
    transcribed,
    with_errors,
)

__all__ = ["TRUE", "audio", "durations", "notes_json", "per_dimension", "read_midi",
           "score_routes", "summarise", "transcribed", "with_errors"]


def durations(ds) -> pd.Series:
    """Seconds from the start of each segment's MIDI file to its last event (``pretty_midi``)."""
    return pd.Series({n: read_midi(p).get_end_time() for n, p in ds.segments.midi_path.items()},
                     name="seconds")


def read_midi(path):
    """A MIDI file as ``pretty_midi.PrettyMIDI``, its tempo warnings silenced."""
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pretty_midi.PrettyMIDI(str(path))


def _rows(paths: dict, columns: list[str]) -> pd.DataFrame:
    """Descriptor rows of {key: MIDI path} as ``predict`` reads them (the mean of its spans)."""
    from percepiano.analysis.scoring import read_take

    return pd.DataFrame({k: read_take(p, columns).rows.mean(axis=0) for k, p in paths.items()},
                        index=columns).T


def score_routes(ds, names: list[str], part: list[str], paths: dict, cfg: dict) -> dict:
    """Predictions of every route for the subset, fold by fold, and their summaries.

    ``paths``: {(name, version): transcribed MIDI path}. Returns {"routes": one row per route
    (pooled R², r and within-excerpt pairwise accuracy on its segments), "per_dimension": R²
    per route and dimension, "error_models": the error model fitted for each fold, "oof":
    predictions (columns: the 19 dimensions, route, fold)}."""
    from tqdm.auto import tqdm

    from percepiano.analysis import final
    from percepiano.analysis.notes_route import perturbed_rows
    from percepiano.audio import transcription_errors as TE
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.data.splits import make_folds
    from percepiano.evaluation import transcription as acc
    from percepiano.models import forest

    dims, seed = list(DIMENSIONS), cfg["seed"]
    fcfg = forest.variant(forest.preset(cfg["profile"]), {})
    folds = make_folds(ds.segments, cfg["split"], cfg["k"], seed)
    midi_cols, audio_cols = final.descriptor_columns("midi"), final.descriptor_columns("audio")
    X = _rows(dict(ds.segments.midi_path), midi_cols)  # every segment, read as predict reads
    Y = ds.labels.loc[X.index, dims]
    T = {k: r for k, r in _rows(paths, midi_cols).iterrows()}
    A, extra = final.training_rows(ds, "audio", audio_cols, progress=False)
    out, models = [], []
    for f in tqdm(sorted(set(folds[names])), desc="scoring routes", unit="fold"):
        test = [n for n in names if folds[n] == f]
        train = list(folds.index[folds != f])
        rf = forest.make_model("rf", fcfg, seed).fit(X.loc[train].to_numpy(),
                                                      Y.loc[train].to_numpy())

        def put(route, keys, pred, f=f):
            out.append(pd.DataFrame(pred, index=keys, columns=dims).assign(route=route,
                                                                           fold=f))
        put(TRUE, test, rf.predict(X.loc[test].to_numpy()))
        for v in cfg["versions"]:
            keys = [n for n in test if (n, v) in paths]
            if keys:
                put(transcribed(v), keys, rf.predict(np.vstack([T[(n, v)] for n in keys])))
        other: dict = {}
        fp = final.versions_predictor(A, extra, ds.labels.loc[A.index, dims], fcfg, seed, other)
        put(audio("fluidr3"), test, fp(train, [], test))
        for v in extra:
            keep = [n for n in other[f"{v}:names"] if n in part]
            idx = [other[f"{v}:names"].index(n) for n in keep]
            if keep:
                put(audio(v), keep, other[v][idx])
        fit_on = [n for n in names if folds[n] != f]
        if fit_on:  # the error model never sees the fold it is scored on
            model = TE.fit([(acc.reference(Path(ds.segments.midi_path[n]).read_bytes(), n),
                             read_midi(paths[(n, "fluidr3")])) for n in fit_on])
            models.append({"fold": int(f), "fitted_on": len(fit_on), **model.to_dict()})
            noisy = perturbed_rows(ds.segments.midi_path.loc[train], model, midi_cols, seed)
            rf2 = forest.make_model("rf", fcfg, seed).fit(
                np.vstack([X.loc[train].to_numpy(), noisy.loc[train].to_numpy()]),
                np.vstack([Y.loc[train].to_numpy()] * 2))
            for v in cfg["versions"]:
                keys = [n for n in test if (n, v) in paths]
                if keys:
                    put(with_errors(v), keys, rf2.predict(np.vstack([T[(n, v)] for n in keys])))
    oof = pd.concat(out)
    return {"routes": summarise(oof, ds), "per_dimension": per_dimension(oof, ds),
            "error_models": models, "oof": oof}


def summarise(oof: pd.DataFrame, ds) -> list[dict]:
    """Per route: segments, pooled R² and r (mean over dimensions) and within-excerpt pairwise
    accuracy on the route's segments."""
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.evaluation.metrics import pearson, r2, within_excerpt

    dims, rows = list(DIMENSIONS), []
    for route, part in oof.groupby("route", sort=False):
        y = ds.labels.loc[part.index, dims].to_numpy()
        p = part[dims].to_numpy()
        pw = within_excerpt(y, p, ds.segments.excerpt.loc[part.index])["pairwise"]
        rows.append({"route": route, "segments": len(part), "pooled_r2": float(r2(y, p).mean()),
                     "pooled_r": float(np.nanmean(pearson(y, p))),
                     "pairwise": float(np.nanmean(pw))})
    return rows


def per_dimension(oof: pd.DataFrame, ds) -> list[dict]:
    """R² per route and dimension on the route's segments."""
    from percepiano.data.dataset import DIMENSIONS
    from percepiano.evaluation.metrics import r2

    dims, rows = list(DIMENSIONS), []
    for route, part in oof.groupby("route", sort=False):
        vals = r2(ds.labels.loc[part.index, dims].to_numpy(), part[dims].to_numpy())
        rows += [{"route": route, "dimension": d, "r2": float(v)}
                 for d, v in zip(dims, vals, strict=True)]
    return rows
