"""Audio descriptors of recordings as ``percepiano predict`` reads them, and the training rows of
an audio model that has heard more than one piano and more than one room.

``take_features`` conditions a recording (``audio.condition``: DC, silence and noise at the
edges, loudness to ``TARGET_LUFS``) and describes its music with ``features.audio``'s
descriptors, less ``duration_s`` (a take's length says nothing about how it was played).

``take_table`` gives those descriptors for every development segment in one *version*:

* ``fluidr3``, ``timgm6mb``: the FluidSynth rendering with that soundfont (two different
  sampled pianos);
* ``room``: a rendering with a soundfont drawn per segment, played into a room and picked up
  by a microphone: a reverb (``pedalboard.Reverb``, room size and wet level drawn), a
  microphone's colour (a low shelf and a high shelf, +-6 dB, ``pedalboard``) and room noise
  (white noise shaped to -3 dB an octave, 30-50 dB below the music's loudness). Every draw is
  seeded by the segment's name, so the version is the same on every machine.

Rows are cached per rendering and version (``features.cache.cached_rows``), keyed by the
source of the code that computes them (conditioning, descriptors, rendering, this module).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from percepiano import config as _config
from percepiano.audio import condition as _condition
from percepiano.audio import render
from percepiano.features.audio import AUDIO_FEATURES, audio_features
from percepiano.features.cache import cached_rows, table_key

VERSION = 3
VERSIONS = ("fluidr3", "timgm6mb", "room")
DROPPED = ("duration_s",)  # measures the file, not the playing
TAKE_FEATURES = [n for n in AUDIO_FEATURES if n not in DROPPED]
_KEEP = [i for i, n in enumerate(AUDIO_FEATURES) if n not in DROPPED]
ROOM = {"room_size": (0.1, 0.6), "wet_level": (0.05, 0.3), "shelf_db": (-6.0, 6.0),
        "snr_db": (30.0, 50.0)}


def describe(y: np.ndarray, sr: int) -> np.ndarray:
    """``TAKE_FEATURES`` (float64, in order) of mono audio ``y`` already conditioned."""
    return audio_features(y, sr)[_KEEP]


def take_features(y: np.ndarray, sr: int) -> np.ndarray:
    """``TAKE_FEATURES`` of the conditioned music of mono ``y`` at ``sr`` (first passage start
    to last passage end); ``ValueError`` for digital silence."""
    return describe(_condition.condition(y, sr).y, sr)


def _code() -> list[str]:
    """The normalised source hashes of the code that computes a row (``codehash``): a change
    to the conditioning or to the descriptors computes the rows anew."""
    from percepiano import codehash
    from percepiano.features import audio

    return [codehash.file_hash(Path(m.__file__)) for m in (_condition, audio, render)] + [
        codehash.file_hash(Path(__file__))]


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8],
                                                "little"))


def room_params(name: str) -> dict:
    """The room, microphone and noise drawn for segment ``name`` (see the module docstring)."""
    rng = _rng(f"room|{name}")
    out = {k: float(rng.uniform(*v)) for k, v in ROOM.items()}
    out["high_shelf_db"] = float(rng.uniform(*ROOM["shelf_db"]))
    out["soundfont"] = render.SOUNDFONTS[int(rng.integers(len(render.SOUNDFONTS)))]
    return out


def in_room(y: np.ndarray, sr: int, params: dict, name: str) -> np.ndarray:
    """Mono ``y`` played into the room of ``params`` (``room_params``), float32."""
    import pedalboard as pb

    board = pb.Pedalboard([
        pb.Reverb(room_size=params["room_size"], wet_level=params["wet_level"],
                  dry_level=1.0 - params["wet_level"], width=0.0),
        pb.LowShelfFilter(cutoff_frequency_hz=200.0, gain_db=params["shelf_db"]),
        pb.HighShelfFilter(cutoff_frequency_hz=3000.0, gain_db=params["high_shelf_db"]),
    ])
    wet = board(np.asarray(y, np.float32)[None, :], sr)[0]
    rng = _rng(f"noise|{name}")
    white = np.fft.rfft(rng.standard_normal(len(wet)))
    f = np.fft.rfftfreq(len(wet), 1 / sr)
    pink = np.fft.irfft(white / np.sqrt(np.maximum(f, 20.0)), len(wet))  # -3 dB an octave
    rms = np.sqrt(np.mean(wet.astype(np.float64) ** 2))
    pink *= rms * 10 ** (-params["snr_db"] / 20) / np.sqrt(np.mean(pink ** 2))
    return (wet + pink).astype(np.float32)


def _job(task):
    path, sr, room = task
    y = render.load_audio(path)
    if room is not None:
        y = in_room(y, sr, room, Path(path).stem)
    return take_features(y, sr)


def take_table(ds, version: str = "fluidr3", sr: int = 16000, workers: int | None = None,
               progress: bool = True, names=None) -> pd.DataFrame:
    """``TAKE_FEATURES`` of every segment of ``ds`` (or ``names``) in ``version`` (one of
    ``VERSIONS``): rows = segment names in order, cached per rendering."""
    if version not in VERSIONS:
        raise ValueError(f"unknown version {version!r}; choose from {', '.join(VERSIONS)}")
    names = list(ds.names if names is None else names)
    if version == "room":
        params = {n: room_params(n) for n in names}
        paths = {}
        for sf in render.SOUNDFONTS:
            picked = [n for n in names if params[n]["soundfont"] == sf]
            if picked:
                paths.update(render.render_dataset(ds, soundfont=sf, sr=sr, workers=workers,
                                                   progress=progress, names=picked))
        tasks = [(str(paths[n]), sr, params[n]) for n in names if n in paths]
    else:
        paths = render.render_dataset(ds, soundfont=version, sr=sr, workers=workers,
                                      progress=progress, names=names)
        tasks = [(str(paths[n]), sr, None) for n in names if n in paths]
    kept = [n for n in names if n in paths]
    key = table_key(VERSION, version, sr, TAKE_FEATURES, sorted(ROOM.items()), _code())
    keys = [f"{Path(t[0]).stem}-{hashlib.sha256(repr(t[2]).encode()).hexdigest()[:8]}"
            for t in tasks]
    rows = cached_rows(_job, tasks, keys,
                       Path(_config.cache_dir()) / "features" / f"takes-{key[:16]}",
                       workers, desc=f"take descriptors ({version})", progress=progress)
    return pd.DataFrame(rows.reshape(len(kept), len(TAKE_FEATURES)),
                        index=pd.Index(kept, name="name"), columns=TAKE_FEATURES)
