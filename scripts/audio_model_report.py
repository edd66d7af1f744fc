"""What the audio model of `percepiano predict` gains and costs: three recipes cross-validated
on the same piece-split folds, and the example recording's interval coverage.

Recipes (random forests, the profile's settings):

* ``raw``: the descriptors of the FluidR3 renderings as they are (``features.audio``: absolute
  level in dBFS and the file's length included), the audio model before takes were conditioned;
* ``conditioned``: the same renderings conditioned as a take is (``audio.condition``: trimmed,
  loudness-normalised; no length), FluidR3 only: what reading no absolute level costs;
* ``two pianos + rooms``: conditioned, trained on FluidR3, TimGM6mb and simulated rooms
  (``features.takes``), the audio model ``predict`` uses now.

Each is scored on the held-out segments as FluidR3 renders them (pooled R², within-excerpt
pairwise accuracy, per-dimension R² of Timbre soft-loud and of the dynamic range, 95 % CIs over
music groups); the conditioned recipes also as TimGM6mb and the rooms render them. Then the
example recording shipped with PercePiano (``examples/*.wav``, the kind of render the raters
heard), and its MIDI rendered with each soundfont, are scored by ``percepiano predict`` of this
checkout (which builds its final model if missing) and, with ``--before CHECKOUT``, of another
checkout: how many of the 19 raters' means fall inside the 80 % intervals, and the mean absolute
error. The example's segment is a development segment, so it was in every final model's
training data: the coverage is for comparison only.

    PERCEPIANO_DATA=... python scripts/audio_model_report.py --out /tmp/audio_model \\
        [--before /path/to/an/older/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import soundfile  # noqa: E402

from percepiano.analysis import final  # noqa: E402
from percepiano.audio import render  # noqa: E402
from percepiano.data import dataset  # noqa: E402
from percepiano.data.dataset import DIMENSIONS, SCALE_MAX  # noqa: E402
from percepiano.evaluation.cross_validation import cross_validate  # noqa: E402
from percepiano.evaluation.stats import cluster_bootstrap_ci  # noqa: E402
from percepiano.models import forest  # noqa: E402

FOCUS = ("Timbre_Soft_Loud", "Dynamic_Little_dynamic_range_Large_dynamic_range")


def recipes(ds):
    from percepiano.features import takes
    from percepiano.features.audio import AUDIO_FEATURES

    raw = forest.feature_table(ds, "audio", progress=True)[[f"audio:{n}"
                                                            for n in AUDIO_FEATURES]]
    cols = final.descriptor_columns("audio")

    def table(version):
        t = takes.take_table(ds, version, progress=True)
        return t.set_axis([f"audio:{c}" for c in t.columns], axis=1)[cols]

    main, other = table("fluidr3"), {v: table(v) for v in ("timgm6mb", "room")}
    return {"raw": (raw, {}, {}), "conditioned": (main, {}, other),
            "two pianos + rooms": (main, other, other)}


def cross_validated(ds, X, train_extra, test_extra, cfg) -> dict:
    """Out-of-fold predictions (DataFrames by version) of X's rows and of ``test_extra``'s,
    learning from X's and ``train_extra``'s training rows."""
    Y = ds.labels.loc[X.index, list(DIMENSIONS)]
    held: dict = {}
    fp = (final.versions_predictor(X, train_extra, Y, cfg, final.SEED, held) if train_extra
          else _test_only(X, test_extra, Y, cfg, held))
    cv = cross_validate(ds, final.SPLIT, final.K, final.SEED, fp, desc="cross-validation")
    out = {"fluidr3": cv["oof"][list(DIMENSIONS)]}
    for k in test_extra:
        out[k] = pd.DataFrame(held[k], columns=list(DIMENSIONS),
                              index=held[f"{k}:names"]).loc[out["fluidr3"].index]
    return out


def _test_only(X, test_extra, Y, cfg, held):
    def fit_predict(train, val, test):
        fit = list(train) + list(val)
        model = forest.make_model("rf", forest.variant(cfg, {}), final.SEED).fit(
            X.loc[fit].to_numpy(), Y.loc[fit].to_numpy())
        for k, t in test_extra.items():
            names = list(t.index.intersection(test))
            held[k] = np.vstack([held.get(k, np.empty((0, Y.shape[1]))),
                                 model.predict(t.loc[names].to_numpy())])
            held[f"{k}:names"] = list(held.get(f"{k}:names", [])) + names
        return model.predict(X.loc[list(test)].to_numpy())
    return fit_predict


def scores(ds, pred: pd.DataFrame) -> dict:
    seg = ds.segments.loc[pred.index]
    y = ds.labels.loc[pred.index, list(DIMENSIONS)]
    ci = cluster_bootstrap_ci(y, pred, seg["music_group"], ["mean_r2", "mean_pairwise"],
                              groups=seg["excerpt"])
    out = {m: (r.estimate, r.ci_lo, r.ci_hi) for m, r in ci.iterrows()}
    for d in FOCUS:
        r2 = cluster_bootstrap_ci(y[[d]], pred[[d]], seg["music_group"], "mean_r2")
        out[d] = tuple(r2)
    return out


def coverage(root: Path, wav: Path, truth: np.ndarray) -> dict:
    """How many of the raters' means ``truth`` (19,) fall inside the 80 % intervals of
    ``percepiano predict`` run by the checkout at ``root`` on ``wav``, and the mean absolute
    error (1-7 scale)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-m", "percepiano", "predict", "--json", str(wav)],
                         cwd=root, env=env, capture_output=True, text=True, check=True).stdout
    dims = json.loads(out)["dimensions"]
    lo, hi, s = (np.array([d[k] for d in dims]) for k in ("low", "high", "score"))
    return {"inside": int(np.sum((truth >= lo) & (truth <= hi))),
            "mae": float(np.mean(np.abs(s - truth)))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--before", type=Path, default=None, metavar="CHECKOUT",
                    help="another checkout whose predict scores the example too")
    ap.add_argument("--example-only", action="store_true",
                    help="score the example only (no cross-validation)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    ds = dataset.load()
    cfg = forest.preset()
    rows, table = {}, []
    for name, (X, train_extra, test_extra) in ({} if args.example_only else recipes(ds)).items():
        preds = cross_validated(ds, X, train_extra, test_extra, cfg)
        rows[name] = {v: scores(ds, p) for v, p in preds.items()}
        for v, sc in rows[name].items():
            table.append(f"| {name} | {v} | " + " | ".join(
                f"{e:.3f} [{lo:.3f}, {hi:.3f}]" for e, lo, hi in sc.values()) + " |")
        print(*table[-len(rows[name]):], sep="\n", flush=True)
    head = ["| recipe | held-out audio | pooled R² | pairwise | R² " + " | R² ".join(FOCUS) + " |",
            "|---|---|---|---|" + "---|" * len(FOCUS)]
    wav = sorted((ds.root / "examples").glob("*.wav"))[0]
    truth = ds.labels.loc[wav.stem, list(DIMENSIONS)].to_numpy() * SCALE_MAX
    takes = {"the example recording": wav}
    for sf in render.SOUNDFONTS:  # the same performance on the two sampled pianos
        y = render.render_midi(ds.segments.loc[wav.stem, "midi_path"], soundfont=sf, sr=44100)
        takes[f"its MIDI rendered with {sf}"] = args.out / f"{wav.stem}-{sf}.wav"
        soundfile.write(takes[f"its MIDI rendered with {sf}"], y, 44100)
    roots = {"now": ROOT, **({"before": args.before} if args.before else {})}
    cov = {f"{take}, {who}": coverage(root, path, truth)
           for take, path in takes.items() for who, root in roots.items()}
    lines = head + table + ["", f"{wav.stem}: raters' means inside the 80 % intervals"]
    lines += [f"- {k}: {c['inside']}/19, mean absolute error {c['mae']:.2f}"
              for k, c in cov.items()]
    (args.out / "audio_model.md").write_text("\n".join(lines) + "\n")
    (args.out / "audio_model.json").write_text(json.dumps(
        {"recipes": {k: {v: {m: list(x) for m, x in sc.items()} for v, sc in r.items()}
                     for k, r in rows.items()}, "example": cov}, indent=1, default=float))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
