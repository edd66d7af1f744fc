"""transkun through ``audio.transcription``, on one short clip: a rendering of a PercePiano
segment transcribed against the MIDI it was rendered from (skipped without the optional extra,
``pip install -e '.[transcribe]'``, which ``make`` installs)."""

import numpy as np
import pytest

from percepiano.audio import transcription
from percepiano.errors import UserError

needs_transkun = pytest.mark.skipif(not transcription.available(),
                                    reason="transkun is an optional extra: pip install -e "
                                           "'.[transcribe]'")


def test_without_the_extra_every_entry_point_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(transcription, "available", lambda: False)
    for call in (transcription.device, lambda: transcription.transcribe(np.zeros(10), 16000),
                 lambda: transcription.transcribe_cached(np.zeros(10), 16000)):
        with pytest.raises(UserError, match=r"pip install -e '\.\[transcribe\]'"):
            call()


def test_windows_count_transkun_s_steps():
    # 16-s windows at an 8-s hop (rounded up to whole 1024-sample frames), padded 8 s each side
    assert transcription.windows(44100 * 8, 44100) == 3
    assert transcription.windows(16000 * 60, 16000) == 10


@needs_transkun
@pytest.mark.slow
def test_a_rendered_segment_is_transcribed_close_to_its_midi(ds, tmp_path):
    from percepiano.evaluation import transcription as acc
    from percepiano.experiments.transcription import render
    from percepiano.experiments.transcription_scoring import read_midi

    name = min(ds.names)  # the first 6 s of one segment
    y = render(name, ds.segments.midi_path[name], "fluidr3")[: 6 * transcription.SR]
    path = transcription.transcribe_cached(y, transcription.SR, cache=tmp_path, progress=False)
    again = transcription.transcribe_cached(y, transcription.SR, cache=tmp_path, progress=False)
    assert again == path and transcription.timing(path)["audio_s"] == pytest.approx(6.0)
    ref = acc.reference(open(ds.segments.midi_path[name], "rb").read(), name)
    ref.instruments[0].notes = [n for n in ref.instruments[0].notes if n.start < 5.5]
    est = read_midi(path)
    est.instruments[0].notes = [n for n in est.instruments[0].notes if n.start < 5.5]
    s = acc.note_scores(ref, est)
    assert s["onset_f1"] > 0.8, s
    assert s["velocity_r"] > 0.5, s
