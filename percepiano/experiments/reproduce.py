"""Whether an experiment reproduces its stored numbers: ``verify`` runs it again without storing
and ``differences`` lists every number that moved by more than a tolerance, in the metrics and
the out-of-fold predictions. Timings and the like (``TIMINGS``) describe the machine, not the
data, and are left out. The full test suite compares every experiment's smoke run with the committed
``results/smoke/`` this way; ``percepiano verify`` is the same on the command line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from percepiano import config
from percepiano.errors import UserError
from percepiano.experiments.store import Results, get, results_path, run, stored

# what describes the machine or the state of its cache, not the data (never compared): seconds
# of a run, a fit, an epoch or a stage, the processor, device and threads, whether a pretrained
# listener was read back from the cache
TIMINGS = frozenset({"wall_s", "pretrain_s", "render_s", "embed_s", "fit_s", "fit_s_per_fold",
                     "s_per_epoch", "seconds", "cpu", "device", "threads", "pretrained_cached"})


def verify(name: str, profile: str | None = None, root: Path | None = None,
           atol: float | None = None) -> list[str]:
    """Run ``name`` again (without storing) and list the differences from the stored numbers
    (``differences``). Raises ``UserError`` when none are stored."""
    old = _stored_or_fail(name, profile, root)
    return differences(old, run(name, profile, root, write=False), atol)


def differences(old: Results, new: Results, atol: float | None = None) -> list[str]:
    """Every number of ``new`` that differs from ``old`` (two results of one experiment) by
    more than ``atol`` (default: the experiment's), in the metrics and the out-of-fold
    predictions, one line each; timings (``TIMINGS``) are left out. A configuration hash that
    differs comes first."""
    atol = get(old.name).atol if atol is None else atol
    diffs = []
    if old.provenance.get("config_hash") != new.provenance.get("config_hash"):
        diffs.append(f"config_hash: stored {old.provenance.get('config_hash')} != current "
                     f"{new.provenance.get('config_hash')} (the configuration changed since "
                     "these results were stored)")
    diffs += compare(old.metrics, new.metrics, atol)
    if (old.oof is None) != (new.oof is None):
        diffs.append("oof: present in only one of the two runs")
    elif old.oof is not None:
        a, b = old.oof.select_dtypes("number"), new.oof.select_dtypes("number")
        if a.shape != b.shape or list(a.columns) != list(b.columns):
            diffs.append(f"oof: shape {a.shape} != {b.shape}")
        else:
            gap = float(np.nanmax(np.abs(a.to_numpy() - b.to_numpy()), initial=0.0))
            # the csv keeps 6 significant digits
            if gap > max(atol, 1e-5):
                diffs.append(f"oof: largest difference {gap:.3g} > {max(atol, 1e-5):g}")
    return diffs


def compare(old, new, atol: float, path: str = "") -> list[str]:
    """Every leaf of two JSON-like trees that differs (numbers: by more than ``atol``); the
    values under a key of ``TIMINGS`` are not compared."""
    where = path or "(top)"
    if isinstance(old, dict) and isinstance(new, dict):
        out = [f"{path}.{k}".lstrip(".") + ": missing in the new run" for k in old if k not in new]
        out += [f"{path}.{k}".lstrip(".") + ": not in the stored run" for k in new if k not in old]
        for k in old:
            if k in new and k not in TIMINGS:
                out += compare(old[k], new[k], atol, f"{path}.{k}".lstrip("."))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} items stored, {len(new)} now"]
        pairs = enumerate(zip(old, new, strict=True))
        return [d for i, (a, b) in pairs for d in compare(a, b, atol, f"{path}[{i}]")]
    numbers = (int, float)
    if isinstance(old, numbers) and isinstance(new, numbers) and not isinstance(old, bool):
        if old == new or (math.isnan(old) and math.isnan(new)) or abs(old - new) <= atol:
            return []
        return [f"{where}: stored {old:.6g}, now {new:.6g} (diff {new - old:+.3g})"]
    return [] if old == new else [f"{where}: stored {old!r}, now {new!r}"]


def _stored_or_fail(name: str, profile: str | None, root: Path | None) -> Results:
    res = stored(name, profile, root)
    if res is None:
        raise UserError(f"no stored results for {name!r} in profile {config.profile(profile)!r} "
                        f"under {results_path(name, profile, root)}; run `percepiano run {name}`")
    return res
