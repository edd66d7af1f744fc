"""Time `percepiano predict` as a user runs it, with /usr/bin/time -v: one 30-s MIDI file from
process start to exit, and a folder of 20 files (per file). The final models are built first
(once), so the figures are the scoring itself; the files are development segments of
PercePiano, copied to a temporary folder.

    python scripts/bench_predict.py [--kind midi|audio]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FIELDS = {"wall": r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)",
          "rss_kb": r"Maximum resident set size \(kbytes\): (\d+)"}


def timed(argv: list[str]) -> dict:
    res = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"failed: {' '.join(argv)}\n{res.stderr[-2000:]}")
    got = {k: re.search(p, res.stderr).group(1) for k, p in FIELDS.items()}
    parts = [float(x) for x in got["wall"].split(":")]
    wall = sum(x * 60 ** i for i, x in enumerate(reversed(parts)))
    return {"wall_s": wall, "peak_mb": int(got["rss_kb"]) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=("midi", "audio"), default="midi")
    args = ap.parse_args()
    import warnings

    import pretty_midi

    warnings.filterwarnings("ignore", module="pretty_midi")  # tempo events on non-zero tracks

    from percepiano.audio import render
    from percepiano.data import dataset

    exe = str(Path(sys.executable).with_name("percepiano"))
    subprocess.run([exe, "model", "build", "--kind", args.kind], check=True,
                   stdout=subprocess.DEVNULL)
    ds = dataset.load()
    paths = list(ds.segments["midi_path"])
    length = {p: pretty_midi.PrettyMIDI(p).get_end_time() for p in paths[::7]}
    one = min(length, key=lambda p: abs(length[p] - 30.0))
    batch = sorted(paths[1::50])[:20]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "batch").mkdir()
        suffix = ".mid" if args.kind == "midi" else ".wav"

        def place(src: str, dest: Path) -> Path:
            dest = dest.with_suffix(suffix)
            if args.kind == "midi":
                shutil.copy(src, dest)
            else:
                import soundfile

                soundfile.write(dest, render.render_midi(src, sr=44100), 44100)
            return dest

        single = place(one, tmp / "one")
        for i, src in enumerate(batch):
            place(src, tmp / "batch" / f"take{i:02d}")
        first = timed([exe, "predict", str(single)])
        folder = timed([exe, "predict", str(tmp / "batch"), "--csv", str(tmp / "out.csv")])
    print(f"percepiano predict ({args.kind}), /usr/bin/time -v, process start to exit")
    print(f"  one {length[one]:.0f}-s file:   {first['wall_s']:.2f} s, "
          f"peak {first['peak_mb']:.0f} MB")
    print(f"  folder of {len(batch)} files: {folder['wall_s']:.2f} s, "
          f"{folder['wall_s'] / len(batch):.2f} s per file, peak {folder['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
