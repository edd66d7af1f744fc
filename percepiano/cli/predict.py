"""`percepiano predict`: the 19-dimension profile of performances (MIDI or audio files, or
folders of them), on the raters' 1-7 scale with intervals and percentiles."""

from __future__ import annotations

import sys
from pathlib import Path

from percepiano.cli.common import add_data_option, emit
from percepiano.cli.takes import (
    EXIT_STATUS,
    NOT_WRITTEN,
    OK,
    SOME_REFUSED,
    add_take_inputs,
    cache_notes,
    check_level,
    check_output,
    expand,
    read_takes,
)
from percepiano.errors import UserError


def _evidence() -> str:
    """What the default audio route rests on, for --help: the transcription chapter's
    measurement, on how much music."""
    try:
        from percepiano.analysis import notes_route

        e = notes_route.evidence()
    except (OSError, ValueError):  # the frozen file missing or of another format
        return "the route the transcription chapter measured ahead of the sound route"
    return (f"the route the transcription chapter measured ahead of the sound route on "
            f"{e['segments']} segments of only {e['excerpts']} excerpts, too little music "
            "for a test")


def register(sub) -> None:
    p = sub.add_parser(
        "predict", help="the 19-dimension profile of MIDI or audio performances",
        description="Score performances on the 19 perceptual dimensions of PercePiano, each on "
                    "the raters' 1-7 scale between its two poles, with a prediction interval "
                    "(split conformal; its level is an average over performances, and the "
                    "interval is stretched away from the mean and scaled by how hard the take "
                    "looks, so that at 80 % it covers about 70 % of the unusual ratings, those "
                    "in the outer tenths of a dimension, where one width covers about half) "
                    "and its percentile among what the model predicts, out of fold, for the "
                    "PercePiano development performances. "
                    "A MIDI file is scored from its notes and pedalling (tempo from every "
                    "track, timed from the first note). An audio file (WAV, FLAC, OGG, MP3) has "
                    "its DC offset removed, the silence or noise around the music cut and its "
                    "loudness brought to -23 LUFS, so that the level it was recorded at does "
                    "not count; then, by default, it is transcribed to notes by transkun and "
                    "scored by a MIDI model that also learned from simulated transcription "
                    f"errors (several times the length of the audio on a CPU; {_evidence()}), "
                    "or with --via sound from descriptors of its sound (seconds). Before "
                    "transcription a piano tuned away from A = 440 Hz is retuned; a sound "
                    "the transcriber cannot read (notes that swell, as a violin's, or a "
                    "transcription that misses many of the onsets heard) is refused with the "
                    "reason, and one whose transcription holds more notes per onset heard "
                    "than any piano measured (an organ, two takes at once) is scored with a "
                    "note and wider intervals. Pauses of more than 5 s split a take into "
                    "passages scored apart; a passage over 2 minutes is scored once per "
                    "repetition when it plays the same music again and again, else in "
                    "windows of about 30 s cut where the music pauses; the spans are "
                    "summarised by their mean. What was cut, and doubts about a recording "
                    "(low sample rate or bit rate, 8-bit samples, clipping, a telephone band), "
                    "are printed as notes on either route. The final models are built on first "
                    "use and cached (see `percepiano model`; the audio model takes about 15 "
                    "minutes on 2 cores the first time); a cache that cannot be written is "
                    "read, and a note says nothing new was kept. A folder scores what it can: "
                    "each file refused is named on its own line and the others are scored. "
                    f"{EXIT_STATUS}.")
    add_take_inputs(p)
    p.add_argument("--csv", type=Path, metavar="OUT.csv",
                   help="also write one row per file: score, interval and percentile per "
                        "dimension (column percentile_of says what the percentiles rank "
                        "against; column notes holds the notes, separated by ' | ')")
    p.add_argument("--plot", type=Path, metavar="OUT.png",
                   help="draw the profile over the development performances' out-of-fold "
                        "predictions, which percentiles rank against (several files: "
                        "OUT-<file>.png each)")
    p.add_argument("--via", choices=("sound", "notes"), default=None,
                   help="how an audio file is scored: 'sound' (the audio model, on descriptors "
                        "of the sound) or 'notes' (transcribed to notes by transkun, then "
                        "scored by a MIDI model that also learned from MIDI with simulated "
                        "transcription errors, intervals calibrated on transcriptions; "
                        "needs pip install -e '.[transcribe]' and takes several times the "
                        "length of the audio on a CPU); default: notes, "
                        f"{_evidence()}. MIDI files are always scored from their notes")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--checkpoint", type=Path, default=None, metavar="RUN_DIR",
                   help="score with an AST trained by `percepiano train` instead of the final "
                        "models (no intervals or percentiles)")
    add_data_option(p)
    p.set_defaults(func=_predict)


def plot_paths(plot: Path, files: list[Path]) -> list[Path]:
    """Where ``--plot`` draws each file's profile: the path itself for one file; else one PNG
    per file named after it (numbered when two files share a name)."""
    if len(files) == 1:
        return [plot]
    stems = [f.stem for f in files]
    if len(set(stems)) < len(stems):
        stems = [f"{i + 1:02d}-{s}" for i, s in enumerate(stems)]
    return [plot.with_name(f"{plot.stem}-{s}{plot.suffix}") for s in stems]


def _check_outputs(args) -> None:
    check_level(args.level)
    check_output("--csv", args.csv, ".csv")
    check_output("--plot", args.plot, ".png")


def _predict(args) -> int:
    files = expand(args.inputs)
    _check_outputs(args)
    if args.checkpoint is not None:
        return _predict_checkpoint(args, files)
    from percepiano.analysis import scoring
    from percepiano.cli import model as model_cli

    takes, refused = read_takes(files, args.via)
    models = {k: model_cli.ensure(k, args.data) for k in sorted({t.kind for t in takes})}
    profiles = [scoring.score(t, models[t.kind], args.level) for t in takes]
    cache_notes(profiles)
    text = "\n\n".join(_text(p, models[p["input"]]) for p in profiles)
    emit(profiles[0] if len(profiles) == 1 else profiles, args.json, text)
    sys.stdout.flush()
    if not write_outputs(args, profiles, models):
        return NOT_WRITTEN
    return SOME_REFUSED if refused else OK


def write_outputs(args, profiles: list[dict], models: dict) -> bool:
    """The ``--csv`` and ``--plot`` files, after the scores are printed: a file that cannot
    be written is named in one line on stderr and the others are still written; False when
    any failed."""
    from percepiano.io import WriteError

    jobs = []
    if args.csv:
        jobs.append(lambda: write_csv(args.csv, profiles))
    if args.plot:
        from percepiano import plots

        paths = plot_paths(args.plot, [Path(p["file"]) for p in profiles])
        jobs += [lambda path=path, prof=prof: plots.save_profile(
            prof, models[prof["input"]].oof_pred, path)
            for path, prof in zip(paths, profiles, strict=True)]
    ok = True
    for job in jobs:
        try:
            job()
        except (WriteError, OSError) as e:
            print(f"percepiano {args.command}: error: {e}", file=sys.stderr)
            ok = False
    return ok


def _text(profile: dict, model) -> str:
    from percepiano.analysis import scoring

    head = [*header(profile, model), scoring.intervals_line(profile["level"], model),
            f"percentile: where the score ranks among {profile['percentile_of']}", ""]
    notes = [f"note: {n}" for n in profile["notes"]]
    return "\n".join([*head, scoring.table(profile), *notes])


def header(profile: dict, model) -> list[str]:
    """Three lines: the file, what it was read as, and the model with its accuracy."""
    acc = model.meta["cross_validation"]["accuracy"]
    r2, pw = acc["mean_r2"], acc["mean_pairwise"]
    kind = {"midi": "MIDI", "notes": "audio through its notes"}.get(profile["input"], "audio")
    if "route_accuracy" in model.meta:  # the notes route: what transcription leaves of it
        a = model.meta["route_accuracy"]
        from percepiano.analysis import notes_route

        e = notes_route.evidence()
        how = (f"  through transcribed renderings of music it never saw, ranks two "
               f"performances of one excerpt right {a['pairwise']:.0%} of the time, R² "
               f"{a['r2']:.2f} (the transcription chapter: {e['segments']} segments of only "
               f"{e['excerpts']} excerpts)")
    else:
        how = (f"  on music it never saw: R² {r2['estimate']:.2f} [{r2['ci_lo']:.2f}, "
               f"{r2['ci_hi']:.2f}], ranks two performances of one excerpt right "
               f"{pw['estimate']:.0%} of the time (95% CIs; `percepiano model info`)")
    return [f"{profile['file']}: {kind}, {profile['seconds']:.1f} s",
            f"model: {model.meta['description']}", how]


def csv_rows(profiles: list[dict]):
    """One row per file: its name, input, seconds of music, spans scored (``windows``), level,
    model, what the percentiles rank against (``percentile_of``), its notes (joined by
    ``" | "``), then score/low/high/percentile of every dimension (columns ``<dimension>``,
    ``<dimension>_low`` ...)."""
    import pandas as pd

    rows = []
    for p in profiles:
        row = {"file": p["file"], "input": p["input"], "seconds": p["seconds"],
               "windows": p["windows"], "level": p["level"], "model": p["model"]["id"],
               "percentile_of": p.get("percentile_of"), "notes": " | ".join(p["notes"])}
        for d in p["dimensions"]:
            name = d["dimension"]
            row[name] = round(d["score"], 3)
            row[f"{name}_low"] = None if d["low"] is None else round(d["low"], 3)
            row[f"{name}_high"] = None if d["high"] is None else round(d["high"], 3)
            row[f"{name}_percentile"] = None if d["percentile"] is None else round(
                d["percentile"], 1)
        rows.append(row)
    return pd.DataFrame(rows)


def write_csv(path: Path, profiles: list[dict]) -> None:
    from percepiano.io import atomic_path

    with atomic_path(path) as tmp:
        csv_rows(profiles).to_csv(tmp, index=False)


def _predict_checkpoint(args, files: list[Path]) -> int:
    """Scores of a trained AST (``percepiano train``), without calibration."""
    if args.plot:
        raise UserError("--plot draws intervals and percentiles, which a --checkpoint model "
                        "does not have")
    import numpy as np

    from percepiano.analysis import scoring
    from percepiano.audio import spectrogram
    from percepiano.audio.input import check_performance, load_file
    from percepiano.audio.midi_take import read_take
    from percepiano.data.dataset import DIMENSIONS, SCALE_MAX
    from percepiano.training import checkpoint, train

    try:
        model, norm, tc = checkpoint.load_model(args.checkpoint)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    profiles = []
    for f in files:
        kind = scoring.input_kind(f)
        if kind == "midi":
            from percepiano.audio import render

            y = render.render_midi(read_take(f).pm, sr=scoring.SR)
        else:
            y = load_file(f, scoring.SR)
        check_performance(y, scoring.SR, str(f))
        inputs = train.model_inputs({"x": spectrogram.log_mel(y)}, model.cfg)
        pred = np.asarray(train.predict(model, inputs, ["x"], norm, tc)[0]) * SCALE_MAX
        dims = [{"dimension": d, "label": scoring.label(d), "score": float(v), "low": None,
                 "high": None, "percentile": None} for d, v in zip(DIMENSIONS, pred, strict=True)]
        profiles.append({"file": str(f), "input": kind, "seconds": round(len(y) / scoring.SR, 2),
                         "model": {"kind": "ast", "id": str(args.checkpoint)},
                         "level": None, "percentile_of": None, "windows": 1, "notes": [],
                         "dimensions": dims})
    if args.csv:
        write_csv(args.csv, profiles)
    width = max(len(scoring.label(d)) for d in DIMENSIONS)
    text = "\n\n".join(f"{p['file']} ({p['seconds']:.1f} s; checkpoint {args.checkpoint})\n"
                       + "\n".join(f"{d['label']:<{width}}  {d['score']:5.2f}"
                                   for d in p["dimensions"]) for p in profiles)
    emit(profiles[0] if len(profiles) == 1 else profiles, args.json, text)
    return 0
