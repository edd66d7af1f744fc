"""Can the transcriber read this sound? The plausibility checks measured on renderings.

Development segments of PercePiano (one per piece, 8-bar excerpts, chosen with a fixed seed;
never the final exam) are rendered as a piano (FluidR3, the reference), another piano
(TimGM6mb), a piano 25 and 50 cents flat, at A = 415 Hz, as a church organ, a violin, a
harpsichord, and mixed with itself 1 s later (``percepiano.audio.sound_conditions``). Each is
conditioned and transcribed as `percepiano predict` does (``audio.plausibility.transcribe_take``:
retuned when off the grid), and also without retuning where it was retuned; the transcription is
scored by the notes model. For each rendering the report keeps the checks' readings (tuning,
note slope, onset recall, notes), Δ (the largest change of the 19 scores, 1-7 scale, against the
FluidR3 piano of the same segment) and whether the reference's scores lie in the 80 % intervals.
Writes ``plausibility.json`` and ``plausibility.md`` to ``--out``.

    python scripts/plausibility_report.py --out results/plausibility --segments 8

Transcription runs on the CPU at about 1.6 s per second of audio (2 cores); results are cached.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

SEED = 0


def conditions():
    from percepiano.audio import sound_conditions as sc
    from percepiano.audio.take_conditions import render

    return {
        "piano": ("FluidR3 piano (the reference)", render),
        "other_piano": ("TimGM6mb piano", partial(render, soundfont="timgm6mb")),
        "flat_25c": ("piano 25 cents flat", partial(sc.detuned, cents=-25.0)),
        "flat_50c": ("piano a quarter tone flat", partial(sc.detuned, cents=-50.0)),
        "a415": ("piano at A = 415 Hz", partial(sc.detuned, cents=sc.A415_CENTS)),
        "organ": ("church organ (GM 20)", partial(sc.instrument, number=sc.ORGAN)),
        "violin": ("violin (GM 41)", partial(sc.instrument, number=sc.VIOLIN)),
        "harpsichord": ("harpsichord (GM 7)", partial(sc.instrument, number=sc.HARPSICHORD)),
        "canon_1s": ("the take mixed with itself 1 s later", partial(sc.canon, delay=1.0)),
    }


def pick_segments(n: int) -> list[str]:
    import numpy as np

    from percepiano.data import dataset

    s = dataset.load().segments
    from percepiano.data.temporal import work_of

    s = s[(s["bars"] == 8) & ~s["is_score"]]
    rng = np.random.default_rng(SEED)
    works = {}  # each work's pieces in a seeded order; pieces taken from the works in turn
    for p in sorted(s["piece"].unique()):
        works.setdefault(work_of(p), []).append(p)
    queues = [list(rng.permutation(ps)) for _, ps in sorted(works.items())]
    chosen = []
    while len(chosen) < n and any(queues):
        for q in queues:
            if q and len(chosen) < n:
                chosen.append(q.pop(0))
    return [str(rng.choice(sorted(s.index[s["piece"] == p]))) for p in chosen]


def score_pm(pm, model, columns, folder: Path) -> dict:
    from percepiano.analysis import scoring
    from percepiano.errors import UserError

    path = folder / "take.mid"
    pm.write(str(path))
    try:
        prof = scoring.score(scoring.read_midi(path, columns), model, 0.8)
    except UserError as e:  # too few notes to score: what the transcription left
        return {"refused": str(e).split(": ", 1)[-1]}
    return {d["dimension"]: (d["score"], d["low"], d["high"]) for d in prof["dimensions"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--segments", type=int, default=8)
    args = ap.parse_args(argv)
    import numpy as np
    from tqdm.auto import tqdm

    from percepiano import codehash
    from percepiano.analysis.final import descriptor_columns
    from percepiano.audio import condition, plausibility, transcription
    from percepiano.cli import model as model_cli
    from percepiano.data import dataset

    started = time.time()
    model = model_cli.ensure("notes")
    columns = descriptor_columns("midi")
    segs = dataset.load().segments
    names = pick_segments(args.segments)
    conds = conditions()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seg in (bar := tqdm(names, desc="segments", file=sys.stderr)):
            data = Path(segs.loc[seg, "midi_path"]).read_bytes()
            ref = None
            for name, (desc, fn) in conds.items():
                bar.set_postfix_str(name)
                y, sr = fn(data, transcription.SR)
                c = condition.condition(y, sr)
                pm, r, _ = plausibility.transcribe_take(c.y, sr)
                out = {"segment": seg, "condition": name, "description": desc,
                       "seconds": len(c.y) / sr, **r.__dict__}
                out["scores"] = score_pm(pm, model, columns, Path(tmp))
                if r.speed != 1.0:  # the same take transcribed as it sounds, not retuned
                    raw = transcription.transcribe_cached(c.y, sr, progress=False)
                    import pretty_midi

                    pm0 = pretty_midi.PrettyMIDI(str(raw))
                    out["scores_not_retuned"] = score_pm(pm0, model, columns, Path(tmp))
                    out["notes_not_retuned"] = sum(len(i.notes) for i in pm0.instruments)
                refusal, _, widen = plausibility.verdict(r)
                out["verdict"] = "refused" if refusal else ("widened" if widen else "scored")
                out["widen"] = widen
                if name == "piano":
                    ref = out["scores"]
                for key in ("scores", "scores_not_retuned"):
                    if key in out and "refused" not in out[key] and ref and "refused" not in ref:
                        s = out[key]
                        out[key.replace("scores", "delta")] = max(
                            abs(s[d][0] - ref[d][0]) for d in s)
                        out[key.replace("scores", "covered")] = float(np.mean(
                            [s[d][1] <= ref[d][0] <= s[d][2] for d in s]))
                if "delta" in out:  # as printed: the intervals widened where the verdict says
                    w = out["widen"]
                    s = out["scores"]
                    out["covered_printed"] = float(np.mean(
                        [max(1.0, s[d][1] - w) <= ref[d][0] <= min(7.0, s[d][2] + w)
                         for d in s]))
                rows.append(out)
    report = {"segments": names, "code": codehash.checkout_state(HERE),
              "date": time.strftime("%Y-%m-%d %H:%M"), "seconds": time.time() - started,
              "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "plausibility.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "plausibility.md").write_text(markdown(report))
    print((args.out / "plausibility.md").read_text())
    return 0


def markdown(report: dict) -> str:
    """Per condition, medians over the segments (min-max where it helps a threshold)."""
    import pandas as pd

    df = pd.DataFrame(report["rows"])
    lines = [f"# Plausibility checks on renderings of {len(report['segments'])} development "
             f"segments ({report['date']}, commit {str(report['code']['commit'])[:12]}"
             f"{', dirty' if report['code']['dirty'] else ''})", "",
             "Medians over segments; note slope and recall also min to max. Δ: largest change "
             "of the 19 "
             "scores against the FluidR3 piano; covered: share of the piano's 19 scores inside "
             "the condition's 80 % intervals; refused, widened: what `percepiano predict` "
             "does with the take (``audio.plausibility.verdict``); covered as printed: with the "
             "widened intervals, over the takes not refused.", "",
             "| condition | cents | speed | note slope dB/s (min-max) | onset recall (min-max) | "
             "notes | scorable | Δ | covered | Δ not retuned | covered not retuned | "
             "refused | widened | covered as printed (scored ones) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    def med(g, col, fmt=".2f"):
        return format(g[col].median(), fmt) if col in g and g[col].notna().any() else "-"

    for name, g in df.groupby("condition", sort=False):
        lines.append(
            f"| {name} | {med(g, 'cents', '.0f')} | {med(g, 'speed', '.3f')} | "
            f"{g['slope'].median():.0f} ({g['slope'].min():.0f} to {g['slope'].max():.0f}) "
            f"| {g['recall'].median():.2f} ({g['recall'].min():.2f}-{g['recall'].max():.2f}) | "
            f"{med(g, 'notes', '.0f')} | "
            f"{sum('refused' not in x for x in g['scores'])}/{len(g)} | {med(g, 'delta')} | "
            f"{med(g, 'covered')} | "
            f"{med(g, 'delta_not_retuned')} | {med(g, 'covered_not_retuned')} | "
            f"{(g['verdict'] == 'refused').sum()}/{len(g)} | "
            f"{(g['verdict'] == 'widened').sum()}/{len(g)} | "
            f"{med(g[g['verdict'] != 'refused'], 'covered_printed')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
