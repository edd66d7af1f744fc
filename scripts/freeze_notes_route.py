"""Freeze what the notes model is built from out of the transcription chapter's stored results
into the package (``percepiano/data/notes_route.json.gz``, ``analysis.notes_route.freeze``):
its FluidR3 transcriptions, its out-of-fold predictions of the error-model recipe on every
transcription (names, routes, folds, predictions; the labels come from the data), that recipe's
accuracy, and where they came from. Reads the full profile's results when stored, else the
quick one's; equal results give equal bytes. Run it after committing new `transcription_route`
results, then commit the file (``tests/analysis/test_notes_route.py`` checks they agree).

    .venv/bin/python scripts/freeze_notes_route.py [--results DIR] [--profile quick] [--check]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PACKAGE_FILE = Path(__file__).resolve().parents[1] / "percepiano" / "data" / "notes_route.json.gz"


def stored(folder: Path):
    """The stored results in ``folder``: (metrics, out-of-fold predictions, provenance)."""
    import pandas as pd

    return (json.loads((folder / "metrics.json").read_text()),
            pd.read_csv(folder / "oof.csv.gz", index_col=0),
            json.loads((folder / "provenance.json").read_text()))


def last_commit(folder: Path) -> str | None:
    """The last git commit that changed ``folder``'s committed files; None outside git."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%H", "--", "."], cwd=folder,
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    from percepiano import config
    from percepiano.analysis import notes_route

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help="the results folder (default: PERCEPIANO_RESULTS, else the "
                             "project's results/)")
    parser.add_argument("--profile", choices=("full", "quick"), default=None,
                        help="which profile's results (default: full when stored, else quick)")
    parser.add_argument("--out", type=Path, default=PACKAGE_FILE,
                        help="where to write (default: percepiano/data/notes_route.json.gz "
                             "of this checkout)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when the file differs from what the "
                             "results give")
    args = parser.parse_args(argv)
    root = args.results or config.results_dir()
    folders = {p: root / p / notes_route.EXPERIMENT for p in ("full", "quick")}
    found = [p for p in ([args.profile] if args.profile else folders)
             if (folders[p] / "provenance.json").is_file()]
    if not found:
        print(f"freeze_notes_route: error: no stored {notes_route.EXPERIMENT} results under "
              f"{root} ({args.profile or 'full or quick'} profile): run `percepiano run "
              f"{notes_route.EXPERIMENT}` first", file=sys.stderr)
        return 2
    folder = folders[found[0]]
    try:
        blob = notes_route.freeze(*stored(folder), results_commit=last_commit(folder))
    except (OSError, KeyError, ValueError) as e:
        print(f"freeze_notes_route: error: {folder}: {e}", file=sys.stderr)
        return 2
    frozen = notes_route.load(blob)
    what = (f"{len(frozen.transcriptions)} transcriptions, {len(frozen.calibration)} "
            f"calibration rows from {folder} ({len(blob) / 1024:.0f} KiB, digest "
            f"{frozen.digest})")
    if args.check:
        same = args.out.is_file() and notes_route.load(args.out.read_bytes()).digest == \
            frozen.digest
        print(f"{args.out}: {'up to date with' if same else 'differs from'} {what}")
        return 0 if same else 1
    from percepiano.io import atomic_path

    with atomic_path(args.out) as tmp:
        tmp.write_bytes(blob)
    print(f"{args.out}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
