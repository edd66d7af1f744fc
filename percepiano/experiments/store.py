"""The results store the book reads, and the registry of named experiments.

An experiment is a function registered with ``@experiment(name, config=...)``: ``config``
turns the profile's ``Settings`` into the JSON-able configuration it runs with, and it returns
a dict with its headline numbers at the top level, each named for what it is (``pooled_r2``,
``pooled_r``: on all out-of-fold predictions at once, mean over the 19 dimensions and seeds;
``fold_mean_r2``, ``fold_mean_r``: within each test fold, then averaged; a ceiling's own names;
a vague ``mean_r2`` or ``mean_r`` is refused), a ``headline`` entry naming them (``keys``) and
saying what they measure (``metric``), then anything else. An ``oof`` DataFrame is stored apart.
``run`` writes ``results/<profile>/<experiment>/``: ``metrics.json``; ``oof.csv.gz`` (gzip with
a fixed header: equal predictions, equal bytes); ``provenance.json`` (configuration and its
hash, version, git commit and dirty flag, a digest of the whole package, seed, profile, device,
package versions, warnings, wall time, timestamp), written last.

Stored results are *current* when their configuration hash (name, explicit ``version``,
configuration) matches what the current code would run, else ``stale (config)``: a change that
moves an experiment's numbers bumps its ``version``. The code is recorded, not compared;
``code_changes`` lists from git the package files changed since. The guard that a change moved
no numbers is mechanical: ``results/smoke/`` is committed and the full test suite runs every
experiment in the smoke profile and compares (``experiments.reproduce``). Results belong to
clean commits; ``run`` warns when it writes into the project's results from a dirty tree.
``load`` reads current results and raises ``UserError`` otherwise (the book only reads);
``find`` returns None instead.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from percepiano import codehash, config
from percepiano.errors import UserError
from percepiano.io import atomic_path

OOF_FILE = "oof.csv.gz"
VAGUE = ("mean_r2", "mean_r")  # pooled, fold-mean or a ceiling? refused as headline names
PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "pingouin", "librosa", "jax", "flax",
            "optax", "torch", "percepiano")


@dataclass(frozen=True)
class Experiment:
    name: str
    func: Callable[[dict], dict]
    config: Callable[[config.Settings], dict]  # profile settings -> what the function runs with
    description: str
    version: int = 1  # bump when the code changes the numbers of an unchanged configuration
    atol: float = 1e-6  # what `verify` tolerates (deterministic CPU code: rounding only)
    benchmark: bool = False  # measures this machine, not the data: `run --all` leaves it out


REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, config: Callable[[config.Settings], dict], description: str = "",
               version: int = 1, atol: float = 1e-6, benchmark: bool = False):
    """Register the decorated ``func(config: dict) -> dict`` as experiment ``name``."""

    def register(func):
        doc = description or (func.__doc__ or "").strip().splitlines()[0]
        REGISTRY[name] = Experiment(name, func, config, doc, version, atol, benchmark)
        return func

    return register


def get(name: str) -> Experiment:
    if name not in REGISTRY:
        raise UserError(f"unknown experiment {name!r}; choose from {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


@dataclass(frozen=True)
class Results:
    name: str
    profile: str
    metrics: dict
    provenance: dict
    oof: pd.DataFrame | None = None
    path: Path | None = field(default=None, compare=False)

    def __getitem__(self, key):
        return self.metrics[key]


def plan(name: str, profile: str | None = None) -> tuple[dict, str]:
    """The configuration experiment ``name`` would run with in ``profile``, and its hash."""
    exp = get(name)
    cfg = _jsonable(exp.config(config.settings(profile)))
    blob = json.dumps({"experiment": name, "version": exp.version, "config": cfg},
                      sort_keys=True)
    return cfg, hashlib.sha256(blob.encode()).hexdigest()[:16]


def status(name: str, profile: str | None = None, root: Path | None = None,
           res: Results | None = None) -> str:
    """``current``, ``stale (config)`` or ``missing``: how the stored results of ``name`` (or
    ``res``, already read) relate to the configuration the current code would run."""
    res = stored(name, profile, root) if res is None else res
    if res is None:
        return "missing"
    return "current" if res.provenance.get("config_hash") == plan(name, profile)[1] \
        else "stale (config)"


def code_changes(provenance: dict) -> list[str] | None:
    """The package files changed (committed or not) since the commit ``provenance`` was
    computed at, from git; None when git cannot tell (no commit recorded, or not in git)."""
    return codehash.changed_since(provenance.get("commit"))


def results_path(name: str, profile: str | None = None, root: Path | None = None) -> Path:
    return Path(root or config.results_dir()) / config.profile(profile) / name


def run(name: str, profile: str | None = None, root: Path | None = None,
        write: bool = True) -> Results:
    """Run experiment ``name`` in ``profile`` and (if ``write``) store its results."""
    exp, profile = get(name), config.profile(profile)
    cfg, digest = plan(name, profile)
    git = _git()
    path = results_path(name, profile, root)
    if write and git["dirty"] and profile != "smoke" and _own_results(root):
        print(f"percepiano: warning: the working tree has uncommitted changes, so {name}'s "
              f"results will show as dirty; commit the code, then re-run `percepiano run {name} "
              f"--profile {profile}`", file=sys.stderr)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = dict(exp.func(cfg))
    wall = time.perf_counter() - start
    oof = out.pop("oof", None)
    if oof is not None and not isinstance(oof, pd.DataFrame):
        raise TypeError(f"experiment {name!r} returned an 'oof' that is not a DataFrame")
    keys = _headline_keys(name, out)
    metrics = _jsonable({**{k: out.pop(k) for k in keys}, "headline": out.pop("headline"), **out})
    provenance = _provenance(exp, profile, cfg, digest, git, wall, caught)
    if write:
        path.mkdir(parents=True, exist_ok=True)
        (path / "oof.csv").unlink(missing_ok=True)  # the uncompressed form of older runs
        if oof is not None:
            # no file name and no time in the gzip header: equal predictions, equal bytes
            with atomic_path(path / OOF_FILE) as tmp, open(tmp, "wb") as raw, \
                    gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(oof.to_csv(float_format="%.6g").encode())
        else:
            (path / OOF_FILE).unlink(missing_ok=True)
        _atomic(path / "metrics.json", json.dumps(metrics, indent=1, allow_nan=True) + "\n")
        _atomic(path / "provenance.json", json.dumps(provenance, indent=1) + "\n")  # last: marks
    return Results(name, profile, metrics, provenance, oof, path if write else None)


def stored(name: str, profile: str | None = None, root: Path | None = None) -> Results | None:
    """The stored results of ``name`` in ``profile`` whatever their configuration, or None."""
    path = results_path(name, profile, root)
    if not (path / "provenance.json").is_file() or not (path / "metrics.json").is_file():
        return None
    metrics = json.loads((path / "metrics.json").read_text())
    provenance = json.loads((path / "provenance.json").read_text())
    oof_path = next((path / f for f in (OOF_FILE, "oof.csv") if (path / f).is_file()), None)
    oof = pd.read_csv(oof_path, index_col=0) if oof_path is not None else None
    return Results(name, config.profile(profile), metrics, provenance, oof, path)


def find(name: str, profile: str | None = None, root: Path | None = None) -> Results | None:
    """Stored results of ``name`` whose configuration matches the current code's, else None."""
    res = stored(name, profile, root)
    return res if res is not None and status(name, profile, root, res) == "current" else None


def load(name: str, profile: str | None = None, root: Path | None = None) -> Results:
    """Current stored results of ``name`` (see ``find``). Raises ``UserError`` in one line
    saying what to run when none are stored or they are stale: the book only reads."""
    res = find(name, profile, root)
    if res is None:
        state = status(name, profile, root)
        why = "" if state == "missing" else f" (stored results are {state})"
        raise UserError(f"no current results for {name} in profile {config.profile(profile)}"
                        f"{why}: {run_command(name, profile)}")
    return res


def run_command(name: str, profile: str | None = None) -> str:
    """The command that stores ``name``'s results in ``profile`` (the default one unnamed)."""
    profile = config.profile(profile)
    return f"percepiano run {name}" + ("" if profile == "quick" else f" --profile {profile}")


def provenance_table(profile: str | None = None, root: Path | None = None) -> pd.DataFrame:
    """One row per registered experiment: whether its stored results are current (``status``),
    whether they came from a clean or a dirty tree, and where, when and from which commit (``+``:
    with uncommitted changes) they were computed."""
    rows = []
    for name in sorted(REGISTRY):
        res = stored(name, profile, root)
        prov = res.provenance if res is not None else {}
        dirty = prov.get("dirty")
        commit = prov.get("commit") or ""
        rows.append({"experiment": name, "results": status(name, profile, root, res),
                     "tree": {True: "dirty", False: "clean"}.get(dirty, ""),
                     "device": prov.get("device", ""),
                     "commit": commit[:8] + ("+" if dirty else ""),
                     "package files changed since": _changed(prov) if res is not None else "",
                     "wall time (s)": prov.get("wall_time_s"),
                     "computed (UTC)": prov.get("timestamp", "")[:16].replace("T", " ")})
    return pd.DataFrame(rows).set_index("experiment")


# --------------------------------------------------------------------------- helpers


def _jsonable(obj):
    """Plain Python containers and numbers (numpy scalars/arrays, Series, tuples converted)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pd.Series):
        return _jsonable(obj.to_dict())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in metrics.json")


def _headline_keys(name: str, out: dict) -> list[str]:
    """The names of the headline numbers of ``out``, checked (see the module docstring)."""
    head = out.get("headline")
    if not (isinstance(head, dict) and isinstance(head.get("metric"), str)
            and isinstance(head.get("keys"), list) and head["keys"]):
        raise ValueError(f"experiment {name!r} returned no headline {{'keys': [...], 'metric': "
                         "...} naming its headline numbers and saying what they measure")
    if vague := [k for k in VAGUE if k in out]:
        raise ValueError(f"experiment {name!r} returned a top-level {vague[0]!r}; name its "
                         "headline for what it is (pooled_r2, fold_mean_r2, a ceiling's name)")
    for k in head["keys"]:
        if isinstance(out.get(k), bool) or not isinstance(out.get(k), (int, float, np.number)):
            raise ValueError(f"experiment {name!r} returned no number {k!r} (a headline key)")
    return list(head["keys"])


def _own_results(root: Path | None) -> bool:
    """Whether results go to the project's own ``results/`` (``PERCEPIANO_RESULTS`` unset)."""
    if os.environ.get("PERCEPIANO_RESULTS"):
        return False
    return root is None or Path(root).resolve() == config.results_dir().resolve()


def _changed(provenance: dict) -> str:
    """How many package files changed since ``provenance``'s commit, in words."""
    files = code_changes(provenance)
    return "unknown" if files is None else str(len(files))


def _atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _git(root: Path | None = None) -> dict:
    """The checkout's commit and dirty flag (``codehash.checkout_state``)."""
    return codehash.checkout_state(root)


def _device() -> str:
    if "jax" not in sys.modules:
        return "cpu"
    devices = sys.modules["jax"].devices()
    return f"{devices[0].platform} x{len(devices)} ({devices[0].device_kind})"


def _provenance(exp: Experiment, profile: str, cfg: dict, digest: str, git: dict,
                wall: float, caught) -> dict:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    seen = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return {
        "experiment": exp.name,
        "profile": profile,
        "config": cfg,
        "config_hash": digest,
        "version": exp.version,
        "package_digest": codehash.package_digest(),
        "seed": cfg.get("seed", cfg.get("seeds")),
        **git,
        "device": _device(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "warnings": seen[:20],
        "wall_time_s": round(wall, 3),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }

