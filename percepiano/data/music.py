"""Which excerpts share music: the groups a piece-held-out split must keep together.

PercePiano's excerpt id (piece, excerpt length, position) does not identify the music uniquely.
In Schubert D960 each 16-bar excerpt of the second movement contains two 8-bar excerpts note for
note, the third movement's literal repeats appear under several excerpt ids, and some recordings
are filed under two excerpt ids (``percepiano.data.duplicates``). Grouping by excerpt id alone
would put the same notes in training and test folds.

Two excerpts are merged when either of these holds:

* **shared score**: within a piece, the pitch sequence of one's score (notes ordered by onset,
  then pitch, with ``trim`` notes cut from each end to forgive boundary differences) is found in
  the other's allowing a few edits: at least ``min_match`` of its notes are kept by the best
  approximate-substring alignment (``duplicates.edits_within``: at most ``1 - min_match`` of
  them inserted, deleted or substituted). The renderings of a 16-bar excerpt and of the 8-bar
  excerpts inside it differ by a note here and there (a tied or doubled bass note), so an exact
  substring misses them. In PercePiano every pair of excerpts of a piece either matches at least
  90 % (shared music) or at most 77 % (a shared motif or key), and the default 0.85 lies in that
  gap;
* **the same recording**: two of their segments (any performer, any piece) have performed notes
  that match by at least ``RECORDING_MATCH``, the shorter one's notes found in the longer one
  (``duplicates.near_identical_pairs(..., by="contained")``; byte-identical files match 100 %):
  one recording is one piece of music, whatever excerpt ids it carries.

Merging is transitive (union-find), so a music group holds every excerpt connected by shared
music; its id is the smallest excerpt id in it. Reading PercePiano's 1202 performance MIDI files
takes a few seconds (once per process: ``duplicates.note_events`` caches them); the alignments
take well under a second.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from percepiano import codehash, config
from percepiano.data.duplicates import edits_within, near_identical_pairs, note_events
from percepiano.io import atomic_path

MIN_MATCH = 0.85  # share of an excerpt's score notes that must align: mid-gap, see above
RECORDING_MATCH = 0.95  # share of performed notes: one recording despite a note or two


def pitch_sequence(midi_path: str) -> list[int]:
    """Pitches of all notes ordered by onset (rounded to 10 ms) then pitch."""
    notes = sorted((round(start, 2), pitch) for start, pitch, _, _ in note_events(midi_path))
    return [p for _, p in notes]


def score_match(inner: list[int], outer: list[int], trim: int = 5) -> float:
    """Share of ``inner``'s notes (``trim`` cut from each end when it is longer than
    ``4 * trim``) that the best alignment within ``outer`` keeps: 1 - edits / length."""
    core = inner[trim:-trim] if trim and len(inner) > 4 * trim else inner
    if not core:
        return 0.0
    return 1.0 - edits_within(core, outer) / len(core)


def music_groups(segments: pd.DataFrame, trim: int = 5, min_match: float = MIN_MATCH
                 ) -> pd.Series:
    """Music group id per excerpt id (the smallest excerpt id of its group).

    Reads ``segments``' columns ``piece``, ``excerpt``, ``score_midi_path`` and, when present,
    ``midi_path`` (without it the excerpts are grouped by their scores alone).
    """
    excerpts = segments.drop_duplicates("excerpt").set_index("excerpt").sort_index()
    parent = {e: e for e in excerpts.index}

    def find(e):
        while parent[e] != e:
            parent[e] = parent[parent[e]]
            e = parent[e]
        return e

    def union(a, b):
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)

    for _, block in excerpts.groupby("piece"):
        seqs = {e: pitch_sequence(p) for e, p in block["score_midi_path"].dropna().items()}
        for a in seqs:
            for b in seqs:
                if a < b and max(score_match(seqs[a], seqs[b], trim),
                                 score_match(seqs[b], seqs[a], trim)) >= min_match:
                    union(a, b)
    if "midi_path" in segments:
        excerpt = segments["excerpt"]
        same = near_identical_pairs(segments, RECORDING_MATCH, by="contained")
        for a, b in zip(same["a"], same["b"], strict=True):
            union(excerpt[a], excerpt[b])
    return pd.Series({e: find(e) for e in excerpts.index}, name="music_group")


def stored_music_groups(segments: pd.DataFrame) -> pd.Series:
    """``music_groups(segments)`` (default thresholds), computed once per set of files and code:
    stored as ``<cache>/music/<key>.json`` ({excerpt: group}), written atomically, where the key
    digests the code of ``music_groups`` (``codehash.of_function``: this module and what it
    imports), each segment's name, piece and excerpt, and the bytes of its score and performance
    MIDI files. A changed file, segment or line of code gives another key, never an old group.
    Raises OSError when a MIDI file cannot be read."""
    h, seen = hashlib.sha256(codehash.of_function(music_groups)[0].encode()), {}
    columns = ["piece", "excerpt", "score_midi_path", "midi_path"]
    h.update(repr([c in segments for c in columns]).encode())
    rows = segments.reindex(columns=columns).itertuples(index=False)
    for name, row in zip(segments.index, rows, strict=True):
        h.update(repr((name, *row[:2])).encode())
        for path in row[2:]:
            if isinstance(path, str) and path not in seen:
                seen[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            h.update(f"{seen.get(path, '-')};".encode())
    path = config.cache_dir() / "music" / f"{h.hexdigest()[:32]}.json"
    if path.is_file():
        return pd.Series(json.loads(path.read_text()), name="music_group")
    groups = music_groups(segments)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(groups.to_dict()))
    return groups
