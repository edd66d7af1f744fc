"""Pools of expressive variants with exact descriptors: the pretraining data of the listener.

For each segment and ``k < n``, ``audio.expressive.draw`` gives an ``Expression``; the changed
MIDI is rendered (cached by content), turned into the log-mel the models read (cached), and its
performance descriptors (``features.midi.performance_features`` without a score, the MIDI
model's inputs) are recomputed from the changed MIDI itself: exact supervision, as much as
renders allow. One row per variant is cached under ``<cache>/variants/``, keyed by the source
MIDI's bytes, the expression and every version involved, so a pool of any size reuses the rows of
a smaller one.

``pool`` builds the pool of given *training* names only, and refuses to when any of them is
in ``held_out`` (the fold's validation and test names): variants of held-out music never enter
training.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from percepiano import config as _config
from percepiano.audio import expressive, render, spectrogram
from percepiano.features.cache import parallel_map, table_key
from percepiano.features.midi import FEATURE_VERSION, MIDI_FEATURES, SCORE_FEATURES, code_digest
from percepiano.io import atomic_path

DESCRIPTORS = tuple(n for n in MIDI_FEATURES if n not in SCORE_FEATURES)
VERSION = 1  # bump when a variant's row changes meaning


@dataclass
class Pool:
    """Variants of some segments: ``source`` (the segment each row varies), ``k``, the cached
    log-mel path, and the exact descriptors (rows aligned, columns ``DESCRIPTORS``)."""

    source: list[str]
    k: list[int]
    mels: list[Path]
    descriptors: pd.DataFrame

    def __len__(self) -> int:
        return len(self.source)

    def check_sources(self, allowed) -> None:
        """Raise unless every variant varies a segment of ``allowed`` (the training names)."""
        outside = sorted(set(self.source) - set(allowed))
        if outside:
            raise ValueError(f"{len(outside)} pooled segments are not training segments "
                             f"(e.g. {outside[0]!r}): variants of held-out music never train")


def _read(path: str):
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # tempo events on non-zero tracks
        return pretty_midi.PrettyMIDI(path)


def variant_row(pm, e: expressive.Expression, mel: spectrogram.MelConfig,
                mel_root: str | None = None) -> tuple[Path, np.ndarray]:
    """(cached log-mel path, descriptors) of one variant of ``pm``."""
    from percepiano.features.midi import performance_features

    varied = expressive.express(pm, e)
    audio = render.render_cached(varied, soundfont=e.soundfont, sr=mel.sr)
    path = spectrogram.spec_cached(audio, mel, mel_root)
    f = performance_features(varied, None)
    return path, np.array([f.get(n, np.nan) for n in DESCRIPTORS], np.float64)


def _key(source_digest: str, e: expressive.Expression, mel) -> str:
    return table_key(VERSION, FEATURE_VERSION, code_digest(), render.RENDER_VERSION,
                     source_digest, e.key(), mel, list(DESCRIPTORS))


def _job(task):
    """Worker: one variant's row, written to its cache file; returns that file."""
    midi_path, e, mel, mel_root, out = task
    path, desc = variant_row(_read(midi_path), e, mel, mel_root)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps({"mel": str(path), "descriptors": [
            None if np.isnan(v) else float(v) for v in desc]}))
    return out


def pool(ds, names, n: int, seed: int = 0, held_out=(), mel=None, workers: int | None = None,
         progress: bool = True) -> Pool:
    """``n`` variants of each of ``names`` (training segments of ``ds``), rendering and
    describing only what the cache lacks (in parallel, with a bar)."""
    names = list(names)
    leaked = sorted(set(names) & set(held_out))
    if leaked:
        raise ValueError(f"refusing to vary {len(leaked)} held-out segments (e.g. "
                         f"{leaked[0]!r}): variants of validation or test music never train")
    mel = mel or spectrogram.MelConfig()
    root = _config.cache_dir() / "variants"
    mel_root = str(_config.cache_dir() / "mel")
    tasks, outs = [], []
    for name in names:
        midi_path = str(ds.segments.loc[name, "midi_path"])
        digest = table_key(render.midi_bytes(midi_path))
        for k in range(n):
            e = expressive.draw(name, k, seed)
            key = _key(digest, e, mel)
            out = root / key[:2] / f"{key}.json"
            outs.append(out)
            if not out.exists():
                tasks.append((midi_path, e, mel, mel_root, out))
    for sf in render.SOUNDFONTS:
        render.soundfont_path(sf)  # a missing soundfont fails here, in one line
    if tasks:
        parallel_map(_job, tasks, workers, desc="expressive variants", progress=progress,
                     chunksize=2)
    rows = [json.loads(p.read_text()) for p in outs]
    desc = pd.DataFrame([[np.nan if v is None else v for v in r["descriptors"]] for r in rows],
                        columns=list(DESCRIPTORS), dtype=np.float64)
    return Pool(source=[nm for nm in names for _ in range(n)],
                k=[k for _ in names for k in range(n)],
                mels=[Path(r["mel"]) for r in rows], descriptors=desc)
