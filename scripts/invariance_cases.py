"""Where `percepiano predict` writes, and a folder with a bad file: the cases of
``invariance_report.py`` that are not a re-recording of the take.

Each case runs ``predict`` once and records its exit status, whether the scores were printed,
how many lines it wrote on stderr, whether a traceback or a temporary file name appeared, and
the CSV rows written. A read-only folder and a read-only cache are made with read-only mounts
(``mount``, as root) or, failing that, by taking the write permission away (which root
ignores); a case that cannot be set up here is recorded as not built.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

FOLDER_TAKES = 20  # the folder case: this many takes, one of them truncated


@contextlib.contextmanager
def read_only(folder: Path, source: Path | None = None):
    """``folder`` made read-only (with ``source``'s files when given, else empty); yields
    whether it could be."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = False
    try:
        if os.geteuid() == 0:
            cmd = (["mount", "--bind", str(source), str(folder)] if source else
                   ["mount", "-t", "tmpfs", "tmpfs", str(folder)])
            ok = subprocess.run(cmd, capture_output=True).returncode == 0
            mounted = ok
            ok = ok and subprocess.run(["mount", "-o", "remount,ro,bind" if source else
                                        "remount,ro", str(folder)],
                                       capture_output=True).returncode == 0
        else:
            if source:
                shutil.copytree(source, folder, dirs_exist_ok=True, symlinks=True)
            folder.chmod(0o555)
            ok = True
        yield ok
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], capture_output=True)
        with contextlib.suppress(OSError):
            folder.chmod(0o755)


def _outcome(res, csv: Path | None, tmp_names: bool) -> dict:
    err = [ln for ln in res.stderr.splitlines() if ln.startswith("percepiano")]
    printed = False
    try:
        printed = bool(json.loads(res.stdout))
    except json.JSONDecodeError:
        pass
    rows = None
    if csv is not None and csv.is_file():
        rows = max(0, len(csv.read_text().splitlines()) - 1)
    return {"status": "ran", "exit": res.returncode, "scores_printed": printed,
            "stderr_lines": len(err),  # the command's own lines (libraries' warnings aside)
            "traceback": "Traceback" in res.stderr,
            "temporary_name": tmp_names, "csv_rows": rows,
            "message": err[-1] if err else ""}


def verdict(row: dict, expect: dict) -> str:
    """'as it should' when every expected field matches, else what differs."""
    if row["status"] != "ran":
        return row["status"]
    wrong = [f"{k} {row.get(k)!r} (wanted {v!r})" for k, v in expect.items() if row.get(k) != v]
    return "as it should" if not wrong else "; ".join(wrong)


def run_cases(scorer, folder: Path, ref_midi: Path, ref_wav: Path, dev_midis: list[Path]
              ) -> list[dict]:
    """Every case: ``{name, description, expect, ...outcome}``."""
    out = []

    def case(name, description, argv, expect, csv=None, env=None):
        res = scorer.run("-m", "percepiano", "predict", "--json", *map(str, argv), env=env)
        tmp = any(f"/.{Path(a).name}." in res.stderr for a in map(str, argv))
        row = {"name": name, "description": description, **_outcome(res, csv, tmp)}
        row["verdict"] = verdict(row, expect)
        out.append(row)

    one_line = {"stderr_lines": 1, "traceback": False, "temporary_name": False}
    onto = folder / "already-a-folder.csv"
    onto.mkdir(exist_ok=True)
    case("output/csv_onto_folder", "--csv onto the name of an existing folder",
         [ref_midi, "--csv", onto], {"exit": 2, **one_line})
    with read_only(folder / "read-only") as ok:
        if ok:
            case("output/csv_read_only_folder", "--csv into a read-only folder",
                 [ref_midi, "--csv", folder / "read-only" / "out.csv"], {"exit": 2, **one_line})
    case("output/csv_in_proc", "--csv /proc/percepiano-out.csv (a folder nobody writes to)",
         [ref_midi, "--csv", "/proc/percepiano-out.csv"],
         {"scores_printed": True, **one_line}, csv=None)
    cache = Path(os.environ.get("PERCEPIANO_CACHE") or scorer.root / ".cache" / "percepiano")
    with read_only(folder / "read-only-cache", cache) as ok:
        if ok:
            env = {"PERCEPIANO_CACHE": str(folder / "read-only-cache")}
            new = folder / "new-take.wav"  # audio the cache has never transcribed
            import soundfile

            y, sr = soundfile.read(ref_wav, dtype="float32")
            soundfile.write(new, y * 0.9, sr)
            case("output/read_only_cache", "a read-only cache holding the models, a WAV it "
                 "has not transcribed", [new], {"exit": 0, "scores_printed": True,
                                               "traceback": False}, env=env)
    with read_only(folder / "empty-read-only-cache") as ok:
        if ok:
            env = {"PERCEPIANO_CACHE": str(folder / "empty-read-only-cache")}
            case("output/empty_read_only_cache", "an empty read-only cache (no model)",
                 [ref_midi], {"exit": 2, **one_line}, env=env)
    takes = folder / "pupils"
    takes.mkdir(exist_ok=True)
    for p in dev_midis[:FOLDER_TAKES - 1]:
        shutil.copy(p, takes / p.name)
    (takes / "truncated.mid").write_bytes(ref_midi.read_bytes()[:60])
    csv = folder / "pupils.csv"
    case("folder/one_truncated_of_20", f"a folder of {FOLDER_TAKES} MIDI takes, one truncated",
         [takes, "--csv", csv], {"exit": 1, "csv_rows": FOLDER_TAKES - 1, "traceback": False},
         csv=csv)
    return out
