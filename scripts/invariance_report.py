"""Same performance, same scores? `percepiano predict` on one take recorded and encoded many ways.

One PercePiano development segment is the take. Its MIDI is rendered to the reference audio
(FluidR3, 44.1 kHz, 16-bit WAV); every condition of ``percepiano.audio.take_conditions`` (silence or
room noise around the take, gain, bit depth, sample rate, FLAC/MP3, stereo, a telephone line, a
long take, another soundfont; MIDI file type, resolution, track layout, tempo map, pedals ...)
makes another file of the same performance. Each file is scored by its own
``python -m percepiano predict --json FILE`` run in ``--root`` (a refused file is recorded with
its one-line message and the others go on), and Δ is the largest absolute change of any of the
19 scores (1-7 scale) against the reference of its kind: MIDI conditions against the original
MIDI, audio and render conditions against the reference WAV. Writes ``invariance.json`` (every
score) and ``invariance.md`` (the table) to ``--out``; ``--compare`` adds the Δ of an earlier
run beside this one's.

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
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))  # the conditions come from this checkout

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

    def run(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, *argv], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=self.timeout, check=False)

    def package(self) -> str:
        """Where the scoring ``percepiano`` is imported from (checks the root is the one)."""
        res = self.run("-c", "import percepiano; print(percepiano.__file__)")
        if res.returncode:
            sys.exit(f"cannot import percepiano with {self.python} in {self.root}: "
                     f"{res.stderr.strip().splitlines()[-1:]}")
        return res.stdout.strip()

    def score(self, path: Path) -> dict:
        """``{"profile": ...}`` or ``{"refused": one line}``."""
        try:
            res = self.run("-m", "percepiano", "predict", "--json", str(path))
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


def summary(result: dict, ref: dict | None) -> dict:
    """One condition's row: status, Δ and its dimension, duration, notes beyond the
    reference's, and every score."""
    if "refused" in result:
        return {"status": "refused", "message": result["refused"], "exit": result.get("exit")}
    p = result["profile"]
    scores = {d["dimension"]: d["score"] for d in p["dimensions"]}
    row = {"status": "scored", "seconds": p["seconds"], "windows": p["windows"],
           "notes": p["notes"], "scores": scores}
    if ref is not None and "profile" in ref:
        base = {d["dimension"]: d["score"] for d in ref["profile"]["dimensions"]}
        diff = {d: abs(scores[d] - base[d]) for d in base}
        worst = max(diff, key=diff.get)
        row.update(delta=diff[worst], dimension=worst,
                   new_notes=[n for n in p["notes"] if n not in ref["profile"]["notes"]])
    return row


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _delta(row: dict | None) -> str:
    if row is None:
        return "-"
    if row["status"] != "scored":
        return row["status"]
    return "-" if row.get("delta") is None else f"{row['delta']:.3f}"


def _tally(rows: list[dict]) -> str:
    rows = [r for r in rows if not r["name"].startswith("reference/")]
    scored = [r["delta"] for r in rows if r.get("delta") is not None]
    count = {s: sum(r["status"] == s for r in rows) for s in ("refused", "not built")}
    return (f"{len(rows)} conditions: {sum(d < 0.005 for d in scored)} within 0.005 of the "
            f"reference, {sum(d >= 0.1 for d in scored)} off by 0.1 or more, "
            f"{count['refused']} refused, {count['not built']} not built.")


def markdown(report: dict, before: dict | None) -> str:
    """The report as a markdown table with a header saying what was run."""
    code = report["code"]
    lines = [f"# Same performance, same scores: `percepiano predict` on {report['segment']}",
             "",
             f"Take: PercePiano development segment `{report['segment']}` (its MIDI; the "
             f"reference audio rendered with FluidR3 at {REF_SR} Hz, 16-bit WAV). Code: "
             f"`{code['package']}` at commit {str(code['commit'])[:12]}"
             f"{' with uncommitted changes' if code['dirty'] else ''}; {report['date']}, "
             f"{report['seconds_total']:.0f} s in all.",
             "",
             "Δ: the largest absolute change of any of the 19 scores (1-7 scale) against the "
             "reference of the same kind (MIDI conditions: the original MIDI; audio and render "
             "conditions: the reference WAV); 0 means every score is unchanged. Notes: those the "
             "reference does not have.", "", _tally(report["conditions"]), ""]
    head = ["condition", "description"] + (["Δ before", "Δ after"] if before else ["Δ"]) + [
        "largest change in", "seconds", "notes / refusal"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    old = {r["name"]: r for r in before["conditions"]} if before else {}
    for r in report["conditions"]:
        note = r.get("message") or "; ".join(r.get("new_notes", []))
        cells = [f"`{r['name']}`", r["description"]]
        cells += [_delta(old.get(r["name"])), _delta(r)] if before else [_delta(r)]
        moved = r.get("delta") is not None and r["delta"] > 0
        cells += [r["dimension"] if moved else "", r.get("seconds", ""), note]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    import soundfile
    from tqdm.auto import tqdm

    from percepiano import codehash
    from percepiano.audio import take_conditions as cond
    from percepiano.data import dataset

    started = time.time()
    before = json.loads(args.compare.read_text()) if args.compare else None
    segments = dataset.load().segments
    if args.segment not in segments.index:
        sys.exit(f"--segment {args.segment!r} is not a development segment of PercePiano")
    data = Path(segments.loc[args.segment, "midi_path"]).read_bytes()
    scorer = Scorer(args.root, args.python, args.timeout)
    code = {"root": str(scorer.root), "python": scorer.python, "package": scorer.package(),
            **codehash.checkout_state(scorer.root)}
    print(f"scoring with {code['package']} (commit {code['commit']})", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="invariance-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ref_midi = folder / "reference.mid"
        ref_midi.write_bytes(data)
        y, _ = cond.render(data, REF_SR)
        peak = float(abs(y).max())
        ref_gain = HEADROOM / peak if peak > 0 else 1.0
        ref_wav = cond.write_audio(folder / "reference", y * ref_gain, REF_SR)
        y, _ = soundfile.read(ref_wav, dtype="float32")  # conditions start from the 16-bit file
        files, failed = make_files(data, y, folder, args.only)
        todo = [("reference/midi", ref_midi), ("reference/audio", ref_wav), *files.items()]
        results = {}
        for name, path in (bar := tqdm(todo, desc="predict", unit="file", file=sys.stderr)):
            bar.set_postfix_str(name)
            results[name] = scorer.score(path)

    takes = {"reference/midi": ("midi", "the segment's MIDI file", ref_midi),
             "reference/audio": ("audio", f"its FluidR3 rendering, {REF_SR} Hz 16-bit WAV",
                                 ref_wav)}
    takes.update({n: (c.kind, c.description, files.get(n)) for n, c in cond.REGISTRY.items()
                  if n in files or n in failed})
    rows = []
    for name, (kind, desc, path) in takes.items():
        row = {"name": name, "kind": kind, "description": desc}
        if name in failed:
            row.update(status="not built", message=failed[name])
        else:
            ref = results["reference/midi" if kind == "midi" else "reference/audio"]
            row.update(file=path.name, **summary(results[name], ref))
        rows.append(row)
    report = {"segment": args.segment, "date": time.strftime("%Y-%m-%d %H:%M"),
              "reference": {"sr": REF_SR, "soundfont": "fluidr3", "rendered_peak": peak,
                            "gain_applied_db": round(20 * math.log10(ref_gain), 2)},
              "code": code, "seconds_total": round(time.time() - started, 1),
              "conditions": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "invariance.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "invariance.md").write_text(markdown(report, before))
    print(f"wrote {args.out / 'invariance.json'} and invariance.md "
          f"({report['seconds_total']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
