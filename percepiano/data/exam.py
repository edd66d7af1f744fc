"""The locked final exam: its frozen names, the capability to read it, the ledger of its reads,
and the record of what saw it before it was drawn.

Style rule 12: the locked final-exam set is read only by the final results chapter. About 15 % of
the segments, whole music groups, were drawn by ``splits.draw_final_exam`` and frozen in
``FINAL_EXAM_FILE``; ``dataset.load`` leaves them out by default.

Reading them takes a capability: ``dataset.load(part="exam", key=grant(EXPERIMENT))``. ``grant``
hands an ``ExamKey`` to the registered final-exam experiment (``EXPERIMENT``) and refuses every
other name, and nothing else makes one. Every read is recorded in the results store, in a small
JSON ledger at ``results/<profile>/final_exam/exam_reads.json`` (experiment, profile, time, git
commit and whether the tree was dirty, whether the read was forced); a second read in the same
profile refuses unless forced, and a forced read is recorded as such.

The whole dataset, ``dataset.load(part="all")``, holds every segment's metadata but, without the
key, the labels and ratings of the development segments only (``without_exam_labels``): its
``labels`` and ``label_std`` are ``DevelopmentLabels``, whose ``.loc`` raises ``ExamLocked`` for
an exam segment. With the key it is whole, and the read is recorded as a read of the exam.

The exam was drawn at the commit named in ``EXAM_HISTORY_FILE``, after development had begun on
the whole dataset. ``history`` returns what saw the exam before then: each choice made or result
stored, on how many segments and how many of them are now in the exam, the commits, and the
experiment that has since made it again inside the development folds (none when nothing has), so
that the final results can print the caveat beside their numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pandas as pd

from percepiano import codehash, config
from percepiano.errors import DataError
from percepiano.io import atomic_path

EXPERIMENT = "final_exam"  # the one experiment granted the exam (the final results chapter's)
FINAL_EXAM_FILE = "final_exam.txt"  # package data: the frozen names of the final exam
EXAM_HISTORY_FILE = "exam_history.json"  # package data: what saw the exam before it was drawn
LEDGER_FILE = "exam_reads.json"  # in results/<profile>/<EXPERIMENT>/: every read of the exam
_SEAL = object()  # only this module holds it, so only ``grant`` makes an ``ExamKey``


class ExamKey:
    """The capability to read the locked final exam, made only by ``grant``.

    Raises DataError when constructed directly.
    """

    __slots__ = ("experiment",)

    def __init__(self, experiment: str, *, _seal: object = None):
        if _seal is not _SEAL:
            raise DataError(f"an ExamKey is granted, not made: use exam.grant({EXPERIMENT!r})")
        self.experiment = experiment

    def __repr__(self) -> str:
        return f"ExamKey({self.experiment!r})"


def grant(experiment: str) -> ExamKey:
    """The capability to read the final exam, for the registered final-exam experiment only.

    Raises DataError for any other ``experiment``.
    """
    if experiment != EXPERIMENT:
        raise DataError(f"only the {EXPERIMENT!r} experiment may read the locked final exam, "
                        f"not {experiment!r}; develop on dataset.load() (the development part)")
    return ExamKey(experiment, _seal=_SEAL)


@functools.lru_cache(maxsize=1)
def final_exam_names() -> tuple[str, ...]:
    """The frozen names of the locked final exam, sorted (from ``FINAL_EXAM_FILE``).

    Raises DataError when the file is missing.
    """
    try:
        text = resources.files("percepiano.data").joinpath(FINAL_EXAM_FILE).read_text()
    except FileNotFoundError:
        raise DataError(f"percepiano/data/{FINAL_EXAM_FILE} is missing; reinstall the package "
                        "or redraw it with `percepiano splits --redraw-exam --force`") from None
    return tuple(sorted(line.strip() for line in text.splitlines()
                        if line.strip() and not line.startswith("#")))


def assert_no_exam(names, what: str = "these segments") -> None:
    """Raise DataError if any of ``names`` (segment names) belongs to the locked final exam."""
    leaked = sorted(set(map(str, names)) & set(final_exam_names()))
    if leaked:
        raise DataError(f"{what} include {len(leaked)} segments of the locked final exam "
                        f"(e.g. {leaked[0]!r}); use dataset.load() (the development part)")


# --------------------------------------------------------------------------- the whole dataset


class ExamLocked(DataError, KeyError):
    """A label of the locked final exam was looked up in ``DevelopmentLabels``. A DataError, so
    the command line prints one line, and a KeyError, as pandas raises for a missing label."""

    __str__ = DataError.__str__  # the message as written, not quoted as a KeyError's


class DevelopmentLabels(pd.DataFrame):
    """Labels (or label std) of the development segments alone, indexed by segment name, as
    ``dataset.load(part="all")`` holds them without the key.

    A DataFrame whose ``.loc`` raises ``ExamLocked``, naming the final exam, where a plain one
    raises a bare KeyError for a segment it does not hold; frames derived from it are plain.
    ``reindex`` to the exam's names gives NaN rows, as for any missing label.
    """

    @property
    def loc(self):
        return _ExamGuard(super().loc)


class _ExamGuard:
    """``DataFrame.loc``, but a lookup that fails on segments of the final exam says so."""

    __slots__ = ("_loc",)

    def __init__(self, loc):
        self._loc = loc

    def __getitem__(self, key):
        try:
            return self._loc[key]
        except KeyError:
            rows = key[0] if isinstance(key, tuple) else key
            if isinstance(rows, str) or not pd.api.types.is_list_like(rows):
                rows = [rows]
            locked = sorted(set(map(str, rows)) & set(final_exam_names()))
            if locked:
                raise ExamLocked(
                    f"{len(locked)} of the segments looked up belong to the locked final exam "
                    f"(e.g. {locked[0]!r}), whose labels dataset.load(part=\"all\") holds only "
                    f"with key=exam.grant({EXPERIMENT!r}); look up development segments only "
                    "(dataset.load(), or the names in labels.index)") from None
            raise

    def __setitem__(self, key, value):
        self._loc[key] = value

    def __call__(self, axis=None):
        return _ExamGuard(self._loc(axis))

    def __getattr__(self, name):
        return getattr(self._loc, name)


def without_exam_labels(ds):
    """``ds``, a whole ``dataset.PercePiano``, with every segment's metadata (``segments``,
    ``rated``) but the labels, label std and ratings of the development segments only: what
    ``dataset.load(part="all")`` returns without the key. ``labels`` and ``label_std`` become
    ``DevelopmentLabels``; ``ratings`` keeps the development segments' rows."""
    locked = set(final_exam_names())
    dev = [n for n in ds.labels.index if n not in locked]
    return dataclasses.replace(ds, labels=DevelopmentLabels(ds.labels.loc[dev]),
                               label_std=DevelopmentLabels(ds.label_std.loc[dev]),
                               ratings=ds.ratings[~ds.ratings["name"].isin(locked)])


# --------------------------------------------------------------------------- the ledger of reads


def ledger_path(profile: str | None = None, root: str | Path | None = None) -> Path:
    """Where the reads of ``profile`` (default: the active one) are recorded, under the results
    store ``root`` (default ``config.results_dir()``, i.e. ``$PERCEPIANO_RESULTS`` or
    ``results/``)."""
    return Path(root or config.results_dir()) / config.profile(profile) / EXPERIMENT / LEDGER_FILE


def reads(profile: str | None = None, root: str | Path | None = None) -> list[dict]:
    """The recorded reads of the final exam in ``profile``, oldest first (empty: never read).

    Raises DataError when the ledger is not a JSON list.
    """
    path = ledger_path(profile, root)
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON (line {e.lineno}: {e.msg}); restore it from "
                        "git, never delete it") from None
    if not isinstance(entries, list):
        raise DataError(f"{path} should be a JSON list of reads; restore it from git")
    return entries


def check_read(key, force: bool = False, profile: str | None = None,
               root: str | Path | None = None) -> None:
    """Refuse a read of the final exam unless ``key`` is a granted ``ExamKey`` and the exam was
    not read before in ``profile`` (or ``force``).

    Raises DataError naming what is missing, or the last read.
    """
    if not isinstance(key, ExamKey):
        raise DataError(f"the final exam is locked: reading it needs key=exam.grant"
                        f"({EXPERIMENT!r}), which only the final results chapter holds; "
                        "experiments use dataset.load() (the development part)")
    done = reads(profile, root)
    if done and not force:
        last = done[-1]
        raise DataError(f"the final exam was already read {len(done)} time(s) in profile "
                        f"{config.profile(profile)!r} (last by {last.get('experiment')!r} at "
                        f"{last.get('time')}, commit {str(last.get('commit'))[:8]}); a second "
                        f"read needs force=True and is recorded in {ledger_path(profile, root)}")


def record_read(key: ExamKey, force: bool = False, profile: str | None = None,
                root: str | Path | None = None) -> dict:
    """Check the read (``check_read``), append it to the ledger (atomically) and return the entry.

    Raises DataError as ``check_read`` does.
    """
    check_read(key, force, profile, root)
    done = reads(profile, root)
    entry = {"experiment": key.experiment, "profile": config.profile(profile),
             "time": datetime.now(UTC).isoformat(timespec="seconds"), **codehash.checkout_state(),
             "forced": bool(done)}
    path = ledger_path(profile, root)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps([*done, entry], indent=1) + "\n", encoding="utf-8")
    return entry


# --------------------------------------------------------------------------- what saw the exam


@functools.lru_cache(maxsize=1)
def _record() -> dict:
    try:
        text = resources.files("percepiano.data").joinpath(EXAM_HISTORY_FILE).read_text()
    except FileNotFoundError:
        raise DataError(f"percepiano/data/{EXAM_HISTORY_FILE} is missing; reinstall the "
                        "package") from None
    return json.loads(text)


def lock_commit() -> str:
    """The commit that drew the final exam and froze it in ``FINAL_EXAM_FILE``."""
    return _record()["locked_at"]


def history() -> pd.DataFrame:
    """What saw the final exam before it was drawn, one row per choice or stored result.

    Indexed by ``id``; columns: ``what`` (the choice or the result), ``short`` (a few words for
    prose), ``kind`` (``choice``, ``development`` or ``stored results``), ``on`` (how the
    segments were used), ``segments`` (how many it used), ``exam_segments`` (how many of those
    are now in the exam), ``commits`` (where it was made or stored, before ``lock_commit()``),
    ``remade_by`` (the experiment that has since made it again inside the development folds,
    None when nothing has) and ``remade`` (how).
    """
    rows = _record()["entries"]
    return pd.DataFrame(rows).set_index("id")
