"""Identical recordings: one performance filed under two segment names, and what it tells.

PercePiano stores some recordings more than once. Groups of performance MIDI files are
byte-identical (every performer's ``Schubert_D960_mv3_16bars_*_19`` is the same file as their
``8bars_*_37``; the deadpan renderings of the third movement's literal repeats), and a few more
differ in a note or two. A piece-held-out split must keep the copies in one fold
(``percepiano.data.music`` merges their excerpts), and since each copy was rated by its own
listeners, the copies measure how far two panels disagree about one sound (``test_retest``).

Note sequences are compared by approximate-substring alignment (Sellers 1980): ``edits_within``
counts the fewest insertions, deletions and substitutions that turn one sequence into a
contiguous run of another, with Myers' (1999) bit-parallel algorithm: one pass over the longer
sequence, the shorter held as bit-vectors in Python integers, so a pair of 8-bar excerpts takes
a fraction of a millisecond. A performance is its notes as (pitch, velocity, duration in ms) in
onset order. With ``d`` edits for the shorter of two performances (``m`` notes) within the
longer (``n`` notes):

* ``contained = (m - d) / m``, the share of the shorter's notes found in order in the longer:
  near 1 when one segment is a cut of the other's recording;
* ``match = (m - d) / n``, the share of the longer's notes: near 1 only when both hold the same
  notes throughout, i.e. the same recording.

An alignment pairs equal notes one to one, so neither share can exceed the size of the two
note multisets' intersection over ``m`` (or ``n``). That bound, computed for all pairs at once
as a sparse matrix product, discards every pair that cannot reach the threshold before any
alignment runs, so the exact answer for the whole dataset takes well under a second once the
MIDI files are read.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
import pretty_midi
import scipy.sparse

from percepiano.errors import DataError

SHARES = ("match", "contained")


def edits_within(inner: Sequence[Hashable], outer: Sequence[Hashable]) -> int:
    """Fewest insertions, deletions and substitutions that turn ``inner`` into some contiguous
    run of ``outer`` (Levenshtein distance to the best-matching substring; 0 if ``inner`` occurs
    in ``outer``, ``len(inner)`` at most).

    Myers (1999), "A fast bit-vector algorithm for approximate string matching based on dynamic
    programming", J. ACM 46(3): the columns of Sellers' dynamic-programming table are kept as
    vertical deltas, bit ``i`` for row ``i``; ``score`` is the last row (the edit distance of all
    of ``inner`` to a substring ending at the current position of ``outer``).
    """
    m = len(inner)
    if m == 0:
        return 0
    peq: dict[Hashable, int] = {}  # symbol -> bit mask of the rows of inner that hold it
    for i, c in enumerate(inner):
        peq[c] = peq.get(c, 0) | (1 << i)
    full, top = (1 << m) - 1, 1 << (m - 1)
    pv, mv = full, 0  # rows where the vertical delta is +1 / -1 (column 0: all +1)
    score = best = m
    for c in outer:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)  # rows where the horizontal delta is +1
        mh = pv & xh  # ... and -1
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        # a match may start anywhere in outer, so row 0 stays 0: shift in a 0, not a 1
        ph = (ph << 1) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
        best = min(best, score)
    return best


@functools.lru_cache(maxsize=4096)
def note_events(midi_path: str) -> tuple[tuple[float, int, int, float], ...]:
    """(onset s, pitch, velocity, offset s) of every note of a MIDI file, in onset then pitch
    order. Cached in the process (the files are read-only data)."""
    with warnings.catch_warnings():  # some files put tempo events on non-zero tracks
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            midi = pretty_midi.PrettyMIDI(midi_path)
        except Exception as e:  # noqa: BLE001 - mido raises many kinds on a bad file
            raise DataError(f"cannot read MIDI file {midi_path}: {e}") from None
    return tuple(sorted((n.start, n.pitch, n.velocity, n.end)
                        for inst in midi.instruments for n in inst.notes))


def performed_notes(midi_path: str) -> list[tuple[int, int, int]]:
    """A performance as (pitch, velocity, duration in ms) per note, in onset then pitch order."""
    return [(p, v, round(1000 * (end - start))) for start, p, v, end in note_events(midi_path)]


def _digests(segments: pd.DataFrame) -> pd.Series:
    out = {}
    for name, path in segments["midi_path"].items():
        with open(path, "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return pd.Series(out, dtype=object)


def identical_files(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments whose performance MIDI files (``segments["midi_path"]``) are byte-identical.

    One row per segment that has at least one identical twin: ``group`` (the smallest segment
    name of its set of identical files) and ``name``, sorted by group then name.
    """
    digest = _digests(segments)
    group = digest.index.to_series().groupby(digest).transform("min")
    size = digest.groupby(digest).transform("size")
    out = pd.DataFrame({"group": group[size > 1], "name": group.index[size > 1]})
    return out.sort_values(["group", "name"]).reset_index(drop=True)


def _shared_notes(seqs: list[list]) -> scipy.sparse.coo_matrix:
    """Size of the multiset intersection of every two sequences (upper triangle, i < j)."""
    columns: dict[tuple, int] = {}
    rows, cols = [], []
    for i, seq in enumerate(seqs):
        seen: Counter = Counter()
        for note in seq:  # the k-th copy of a note is its own column: sets become multisets
            cols.append(columns.setdefault((note, seen[note]), len(columns)))
            rows.append(i)
            seen[note] += 1
    x = scipy.sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                                shape=(len(seqs), max(len(columns), 1)))
    return scipy.sparse.triu(x @ x.T, k=1).tocoo()


def near_identical_pairs(segments: pd.DataFrame, threshold: float = 0.95,
                         by: str = "match") -> pd.DataFrame:
    """Pairs of segments whose performed notes match by at least ``threshold``.

    ``by="match"`` (the default) selects pairs that hold the same notes throughout, the same
    recording; ``by="contained"`` also pairs a segment with a longer one cut from the same
    recording (see the module docstring for both shares). Notes are those of
    ``performed_notes(segments["midi_path"])``.

    Returns one row per pair, ``a < b``, sorted: ``a``, ``b``, ``match``, ``contained`` and
    ``same_file`` (the two MIDI files are byte-identical).
    """
    if by not in SHARES:
        raise ValueError(f"unknown share {by!r}; choose from {', '.join(SHARES)}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1] (got {threshold!r})")
    names = sorted(segments.index)
    paths = segments["midi_path"]
    seqs = [performed_notes(paths[n]) for n in names]
    length = np.array([len(s) for s in seqs])
    shared = _shared_notes(seqs)
    i, j = shared.row, shared.col
    denominator = (np.maximum if by == "match" else np.minimum)(length[i], length[j])
    keep = shared.data >= threshold * denominator - 1e-9
    rows = []
    for a, b in sorted(zip(i[keep].tolist(), j[keep].tolist(), strict=True)):
        short, long_ = sorted((seqs[a], seqs[b]), key=len)
        found = len(short) - edits_within(short, long_)
        rows.append({"a": names[a], "b": names[b], "match": found / len(long_),
                     "contained": found / len(short)})
    out = pd.DataFrame(rows, columns=["a", "b", "match", "contained"])
    out = out[out[by] >= threshold - 1e-9].reset_index(drop=True)
    if len(out):
        digest = _digests(segments.loc[sorted(set(out.a) | set(out.b))])
        out["same_file"] = digest[out.a].to_numpy() == digest[out.b].to_numpy()
    else:
        out["same_file"] = pd.Series(dtype=bool)
    return out


def test_retest(labels: pd.DataFrame, pairs: pd.DataFrame) -> dict:
    """Label noise from identical stimuli rated separately (test-retest), per dimension.

    Each row of ``pairs`` (columns ``a``, ``b``: segment names, e.g. ``near_identical_pairs``)
    names two segments that are the same sound, each labelled with the mean rating of its own
    panel of listeners. Noise-free labels would agree; how far they differ estimates the noise
    in a label independently of the split-half ceiling (``percepiano.evaluation.ceiling``),
    which splits one panel in two rather than comparing two panels.

    * ``r``: the intraclass correlation of the two members' labels across pairs, computed by
      double entry (every pair entered as (a, b) and as (b, a), then Pearson's r; Fisher 1925),
      so it does not depend on which member is called ``a``. It estimates the reliability of a
      label, the quantity of the Spearman-Brown corrected split-half, but only over stimuli
      that have a twin (mostly deadpan renderings and one Schubert excerpt), whose labels may
      spread less than the whole dataset's (``sd``), which lowers ``r``.
    * ``mad``: the mean absolute difference of the two labels (label units: rating / 7), which
      does not depend on that spread.
    * ``sd``: the standard deviation of the paired segments' labels.

    A sound with three copies gives three pairs. Returns ``n_pairs``, ``r``, ``mad`` and ``sd``
    (Series over ``labels.columns``), ``mean_r`` and ``mean_mad`` (means over dimensions).
    """
    missing = sorted((set(pairs["a"]) | set(pairs["b"])) - set(labels.index))
    if missing:
        raise ValueError(f"{len(missing)} paired segments have no labels (e.g. {missing[0]!r}); "
                         "pair only segments of the labelled set")
    if len(pairs) < 3:
        raise ValueError(f"test-retest needs at least 3 pairs (got {len(pairs)})")
    a = labels.loc[pairs["a"]].to_numpy(dtype=float)
    b = labels.loc[pairs["b"]].to_numpy(dtype=float)
    first, second = np.concatenate([a, b]), np.concatenate([b, a])
    r = [np.corrcoef(first[:, k], second[:, k])[0, 1] for k in range(a.shape[1])]
    r = pd.Series(r, index=labels.columns, name="r")
    mad = pd.Series(np.abs(a - b).mean(axis=0), index=labels.columns, name="mad")
    sd = pd.Series(first.std(axis=0, ddof=1), index=labels.columns, name="sd")
    return {"n_pairs": len(pairs), "r": r, "mad": mad, "sd": sd,
            "mean_r": float(r.mean()), "mean_mad": float(mad.mean())}


test_retest.__test__ = False  # a statistic, not a test: pytest must not collect it when imported
