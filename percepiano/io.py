"""File writes: atomic (readers see either the old file, nothing, or the whole new file), and
failures said of the path the user gave.

``atomic_path`` writes through a temporary file beside the target; an ``OSError`` on the way
(a read-only folder, a folder where the file should be, a full disk) is raised as
``WriteError`` naming the target, never the temporary name. ``output_problem`` checks a place
before any work is done there. ``store`` writes to a cache and skips the write when the cache
cannot be written (a read-only mount, a full disk): what was computed is still used, and
``skipped_note`` says once that nothing was stored.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from percepiano.errors import UserError

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}  # no room, whatever the file
_SKIPPED: dict[str, str] = {}  # cache folder -> why a write there failed (this process)


class WriteError(UserError, OSError):
    """A file could not be written; the message names the path the caller asked for."""


def _reason(e: OSError) -> str:
    return e.strerror or e.__class__.__name__


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it is renamed onto
    ``path`` (atomic within one file system), when it fails it is removed. An ``OSError``
    creating the folder or the temporary file, or renaming it, is raised as ``WriteError``
    naming ``path``.

    The file gets the usual permissions (``0666`` less the umask), not ``mkstemp``'s private
    ``0600``: caches and results are shared files.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
        os.close(fd)
    except OSError as e:
        raise WriteError(f"{path}: cannot write ({_reason(e)})") from None
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, WriteError) or not (e.filename in (tmp, str(path))
                                             or e.errno in _FULL):
            raise
        raise WriteError(f"{path}: cannot write ({_reason(e)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def output_problem(path: str | os.PathLike) -> str | None:
    """Why a file could not be written at ``path`` (checked before any work: the folder is
    missing, is not a folder, cannot be written, or ``path`` names a folder), or None."""
    path = Path(path)
    if path.is_dir():
        return f"{path}: is a folder; give a file name"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        return f"{path}: folder {parent} does not exist"
    if not parent.is_dir():
        return f"{path}: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path}: folder {parent} cannot be written"
    return None


def folder_problem(folder: str | os.PathLike) -> str | None:
    """Why files could not be created in ``folder`` (made when missing, so its nearest existing
    parent is what counts), or None."""
    folder = Path(folder).resolve()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} cannot be written" + (" (read-only file system)" if _read_only(probe)
                                              else "")
    return None


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def store(path: str | os.PathLike, write: Callable[[Path], None], cache: str | os.PathLike
          ) -> bool:
    """Write a cache entry: ``write(tmp)`` through ``atomic_path(path)``. When the cache folder
    ``cache`` cannot be written, nothing is stored, the failure is remembered for
    ``skipped_note`` and False is returned; True when stored."""
    try:
        with atomic_path(path) as tmp:
            write(tmp)
    except WriteError as e:
        skip(cache, e)
        return False
    return True


def skip(cache: str | os.PathLike, e: OSError) -> None:
    """Remember that ``cache`` could not be written (``e``), for ``skipped_note``."""
    why = str(e).rsplit("(", 1)[-1].rstrip(")") if isinstance(e, WriteError) else _reason(e)
    _SKIPPED.setdefault(str(cache), why)


def skipped_note() -> str | None:
    """One line on the caches this process could not write to, or None."""
    if not _SKIPPED:
        return None
    where = "; ".join(f"{k} ({v})" for k, v in _SKIPPED.items())
    return (f"the cache could not be written, so nothing computed here was kept for next time: "
            f"{where}; set PERCEPIANO_CACHE to a writable folder to keep it")
