"""Same performance, same scores? `percepiano predict` on one take recorded and encoded many ways.

One PercePiano development segment is the take. Its MIDI is rendered to the reference audio
(FluidR3, 44.1 kHz, 16-bit WAV); every condition of ``percepiano.audio.take_conditions`` (silence or
room noise around the take, gain, bit depth, sample rate, FLAC/MP3, stereo, a telephone line, a
long take, another soundfont; a detuned piano, another instrument, two takes at once; MIDI file
type, resolution, track layout, tempo map, pedals, a 10-minute repeat ...) makes another file of
the same performance; the sounds a transcriber cannot read are also made of ``--segments`` more
segments. Each file is scored by its own ``python -m percepiano predict --json FILE [--via
ROUTE]`` run in ``--root`` (a refused file is recorded with its one-line message and the others
go on), audio by each of ``--routes``, and Δ is the largest absolute change of any of the 19
scores (1-7 scale) against the reference of its kind and route: MIDI conditions against the
original MIDI, audio and render conditions against the reference WAV. Then
``invariance_cases`` runs the cases that are not a recording: outputs that cannot be written,
a read-only cache, a folder with a bad file. Writes ``invariance.json`` (every score) and
``invariance.md`` (one table per kind of fault, each row with its verdict) to ``--out``;
``--compare`` adds the Δ and verdict of an earlier run beside this one's, its verdicts read
again by today's rule (``invariance_table.retable``).

    python scripts/invariance_report.py --out /tmp/invariance
    python scripts/invariance_report.py --root /tmp/other_checkout --python .venv/bin/python \\
        --out /tmp/invariance_after --compare /tmp/invariance/invariance.json

``--root`` is the checkout whose code scores (run with that folder as working directory and
first on ``PYTHONPATH``, so ``--python`` may be another checkout's interpreter); the conditions
are made by this checkout's package. The first predict call may build the final models
(minutes; cached afterwards in the root's cache, or ``$PERCEPIANO_CACHE``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))  # the conditions come from this checkout
sys.path.insert(0, str(HERE / "scripts"))  # invariance_cases, plausibility_report

# Beethoven WoO 80, variation 3, performer 14: 15.0 s from its first to its last onset, a
# development segment (never the locked final exam), in a single-track 480-tick file
DEFAULT_SEGMENT = "Beethoven_WoO80_var3_8bars_14_2"
REF_SR = 44100
HEADROOM = 0.4  # the reference peaks here (-8 dBFS), as a recording set to a usual level does;
# +6 dB and a 0.2 DC offset still fit
PREFIX = "percepiano predict: error: "


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segment", default=DEFAULT_SEGMENT, help="development segment name")
    ap.add_argument("--out", type=Path, required=True, help="folder for invariance.json/.md")
    ap.add_argument("--root", type=Path, default=HERE, help="checkout whose code scores")
    ap.add_argument("--python", default=None, help="interpreter (default <root>/.venv/bin/python)")
    ap.add_argument("--compare", type=Path, default=None, metavar="OTHER.json",
                    help="an earlier invariance.json: its Δ goes in a 'before' column")
    ap.add_argument("--only", default=None, metavar="REGEX", help="conditions to run (re.search)")
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR",
                    help="write the condition files here instead of a temporary folder")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per predict call")
    ap.add_argument("--segments", type=int, default=4,
                    help="more development segments the sounds a transcriber cannot read are "
                         "made of (default 4; plausibility_report's seeded picks)")
    ap.add_argument("--routes", default="notes",
                    help="the routes audio is scored by, comma-separated: notes (the default "
                         "route) and/or sound (builds the audio model: 15 minutes the first "
                         "time); default notes")
    return ap.parse_args(argv)


class Scorer:
    """``python -m percepiano predict --json FILE`` in ``root``, one file per call."""

    def __init__(self, root: Path, python: str | None, timeout: float):
        self.root = root.resolve()
        self.python = python or str(self.root / ".venv" / "bin" / "python")
        self.timeout = timeout
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(self.root), *filter(None, [os.environ.get("PYTHONPATH")])])

    def run(self, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, *argv], cwd=self.root, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=self.timeout, check=False)

    def package(self) -> str:
        """Where the scoring ``percepiano`` is imported from (checks the root is the one)."""
        res = self.run("-c", "import percepiano; print(percepiano.__file__)")
        if res.returncode:
            sys.exit(f"cannot import percepiano with {self.python} in {self.root}: "
                     f"{res.stderr.strip().splitlines()[-1:]}")
        return res.stdout.strip()

    def score(self, path: Path, via: str | None = None) -> dict:
        """``{"profile": ...}`` or ``{"refused": one line}``; audio by the route ``via``
        (None: the default)."""
        try:
            res = self.run("-m", "percepiano", "predict", "--json", str(path),
                           *(["--via", via] if via else []))
        except subprocess.TimeoutExpired:
            return {"refused": f"no answer within {self.timeout:.0f} s"}
        if res.returncode == 0:
            try:
                return {"profile": json.loads(res.stdout)}
            except json.JSONDecodeError:
                return {"refused": "exit 0 but the output is not JSON"}
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        line = lines[-1] if lines else f"exit status {res.returncode}, nothing on stderr"
        if line.startswith(PREFIX):
            line = line[len(PREFIX):]
        return {"refused": line.replace(str(path.parent) + os.sep, ""),
                "exit": res.returncode}


def make_files(data: bytes, y, folder: Path, pattern: str | None) -> tuple[dict, dict]:
    """Write every chosen condition of the take; ``({name: path}, {name: why not built})``."""
    from percepiano.audio import take_conditions as cond

    files, failed = {}, {}
    for name, (kind, _, fn) in cond.REGISTRY.items():
        if pattern and not re.search(pattern, name):
            continue
        stem = folder / name.replace("/", "__")
        try:
            if kind == "midi":
                files[name] = stem.with_name(stem.name + ".mid")
                files[name].write_bytes(fn(data))
            else:
                y2, sr2 = fn(y, REF_SR) if kind == "audio" else fn(data, REF_SR)
                files[name] = cond.write_audio(stem, y2, sr2, cond.encoding(name))
        except ValueError as e:
            failed[name] = str(e)
    return files, failed


SOUND = r"^render/(flat|a415|organ|violin|harpsichord|four)"  # on the extra segments too


def main(argv=None) -> int:
    args = parse_args(argv)
    import invariance_cases
    import soundfile
    from invariance_table import markdown, portable, retable, summary
    from plausibility_report import pick_segments
    from tqdm.auto import tqdm

    from percepiano import codehash
    from percepiano.audio import take_conditions as cond
    from percepiano.data import dataset

    started = time.time()
    before = retable(json.loads(args.compare.read_text())) if args.compare else None
    segments = dataset.load().segments
    if args.segment not in segments.index:
        sys.exit(f"--segment {args.segment!r} is not a development segment of PercePiano")
    extra = [s for s in pick_segments(args.segments + 1) if s != args.segment][:args.segments]
    routes = args.routes.split(",")
    scorer = Scorer(args.root, args.python, args.timeout)
    code = {"root": str(scorer.root), "python": scorer.python, "package": scorer.package(),
            **codehash.checkout_state(scorer.root)}
    print(f"scoring with {code['package']} (commit {code['commit']})", file=sys.stderr)
    rows, cases = [], []
    with tempfile.TemporaryDirectory(prefix="invariance-") as tmp:
        root = args.keep or Path(tmp)
        for seg in tqdm([args.segment, *extra], desc="segments", file=sys.stderr):
            folder = root / seg
            folder.mkdir(parents=True, exist_ok=True)
            data = Path(segments.loc[seg, "midi_path"]).read_bytes()
            ref_midi = folder / "reference.mid"
            ref_midi.write_bytes(data)
            y, _ = cond.render(data, REF_SR)
            peak = float(abs(y).max())
            ref_gain = HEADROOM / peak if peak > 0 else 1.0
            ref_wav = cond.write_audio(folder / "reference", y * ref_gain, REF_SR)
            y, _ = soundfile.read(ref_wav, dtype="float32")  # conditions start from 16 bits
            pattern = args.only if seg == args.segment else (
                SOUND if not args.only else f"(?={SOUND})(?=.*{args.only})")
            files, failed = make_files(data, y, folder, pattern)
            todo = [("reference/midi", "midi", ref_midi),
                    *(("reference/audio", r, ref_wav) for r in routes)]
            for name, path in files.items():
                todo += ([(name, "midi", path)] if cond.REGISTRY[name].kind == "midi" else
                         [(name, r, path) for r in routes])
            results = {}
            for name, route, path in (bar := tqdm(todo, desc=seg[-14:], unit="file",
                                                  file=sys.stderr, leave=False)):
                bar.set_postfix_str(f"{name} {route}")
                results[name, route] = scorer.score(path, None if route == "midi" else route)
            takes = {"reference/midi": ("midi", "the segment's MIDI file"),
                     "reference/audio": ("audio", f"its FluidR3 rendering, {REF_SR} Hz WAV")}
            takes.update({n: (c.kind, c.description) for n, c in cond.REGISTRY.items()
                          if n in files or n in failed})
            for name, (kind, desc) in takes.items():
                for route in (["midi"] if kind == "midi" else routes):
                    row = {"segment": seg, "name": name, "route": route, "kind": kind,
                           "description": desc}
                    if name in failed:
                        row.update(status="not built", message=failed[name], verdict="-")
                    else:
                        ref = results[("reference/midi", "midi") if kind == "midi" else
                                      ("reference/audio", route)]
                        row.update(summary(results[name, route], ref))
                    rows.append(row)
            if seg == args.segment and not args.only:
                import numpy as np

                others = sorted(set(segments.index) - {args.segment})
                dev = [Path(segments.loc[s, "midi_path"]) for s in np.random.default_rng(
                    0).choice(others, invariance_cases.FOLDER_TAKES - 1, replace=False)]
                cases = invariance_cases.run_cases(scorer, folder, ref_midi, ref_wav, dev)
    for c in cases:
        rows.append({"segment": args.segment, "route": "", "kind": "case", **c})
    report = {"segment": args.segment, "segments": [args.segment, *extra],
              "date": time.strftime("%Y-%m-%d %H:%M"), "routes": routes,
              "reference": {"sr": REF_SR, "soundfont": "fluidr3", "headroom": HEADROOM},
              "code": code, "seconds_total": round(time.time() - started, 1),
              "conditions": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    roots = [str(scorer.root), str(HERE)]  # stored without this machine's paths
    (args.out / "invariance.json").write_text(portable(json.dumps(report, indent=2) + "\n",
                                                       roots))
    (args.out / "invariance.md").write_text(portable(markdown(report, before, REF_SR), roots))
    print(f"wrote {args.out / 'invariance.json'} and invariance.md "
          f"({report['seconds_total']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
