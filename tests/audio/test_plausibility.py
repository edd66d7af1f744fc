"""The checks that say when a sound is not a piano the transcriber can read, on renderings:
the tuning is found and undone, a struck string's notes fall where an organ's hold, a
transcription that misses the onsets is caught, and the verdict says why."""

import io

import mido
import numpy as np
import pretty_midi
import pytest

from percepiano.audio import plausibility as pl
from percepiano.audio import sound_conditions as sc

SR = 22050


def _take(seconds=8.0, seed=0) -> pretty_midi.PrettyMIDI:
    """Detached notes a fifth to two octaves around middle C, 0.3-0.6 s long."""
    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    t = 0.1
    while t < seconds:
        d = float(rng.uniform(0.3, 0.6))
        inst.notes.append(pretty_midi.Note(80, int(rng.integers(55, 80)), t, t + d))
        t += d + 0.05
    pm.instruments.append(inst)
    return pm


def _bytes(pm) -> bytes:
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def test_bend_and_program_reach_every_channel_before_the_first_note():
    data = _bytes(_take())
    bent = mido.MidiFile(file=io.BytesIO(sc.bend(data, -50.0)))
    msgs = [m for tr in bent.tracks for m in tr if not m.is_meta]
    assert msgs[0].type == "pitchwheel" and msgs[0].pitch == -2048 and msgs[0].time == 0
    organ = mido.MidiFile(file=io.BytesIO(sc.program(data, sc.ORGAN)))
    first = next(m for tr in organ.tracks for m in tr if not m.is_meta)
    assert first.type == "program_change" and first.program == sc.ORGAN
    assert {m.program for tr in organ.tracks for m in tr if m.type == "program_change"} == {
        sc.ORGAN}  # the file's own program change (pretty_midi writes one) follows
    with pytest.raises(ValueError, match="exceeds"):
        sc.bend(data, -300.0)


@pytest.mark.parametrize("cents", [-40.0, -20.0, 25.0])
def test_a_detuned_piano_is_measured_and_brought_back_to_the_grid(cents):
    y, sr = sc.detuned(_bytes(_take()), SR, cents)
    found = pl.tuning_cents(y, sr)
    assert found == pytest.approx(cents, abs=6)
    back, speed = pl.retune(y, sr, found)
    assert speed == pytest.approx(2 ** (-found / 1200))
    assert len(back) == pytest.approx(len(y) / speed, rel=1e-3)
    assert abs(pl.tuning_cents(back, sr)) < 6


def test_restore_time_puts_the_notes_back_on_the_take_s_clock():
    pm = _take(2.0)
    pm.instruments[0].control_changes.append(pretty_midi.ControlChange(64, 127, 1.0))
    starts = [n.start for n in pm.instruments[0].notes]
    pl.restore_time(pm, 1.03)
    assert [n.start for n in pm.instruments[0].notes] == pytest.approx(
        [1.03 * s for s in starts])
    assert pm.instruments[0].control_changes[0].time == pytest.approx(1.03)


def test_a_piano_s_notes_fall_where_an_organ_s_and_a_violin_s_hold():
    pm = _take()
    data = _bytes(pm)
    piano = pl.note_decay(*sc.detuned(data, SR, 0.0), pm)
    organ = pl.note_decay(*sc.instrument(data, SR, sc.ORGAN), pm)
    violin = pl.note_decay(*sc.instrument(data, SR, sc.VIOLIN), pm)
    assert piano < pl.MAX_SLOPE_DB < min(organ, violin), (piano, organ, violin)
    assert np.isnan(pl.note_decay(np.zeros(SR, np.float32), SR, pretty_midi.PrettyMIDI()))


def test_onset_recall_counts_the_heard_onsets_a_note_starts_at():
    pm = _take()
    y, sr = sc.detuned(_bytes(pm), SR, 0.0)
    starts = np.array([n.start for n in pm.instruments[0].notes])
    assert pl.onset_recall(y, sr, starts) > 0.8
    assert pl.onset_recall(y, sr, starts[:3]) < 0.3
    assert pl.onset_recall(y, sr, np.zeros(0)) == 0.0


def test_the_verdict_says_why_a_take_is_refused_or_what_was_done():
    piano = pl.Reading(cents=2.0, speed=1.0, slope=-30.0, recall=0.9, notes=200, onsets=150)
    assert pl.verdict(piano) == (None, [], 0.0)
    flat = pl.Reading(-48.0, 2 ** (48 / 1200), -30.0, 0.9, 200, 150)
    refusal, notes, widen = pl.verdict(flat)
    assert refusal is None and "tuned 48 cents flat" in notes[0] and "428.0 Hz" in notes[0]
    assert widen == 0.0
    organ = pl.Reading(3.0, 1.0, 12.0, 0.9, 200, 150)
    assert pl.verdict(pl.Reading(3.0, 1.0, 2.0, 0.9, 200, 150))[0] is None  # a held piano
    assert "does not sound like a piano" in pl.verdict(organ)[0]
    missed = pl.Reading(3.0, 1.0, -30.0, 0.2, 20, 150)
    assert "only 20% of the 150 onsets" in pl.verdict(missed)[0]
    dense = pl.Reading(3.0, 1.0, -30.0, 0.95, 500, 60)  # 8.3 notes per heard onset
    refusal, notes, widen = pl.verdict(dense)
    assert refusal is None and widen == pl.WIDEN and "8.3 notes per onset heard" in notes[0]


def test_canon_mixes_the_take_with_itself_later():
    y, sr = sc.canon(_bytes(_take(3.0)), SR, delay=1.0)
    from percepiano.audio import render

    alone = render.render_midi(_bytes(_take(3.0)), sr=SR)
    assert len(y) == len(alone) + SR
    assert np.allclose(y[:SR], 0.5 * alone[:SR], atol=1e-6)
