"""`percepiano render`: the dataset (or one MIDI file) to audio through FluidSynth, cached."""

from __future__ import annotations

from pathlib import Path

from percepiano.audio import render
from percepiano.cli.common import add_data_option, emit
from percepiano.data import dataset
from percepiano.errors import UserError
from percepiano.io import atomic_path


def add_render_options(p) -> None:
    p.add_argument("--soundfont", default=render.DEFAULT_SOUNDFONT, metavar="NAME",
                   help=f"{' or '.join(render.SOUNDFONTS)} or a .sf2/.sf3 path "
                        f"(default {render.DEFAULT_SOUNDFONT})")
    p.add_argument("--sr", type=int, default=16000, help="sample rate in Hz (default 16000)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel processes (default: one per core)")


def register(sub) -> None:
    p = sub.add_parser(
        "render", help="render the dataset's MIDI (or one file) to audio",
        description="Render every segment's performance MIDI to mono audio with FluidSynth "
                    "(sustain pedal and controllers honoured, reverb and chorus off) into the "
                    "content-addressed cache; or, given FILE, render one MIDI file to a WAV.")
    p.add_argument("file", nargs="?", metavar="FILE.mid", help="render only this MIDI file")
    p.add_argument("-o", "--output", metavar="OUT.wav",
                   help="where to write FILE's audio (default: FILE with .wav, here)")
    add_render_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    add_data_option(p)
    p.set_defaults(func=_run)


def _write_wav(path: Path, y, sr: int) -> None:
    import soundfile

    with atomic_path(path) as tmp:
        soundfile.write(tmp, y, sr, subtype="FLOAT")


def _one_file(args) -> int:
    src = Path(args.file)
    out = Path(args.output) if args.output else Path(src.with_suffix(".wav").name)
    if out.suffix.lower() != ".wav":
        raise UserError(f"output {out} must end in .wav")
    from percepiano.audio.midi_take import normalise_bytes

    if not src.is_file():
        raise UserError(f"{src}: no such file")
    data, _ = normalise_bytes(src.read_bytes(), str(src))  # SMPTE time, tempo in any track
    y = render.render_midi(data, soundfont=args.soundfont, sr=args.sr)
    _write_wav(out, y, args.sr)
    info = {"input": str(src), "output": str(out), "seconds": round(len(y) / args.sr, 3),
            "sr": args.sr, "soundfont": str(render.soundfont_path(args.soundfont)),
            "peak": round(float(abs(y).max()), 4)}
    emit(info, args.json, f"wrote {out} ({info['seconds']} s at {args.sr} Hz, "
                          f"soundfont {Path(info['soundfont']).name})")
    return 0


def summary_text(what: str, rep: render.RenderReport, sf: str, sr: int) -> str:
    lines = [f"{what}: {rep.rendered} rendered, {rep.cached} already cached, "
             f"{len(rep.skipped)} skipped ({Path(sf).name}, {sr} Hz) in "
             f"{render.audio_dir()}"]
    for name, why in list(rep.skipped.items())[:5]:
        lines.append(f"  skipped {name}: {why}")
    if len(rep.skipped) > 5:
        lines.append(f"  ... and {len(rep.skipped) - 5} more")
    return "\n".join(lines)


def _run(args) -> int:
    if args.output and not args.file:
        raise UserError("-o/--output needs a FILE.mid to render")
    if args.file:
        return _one_file(args)
    ds = dataset.load(args.data, part="all")
    sf = str(render.soundfont_path(args.soundfont))
    rep = render.render_files(dict(ds.segments.midi_path.items()), soundfont=sf, sr=args.sr,
                              workers=args.workers, progress=True)
    info = {"segments": len(ds.names), "rendered": rep.rendered, "cached": rep.cached,
            "skipped": rep.skipped, "soundfont": sf, "sr": args.sr,
            "cache": str(render.audio_dir())}
    emit(info, args.json, summary_text("render", rep, sf, args.sr))
    return 1 if rep.skipped else 0
