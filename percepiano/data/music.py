"""Which excerpts share music: the groups a piece-held-out split must keep together.

PercePiano's excerpt id (piece, excerpt length, position) does not identify the music uniquely.
In Schubert D960 each 16-bar excerpt of the second movement contains two 8-bar excerpts note for
note, and the third movement's literal repeats appear under several excerpt ids. Grouping by
excerpt id alone would put the same notes in training and test folds.

Two excerpts of a piece are merged when the pitch sequence of one's score (notes ordered by onset,
then pitch, with ``trim`` notes cut from each end to forgive boundary differences) occurs
contiguously in the other's. Merging is transitive (union-find), so a music group holds every
excerpt connected by shared music.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pretty_midi

from percepiano.errors import DataError


def pitch_sequence(midi_path: str) -> list[int]:
    """Pitches of all notes ordered by onset (rounded to 10 ms) then pitch."""
    with warnings.catch_warnings():  # the score MIDIs put tempo events on non-zero tracks
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            midi = pretty_midi.PrettyMIDI(midi_path)
        except Exception as e:  # noqa: BLE001 - mido raises many kinds on a bad file
            raise DataError(f"cannot read score MIDI {midi_path}: {e}") from None
    notes = sorted((round(n.start, 2), n.pitch) for inst in midi.instruments for n in inst.notes)
    return [p for _, p in notes]


def _contains(outer: list[int], inner: list[int], trim: int) -> bool:
    core = inner[trim:-trim] if len(inner) > 4 * trim else inner
    if not core:
        return False
    return "," + ",".join(map(str, core)) + "," in "," + ",".join(map(str, outer)) + ","


def music_groups(segments: pd.DataFrame, trim: int = 5) -> pd.Series:
    """Music group id per excerpt id (the smallest excerpt id of its group), from score MIDI."""
    excerpts = segments.drop_duplicates("excerpt").set_index("excerpt").sort_index()
    parent = {e: e for e in excerpts.index}

    def find(e):
        while parent[e] != e:
            parent[e] = parent[parent[e]]
            e = parent[e]
        return e

    for _, block in excerpts.groupby("piece"):
        seqs = {e: pitch_sequence(p) for e, p in block["score_midi_path"].dropna().items()}
        for a in seqs:
            for b in seqs:
                if a < b and (_contains(seqs[b], seqs[a], trim) or
                              _contains(seqs[a], seqs[b], trim)):
                    ra, rb = find(a), find(b)
                    parent[max(ra, rb)] = min(ra, rb)
    return pd.Series({e: find(e) for e in excerpts.index}, name="music_group")
