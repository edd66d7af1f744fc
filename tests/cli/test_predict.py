"""`percepiano predict` and `percepiano model`: out of the box on MIDI and audio, files and
folders, CSV/JSON/plot outputs, and one-line refusals that write nothing."""

import json

import numpy as np
import pandas as pd
import pretty_midi
import pytest
import soundfile

from percepiano.analysis import final
from percepiano.audio import render
from percepiano.cli import model as model_cli
from percepiano.cli.main import build_parser, main
from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.models import forest
from tests.cli.conftest import bad_midi_files

SR = 16000


def _melody(seconds=6.0, seed=0) -> pretty_midi.PrettyMIDI:
    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    t = 0.0
    while t < seconds:
        d = float(rng.uniform(0.2, 0.45))
        inst.notes.append(pretty_midi.Note(int(rng.integers(50, 100)),
                                           int(rng.integers(55, 80)), t, t + d))
        t += d
    inst.control_changes += [pretty_midi.ControlChange(64, 100, 0.0),
                             pretty_midi.ControlChange(64, 0, seconds / 2)]
    pm.instruments.append(inst)
    return pm


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_fresh_cache_builds_the_midi_model_and_predicts(tmp_path, fresh_cache, capsys,
                                                          data_root):
    takes = tmp_path / "takes"
    takes.mkdir()
    for i in range(3):
        _melody(5.0 + i, seed=i).write(str(takes / f"take{i}.mid"))
    code, out, err = run(capsys, "predict", takes / "take0.mid", "--json",
                         "--plot", tmp_path / "profile.png", "--data", data_root)
    assert code == 0, err
    assert "building the midi model" in err
    assert len(list((fresh_cache / "final").glob("midi-*/model.npz"))) == 1
    prof = json.loads(out)
    assert [d["dimension"] for d in prof["dimensions"]] == list(DIMENSIONS)
    assert prof["input"] == "midi" and prof["level"] == 0.8 and prof["windows"] == 1
    assert all(1 <= d["low"] <= d["score"] <= d["high"] <= 7 for d in prof["dimensions"])
    assert prof["percentile_of"].startswith("the out-of-fold predictions for the ")
    assert (tmp_path / "profile.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a folder: one CSV row per file, the cached model reused
    code, out, err = run(capsys, "predict", takes, "--csv", tmp_path / "out.csv", "--level",
                         "0.9")
    assert code == 0 and "building" not in err
    table = pd.read_csv(tmp_path / "out.csv")
    assert list(table["file"]) == [str(takes / f"take{i}.mid") for i in range(3)]
    assert (table["level"] == 0.9).all() and len(table.columns) == 8 + 4 * 19
    assert "notes" in table.columns  # what predict printed under each profile
    assert (table["percentile_of"] == prof["percentile_of"]).all()
    first = table.iloc[0]
    pedal = "Pedal_Sparse/dry_Saturated/wet"
    assert first[f"{pedal}_low"] <= first[pedal] <= first[f"{pedal}_high"]
    assert out.count("Pedal: sparse, dry (1) - saturated, wet (7)") == 3
    assert out.count(f"percentile: where the score ranks among {prof['percentile_of']}") == 3

    code, out, _ = run(capsys, "model", "info", "--kind", "midi")
    assert code == 0 and "piece-split cross-validation" in out and "nominal 80%" in out


def test_model_info_before_a_build_says_how(fresh_cache, capsys):
    code, _, err = run(capsys, "model", "info", "--kind", "audio")
    assert code == 2 and "not built yet" in err and len(err.splitlines()) == 1


def test_an_audio_file_is_scored_by_the_audio_model(tmp_path, built_cache, capsys):
    built_cache("audio")
    folder = model_cli.model_dir("audio")
    y = render.render_midi(_melody(6.0), sr=44100)
    soundfile.write(tmp_path / "take.flac", np.stack([y, y], axis=1), 44100)
    code, out, err = run(capsys, "predict", tmp_path / "take.flac", "--json", "--via", "sound")
    assert code == 0, err
    prof = json.loads(out)
    assert prof["input"] == "audio" and prof["model"]["id"] == folder.name
    assert any("FluidSynth renderings" in n for n in prof["notes"])


def test_the_default_route_takes_the_sound_with_a_note_without_the_transcriber(
        tmp_path, built_cache, capsys, monkeypatch):
    from percepiano.audio import transcription

    built_cache("audio")
    monkeypatch.setattr(transcription, "available", lambda: False)
    soundfile.write(tmp_path / "take.wav", render.render_midi(_melody(6.0), sr=SR), SR)
    code, out, err = run(capsys, "predict", tmp_path / "take.wav", "--json")
    assert code == 0, err
    prof = json.loads(out)
    assert prof["input"] == "audio"
    assert any("the route through its notes, the default, is unavailable "
               f"({transcription.MISSING})" in n for n in prof["notes"])


def _bad_files(folder):
    t = np.arange(3 * SR) / SR
    soundfile.write(folder / "silence.wav", np.zeros(10 * SR), SR)
    soundfile.write(folder / "sine.wav", 0.3 * np.sin(2 * np.pi * 440 * t), SR)
    soundfile.write(folder / "whole.wav", render.render_midi(_melody(), sr=SR), SR)
    (folder / "truncated.wav").write_bytes((folder / "whole.wav").read_bytes()[:50])
    (folder / "empty.ogg").write_bytes(b"")
    return {"silence.wav": "digital silence", "sine.wav": "no note onsets",
            "truncated.wav": "0.0 s of audio", "empty.ogg": "cannot read",
            **bad_midi_files(folder)}


def test_refusals_are_one_line_and_write_nothing(tmp_path, fresh_cache, capsys):
    for name, message in _bad_files(tmp_path).items():
        code, out, err = run(capsys, "predict", tmp_path / name, "--csv", tmp_path / "o.csv",
                             "--plot", tmp_path / "o.png")
        assert code == 2 and message in err and out == "", (name, err)
        assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("o.*")) and not (fresh_cache / "final").exists()


def test_a_folder_with_bad_files_names_each_and_scores_the_rest(tmp_path, built_cache,
                                                                  capsys):
    built_cache("midi", "audio")
    _bad_files(tmp_path)
    (tmp_path / "notes.txt").unlink()
    _melody().write(str(tmp_path / "good.mid"))
    # from the sound: both routes refuse the same files, and transcribing the good one is slow
    code, out, err = run(capsys, "predict", tmp_path, "--csv", tmp_path / "o.csv", "--via",
                         "sound")
    lines = [line for line in err.splitlines() if line.startswith("percepiano")]  # no bars
    assert code == 1 and "good.mid: MIDI" in out, err
    assert list(pd.read_csv(tmp_path / "o.csv")["file"]) == [str(tmp_path / "good.mid"),
                                                             str(tmp_path / "whole.wav")]
    assert len(lines) == 7 and lines[-1] == ("percepiano predict: 6 of 8 files refused "
                                             "(above); the other 2 scored")
    assert sum("hanging.mid" in line for line in lines) == 1
    assert all(line.startswith("percepiano predict: error: ") for line in lines[:-1])
    sub = build_parser("predict")._subparsers._group_actions[0].choices["predict"]
    assert "exit status: 0 every file scored" in " ".join(sub.format_help().split())


@pytest.mark.parametrize("argv, message", [
    (["--level", "1.5"], "--level must lie strictly between 0 and 1"),
    (["--csv", "out.txt"], "must end in .csv"),
    (["--plot", "out.jpg"], "must end in .png"),
    (["--csv", "/nonexistent/dir/out.csv"], "does not exist"),
])
def test_bad_options_are_refused_before_any_work(tmp_path, fresh_cache, capsys, argv, message):
    _melody().write(str(tmp_path / "take.mid"))
    code, _, err = run(capsys, "predict", tmp_path / "take.mid", *argv)
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (fresh_cache / "final").exists()


@pytest.mark.slow  # trains a small network and renders the take: about 10 s on 2 cores
def test_a_trained_checkpoint_can_still_score(tmp_path, capsys):
    from percepiano.training import train
    from tests.training.toy import CFG, TC, toy_data

    specs, labels, tr, va = toy_data()
    train.fit(specs, labels, tr, va, CFG, TC, out_dir=tmp_path / "run", progress=False)
    _melody().write(str(tmp_path / "a.mid"))
    code, out, err = run(capsys, "predict", tmp_path / "a.mid", "--checkpoint",
                         tmp_path / "run", "--json")
    assert code == 0, err
    prof = json.loads(out)
    assert prof["model"]["kind"] == "ast" and len(prof["dimensions"]) == 19
    assert all(d["low"] is None for d in prof["dimensions"])
    code, _, err = run(capsys, "predict", tmp_path / "a.mid", "--checkpoint", tmp_path)
    assert code == 2 and "checkpoint" in err and len(err.splitlines()) == 1


def test_plot_paths_are_one_per_file_and_never_collide(tmp_path):
    from percepiano.cli.predict import plot_paths

    out = tmp_path / "p.png"
    assert plot_paths(out, [tmp_path / "a.mid"]) == [out]
    assert [p.name for p in plot_paths(out, [tmp_path / "a.mid", tmp_path / "b.wav"])] == [
        "p-a.png", "p-b.png"]
    assert [p.name for p in plot_paths(out, [tmp_path / "x/a.mid", tmp_path / "a.wav"])] == [
        "p-01-a.png", "p-02-a.png"]


def test_via_notes_without_the_extra_is_one_line_and_writes_nothing(tmp_path, fresh_cache,
                                                                      capsys, monkeypatch):
    from percepiano.audio import transcription

    monkeypatch.setattr(transcription, "available", lambda: False)
    wav = tmp_path / "take.wav"
    soundfile.write(wav, render.render_midi(_melody(), sr=SR), SR)
    out_csv = tmp_path / "out.csv"
    code, out, err = run(capsys, "predict", wav, "--via", "notes", "--csv", out_csv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "pip install -e '.[transcribe]'" in err
    assert "Traceback" not in err and not out_csv.exists()


def test_the_notes_route_needs_no_stored_results(tmp_path, fresh_cache, capsys, monkeypatch):
    """With the results folder empty, an audio take still goes through its notes (the notes
    model learns from the package's frozen file): it reaches transkun."""
    from percepiano.audio import transcription
    from percepiano.errors import UserError

    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path / "no-results"))

    def transcribe(*args, **kwargs):
        raise UserError("transkun reached")

    monkeypatch.setattr(transcription, "available", lambda: True)
    monkeypatch.setattr(transcription, "transcribe_cached", transcribe)
    wav = tmp_path / "take.wav"
    soundfile.write(wav, render.render_midi(_melody(), sr=SR), SR)
    for via in ([], ["--via", "notes"]):
        code, out, err = run(capsys, "predict", wav, *via)
        assert code == 2 and out == "", err
        assert err.strip() == "percepiano predict: error: transkun reached"
    assert not (fresh_cache / "final").exists()


@pytest.mark.slow
def test_an_audio_file_is_scored_through_its_notes_by_default(tmp_path, fresh_cache, capsys,
                                                                data_root, monkeypatch):
    from percepiano.audio import transcription

    if not transcription.available():
        pytest.skip(transcription.MISSING)
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path / "no-results"))
    m = final.build(dataset.load(data_root), "notes", cfg=forest.preset("smoke"),
                    progress=False)
    m.meta["id"] = model_cli.model_dir("notes").name
    m.save(model_cli.model_dir("notes"))
    soundfile.write(tmp_path / "take.wav", render.render_midi(_melody(6.0), sr=SR), SR)
    code, out, err = run(capsys, "predict", tmp_path / "take.wav", "--json")
    assert code == 0, err
    prof = json.loads(out)
    assert prof["input"] == "notes" and prof["model"]["kind"] == "notes"
    assert any(n.startswith("scored through its notes: transkun transcribed") for n in
               prof["notes"])
    assert "through simulated transcriptions" in prof["percentile_of"]
    assert all(1 <= d["low"] <= d["score"] <= d["high"] <= 7 for d in prof["dimensions"])
