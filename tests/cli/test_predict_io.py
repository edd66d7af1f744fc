"""`percepiano predict` where it cannot write: outputs checked before any work, a failed
write named in one line after the scores are printed, a cache that cannot be written read and
left alone; and the recording's notes on every route."""

import errno
import json
import os

import pytest
import soundfile

from percepiano import io as pio
from percepiano.audio import render
from tests.cli.test_predict import _melody, run


@pytest.fixture(autouse=True)
def _forget_skipped_caches(monkeypatch):
    monkeypatch.setattr(pio, "_SKIPPED", {})


@pytest.mark.parametrize("option, name, message", [
    ("--csv", "folder.csv", "folder.csv: is a folder; give a file name"),
    ("--plot", "folder.png", "folder.png: is a folder; give a file name"),
    ("--csv", "plain.txt/out.csv", "plain.txt is not a folder"),
])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
        tmp_path, fresh_cache, capsys, option, name, message):
    _melody().write(str(tmp_path / "take.mid"))
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "plain.txt").write_text("")
    code, out, err = run(capsys, "predict", tmp_path / "take.mid", option, tmp_path / name)
    assert code == 2 and out == "" and message in err and len(err.splitlines()) == 1, err
    assert not (fresh_cache / "final").exists()


def test_a_write_that_fails_after_scoring_prints_the_scores_and_names_the_path(
        tmp_path, built_cache, capsys, monkeypatch):
    built_cache("midi")
    _melody().write(str(tmp_path / "take.mid"))
    target = tmp_path / "out.csv"
    real = os.replace

    def refuse(src, dst):
        if str(dst) == str(target):
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", refuse)
    code, out, err = run(capsys, "predict", tmp_path / "take.mid", "--csv", target, "--json")
    assert code == 3 and json.loads(out)["input"] == "midi"  # the scores were printed
    assert err.strip() == f"percepiano predict: error: {target}: cannot write (Permission denied)"
    assert not list(tmp_path.glob(".out.csv*"))  # no temporary file left, none named


def test_a_read_only_cache_is_read_and_left_alone_with_a_note(tmp_path, built_cache, capsys,
                                                              monkeypatch):
    cache = built_cache("midi")
    _melody().write(str(tmp_path / "take.mid"))
    real = pio.tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):  # noqa: A002 - mkstemp's own name
        if str(dir).startswith(str(cache)):
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(pio.tempfile, "mkstemp", read_only)
    for memo in (cache / "final" / "code-hashes").rglob("*.txt"):
        memo.unlink()  # the code hash must be computed again, and cannot be stored
    code, out, err = run(capsys, "predict", tmp_path / "take.mid", "--json")
    assert code == 0, err
    notes = json.loads(out)["notes"]
    assert any(n.startswith("the cache could not be written") and "Read-only file system" in n
               for n in notes)


def test_a_model_a_read_only_cache_does_not_hold_is_refused_before_any_work(
        tmp_path, monkeypatch, capsys):
    (tmp_path / "plain").write_text("")
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path / "plain" / "cache"))
    _melody().write(str(tmp_path / "take.mid"))
    code, out, err = run(capsys, "predict", tmp_path / "take.mid")
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "the midi model is not built yet and the cache cannot hold it" in err
    assert "PERCEPIANO_CACHE" in err


def test_any_os_error_is_one_line(tmp_path, monkeypatch, capsys):
    from percepiano.cli import predict

    def broken(inputs):
        raise OSError(errno.ENOSPC, "No space left on device", "/somewhere/file")

    monkeypatch.setattr(predict, "expand", broken)
    code, out, err = run(capsys, "predict", tmp_path / "take.mid")
    assert code == 2 and out == ""
    assert err.strip() == "percepiano predict: error: /somewhere/file: No space left on device"


def test_the_recording_notes_are_said_on_both_routes(tmp_path, monkeypatch):
    """An 8-bit, 8 kHz take: the same notes through its sound and through its notes (the
    transcription stands in for transkun: the MIDI the take was rendered from)."""
    from percepiano.analysis import scoring
    from percepiano.analysis.final import descriptor_columns
    from percepiano.audio import plausibility, transcription

    pm = _melody(6.0)
    wav = tmp_path / "phone.wav"
    soundfile.write(wav, render.render_midi(pm, sr=8000), 8000, subtype="PCM_U8")
    reading = plausibility.Reading(0.0, 1.0, -30.0, 1.0, 20, 20)
    monkeypatch.setattr(transcription, "available", lambda: True)
    monkeypatch.setattr(transcription, "device", lambda: "cpu")
    monkeypatch.setattr(plausibility, "transcribe_take", lambda *a, **k: (pm, reading, True))
    said = {}
    for via, kind in (("sound", "audio"), ("notes", "midi")):
        take = scoring.read_take(wav, descriptor_columns(kind), via)
        said[via] = take.notes
        text = " ".join(take.notes)
        assert "sampled at 8 kHz" in text and "PCM_U8 samples" in text, (via, take.notes)
        assert "LUFS as recorded" in text, (via, take.notes)
    assert any("reaches the transcriber" in n for n in said["notes"])
    assert any("reaches the model" in n for n in said["sound"])
