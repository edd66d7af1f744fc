"""Audio to notes: automatic piano transcription with transkun.

transkun (Yan & Duan 2024, "Scoring intervals using non-hierarchical transformer for automatic
piano transcription", ISMIR; PyPI ``transkun``, MIT licence) is a transformer with a
semi-Markov CRF over note intervals, shipped with its pretrained MAESTRO v3 checkpoint. It turns
a recording into notes (onset, offset, pitch, velocity) and sustain- and soft-pedal intervals,
which this module writes as a ``pretty_midi.PrettyMIDI``: the MIDI model can then score a take
that exists only as sound.

transkun reads 44.1 kHz audio in windows of 16 s at an 8-s hop and joins the windows itself, so
a take of any length is transcribed in bounded memory; ``transcribe`` shows one progress step
per window with the time left. Results are cached by content (``transcribe_cached``): the audio
samples, the checkpoint's digest, transkun's version and this module's ``VERSION``.

transkun and PyTorch are an optional extra (``pip install -e '.[transcribe]'``); without them
every entry point raises one ``UserError`` line saying so.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from pathlib import Path

import numpy as np

from percepiano import config as _config
from percepiano.errors import UserError

VERSION = 1  # bump when what this module writes changes
SR = 44100  # transkun's rate
WINDOW_S, HOP_S, FRAME_HOP = 16.0, 8.0, 1024  # transkun 2.0's windows (s) and frame hop (samples)
MISSING = ("transcription needs the optional extra 'transcribe' (transkun and PyTorch): "
           "pip install -e '.[transcribe]'")


def available() -> bool:
    """True when transkun and PyTorch can be imported."""
    try:
        import torch  # noqa: F401
        import transkun  # noqa: F401
    except ImportError:
        return False
    return True


def _require() -> None:
    if not available():
        raise UserError(MISSING)


def device() -> str:
    """``"cuda"`` when PyTorch sees a GPU, else ``"cpu"``."""
    _require()
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _checkpoint() -> tuple[Path, Path]:
    from importlib.resources import files

    base = files("transkun") / "pretrained"
    return Path(str(base / "2.0.pt")), Path(str(base / "2.0.conf"))


@functools.cache
def checkpoint_digest() -> str:
    """SHA-256 of the pretrained weights transkun ships (part of every cache key)."""
    _require()
    h = hashlib.sha256()
    with open(_checkpoint()[0], "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.cache
def _model(where: str):
    """transkun's pretrained model on ``where``, in evaluation mode (loaded once)."""
    import moduleconf
    import torch

    weights, conf_path = _checkpoint()
    conf = moduleconf.parseFromFile(str(conf_path))
    model = conf["Model"].module.TransKun(conf=conf["Model"].config).to(where)
    state = torch.load(weights, map_location=where)
    model.load_state_dict(state.get("best_state_dict", state.get("state_dict")), strict=False)
    return model.eval()


def windows(n_samples: int, sr: int = SR) -> int:
    """How many of transkun's windows a take of ``n_samples`` at ``sr`` Hz takes (the steps of
    the progress bar): transkun pads the take by one window minus one hop at each end."""
    n = math.ceil(n_samples * SR / sr) + 2 * math.ceil((WINDOW_S - HOP_S) * SR)
    step = math.ceil(HOP_S * SR / FRAME_HOP) * FRAME_HOP
    return math.ceil(n / step)


def transcribe(y: np.ndarray, sr: int, progress: bool = True, desc: str = "transcribing"):
    """Transcribe mono audio ``y`` (float, shape (n,), in [-1, 1]) at ``sr`` Hz: a
    ``pretty_midi.PrettyMIDI`` with one piano whose notes are the transcribed notes (seconds,
    MIDI pitch and velocity) and whose control changes 64 (sustain) and 67 (soft pedal) open
    and close the pedal intervals. Runs on the GPU when PyTorch sees one. Raises ``UserError``
    without the optional extra, ``ValueError`` on audio that is not one finite channel."""
    _require()
    import librosa
    import torch
    from tqdm.auto import tqdm
    from transkun.Data import writeMidi

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise ValueError(f"expected one finite channel, got shape {y.shape}")
    if sr != SR:
        y = librosa.resample(y, orig_sr=sr, target_sr=SR)
    where = device()
    model = _model(where)
    bar = tqdm(total=windows(len(y)), desc=desc, unit="window", disable=not progress,
               leave=False)
    frames = model.transcribeFrames

    def counted(*args, **kwargs):  # one call per window: the bar's step
        out = frames(*args, **kwargs)
        bar.update(1)
        return out

    model.transcribeFrames = counted
    try:
        with torch.no_grad():
            notes = model.transcribe(torch.from_numpy(y[:, None]).to(where), stepInSecond=HOP_S,
                                     segmentSizeInSecond=WINDOW_S, discardSecondHalf=False)
    finally:
        del model.transcribeFrames
        bar.close()
    return writeMidi(notes)


def cache_key(y: np.ndarray, sr: int) -> str:
    """Content address of a transcription: the samples, their rate, the checkpoint, transkun's
    version and ``VERSION``."""
    from importlib.metadata import version

    h = hashlib.sha256(np.ascontiguousarray(y, dtype=np.float32).tobytes())
    h.update(f"{sr}|{checkpoint_digest()}|{version('transkun')}|{VERSION}".encode())
    return h.hexdigest()


def cache_path(key: str, cache: str | os.PathLike | None = None) -> Path:
    root = Path(cache) if cache is not None else _config.cache_dir() / "transcriptions"
    return root / key[:2] / f"{key}.mid"


def transcribe_cached(y: np.ndarray, sr: int, cache: str | os.PathLike | None = None,
                      progress: bool = True, desc: str = "transcribing",
                      key: str | None = None) -> Path:
    """``transcribe`` unless the same audio was transcribed before: the path of the cached
    MIDI file (written atomically, so a stopped run leaves nothing half-written; where the cache
cannot be written, a temporary file kept until the process ends, and ``io.skipped_note`` says
so). Beside it,
    ``<key>.json`` records how long the transcription took (``timing``). ``key``: the audio's
    ``cache_key`` when the caller has already computed it."""
    import json
    import time

    _require()
    import torch

    from percepiano.io import store

    path = cache_path(key or cache_key(y, sr), cache)
    if not path.exists():
        start = time.perf_counter()
        midi = transcribe(y, sr, progress, desc)
        took = json.dumps({"seconds": time.perf_counter() - start, "audio_s": len(y) / sr,
                           "device": device(), "threads": torch.get_num_threads()})
        root = path.parents[1]
        if not (store(path.with_suffix(".json"), lambda tmp: tmp.write_text(took), root)
                and store(path, lambda tmp: midi.write(str(tmp)), root)):
            path = _scratch() / path.name  # a cache that cannot be written: kept for this run
            path.with_suffix(".json").write_text(took)
            midi.write(str(path))
    return path


@functools.cache
def _scratch() -> Path:
    """A temporary folder for transcriptions a read-only cache cannot keep, removed at exit."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="percepiano-transcriptions-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def timing(path: str | os.PathLike) -> dict | None:
    """How long the cached transcription at ``path`` took: {"seconds", "audio_s", "device",
    "threads"}, or None when not recorded."""
    import json

    side = Path(path).with_suffix(".json")
    return json.loads(side.read_text()) if side.is_file() else None
