"""A model of a transcriber's errors, fitted on transcriptions and applied to true MIDI.

A MIDI model trained on true performances meets, on the transcription route, notes that the
transcriber moved, re-weighed or missed, and a sustain pedal it heard badly. ``fit`` measures
those errors on pairs of (true, transcribed) performances; ``apply`` draws them onto another
true performance, so that a model can learn from MIDI that looks like a transcription (a
noise model of the channel, in the spirit of data augmentation by simulated errors).

What is modelled, from notes matched by onset (``mir_eval.transcription.match_notes``: 50 ms,
50 cents):

* **onsets**: the matched notes' onset error, a normal jitter with the measured standard
  deviation (its median as a constant shift);
* **velocity**: transcribed = ``velocity_intercept + velocity_slope`` x true + normal noise
  (least squares and its residual standard deviation), clipped to 1-127;
* **missed and extra notes**: the share of true notes without a match is dropped at random;
  extra notes are not added (the descriptors read rates, and a few extra soft notes move them
  little);
* **sustain pedal**: each true press is kept with the measured share of true presses that a
  transcribed press overlaps, and kept presses move their edges by a normal jitter of the
  measured standard deviation of the matched edges.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np

SUSTAIN = 64
ONSET_TOL = 0.05


@dataclass(frozen=True)
class ErrorModel:
    """The fitted errors (seconds and MIDI velocity units); ``n_notes``, ``n_presses``: how
    many matched notes and true presses they were measured on."""

    onset_shift: float = 0.0
    onset_sd: float = 0.0
    velocity_intercept: float = 0.0
    velocity_slope: float = 1.0
    velocity_sd: float = 0.0
    note_miss: float = 0.0
    pedal_keep: float = 1.0
    pedal_edge_sd: float = 0.0
    n_notes: int = 0
    n_presses: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def note_rows(pm) -> np.ndarray:
    """(n, 4) onset and offset in seconds, MIDI pitch and velocity (1-127) of the non-drum
    notes of a ``pretty_midi.PrettyMIDI``, by onset."""
    rows = sorted((n.start, n.end, n.pitch, n.velocity) for i in pm.instruments
                  if not i.is_drum for n in i.notes)
    return np.array(rows, float).reshape(-1, 4)


def sustain_intervals(pm) -> np.ndarray:
    """(k, 2) start and end in seconds of each sustain-pedal press (CC 64 >= 64, the General
    MIDI threshold) of a ``PrettyMIDI``; a press still down at the end closes at the last
    note's release."""
    end = max((n.end for i in pm.instruments for n in i.notes), default=0.0)
    ccs = sorted((c.time, c.value >= SUSTAIN) for i in pm.instruments
                 for c in i.control_changes if c.number == SUSTAIN)
    out, down = [], None
    for t, on in ccs:
        if on and down is None:
            down = t
        elif not on and down is not None:
            out.append((down, t))
            down = None
    if down is not None:
        out.append((down, max(end, down)))
    return np.array(out, dtype=float).reshape(-1, 2)


def fit(pairs) -> ErrorModel:
    """The error model of ``pairs``: an iterable of (true, transcribed) ``PrettyMIDI`` on the
    same clock. Raises ValueError when no note of any pair could be matched."""
    import pretty_midi
    from mir_eval.transcription import match_notes

    d_on, v_true, v_est, n_true, n_match = [], [], [], 0, 0
    kept, presses, edges = 0, 0, []
    for ref, est in pairs:
        r, e = note_rows(ref), note_rows(est)
        n_true += len(r)
        if len(r) and len(e):
            m = np.array(match_notes(r[:, :2], pretty_midi.note_number_to_hz(r[:, 2]),
                                     e[:, :2], pretty_midi.note_number_to_hz(e[:, 2]),
                                     onset_tolerance=ONSET_TOL, offset_ratio=None),
                         dtype=int).reshape(-1, 2)
            n_match += len(m)
            d_on += list(e[m[:, 1], 0] - r[m[:, 0], 0])
            v_true += list(r[m[:, 0], 3])
            v_est += list(e[m[:, 1], 3])
        rp, ep = sustain_intervals(ref), sustain_intervals(est)
        presses += len(rp)
        for a, b in rp:
            hit = ep[(ep[:, 0] < b) & (ep[:, 1] > a)] if len(ep) else ep
            if len(hit):
                kept += 1
                edges += [hit[:, 0].min() - a, hit[:, 1].max() - b]
    if not n_match:
        raise ValueError("no transcribed note matches a true one: nothing to fit")
    d_on, vt, ve = np.array(d_on), np.array(v_true), np.array(v_est)
    slope, intercept = np.polyfit(vt, ve, 1) if vt.std() > 0 else (1.0, ve.mean() - vt.mean())
    resid = ve - (intercept + slope * vt)
    return ErrorModel(onset_shift=float(np.median(d_on)), onset_sd=float(d_on.std()),
                      velocity_intercept=float(intercept), velocity_slope=float(slope),
                      velocity_sd=float(resid.std()), note_miss=1.0 - n_match / n_true,
                      pedal_keep=kept / presses if presses else 1.0,
                      pedal_edge_sd=float(np.std(edges)) if edges else 0.0,
                      n_notes=int(n_match), n_presses=int(presses))


def apply(pm, model: ErrorModel, rng: np.random.Generator):
    """A copy of ``pm`` (``PrettyMIDI``) with ``model``'s errors drawn by ``rng``: notes dropped
    at the miss rate (at least one is kept), onsets jittered (durations kept), velocities
    mapped and noised, sustain presses dropped or their edges moved; other controllers kept."""
    import pretty_midi

    out = copy.deepcopy(pm)
    for inst in out.instruments:
        keep = rng.random(len(inst.notes)) >= model.note_miss
        if inst.notes and not keep.any():
            keep[rng.integers(len(inst.notes))] = True
        notes = []
        for note, k in zip(inst.notes, keep, strict=True):
            if not k:
                continue
            d = model.onset_shift + model.onset_sd * rng.standard_normal()
            start = max(0.0, note.start + d)
            v = model.velocity_intercept + model.velocity_slope * note.velocity \
                + model.velocity_sd * rng.standard_normal()
            notes.append(pretty_midi.Note(int(np.clip(round(v), 1, 127)), note.pitch, start,
                                          start + (note.end - note.start)))
        inst.notes = notes
        others = [c for c in inst.control_changes if c.number != SUSTAIN]
        pedal = []
        for a, b in sustain_intervals(_alone(inst)):
            if rng.random() >= model.pedal_keep:
                continue
            a2 = max(0.0, a + model.pedal_edge_sd * rng.standard_normal())
            b2 = max(a2 + 0.01, b + model.pedal_edge_sd * rng.standard_normal())
            pedal += [pretty_midi.ControlChange(SUSTAIN, 127, a2),
                      pretty_midi.ControlChange(SUSTAIN, 0, b2)]
        inst.control_changes = sorted(others + pedal, key=lambda c: c.time)
    return out


def _alone(inst):
    """A ``PrettyMIDI`` holding only ``inst`` (to read its pedal presses)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(inst)
    return pm
