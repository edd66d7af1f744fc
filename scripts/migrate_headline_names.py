#!/usr/bin/env python3
"""Give the stored results' headline numbers the names that say what they are.

    python scripts/migrate_headline_names.py --from OLD --to NEW [--profile quick]

Results stored before commit NEW called three different things ``mean_r2`` and ``mean_r`` at
the top of ``metrics.json``: the pooled out-of-fold metric (most experiments), the fold-averaged
one (``bench``) and a noise ceiling (``data_ceiling``, ``data_duplicates``). This script renames
them, as NEW's code would now store them, without recomputing anything:

* top level: ``pooled_r2``/``pooled_r``, ``fold_mean_r2``/``fold_mean_r`` (``bench``), the
  ceiling's own ``mean_ceiling_r2``/``mean_ceiling_r`` (``data_ceiling``: the old copies are
  dropped after checking they are equal) or ``retest_ceiling_r2``/``retest_ceiling_r``
  (``data_duplicates``), first, then a ``headline`` with ``keys`` and ``metric`` (in words);
* per seed (``table`` rows): the fold-averaged ``mean_*`` become ``fold_mean_*`` (``per_fold``
  rows keep ``mean_*``: one fold's metrics); ``bench``'s ``cv`` likewise;
  ``data_duplicates``' ``test_retest.mean_r`` becomes ``mean_retest_r``.

Every number stays as it was (checked: the numbers of the file before and after are the same,
but for the dropped copies). ``oof.csv.gz`` is not touched.

``provenance.json`` then records NEW's code instead of re-running to restamp (``percepiano verify
--restamp`` re-runs each experiment, hours of training on a CPU): only results that were current
for commit OLD (their configuration hash equal to today's, their code hash equal to OLD's code,
read from git) are migrated; their ``code_hash``/``code_modules`` become NEW's (read from git,
not from the working tree), ``commit`` NEW, ``dirty`` false, and ``migrated_from`` keeps what
the provenance said before, with OLD, this script and the time NEW was committed (so a re-run
writes the same bytes). Results already migrated are left alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from percepiano import codehash, config, experiments  # noqa: E402
from percepiano.evaluation.cross_validation import FOLD_MEAN, POOLED  # noqa: E402
from percepiano.experiments import data as data_experiments  # noqa: E402
from percepiano.experiments import store  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from carry_provenance import extract, git  # noqa: E402

SCRIPT = "scripts/migrate_headline_names.py"
# experiment -> (new names of the old top-level mean_r2 and mean_r, what they measure)
HEADLINES = {
    "bench": (("fold_mean_r2", "fold_mean_r"),
              f"{FOLD_MEAN}; one cross-validation of the default, seed 0"),
    "data_ceiling": (("mean_ceiling_r2", "mean_ceiling_r"), data_experiments.CEILING),
    "data_duplicates": (("retest_ceiling_r2", "retest_ceiling_r"), data_experiments.RETEST),
}
DEFAULT = (("pooled_r2", "pooled_r"), POOLED)  # every cross-validated experiment


def code_of(commit: str, tmp: Path) -> dict[str, Path]:
    """The package's modules at ``commit`` (extracted from git under ``tmp``), by name."""
    return extract(commit, tmp)


def code_hash(name: str, modules: dict[str, Path]) -> tuple[str, dict[str, str]]:
    hashes = codehash.module_hashes(experiments.get(name).func.__module__, modules=modules)
    return codehash.digest(hashes), hashes


def numbers(obj, out: Counter | None = None) -> Counter:
    """Every number in a JSON tree, counted (NaN as 'nan', so that NaNs compare equal)."""
    out = Counter() if out is None else out
    if isinstance(obj, dict):
        for v in obj.values():
            numbers(v, out)
    elif isinstance(obj, list):
        for v in obj:
            numbers(v, out)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[repr(float(obj))] += 1
    return out


def migrate_metrics(name: str, old: dict) -> tuple[dict, Counter]:
    """``old`` with its headline named (see the module docstring) and the numbers dropped."""
    (r2, r), metric = HEADLINES.get(name, DEFAULT)
    top = {r2: old["mean_r2"], r: old["mean_r"]}
    dropped = Counter()
    if r2 in old:  # data_ceiling: the ceiling's own keys are there already
        if (old[r2], old[r]) != (old["mean_r2"], old["mean_r"]):
            raise SystemExit(f"{name}: mean_r2/mean_r differ from {r2}/{r}; not migrated")
        dropped = numbers([old["mean_r2"], old["mean_r"]])
        top = {r2: old[r2], r: old[r]}
    where = {k: v for k, v in (old.get("headline") or {}).items() if k != "metric"}
    new = {**top, "headline": {"keys": [r2, r], **where, "metric": metric}}
    for key, value in old.items():
        if key in ("mean_r2", "mean_r", "headline", r2, r):
            continue
        if key == "table":  # per-seed rows: the fold-averaged metrics
            value = [{("fold_" + k if k.startswith("mean_") else k): v for k, v in row.items()}
                     for row in value]
        elif key == "cv" and name == "bench":
            value = {("fold_" + k if k in ("mean_r2", "mean_r") else k): v
                     for k, v in value.items()}
        elif key == "test_retest" and name == "data_duplicates":
            value = {("mean_retest_r" if k == "mean_r" else k): v for k, v in value.items()}
        new[key] = value
    return new, dropped


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="old", required=True,
                   help="the commit whose code the stored results were current for")
    p.add_argument("--to", dest="new", required=True, help="the commit that renamed the keys")
    p.add_argument("--profile", default="quick", choices=config.PROFILES)
    p.add_argument("--results", type=Path, default=ROOT / "results",
                   help="the results folder (default: the project's)")
    args = p.parse_args()
    old_commit, new_commit = (git("rev-parse", c).decode().strip() for c in (args.old, args.new))
    committed = git("show", "-s", "--format=%cI", new_commit).decode().strip()
    root = args.results
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        old_code, new_code = code_of(old_commit, Path(a)), code_of(new_commit, Path(b))
        for name in sorted(experiments.REGISTRY):
            res = store.stored(name, args.profile, root)
            if res is None:
                continue
            prov = res.provenance
            if "mean_r2" not in res.metrics and "migrated_from" in prov:
                print(f"{name}: already migrated")
                continue
            config_hash = store.plan(name, args.profile)[1]
            if prov.get("config_hash") != config_hash:
                raise SystemExit(f"{name}: its configuration changed; not migrated")
            if prov.get("code_hash") != code_hash(name, old_code)[0]:
                raise SystemExit(f"{name}: not current for {args.old}'s code; not migrated")
            metrics, dropped = migrate_metrics(name, res.metrics)
            if numbers(metrics) + dropped != numbers(res.metrics):
                raise SystemExit(f"{name}: the numbers changed in the migration; not written")
            digest, modules = code_hash(name, new_code)
            before = {k: prov.get(k) for k in ("commit", "dirty", "code_hash", "config_hash",
                                               "code_modules")}
            prov = {**prov, "config_hash": config_hash, "code_hash": digest,
                    "code_modules": modules, "commit": new_commit, "dirty": False,
                    "migrated_from": {**before, "current_for": old_commit, "script": SCRIPT,
                                      "timestamp": committed}}
            store._atomic(res.path / "metrics.json",
                          json.dumps(metrics, indent=1, allow_nan=True) + "\n")
            store._atomic(res.path / "provenance.json", json.dumps(prov, indent=1) + "\n")
            print(f"{name}: {', '.join(metrics['headline']['keys'])}; code {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
