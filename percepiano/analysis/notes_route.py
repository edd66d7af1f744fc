"""The notes route's final model: the MIDI forest taught to read transcriptions.

A recording scored through its notes (``percepiano predict --via notes``) reaches the MIDI model
as transkun's transcription, with its onsets moved, its velocities compressed and its sustain
pedal half heard. The transcription chapter (``transcription_route``) measured that a MIDI
forest trained on true MIDI *and* on true MIDI passed through a transcription-error model
(``audio.transcription_errors``) reads transcriptions far better than one trained on true MIDI
alone. This module builds that model's inputs from the chapter's stored results, so that no
transcription runs when the model is built:

* ``error_model``: the error model fitted on every stored (true, transcribed) pair of the
  chapter's FluidR3 renders (its notes and presses are stored with the result, to the
  millisecond);
* ``perturbed_rows``: the MIDI descriptors of performances passed once through an error model,
  each draw seeded by the segment's name;
* ``calibration``: the chapter's out-of-fold predictions of that recipe on the transcriptions,
  which the model's split-conformal intervals are calibrated on (a transcription carries more
  error than a development MIDI file, so the intervals widen).

``res`` everywhere is those stored results (``experiments.load("transcription_route")``, the
full profile when current, else the quick one: ``cli.model.route_results``). The route names of
that experiment are defined here (``TRUE``, ``transcribed``, ``with_errors``, ``audio``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

EXPERIMENT = "transcription_route"
VERSION = "fluidr3"  # the render the error model is fitted on (every subset segment has it)
SIMULATED = "simulated transcription"  # the notes model's extra version of every segment
TRUE = "MIDI forest, true MIDI"


def transcribed(version: str) -> str:
    return f"MIDI forest, transcribed ({version})"


def with_errors(version: str) -> str:
    return f"MIDI forest + error model, transcribed ({version})"


def audio(version: str) -> str:
    return f"audio forest ({version})"


def digest(res) -> str:
    """Hash of what a notes model is built from in ``res``: its profile, the stored
    transcriptions and the out-of-fold predictions (16 hex digits)."""
    h = hashlib.sha256(res.profile.encode())
    h.update(json.dumps([[r["name"], r["version"], r["midi"]] for r in res["accuracy"]],
                        sort_keys=True).encode())
    h.update(pd.util.hash_pandas_object(res.oof, index=True).to_numpy().tobytes())
    return h.hexdigest()[:16]


def notes_json(pm) -> dict:
    """The transcription kept with the results: notes as [onset s, offset s, pitch, velocity]
    and sustain presses as [down s, up s], times to the millisecond."""
    from percepiano.audio.transcription_errors import sustain_intervals

    notes = sorted([round(n.start, 3), round(n.end, 3), n.pitch, n.velocity]
                   for i in pm.instruments for n in i.notes)
    return {"notes": notes, "sustain": np.round(sustain_intervals(pm), 3).tolist()}


def from_notes(stored_midi: dict):
    """The ``PrettyMIDI`` of a stored transcription: {"notes": [[onset s, offset s, pitch,
    velocity], ...], "sustain": [[down s, up s], ...]} (``notes_json``)."""
    import pretty_midi

    from percepiano.audio.transcription_errors import SUSTAIN

    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(int(v), int(p), float(a), float(b))
                  for a, b, p, v in stored_midi["notes"]]
    for a, b in stored_midi["sustain"]:
        inst.control_changes += [pretty_midi.ControlChange(SUSTAIN, 127, float(a)),
                                 pretty_midi.ControlChange(SUSTAIN, 0, float(b))]
    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(inst)
    return pm


def error_model(res, ds, names=None):
    """``audio.transcription_errors.fit`` on every stored FluidR3 transcription of ``res`` (of
    ``names`` only, when given) against the true MIDI of its segment in ``ds``. Raises
    ValueError when ``res`` holds none."""
    from percepiano.audio import transcription_errors as TE
    from percepiano.evaluation.transcription import reference

    rows = [r for r in res["accuracy"] if r["version"] == VERSION
            and (names is None or r["name"] in names)]
    if not rows:
        raise ValueError(f"{EXPERIMENT} ({res.profile}) stores no {VERSION} transcription")
    paths = ds.segments.midi_path
    return TE.fit([(reference(Path(paths[r["name"]]).read_bytes(), r["name"]),
                    from_notes(r["midi"])) for r in rows])


def perturbed_rows(paths: pd.Series, model, columns: list[str], seed: int,
                   progress: bool = False) -> pd.DataFrame:
    """Descriptor rows (one per entry of ``paths``, {name: MIDI path}) of each performance
    passed once through the error ``model``, the draw seeded by ``seed`` and the name;
    ``columns``: ``forest.feature_table``'s ``midi:`` names."""
    from tqdm.auto import tqdm

    from percepiano.audio.midi_take import read_take
    from percepiano.audio.transcription_errors import apply
    from percepiano.features.midi import performance_features

    out = {}
    for n, p in tqdm(paths.items(), total=len(paths), desc="simulating transcriptions",
                     unit="segment", disable=not progress):
        rng = np.random.default_rng([seed, int(hashlib.sha256(n.encode()).hexdigest()[:8], 16)])
        f = performance_features(apply(read_take(p).pm, model, rng), None)
        out[n] = [f.get(c.split(":", 1)[1], np.nan) for c in columns]
    return pd.DataFrame(out, index=columns).T


def simulated_rows(res, ds, names, columns: list[str], seed: int,
                   progress: bool) -> pd.DataFrame:
    """``perturbed_rows`` of ``names``' MIDI through the ``error_model`` of ``res``."""
    return perturbed_rows(ds.segments.midi_path.loc[names], error_model(res, ds), columns, seed,
                          progress)


def finish(model, res, ds, other: dict, names, levels):
    """The built notes ``model`` (``analysis.final.FinalModel``) with its percentile reference
    replaced by its out-of-fold predictions on simulated transcriptions (``other``, from the
    cross-validation, for ``names``) and its intervals calibrated on the stored real ones,
    their coverage at each of ``levels`` measured on each fold of those, calibrated on the
    others."""
    import dataclasses

    from percepiano.analysis.conformal import fold_coverage
    from percepiano.data.dataset import DIMENSIONS

    dims = list(DIMENSIONS)
    sim = pd.DataFrame(other[SIMULATED], index=other[f"{SIMULATED}:names"],
                       columns=dims).loc[names]
    cal = calibration(res, ds)
    coverage = {}
    for level in levels:
        c = fold_coverage(pd.DataFrame(cal.true, columns=dims),
                          pd.DataFrame(cal.pred, columns=dims), cal.folds, level)
        coverage[f"{level:g}"] = {"mean": float(c.mean()), "min": float(c.min()),
                                  "max": float(c.max())}
    model = dataclasses.replace(model, oof_pred=sim.to_numpy(np.float64))
    model.meta["cross_validation"].update(coverage=coverage, coverage_on=cal.why)
    model.meta.update(route_accuracy=cal.route, route_results=digest(res),
                      error_model=error_model(res, ds).to_dict())
    return model.recalibrated(cal.true, cal.pred, cal.why)


class Calibration(NamedTuple):
    """What the notes model's intervals are calibrated on: labels and predictions (n, 19, label
    scale), the fold of each row, the rows in words, and the route's accuracy on FluidR3
    renders ({"r2", "pairwise", "segments"})."""

    true: np.ndarray
    pred: np.ndarray
    folds: np.ndarray
    why: str
    route: dict


def calibration(res, ds) -> Calibration:
    """``res``'s out-of-fold predictions of the error-model recipe on every transcription (each
    rendering of a segment is a row)."""
    from percepiano.data.dataset import DIMENSIONS

    dims = list(DIMENSIONS)
    oof = res.oof[res.oof.route.isin({with_errors(r["version"]) for r in res["accuracy"]})]
    route = next(r for r in res["routes"] if r["route"] == with_errors(VERSION))
    why = (f"{len(oof)} transcriptions of {oof.index.nunique()} development segments "
           f"({EXPERIMENT}, {res.profile} profile)")
    return Calibration(ds.labels.loc[oof.index, dims].to_numpy(np.float64),
                       oof[dims].to_numpy(np.float64), oof["fold"].to_numpy(), why,
                       {"r2": route["pooled_r2"], "pairwise": route["pairwise"],
                        "segments": route["segments"]})
