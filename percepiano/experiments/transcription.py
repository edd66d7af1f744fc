"""The experiment of the chapter on scoring recordings through their notes
(``book/transcription.py``).

* ``transcription_route``: a fixed subset of development segments (``subset``: whole excerpts,
  the shortest first, alternating composers, one excerpt per music group) is rendered at
  44.1 kHz with FluidR3, and its shortest ``part`` also with the other soundfont and in a
  simulated room (``features.takes``'s ``timgm6mb`` and ``room`` versions); each render is
  brought to the loudness target (``audio.condition.TARGET_LUFS``) and transcribed by transkun
  (``audio.transcription``, cached per render, so a stopped run goes on where it stopped).
  Then, on the final models' piece folds (``analysis.final``: split, K, seed):

  1. **accuracy** of each transcription against the MIDI that was rendered
     (``evaluation.transcription``: mir_eval notes, velocity, sustain pedal);
  2. **scoring**: the MIDI forest (``percepiano predict``'s MIDI model, fitted on the other
     folds' true MIDI) on the true MIDI and on each transcription, read as ``predict`` reads a
     file (``analysis.scoring.read_take``); the audio forest (its audio model) on the same
     segments and versions; and the MIDI forest also trained on every training segment's MIDI
     passed through the transcription-error model (``audio.transcription_errors``) fitted on
     the subset's segments of the other folds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from percepiano.experiments.store import experiment

MIN_SEGMENTS = {"smoke": 2, "quick": 48, "full": None}  # None: every development segment
PART = {"smoke": 2, "quick": 12, "full": None}  # also heard through the other piano and a room
VERSIONS = ("fluidr3", "timgm6mb", "room")
SR = 44100


def subset(segments: pd.DataFrame, seconds: pd.Series, min_segments: int | None) -> list[str]:
    """The segments transcribed: whole excerpts in order of their mean duration (``seconds``,
    per segment), alternating composers, at most one excerpt per music group, until at least
    ``min_segments`` segments; None gives every segment. Fewer than one excerpt holds (the
    smoke profile) gives the shortest performances of the first excerpt. Sorted names."""
    if min_segments is None:
        return sorted(segments.index)
    s = segments.assign(seconds=seconds.reindex(segments.index))
    mean = s.groupby("excerpt").seconds.mean()
    first = s.groupby("excerpt")[["composer", "music_group"]].first().assign(seconds=mean)
    queues = {c: list(part.sort_values(["seconds"]).index)
              for c, part in first.groupby("composer")}
    size = s.excerpt.value_counts()
    chosen, groups, count = [], set(), 0
    while count < min_segments and any(queues.values()):
        for queue in queues.values():
            while queue and first.loc[queue[0], "music_group"] in groups:
                queue.pop(0)
            if queue:
                chosen.append(queue.pop(0))
                groups.add(first.loc[chosen[-1], "music_group"])
                count += int(size[chosen[-1]])
            if count >= min_segments:
                break
    names = s[s.excerpt.isin(chosen)]
    if len(names) > min_segments and len(chosen) == 1:
        names = names.sort_values("seconds").head(min_segments)
    return sorted(names.index)


def part_of(names: list[str], seconds: pd.Series, n: int | None) -> list[str]:
    """The ``n`` shortest of ``names`` (all of them for None), sorted."""
    return sorted(names if n is None else seconds.loc[names].sort_values().index[:n])


def _config(s) -> dict:
    from percepiano.analysis import final
    from percepiano.audio import condition, transcription
    from percepiano.models import forest

    return {"profile": s.profile, "max_segments": s.max_segments,
            "min_segments": MIN_SEGMENTS[s.profile],
            "part": PART[s.profile], "versions": list(VERSIONS), "sr": SR,
            "target_lufs": condition.TARGET_LUFS, "split": final.SPLIT, "k": final.K,
            "seed": final.SEED,
            "forest": {k: v for k, v in forest.preset(s.profile).__dict__.items()
                       if k != "candidates"},
            "transcription": {"version": transcription.VERSION,
                              "window_s": transcription.WINDOW_S,
                              "hop_s": transcription.HOP_S}}


def render(name: str, midi_path, version: str) -> np.ndarray:
    """Segment ``name`` as ``version`` sounds it (mono float32 at ``SR``), at the loudness
    target: the FluidSynth rendering with that soundfont, or for ``room`` the soundfont and the
    room drawn for the segment (``features.takes.room_params``)."""
    from percepiano.audio import condition
    from percepiano.audio import render as R
    from percepiano.features import takes

    params = takes.room_params(name) if version == "room" else None
    font = params["soundfont"] if params else version
    y = R.load_audio(R.render_cached(midi_path, soundfont=font, sr=SR))
    if params:
        y = takes.in_room(y, SR, params, name)
    lufs = condition.loudness(y, SR)
    gain = 10 ** ((condition.TARGET_LUFS - lufs) / 20) if np.isfinite(lufs) else 1.0
    return (y * gain).astype(np.float32)


@experiment("transcription_route", config=_config)
def transcription_route(cfg: dict) -> dict:
    """Transcription accuracy on renders, and scoring through the transcribed notes."""
    from tqdm.auto import tqdm

    from percepiano.audio import transcription
    from percepiano.data import dataset
    from percepiano.evaluation import transcription as acc
    from percepiano.experiments import transcription_scoring as S

    ds = dataset.subset(dataset.load(), cfg["max_segments"])  # the development part only
    seconds = S.durations(ds)
    names = subset(ds.segments, seconds, cfg["min_segments"])
    part = part_of(names, seconds, cfg["part"])
    tasks = [(n, v) for v in cfg["versions"] for n in (names if v == "fluidr3" else part)]
    paths, rows = {}, []
    bar = tqdm(total=float(sum(seconds[n] for n, _ in tasks)), unit="s of audio",
               desc="transcribing", bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s "
                                               "[{elapsed}<{remaining}]")
    for name, version in tasks:
        y = render(name, ds.segments.midi_path[name], version)
        path = transcription.transcribe_cached(y, SR, desc=f"{name} ({version})")
        paths[(name, version)] = path
        ref = acc.reference(Path(ds.segments.midi_path[name]).read_bytes(), name)
        est = S.read_midi(path)
        rows.append({"name": name, "version": version, "audio_s": len(y) / SR,
                     **(transcription.timing(path) or {}), **acc.scores(ref, est),
                     "midi": S.notes_json(est)})
        bar.update(float(seconds[name]))
    bar.close()
    scoring = S.score_routes(ds, names, part, paths, cfg)
    oof = scoring.pop("oof")
    head = scoring["routes"]
    t = {r["route"]: r for r in head}
    return {"pooled_r2": t["MIDI forest, transcribed (fluidr3)"]["pooled_r2"],
            "pooled_r2_true_midi": t["MIDI forest, true MIDI"]["pooled_r2"],
            "headline": {"keys": ["pooled_r2", "pooled_r2_true_midi"],
                         "metric": "pooled R² on the transcribed subset, mean over the 19 "
                                   "dimensions, of the MIDI forest on FluidR3 transcriptions "
                                   "and on the true MIDI", "split": cfg["split"]},
            "subset": names, "part": part, "accuracy": rows, **scoring,
            "oof": oof.rename_axis("name")}
