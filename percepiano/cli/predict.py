"""`percepiano predict`: the 19-dimension profile of one performance (MIDI or audio)."""

from __future__ import annotations

from pathlib import Path

from percepiano.cli.common import emit
from percepiano.cli.train import default_run_dir
from percepiano.errors import UserError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MIDI_SUFFIXES = (".mid", ".midi")


def register(sub) -> None:
    p = sub.add_parser("predict", help="the 19-dimension profile of a MIDI or WAV file",
                       description="Predict the 19 perceptual dimensions of one performance. "
                                   "MIDI is rendered with FluidSynth; audio is resampled to "
                                   "16 kHz.")
    p.add_argument("file", type=Path, help="a .mid/.midi or .wav/.flac/.ogg/.mp3 file")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="run directory of `percepiano train` (default: its default run)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_predict)


def load_audio(path: Path):
    """16 kHz mono float32 audio of a MIDI (rendered) or audio file; UserError when unreadable."""
    from percepiano.audio import render

    if not path.is_file():
        raise UserError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        try:
            return render.render_midi(path, sr=16000)
        except UserError:
            raise
        except Exception as e:  # pretty_midi/mido raise many types for corrupt files
            raise UserError(f"{path}: not a readable MIDI file ({type(e).__name__})") from None
    if suffix in AUDIO_SUFFIXES:
        import warnings

        import librosa

        try:
            with warnings.catch_warnings():  # librosa warns before its audioread fallback
                warnings.simplefilter("ignore")
                y, _ = librosa.load(path, sr=16000, mono=True)
        except Exception as e:  # soundfile/audioread errors
            raise UserError(f"{path}: not a readable audio file ({type(e).__name__})") from None
        if y.size < 16000:
            raise UserError(f"{path}: shorter than one second; give a whole performance")
        return y
    raise UserError(f"{path}: unknown file type {suffix!r}; give "
                    f"{', '.join(MIDI_SUFFIXES + AUDIO_SUFFIXES)}")


def _predict(args) -> int:
    import numpy as np

    from percepiano.audio import spectrogram
    from percepiano.data.dataset import DIMENSIONS, SCALE_MAX
    from percepiano.training import checkpoint, train

    run_dir = args.checkpoint or default_run_dir()
    y = load_audio(args.file)
    try:
        model, norm, tc = checkpoint.load_model(run_dir)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    inputs = train.model_inputs({"x": spectrogram.log_mel(y)}, model.cfg)
    pred = train.predict(model, inputs, ["x"], norm, tc)[0]
    profile = {d: float(v) for d, v in zip(DIMENSIONS, pred, strict=True)}
    width = max(map(len, DIMENSIONS))
    rows = [f"{d:<{width}}  {v:.3f}  ({v * SCALE_MAX:.2f} / {SCALE_MAX})" for d, v in
            profile.items()]
    emit({"file": str(args.file), "checkpoint": str(run_dir), "profile": profile}, args.json,
         f"{args.file} ({len(y) / 16000:.1f} s)\n" + "\n".join(rows))
    return 0 if np.isfinite(pred).all() else 1
