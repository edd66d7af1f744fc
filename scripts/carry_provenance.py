#!/usr/bin/env python3
"""Carry stored results forward over a code change that cannot move their numbers.

    python scripts/carry_provenance.py --from OLD --to NEW --modules M [M ...] --why TEXT

A stored result is *current* when the code hash of its experiment (the source of every package
module it imports) matches today's code. A change to a module in that closure that provably
leaves the numbers alone (a new gate on reading the final exam, a docstring) makes every result
``stale (code)``, and re-running to restamp means hours of training on a CPU. This script
records the new code in ``provenance.json`` instead, under conditions it checks:

* the result was current for OLD's code (configuration hash equal to today's, code hash equal
  to OLD's, both read from git, never from the working tree);
* every module of its closure that differs between OLD and NEW is one of ``--modules``, the
  modules the change is declared number-neutral for; any other difference refuses (an
  experiment whose function moved to another module names the module that held it at OLD
  with ``--moved``, so its closure at OLD is read from there);
* where a changed module is in ``percepiano.data``, the development part that every experiment
  reads (segment names, metadata, labels, label spread and ratings) loads byte for byte the same
  under OLD's and NEW's code (each run in its own process from a ``git archive`` of the commit).

Then ``code_hash``, ``code_modules`` and ``commit`` become NEW's, ``dirty`` false, and a
``carried`` list in the provenance gains one entry: OLD, NEW, the modules, ``--why``, the data
digest checked, this script and NEW's commit time (so a re-run writes the same bytes). The
numbers and ``oof.csv.gz`` are not touched. Results already current at NEW are left alone.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from percepiano import codehash, config, experiments  # noqa: E402
from percepiano.experiments import store  # noqa: E402

SCRIPT = "scripts/carry_provenance.py"
DIGEST = """
import hashlib, sys
from percepiano.data import dataset
d = dataset.load()
h = hashlib.sha256()
for table in (d.segments, d.labels, d.label_std, d.ratings):
    h.update(table.to_csv().encode())
h.update("\\n".join(d.names).encode())
print(h.hexdigest())
"""


def git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, check=True).stdout


def extract(commit: str, tmp: Path) -> dict[str, Path]:
    """The package at ``commit`` extracted under ``tmp``: its modules by dotted name."""
    with tarfile.open(fileobj=io.BytesIO(git("archive", commit, "percepiano"))) as tar:
        tar.extractall(tmp, filter="data")
    out = {}
    for path in sorted((tmp / "percepiano").rglob("*.py")):
        parts = ["percepiano", *path.relative_to(tmp / "percepiano").with_suffix("").parts]
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def data_digest(tmp: Path) -> str:
    """The digest of the development part as the package under ``tmp`` loads it."""
    env = {**os.environ, "PYTHONPATH": str(tmp)}
    out = subprocess.run([sys.executable, "-c", DIGEST], env=env, cwd=tmp, capture_output=True,
                         text=True)
    if out.returncode:
        raise SystemExit(f"loading the data with the code under {tmp} failed:\n{out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="old", required=True,
                   help="the commit whose code the stored results are current for")
    p.add_argument("--to", dest="new", default="HEAD", help="the commit to carry them to")
    p.add_argument("--modules", nargs="+", required=True,
                   help="the modules whose change is declared number-neutral")
    p.add_argument("--why", required=True, help="why the change cannot move the numbers")
    p.add_argument("--moved", nargs="*", default=[], metavar="EXPERIMENT=MODULE",
                   help="an experiment whose function moved to another module, and the module "
                        "that held it at --from (e.g. week3_interpret="
                        "percepiano.experiments.week3)")
    p.add_argument("--profile", default="quick", choices=config.PROFILES)
    p.add_argument("--only", nargs="+", default=None, metavar="EXPERIMENT",
                   help="carry these experiments only (default: every stored one; an "
                        "experiment being re-run for a changed configuration would refuse)")
    args = p.parse_args()
    moved = dict(m.split("=", 1) for m in args.moved)
    old, new = (git("rev-parse", c).decode().strip() for c in (args.old, args.new))
    committed = git("show", "-s", "--format=%cI", new).decode().strip()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        old_code, new_code = extract(old, Path(a)), extract(new, Path(b))
        digests = None
        for name in sorted(args.only or experiments.REGISTRY):
            res = store.stored(name, args.profile)
            if res is None:
                continue
            prov, func = res.provenance, experiments.get(name).func.__module__
            before = codehash.module_hashes(moved.get(name, func), modules=old_code)
            after = codehash.module_hashes(func, modules=new_code)
            if prov.get("code_hash") == codehash.digest(after):
                print(f"{name}: current at {args.new} already")
                continue
            if prov.get("config_hash") != store.plan(name, args.profile)[1]:
                raise SystemExit(f"{name}: its configuration changed; not carried")
            if prov.get("code_hash") != codehash.digest(before):
                raise SystemExit(f"{name}: not current for {args.old}'s code; not carried")
            changed = sorted(m for m in set(before) | set(after)
                             if before.get(m) != after.get(m))
            undeclared = sorted(set(changed) - set(args.modules))
            if undeclared:
                raise SystemExit(f"{name}: {', '.join(undeclared)} changed too; not carried")
            check = None
            if any(m.startswith("percepiano.data") for m in changed):
                if digests is None:
                    digests = (data_digest(Path(a)), data_digest(Path(b)))
                if digests[0] != digests[1]:
                    raise SystemExit("the development part loads differently under the two "
                                     "commits; nothing carried")
                check = f"development part digest {digests[1]} under both commits"
            entry = {"from": old, "to": new, "modules": changed, "why": args.why,
                     "check": check, "script": SCRIPT, "timestamp": committed}
            prov = {**prov, "code_hash": codehash.digest(after), "code_modules": after,
                    "commit": new, "dirty": False,
                    "carried": [*prov.get("carried", []), entry]}
            store._atomic(res.path / "provenance.json", json.dumps(prov, indent=1) + "\n")
            print(f"{name}: carried over {', '.join(changed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
