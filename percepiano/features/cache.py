"""Features computed from each segment: log-mel spectrograms, audio and MIDI descriptors.

Shared here: a feature table's cache (an ``.npz`` of names, columns and float64 values written
atomically and named by a content hash) and an order-preserving parallel map with a progress bar.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from percepiano.io import atomic_path


def table_key(*parts) -> str:
    """SHA-256 over the string form of ``parts`` (hashes, versions, parameters)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def save_table(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Write a numeric table as ``.npz`` (names, columns, values) via temp file + rename."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, names=np.asarray(table.index, dtype=str),
                 columns=np.asarray(table.columns, dtype=str),
                 values=table.to_numpy(dtype=np.float64))


def load_table(path: str | os.PathLike) -> pd.DataFrame:
    with np.load(path, allow_pickle=False) as z:
        return pd.DataFrame(z["values"], index=pd.Index(z["names"], name="name"),
                            columns=list(z["columns"]))


def parallel_map(fn, items: list, workers: int | None = None, desc: str = "",
                 progress: bool = True, chunksize: int = 4) -> list:
    """``[fn(x) for x in items]`` over ``workers`` spawned processes, in order, with a bar.

    ``fn`` must be importable (a module-level function) and its results picklable; see
    ``render.mp_context`` for the start method.
    """
    from tqdm.auto import tqdm

    from percepiano.audio.render import _cpu_count, mp_context

    workers = max(1, min(workers or _cpu_count(), len(items) or 1))
    with tqdm(total=len(items), desc=desc, unit="file", disable=not progress) as bar:
        if workers == 1:
            out = []
            for x in items:
                out.append(fn(x))
                bar.update(1)
            return out
        with mp_context().Pool(workers) as pool:
            out = []
            for r in pool.imap(fn, items, chunksize=chunksize):
                out.append(r)
                bar.update(1)
            return out


def cached_rows(fn, tasks: list, keys: list[str], folder: str | os.PathLike,
                workers: int | None = None, desc: str = "", progress: bool = True,
                chunksize: int = 4) -> np.ndarray:
    """``np.stack([fn(t) for t in tasks])``, each row cached under ``folder/<key>.npy`` (a
    content key per task), so that any subset of the dataset reuses the rows already computed
    for another; only the missing rows are computed (in parallel, with a bar)."""
    folder = Path(folder)
    paths = [folder / f"{key}.npy" for key in keys]
    todo = [i for i, p in enumerate(paths) if not p.exists()]
    for i, row in zip(todo, parallel_map(fn, [tasks[i] for i in todo], workers, desc=desc,
                                         progress=progress, chunksize=chunksize), strict=True):
        with atomic_path(paths[i]) as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(row, dtype=np.float64))
    return np.stack([np.load(p) for p in paths]) if paths else np.empty((0, 0))
