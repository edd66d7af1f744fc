"""Handcrafted audio descriptors of each rendered segment, computed with librosa.

The standard timbre / dynamics / rhythm summary used in music information retrieval (e.g. the
openSMILE and librosa feature sets; Peeters et al. 2011, "The Timbre Toolbox"): MFCCs and their
deltas, spectral shape (centroid, bandwidth, contrast, roll-off, flatness), chroma, an RMS
loudness curve, onset rate and tempo, and the harmonic/percussive energy ratio, each summarised
over time. One STFT is shared by all of them. ``AUDIO_FEATURES`` names and documents the vector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from percepiano import config as _config
from percepiano.audio import render
from percepiano.features.cache import (
    cached_rows,
    load_table,
    parallel_map,
    save_table,
    table_key,
)

FEATURE_VERSION = 2
N_FFT = 1024  # 64 ms at 16 kHz: resolves piano partials down to the bass
HOP = 256  # 16 ms: fine enough for onsets and the loudness curve
N_MFCC = 13  # the customary number: spectral envelope without pitch detail
N_BANDS = 5  # spectral-contrast octave bands from 200 Hz that fit below 8 kHz
SILENCE_DB = 60.0  # loudness statistics use frames within 60 dB of the loudest one
HPSS_TIME = 31  # harmonic median filter: 0.5 s along time (librosa's default length)
HPSS_FREQ = 9  # percussive median filter: 9 of 64 mel bands (about an octave and a half)

_CHROMA = ("C", "Cs", "D", "Ds", "E", "F", "Fs", "G", "Gs", "A", "As", "B")


def _names() -> dict[str, str]:
    d: dict[str, str] = {}
    for stat in ("mean", "std"):
        for i in range(N_MFCC):
            d[f"mfcc{i}_{stat}"] = f"MFCC {i} over frames, {stat}"
    for stat in ("mean", "std"):
        for i in range(N_MFCC):
            d[f"dmfcc{i}_{stat}"] = f"first difference (delta) of MFCC {i}, {stat}"
    for f, what in (("centroid", "spectral centroid (Hz): brightness"),
                    ("bandwidth", "spectral bandwidth (Hz)"),
                    ("rolloff", "85% spectral roll-off (Hz)"),
                    ("flatness", "spectral flatness: noise-likeness (0-1)"),
                    ("zcr", "zero-crossing rate")):
        for stat in ("mean", "std"):
            d[f"{f}_{stat}"] = f"{what}, {stat}"
    for stat in ("mean", "std"):
        for b in range(N_BANDS + 1):
            d[f"contrast{b}_{stat}"] = f"spectral contrast, band {b} (dB), {stat}"
    for stat in ("mean", "std"):
        for c in _CHROMA:
            d[f"chroma_{c}_{stat}"] = f"chroma energy of pitch class {c}, {stat}"
    d.update({
        "rms_db_mean": "RMS level (dBFS), mean over sounding frames",
        "rms_db_std": "RMS level standard deviation (dB)",
        "rms_db_p5": "5th percentile of the RMS level (dBFS)",
        "rms_db_p50": "median RMS level (dBFS)",
        "rms_db_p95": "95th percentile of the RMS level (dBFS)",
        "rms_db_max": "loudest frame (dBFS)",
        "rms_db_range": "95th minus 5th percentile of the RMS level (dB): dynamic range",
        "rms_db_slope": "linear trend of the RMS level (dB per second)",
        "onset_rate": "detected onsets per second",
        "onset_strength_mean": "mean onset strength (spectral flux)",
        "onset_strength_std": "onset strength standard deviation",
        "tempo_bpm": "librosa tempo estimate (beats per minute)",
        "hp_ratio_db": "harmonic / percussive energy, median-filter HPSS on the mel spectrum (dB)",
        "duration_s": "duration of the rendering (s)",
    })
    return d


AUDIO_FEATURES: dict[str, str] = _names()


def audio_features(y: np.ndarray, sr: int = 16000) -> np.ndarray:
    """The ``AUDIO_FEATURES`` vector (float64, in that order) of mono audio ``y``, computed on
    one BLAS thread: float32 matrix products sum in an order that depends on the thread count
    (up to 5e-7 apart), and forests split on such differences, so the same audio must give
    the same bits in any process, whatever else it has loaded."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _audio_features(y, sr)


def _audio_features(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or len(y) < N_FFT:
        raise ValueError(f"need mono audio of at least {N_FFT} samples, got shape {y.shape}")
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    P = S ** 2
    mel = librosa.feature.melspectrogram(S=P, sr=sr, n_mels=64)
    mel_db = librosa.power_to_db(mel)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
    width = min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2))
    dmfcc = librosa.feature.delta(mfcc, width=max(width, 3), mode="nearest")
    rows = [mfcc.mean(1), mfcc.std(1), dmfcc.mean(1), dmfcc.std(1)]
    for x in (librosa.feature.spectral_centroid(S=S, sr=sr),
              librosa.feature.spectral_bandwidth(S=S, sr=sr),
              librosa.feature.spectral_rolloff(S=S, sr=sr, roll_percent=0.85),
              librosa.feature.spectral_flatness(S=S),
              librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP)):
        rows.append([x.mean(), x.std()])
    contrast = librosa.feature.spectral_contrast(S=S, sr=sr, n_bands=N_BANDS)
    chroma = librosa.feature.chroma_stft(S=P, sr=sr)
    rows += [contrast.mean(1), contrast.std(1), chroma.mean(1), chroma.std(1)]

    rms = librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP)[0]  # unwindowed: dBFS
    rms_db = 20 * np.log10(rms + 1e-10)
    t = librosa.frames_to_time(np.arange(len(rms_db)), sr=sr, hop_length=HOP)
    keep = rms_db > rms_db.max() - SILENCE_DB
    lv, lt = rms_db[keep], t[keep]
    p5, p50, p95 = np.percentile(lv, [5, 50, 95])
    slope = np.polyfit(lt, lv, 1)[0] if np.ptp(lt) > 0 else 0.0
    rows.append([lv.mean(), lv.std(), p5, p50, p95, lv.max(), p95 - p5, slope])

    env = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=HOP)
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=HOP)
    duration = len(y) / sr
    tempo = librosa.feature.tempo(onset_envelope=env, sr=sr, hop_length=HOP)[0]
    # HPSS on the 64-band mel magnitude: the same separation as on the 513-bin STFT for an
    # energy ratio, at a tenth of the median-filtering cost
    H, Pc = librosa.decompose.hpss(np.sqrt(mel), kernel_size=(HPSS_TIME, HPSS_FREQ))
    hp = 10 * np.log10((np.sum(H ** 2) + 1e-12) / (np.sum(Pc ** 2) + 1e-12))
    rows.append([len(onsets) / duration, env.mean(), env.std(), tempo, hp, duration])
    out = np.concatenate([np.ravel(np.asarray(r, dtype=np.float64)) for r in rows])
    assert out.shape == (len(AUDIO_FEATURES),)
    return out


def _job(task):
    path, sr = task
    return audio_features(render.load_audio(path), sr)


def audio_feature_table(ds, soundfont: str = render.DEFAULT_SOUNDFONT, sr: int = 16000,
                        workers: int | None = None, progress: bool = True, names=None,
                        cache: bool = True) -> pd.DataFrame:
    """``AUDIO_FEATURES`` of every segment's rendering (rows = sorted names), cached.

    Renders what is not cached yet. Segments that cannot be rendered are left out.
    """
    paths = render.render_dataset(ds, soundfont=soundfont, sr=sr, workers=workers,
                                  progress=progress, names=names)
    from percepiano import codehash  # editing a formula must not read rows of the old one

    params = table_key(FEATURE_VERSION, codehash.of_function(audio_features)[0], N_FFT, HOP,
                       N_MFCC, N_BANDS, SILENCE_DB, HPSS_TIME, HPSS_FREQ, sr, list(AUDIO_FEATURES))
    key = table_key(params, *[(n, Path(p).stem) for n, p in paths.items()])
    path = Path(_config.cache_dir()) / "features" / f"audio-{key}.npz"
    if cache and path.exists():
        return load_table(path)
    # one cached row per rendering (named by its content hash): a table of any subset of the
    # segments reuses the rows computed for another
    tasks = [(str(p), sr) for p in paths.values()]
    if cache:
        rows = cached_rows(_job, tasks, [Path(p).stem for p in paths.values()],
                           Path(_config.cache_dir()) / "features" / f"audio-rows-{params[:16]}",
                           workers, desc="audio features", progress=progress)
    else:
        rows = np.stack(parallel_map(_job, tasks, workers, desc="audio features",
                                     progress=progress)) if tasks else np.empty((0, 0))
    table = pd.DataFrame(rows.reshape(len(paths), len(AUDIO_FEATURES)),
                         index=pd.Index(list(paths), name="name"), columns=list(AUDIO_FEATURES))
    if cache:
        save_table(path, table)
    return table
