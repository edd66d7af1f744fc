"""`percepiano model build|info`: the final models `percepiano predict` scores with.

A model is built once, on first use, and cached under ``<cache>/final/<kind>-<key>/``; the key
hashes the code it is built by (every module in its import closure, the forest presets
included), the data manifest and the locked final-exam list, the profile, the storage format
and, for the notes model, the content of what the package froze of the transcription chapter
(``analysis.notes_route.FILE``), so a change to any of them builds a new model instead of
reusing a stale one. Nothing here reads the experiments' stored results.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path

from percepiano.cli.common import add_data_option, emit
from percepiano.errors import UserError

KIND_CHOICES = ("midi", "audio", "notes", "all")


def register(sub) -> None:
    p = sub.add_parser(
        "model", help="build or describe the final models that `predict` uses",
        description="The final models: a random forest on MIDI descriptors for MIDI input, one "
                    "on audio descriptors for audio scored from its sound, and one on MIDI "
                    "descriptors taught to read transcriptions for audio scored through its "
                    "notes; each trained on every development segment (never the locked final "
                    "exam) after a piece-split cross-validation that gives its accuracy and "
                    "calibrates the prediction intervals. `predict` builds a missing model "
                    "itself; `build` does it ahead.")
    msub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = msub.add_parser("build", help="build the final models (once; cached)",
                        description="Build the final models and cache them. Building the audio "
                                    "model the first time renders every development segment "
                                    "with FluidSynth (minutes); the notes model learns from "
                                    "the transcription chapter's transcriptions and "
                                    "predictions, frozen into the package, so nothing is "
                                    "transcribed and no stored results are read.")
    b.add_argument("--kind", choices=KIND_CHOICES, default="all",
                   help="which model (default: all)")
    b.add_argument("--force", action="store_true", help="rebuild even when one is cached")
    add_data_option(b)
    b.add_argument("--json", action="store_true", help="machine-readable description")
    b.set_defaults(func=_build)
    i = msub.add_parser("info", help="what a final model is, what it was trained on, and its "
                                     "cross-validated accuracy with 95 %% CIs",
                        description="Describe the cached final models (build them first).")
    i.add_argument("--kind", choices=KIND_CHOICES, default="all",
                   help="which model (default: all)")
    i.add_argument("--json", action="store_true", help="machine-readable description")
    i.set_defaults(func=_info)


def model_key(kind: str) -> str:
    """Hash of everything the model of ``kind`` is built from (see the module docstring; for
    ``notes``, also the content of the package's frozen transcription-chapter file,
    ``analysis.notes_route.FILE``), 16 hex digits."""
    from percepiano import config
    from percepiano.analysis import final

    data = resources.files("percepiano.data")
    parts = {"kind": kind, "format": final.FORMAT, "code": _code_hash(final.build),
             "manifest": hashlib.sha256(data.joinpath("manifest.sha256").read_bytes()).hexdigest(),
             "exam": hashlib.sha256(data.joinpath("final_exam.txt").read_bytes()).hexdigest(),
             "profile": config.profile()}  # the profile's forest settings are in the code
    if kind == "notes":  # the transcriptions and predictions it is fitted and calibrated on
        from percepiano.analysis import notes_route

        parts["route"] = notes_route.digest()
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _code_hash(func) -> str:
    """``codehash.of_function(func)[0]``, remembered under the cache folder for the exact state
    of the package's files (path, size, modification time of each): hashing reads and parses
    every module, a second of a command that scores one file."""
    from percepiano import codehash, config

    files = sorted(codehash.PACKAGE.rglob("*.py"))
    state = hashlib.sha256(json.dumps(
        [(str(f), (st := f.stat()).st_size, st.st_mtime_ns) for f in files]).encode()).hexdigest()
    memo = config.cache_dir() / "final" / "code-hashes" / f"{func.__module__}.{func.__name__}"
    path = memo / f"{state[:32]}.txt"
    if path.is_file():
        return path.read_text().strip()
    value = codehash.of_function(func)[0]
    from percepiano.io import skip, store

    try:
        for old in memo.glob("*.txt"):  # one state at a time
            old.unlink(missing_ok=True)
    except OSError as e:  # a read-only cache: hashed again next time
        skip(config.cache_dir(), e)
        return value
    store(path, lambda tmp: tmp.write_text(value), config.cache_dir())
    return value


def model_dir(kind: str) -> Path:
    """Where the model of ``kind`` is cached: ``<cache>/final/<kind>-<model_key>``."""
    from percepiano import config

    return config.cache_dir() / "final" / f"{kind}-{model_key(kind)}"


def ensure(kind: str, data=None, force: bool = False, progress: bool = True):
    """The cached final model of ``kind`` (``analysis.final.FinalModel``), built (with
    progress on stderr) when missing or when ``force``; ``data``: the PercePiano folder
    (default: ``dataset.locate``). Raises ``DataError`` when the data cannot be read."""
    from percepiano.analysis import final

    folder = model_dir(kind)
    if not force and (folder / "meta.json").is_file():
        return final.FinalModel.load(folder)
    check_buildable(kind)
    from percepiano.data import dataset

    print(f"building the {kind} model (once; cached in {folder})", file=sys.stderr)
    ds = dataset.load(data)
    model = final.build(ds, kind, progress=progress)
    model.meta["id"] = folder.name
    try:
        model.save(folder)
    except OSError as e:  # the cache filled up or turned read-only while building: used anyway
        from percepiano import config
        from percepiano.io import skip

        skip(config.cache_dir(), e)
    return model


def check_buildable(kind: str) -> None:
    """``UserError`` when the model of ``kind`` is not in the cache and the cache cannot be
    written: building it stores renders and descriptors there (checked before any work)."""
    from percepiano import config
    from percepiano.io import folder_problem

    problem = folder_problem(config.cache_dir())
    if problem and not (model_dir(kind) / "meta.json").is_file():
        raise UserError(f"the {kind} model is not built yet and the cache cannot hold it "
                        f"({problem}); set PERCEPIANO_CACHE to a writable folder")


def kinds(choice: str) -> tuple[str, ...]:
    return ("midi", "audio", "notes") if choice == "all" else (choice,)


def describe(model) -> str:
    """Several lines: what the model is, its data, its cross-validated accuracy."""
    from percepiano.analysis import final

    m = model.meta
    cv = m["cross_validation"]
    acc = cv["accuracy"]
    names = {"mean_r2": "R²", "mean_r": "Pearson r", "mean_within_rho":
             "within-excerpt Spearman", "mean_pairwise": "within-excerpt pairwise accuracy"}
    t = m["trained_on"]
    lines = [f"{model.kind} model ({m['id']})",
             f"  what:       {m['description']}; {m['n_descriptors']} descriptors, "
             f"{m['forest']['n_estimators']} trees",
             f"  trained on: {t['segments']} segments of {t['excerpts']} excerpts, "
             f"{t['pieces']} pieces ({t['part']})",
             f"  accuracy:   {cv['k']}-fold {cv['split']}-split cross-validation (music never "
             f"seen in training), 95 % cluster-bootstrap CIs over music groups"
             + ("; on the true MIDI first, then through transcriptions"
                if "route_accuracy" in m else "")]
    for key, name in names.items():
        a = acc[key]
        lines.append(f"    {name:<34} {a['estimate']:.3f}  [{a['ci_lo']:.3f}, {a['ci_hi']:.3f}]")
    others = {"timgm6mb": "R² on the other piano (TimGM6mb)", "room": "R² in simulated rooms",
              final.SIMULATED: "R² on simulated transcriptions"}
    for version, name in others.items():
        if (a := acc.get(f"mean_r2_on_{version}")) is not None:
            lines.append(f"    {name:<34} {a['estimate']:.3f}  [{a['ci_lo']:.3f}, "
                         f"{a['ci_hi']:.3f}]")
    if (a := m.get("route_accuracy")) is not None:
        from percepiano.analysis import notes_route

        e = notes_route.evidence()
        lines.append(f"    {'pairwise on real transcriptions':<34} {a['pairwise']:.3f}  "
                     f"(R² {a['r2']:.3f}; transcription chapter, {e['segments']} segments of "
                     f"only {e['excerpts']} excerpts, too few for a test)")
    if (f := m.get("frozen_from")) is not None:
        lines.append(f"  learned from: {f['experiment']} ({f['profile']} profile, commit "
                     f"{str(f['commit'])[:10]}), frozen into the package as {f['file']}")
    if m.get("augmented_with"):
        lines.append(f"  also learned from: {', '.join(m['augmented_with'])} versions of "
                     "every training segment")
    on = (f"calibrated on {m['calibrated_on']}" if m.get("calibrated_on") else
          "from the out-of-fold predictions")
    lines.append(f"  intervals:  split conformal {on}, centred away from the mean and scaled by "
                 "a difficulty forest; coverage on each held-out fold, calibrated on the "
                 "others (marginal: over all ratings; outer: ratings in the outer tenths of "
                 "their dimension; width: of the middle ratings' intervals, points):")
    for key, name in (("coverage", "these"), ("coverage_marginal", "one width")):
        for level, c in cv.get(key, {}).items():
            lines.append(f"    {name:<9} nominal {float(level):.0%}: marginal {c['mean']:.3f} "
                         f"({c['min']:.3f} to {c['max']:.3f} by dimension)"
                         + (f", outer {c['outer']:.3f}, middle {c['middle']:.3f}, width "
                            f"{c['width'] * final.SCALE_MAX:.2f}" if "outer" in c else ""))
    lines.append(f"  built:      {m['built']} in {m['build_s']:.0f} s")
    return "\n".join(lines)


def _build(args) -> int:
    models = [ensure(k, args.data, force=args.force) for k in kinds(args.kind)]
    emit([m.meta for m in models], args.json, "\n\n".join(describe(m) for m in models))
    return 0


def _info(args) -> int:
    from percepiano.analysis import final

    models = []
    for k in kinds(args.kind):
        folder = model_dir(k)
        if not (folder / "meta.json").is_file():
            raise UserError(f"the {k} model is not built yet (run `percepiano model build "
                            f"--kind {k}`, or `percepiano predict` on a file)")
        models.append(final.FinalModel.load(folder))
    emit([m.meta for m in models], args.json, "\n\n".join(describe(m) for m in models))
    return 0
