"""How well a transcription recovers a performance: notes, velocities and the sustain pedal.

Note metrics are ``mir_eval``'s (Raffel et al. 2014), as the transcription literature reports
them (Hawthorne et al. 2018, "Onsets and Frames"): precision, recall and F1 of notes matched
by onset (within 50 ms, pitch within 50 cents), by onset and offset (offset within 20 % of the
note's duration or 50 ms) and by onset, offset and velocity (``mir_eval.transcription_velocity``,
velocities rescaled by a least-squares fit, within 0.1 of the range). On the notes matched by
onset: the Pearson r and the least-squares slope of transcribed on true MIDI velocity, and the
median absolute onset error. The sustain pedal (CC 64 at or above 64, the General MIDI
threshold) is scored frame by frame on a 10-ms grid (F1 of "pedal down"), and its presses as
onsets within 100 ms (``mir_eval.onset``).
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from percepiano.audio.transcription_errors import note_rows, sustain_intervals

FRAME_S = 0.01
ONSET_TOL, PEDAL_TOL = 0.05, 0.1  # seconds


def notes(pm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intervals (n, 2) in seconds, pitches (n,) in Hz, velocities (n,) 1-127) of the
    non-drum notes of a ``pretty_midi.PrettyMIDI``, by onset."""
    import pretty_midi

    a = note_rows(pm)
    return a[:, :2], pretty_midi.note_number_to_hz(a[:, 2]), a[:, 3]


def _frames(intervals: np.ndarray, n: int) -> np.ndarray:
    grid = np.zeros(n, bool)
    for a, b in intervals:
        grid[int(round(a / FRAME_S)):int(round(b / FRAME_S))] = True
    return grid


def pedal_scores(ref, est) -> dict:
    """Sustain-pedal frame precision, recall and F1, and press-onset F1, of ``est`` against
    ``ref`` (both ``PrettyMIDI``). Frame F1 is 1 when neither presses the pedal."""
    import mir_eval

    r, e = sustain_intervals(ref), sustain_intervals(est)
    last = max([ref.get_end_time(), est.get_end_time(), *r.ravel(), *e.ravel(), 0.0])
    n = int(np.ceil(last / FRAME_S)) + 1
    fr, fe = _frames(r, n), _frames(e, n)
    tp = float((fr & fe).sum())
    p = tp / fe.sum() if fe.any() else float(not fr.any())
    rc = tp / fr.sum() if fr.any() else float(not fe.any())
    f = 2 * p * rc / (p + rc) if p + rc else 0.0
    if len(r) and len(e):
        onset_f = mir_eval.onset.f_measure(r[:, 0], e[:, 0], window=PEDAL_TOL)[0]
    else:
        onset_f = float(len(r) == len(e))
    return {"pedal_frame_precision": float(p), "pedal_frame_recall": float(rc),
            "pedal_frame_f1": float(f),
            "pedal_onset_f1": float(onset_f), "pedal_presses_ref": len(r),
            "pedal_presses_est": len(e)}


def note_scores(ref, est) -> dict:
    """Note metrics of ``est`` against ``ref`` (both ``PrettyMIDI``): precision, recall and
    F1 by onset, by onset and offset, and by onset, offset and velocity; velocity r and slope
    and the median absolute onset error (ms) on onset-matched notes; note counts. Raises
    ValueError when ``ref`` has no notes."""
    from mir_eval import transcription as T
    from mir_eval import transcription_velocity as TV

    ri, rp, rv = notes(ref)
    ei, ep, ev = notes(est)
    if not len(ri):
        raise ValueError("the reference has no notes")
    out = {"notes_ref": len(ri), "notes_est": len(ei)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mir_eval warns on empty estimates
        for name, ratio in (("onset", None), ("onset_offset", 0.2)):
            p, r, f, _ = T.precision_recall_f1_overlap(ri, rp, ei, ep, onset_tolerance=ONSET_TOL,
                                                       offset_ratio=ratio)
            out |= {f"{name}_precision": p, f"{name}_recall": r, f"{name}_f1": f}
        out["velocity_f1"] = TV.precision_recall_f1_overlap(
            ri, rp, rv, ei, ep, ev, onset_tolerance=ONSET_TOL)[2] if len(ei) else 0.0
        pairs = (np.array(T.match_notes(ri, rp, ei, ep, onset_tolerance=ONSET_TOL,
                                        offset_ratio=None), dtype=int).reshape(-1, 2)
                 if len(ei) else np.zeros((0, 2), int))
    a, b = rv[pairs[:, 0]], ev[pairs[:, 1]]
    ok = len(pairs) > 2 and a.std() > 0 and b.std() > 0
    out["velocity_r"] = float(np.corrcoef(a, b)[0, 1]) if ok else float("nan")
    out["velocity_slope"] = float(np.polyfit(a, b, 1)[0]) if ok else float("nan")
    out["onset_error_ms"] = (float(np.median(np.abs(ri[pairs[:, 0], 0] - ei[pairs[:, 1], 0])))
                             * 1000 if len(pairs) else float("nan"))
    return out


def reference(data: bytes, name: str):
    """The ``PrettyMIDI`` of a performance file's bytes timed as it is rendered (tempo from
    every track, ``audio.midi_take.normalise_bytes``; not anchored: a render starts at the
    file's time 0)."""
    import pretty_midi

    from percepiano.audio.midi_take import normalise_bytes

    fixed, _ = normalise_bytes(data, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pretty_midi.PrettyMIDI(io.BytesIO(fixed))


def scores(ref, est) -> dict:
    """``note_scores`` and ``pedal_scores`` in one dict."""
    return note_scores(ref, est) | pedal_scores(ref, est)
