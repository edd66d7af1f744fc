"""`percepiano features`: compute and cache spectrograms, audio and MIDI descriptors."""

from __future__ import annotations

import time

from percepiano.audio import render
from percepiano.cli.common import add_data_option, emit
from percepiano.cli.render import add_render_options
from percepiano.data import dataset

KINDS = ("spectrogram", "audio", "midi")


def register(sub) -> None:
    p = sub.add_parser(
        "features", help="compute and cache log-mel spectrograms and descriptors",
        description="Compute every segment's features into the cache (rendering audio first "
                    "where needed): AST-style log-mel spectrograms, librosa audio descriptors, "
                    "symbolic MIDI descriptors.")
    p.add_argument("--kind", default="all", choices=KINDS + ("all",),
                   help="which features (default all)")
    add_render_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    add_data_option(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from percepiano import config

    ds = dataset.load(args.data, part="all")
    kinds = KINDS if args.kind == "all" else (args.kind,)
    if any(k in kinds for k in ("spectrogram", "audio")):
        render.soundfont_path(args.soundfont)  # fail early on a bad soundfont
    out = {"segments": len(ds.names), "cache": str(config.cache_dir())}
    for kind in kinds:
        t = time.perf_counter()
        if kind == "spectrogram":
            from percepiano.audio import spectrogram

            mel = spectrogram.MelConfig(sr=args.sr)
            paths = spectrogram.spectrogram_paths(ds, mel, soundfont=args.soundfont,
                                                  workers=args.workers)
            out[kind] = {"segments": len(paths), "n_mels": mel.n_mels,
                         "hop_ms": 1000 * mel.hop_length / mel.sr}
        elif kind == "audio":
            from percepiano.features import audio

            table = audio.audio_feature_table(ds, soundfont=args.soundfont, sr=args.sr,
                                              workers=args.workers)
            out[kind] = {"segments": table.shape[0], "features": table.shape[1]}
        else:
            from percepiano.features import midi

            table = midi.midi_feature_table(ds, workers=args.workers)
            out[kind] = {"segments": table.shape[0], "features": table.shape[1]}
        out[kind]["seconds"] = round(time.perf_counter() - t, 1)
    lines = [f"features cached in {out['cache']}:"]
    for kind in kinds:
        d = out[kind]
        what = (f"{d['n_mels']}-band log-mel" if kind == "spectrogram"
                else f"{d['features']} {kind} descriptors")
        lines.append(f"  {kind}: {d['segments']}/{len(ds.names)} segments, {what}, "
                     f"{d['seconds']} s")
    emit(out, args.json, "\n".join(lines))
    return 0 if all(out[k]["segments"] == len(ds.names) for k in kinds) else 1
