"""What a fitted model uses: its pathways, its descriptors, where it listens.

* ``permutation_drop``: the hybrid's loss of R² on a test fold when one descriptor group, or
  the whole audio branch, is permuted across the test segments (Breiman, 2001, permutation
  importance; a group permuted together keeps its columns' joint distribution).
* ``lgbm_shap``: mean |SHAP value| (Lundberg & Lee, 2017; TreeSHAP, Lundberg et al., 2020,
  through the ``shap`` library) of LightGBM per descriptor group and dimension.
* ``listening``: for a hybrid's audio branch on segments' first crop, attention rollout
  (``analysis.attention``) per time patch, mean attention distance per layer, integrated
  gradients (``analysis.attribution``) per time patch, and the events of the performance in
  each patch (note onsets, sustain-pedal changes, loudness peaks).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from percepiano.data.dataset import DIMENSIONS

AUDIO = "audio branch"


def permutation_drop(fitted: dict, inputs: dict, labels: pd.DataFrame, groups: pd.Series,
                     repeats: int = 2, seed: int = 0) -> pd.DataFrame:
    """R² lost per dimension when each descriptor group (``groups``: column -> group), or the
    audio branch (``AUDIO``: every test segment hears another's spectrogram), is permuted.

    ``fitted``: one fit kept by ``experiments.networks.network_maker(..., keep=...)``: {"net",
    "norm", "tc", "table", "test"}. Returns rows (group, repeat, dimension, r2_drop), drop = R²
    intact minus R² permuted on the fit's test segments (positive: the model needs the group)."""
    from percepiano.evaluation.metrics import r2
    from percepiano.training.train import predict

    net, norm, tc, table, test = (fitted[k] for k in ("net", "norm", "tc", "table", "test"))
    y = labels.loc[test, list(DIMENSIONS)].to_numpy()
    base = r2(y, predict(net, inputs, test, norm, tc, descriptors=table))
    rng = np.random.default_rng(seed)
    rows = []
    for g in [AUDIO, *sorted(groups.unique())]:
        for rep in range(repeats):
            perm = rng.permutation(len(test))
            x, d = inputs, table
            if g == AUDIO:
                x = {n: inputs[test[p]] for n, p in zip(test, perm, strict=True)}
            else:
                cols = list(groups.index[groups == g])
                d = table.copy()
                d.loc[test, cols] = table.loc[[test[p] for p in perm], cols].to_numpy()
            drop = base - r2(y, predict(net, x, test, norm, tc, descriptors=d))
            rows += [{"group": g, "repeat": rep, "dimension": dim, "r2_drop": float(v)}
                     for dim, v in zip(DIMENSIONS, drop, strict=True)]
    return pd.DataFrame(rows)


def lgbm_shap(X: pd.DataFrame, labels: pd.DataFrame, train, test, groups: pd.Series,
              params: dict, seed: int = 0) -> pd.DataFrame:
    """Mean |SHAP| on ``test`` of per-dimension LightGBM models (``models.ensemble.LGBM`` with
    ``params``) fitted on ``train``, summed over each descriptor group's columns: rows
    (group, dimension, mean_abs_shap), in label units (points of the rating scale)."""
    import lightgbm as lgb
    import shap

    from percepiano.models.ensemble import LGBM

    Xtr, Xte = X.loc[list(train)].to_numpy(np.float32), X.loc[list(test)].to_numpy(np.float32)
    rows = []
    for dim in DIMENSIONS:
        m = lgb.LGBMRegressor(**LGBM, **params, random_state=seed, n_jobs=2, verbose=-1)
        m.fit(Xtr, labels.loc[list(train), dim].to_numpy())
        phi = np.abs(shap.TreeExplainer(m).shap_values(Xte)).mean(axis=0)
        per = pd.Series(phi, index=X.columns).groupby(groups.reindex(X.columns)).sum()
        rows += [{"group": g, "dimension": dim, "mean_abs_shap": float(v)}
                 for g, v in per.items()]
    return pd.DataFrame(rows)


def listening(fitted: dict, inputs: dict, names, midi_paths: pd.Series, ig_dims=(),
              ig_steps: int = 32) -> dict:
    """Rollout, attention distance, integrated gradients and events of the hybrid ``fitted``
    on the first crop of each of ``names``.

    Returns {"times": (T,) patch centres in s, "rollout": (S, T) relevance per time patch
    (each row sums to 1), "distance": (S, layers) mean attention distance in s, "events":
    {"onsets", "pedal_changes", "loudness_peaks"}: (S, T) counts, "ig": {dimension: (S, T)
    sum over frequency of |attribution| per time patch} (only for ``ig_dims``), "valid": (S, T)
    whether the patch lies inside the segment (a short segment's crop is padded), "crops":
    (S, T_frames, F) the pooled log-mel crops in dB}."""
    import jax.numpy as jnp

    from percepiano.analysis import attention as A
    from percepiano.analysis import attribution as G
    from percepiano.audio.spectrogram import MelConfig

    net, norm, table = fitted["net"], fitted["norm"], fitted["table"]
    cfg = net.ast.cfg
    frames = cfg.input_frames
    names = list(names)
    crops = np.stack([_crop(inputs[n], frames) for n in names])          # (S, T, F) pooled dB
    x = jnp.asarray(np.stack([norm.x(c) for c in crops]))
    enc = net.ast.encode(x)
    attn = [np.asarray(a) for a in enc["attention"]]
    rel, times = A.time_profile(A.token_relevance(A.rollout(attn), cfg.pooling), cfg,
                                frames * cfg.time_pool)
    dist = A.attention_distance(attn, cfg, frames * cfg.time_pool)
    half = A.patch_times(cfg, frames * cfg.time_pool)[1]
    pooled_mel = dataclasses.replace(MelConfig(), hop_length=MelConfig().hop_length
                                     * cfg.time_pool)
    flat = dataclasses.replace(cfg, time_pool=1)
    ev = {"onsets": [], "pedal_changes": [], "loudness_peaks": []}
    for n, c in zip(names, crops, strict=True):
        p = A.event_profile(_read_midi(midi_paths[n]), times, half)
        ev["onsets"].append(p["onsets"])
        ev["pedal_changes"].append(p["pedal_changes"])
        ev["loudness_peaks"].append(A.loudness_peaks(c.T, flat, pooled_mel)["per_patch"])
    ig = {}
    d = norm.d(table, names) if table is not None else None
    for dim in ig_dims:
        prof = []
        for i in range(len(names)):
            f = G.model_output_fn(net, dim, None if d is None else d[i])
            base = G.silence_baseline(np.asarray(x[i:i + 1]), norm)
            att = np.asarray(G.integrated_gradients(f, x[i:i + 1], base, steps=ig_steps))[0]
            prof.append(_per_patch(np.abs(att).sum(axis=-1), cfg, len(times)))
        ig[dim] = np.stack(prof)
    lengths = np.array([len(inputs[n]) for n in names])
    pt, st = cfg.patch[1], cfg.stride[1]
    valid = (np.arange(len(times))[None, :] * st + pt) <= lengths[:, None]
    return {"times": times, "rollout": rel, "distance": dist, "valid": valid,
            "events": {k: np.stack(v) for k, v in ev.items()}, "ig": ig, "crops": crops}


def _crop(x: np.ndarray, frames: int) -> np.ndarray:
    """The first ``frames`` rows of a pooled input (T, F), padded with its minimum."""
    x = np.asarray(x, np.float32)
    if len(x) >= frames:
        return x[:frames]
    return np.concatenate([x, np.full((frames - len(x), x.shape[1]), x.min(), np.float32)])


def _per_patch(per_frame: np.ndarray, cfg, nt: int) -> np.ndarray:
    """Sum a per-pooled-frame profile (T,) over each time patch's frames -> (nt,)."""
    pt, st = cfg.patch[1], cfg.stride[1]
    return np.array([per_frame[i * st:i * st + pt].sum() for i in range(nt)])


def performance(midi_path, end: float) -> dict:
    """The notes (n, 4: start, end, pitch, velocity) starting before ``end`` seconds and the
    sustain-pedal intervals of a performance's MIDI, for ``figures.plot_rollout``."""
    from percepiano.analysis.attention import pedal_intervals

    pm = _read_midi(midi_path)
    notes = np.array([(n.start, min(n.end, end), n.pitch, n.velocity) for i in pm.instruments
                      if not i.is_drum for n in i.notes if n.start < end], np.float64)
    return {"notes": notes.reshape(-1, 4),
            "pedal": [(a, min(b, end)) for a, b in pedal_intervals(pm) if a < end]}


def _read_midi(path):
    """A performance's ``PrettyMIDI``; pretty_midi's warning about tempo events on non-zero
    tracks (PercePiano's files put them on every track; the times stay right) silenced."""
    import warnings

    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return pretty_midi.PrettyMIDI(str(path))
