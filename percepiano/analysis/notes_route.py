"""The notes route's final model: the MIDI forest taught to read transcriptions.

A recording scored through its notes (``percepiano predict --via notes``) reaches the MIDI model
as transkun's transcription, with its onsets moved, its velocities compressed and its sustain
pedal half heard. The transcription chapter (``transcription_route``) measured that a MIDI
forest trained on true MIDI *and* on true MIDI passed through a transcription-error model
(``audio.transcription_errors``) reads transcriptions far better than one trained on true MIDI
alone. What that model is built from was frozen out of the chapter's stored results into a
file of the package (``FILE``, written by ``freeze``; ``scripts/freeze_notes_route.py``
regenerates it), so that the scorer never reads the results store and no transcription runs
when the model is built:

* ``error_model``: the error model fitted on every frozen (true, transcribed) pair of the
  chapter's FluidR3 renders (their notes and presses, to the millisecond);
* ``perturbed_rows``: the MIDI descriptors of performances passed once through an error model,
  each draw seeded by the segment's name;
* ``calibration``: the chapter's out-of-fold predictions of that recipe on the transcriptions,
  which the model's split-conformal intervals are calibrated on (a transcription carries more
  error than a development MIDI file, so the intervals widen).

``data`` everywhere is that file, read (``load``). The route names of the experiment are
defined here (``TRUE``, ``transcribed``, ``with_errors``, ``audio``).
"""

from __future__ import annotations

import functools
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


FILE = "notes_route.json.gz"  # in ``percepiano.data``: what the notes model is built from
FORMAT = 1  # bump when the frozen file's layout changes


class Frozen(NamedTuple):
    """The frozen file, read. ``transcriptions``: the chapter's FluidR3 transcriptions, each
    {"name": segment, "midi": {"notes": [[onset s, offset s, pitch, velocity], ...], "sustain":
    [[down s, up s], ...]}}, in the chapter's order; ``calibration``: its out-of-fold
    predictions of the error-model recipe on every transcription, one row per transcription
    indexed by segment name, columns the 19 dimensions (label scale), ``route`` and ``fold``;
    ``route``: that recipe's accuracy on FluidR3 transcriptions ({"r2", "pairwise",
    "segments"}); ``provenance``: where it was frozen from ({"experiment", "profile",
    "commit", "config_hash", ...}); ``digest``: 16 hex digits of the file's content."""

    transcriptions: list[dict]
    calibration: pd.DataFrame
    route: dict
    provenance: dict
    digest: str


def freeze(metrics: dict, oof: pd.DataFrame, provenance: dict, **more) -> bytes:
    """The frozen file (gzip-compressed JSON) from the chapter's stored results: ``metrics``
    (its ``metrics.json``), ``oof`` (its out-of-fold predictions: index the segment names,
    columns the 19 dimensions, ``route`` and ``fold``) and ``provenance`` (its
    ``provenance.json``); ``more``: other provenance to record (JSON-able). Equal inputs give
    equal bytes. Raises ValueError when the results hold no FluidR3 transcription or no
    accuracy of the error-model recipe."""
    import gzip
    import io

    from percepiano.data.dataset import DIMENSIONS

    rows = [{"name": r["name"], "midi": r["midi"]} for r in metrics["accuracy"]
            if r["version"] == VERSION]
    route = next((r for r in metrics["routes"] if r["route"] == with_errors(VERSION)), None)
    if not rows or route is None:
        raise ValueError(f"the {EXPERIMENT} results hold no {VERSION} transcriptions or no "
                         f"accuracy of {with_errors(VERSION)!r}")
    cal = oof[oof.route.isin({with_errors(r["version"]) for r in metrics["accuracy"]})]
    out = {"format": FORMAT, "version": VERSION,
           "provenance": {"experiment": EXPERIMENT, "profile": provenance["profile"],
                          "commit": provenance.get("commit"),
                          "config_hash": provenance.get("config_hash"),
                          "timestamp": provenance.get("timestamp"), **more},
           "route_accuracy": {"r2": route["pooled_r2"], "pairwise": route["pairwise"],
                              "segments": route["segments"]},
           "transcriptions": rows,
           "calibration": {"names": [str(n) for n in cal.index], "routes": list(cal.route),
                           "folds": [int(f) for f in cal.fold],
                           "columns": list(DIMENSIONS),
                           "pred": cal[list(DIMENSIONS)].to_numpy(np.float64).tolist()}}
    text = json.dumps(out, sort_keys=True, separators=(",", ":"), allow_nan=False)
    buf = io.BytesIO()  # no file name and no time in the header: equal content, equal bytes
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())
    return buf.getvalue()


def load(source: bytes | None = None) -> Frozen:
    """The frozen file read: the package's (``FILE``), or the bytes ``source`` (``freeze``'s).
    Raises FileNotFoundError, in one line, when the package lacks it, and ValueError when it
    was written in another ``FORMAT``."""
    import gzip

    if source is None:
        source = _package_file().read_bytes()
    raw = gzip.decompress(source)
    out = json.loads(raw)
    if out.get("format") != FORMAT:
        raise ValueError(f"{FILE}: format {out.get('format')}, expected {FORMAT} (regenerate "
                         "it with scripts/freeze_notes_route.py)")
    c = out["calibration"]
    cal = pd.DataFrame(c["pred"], index=pd.Index(c["names"], name="name"),
                       columns=c["columns"]).assign(route=c["routes"], fold=c["folds"])
    return Frozen(out["transcriptions"], cal, out["route_accuracy"], out["provenance"],
                  hashlib.sha256(raw).hexdigest()[:16])


def digest() -> str:
    """16 hex digits of the package's frozen file's content (what a notes model is built
    from: part of its cache key)."""
    import gzip

    return hashlib.sha256(gzip.decompress(_package_file().read_bytes())).hexdigest()[:16]


@functools.cache
def evidence() -> dict:
    """What the notes route's measured accuracy rests on: the package's frozen file's
    transcribed segments and the excerpts they come from ({"segments", "excerpts"}); the
    transcription chapter resamples those excerpts, too few for a test between routes."""
    from percepiano.data.dataset import parse_name

    names = [t["name"] for t in load().transcriptions]
    return {"segments": len(names),
            "excerpts": len({parse_name(n)["excerpt"] for n in names})}


def _package_file():
    from importlib import resources

    path = resources.files("percepiano.data").joinpath(FILE)
    if not path.is_file():
        raise FileNotFoundError(f"the package lacks percepiano/data/{FILE}, which the notes "
                                "model is built from: reinstall percepiano, or regenerate it "
                                "with scripts/freeze_notes_route.py")
    return path


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


def error_model(data: Frozen, ds, names=None):
    """``audio.transcription_errors.fit`` on every frozen FluidR3 transcription of ``data`` (of
    ``names`` only, when given) against the true MIDI of its segment in ``ds``. Raises
    ValueError when there is none."""
    from percepiano.audio import transcription_errors as TE
    from percepiano.evaluation.transcription import reference

    rows = [r for r in data.transcriptions if names is None or r["name"] in names]
    if not rows:
        raise ValueError(f"{FILE} holds no {VERSION} transcription of these segments")
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


def simulated_rows(data: Frozen, ds, names, columns: list[str], seed: int,
                   progress: bool) -> pd.DataFrame:
    """``perturbed_rows`` of ``names``' MIDI through the ``error_model`` of ``data``."""
    return perturbed_rows(ds.segments.midi_path.loc[names], error_model(data, ds), columns,
                          seed, progress)


def finish(model, data: Frozen, ds, other: dict, names, levels):
    """The built notes ``model`` (``analysis.final.FinalModel``) with its percentile reference
    replaced by its out-of-fold predictions on simulated transcriptions (``other``, from the
    cross-validation, for ``names``) and its intervals calibrated on the real ones of ``data``,
    their coverage at each of ``levels`` measured on each fold of those, calibrated on the
    others."""
    import dataclasses

    from percepiano.analysis.tail_conformal import coverage_by_method
    from percepiano.data.dataset import DIMENSIONS

    dims = list(DIMENSIONS)
    sim = pd.DataFrame(other[SIMULATED], index=other[f"{SIMULATED}:names"],
                       columns=dims).loc[names]
    cal = calibration(data, ds)
    coverage = coverage_by_method(cal.true, cal.pred, cal.folds, levels,
                                  seed=int(model.meta.get("seed", 0)))
    model = dataclasses.replace(model, oof_pred=sim.to_numpy(np.float64))
    model.meta["cross_validation"].update(**coverage, coverage_on=cal.why)
    model.meta.update(route_accuracy=cal.route, error_model=error_model(data, ds).to_dict(),
                      frozen_from={**data.provenance, "file": FILE, "digest": data.digest})
    return model.recalibrated(cal.true, cal.pred, cal.why, cal.folds)


class Calibration(NamedTuple):
    """What the notes model's intervals are calibrated on: labels and predictions (n, 19, label
    scale), the fold of each row, the rows in words, and the route's accuracy on FluidR3
    renders ({"r2", "pairwise", "segments"})."""

    true: np.ndarray
    pred: np.ndarray
    folds: np.ndarray
    why: str
    route: dict


def calibration(data: Frozen, ds) -> Calibration:
    """The frozen out-of-fold predictions of the error-model recipe on every transcription
    (each rendering of a segment is a row), with their labels from ``ds``."""
    from percepiano.data.dataset import DIMENSIONS

    dims = list(DIMENSIONS)
    oof = data.calibration
    why = (f"{len(oof)} transcriptions of {oof.index.nunique()} development segments "
           f"({EXPERIMENT}, {data.provenance['profile']} profile)")
    return Calibration(ds.labels.loc[oof.index, dims].to_numpy(np.float64),
                       oof[dims].to_numpy(np.float64), oof["fold"].to_numpy(), why,
                       dict(data.route))
