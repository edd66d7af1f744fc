"""`percepiano predict` on MIDI and audio files, and its refusals."""

import json

import numpy as np
import pytest

from percepiano.cli.main import main
from percepiano.data.dataset import DIMENSIONS
from percepiano.training import train
from tests.training.toy import CFG, TC, toy_data


def test_cli_predict_midi_and_wav(tmp_path, capsys):
    """`percepiano predict` on a rendered MIDI and a 22.05 kHz WAV prints 19 dimensions."""
    pretty_midi = pytest.importorskip("pretty_midi")
    soundfile = pytest.importorskip("soundfile")
    specs, labels, tr, va = toy_data()
    train.fit(specs, labels, tr, va, CFG, TC, out_dir=tmp_path / "run", progress=False)
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(80, p, 0.25 * i, 0.25 * i + 0.5) for i, p in
                    enumerate((60, 64, 67, 72, 67, 64, 60, 55))]
    pm.instruments.append(piano)
    pm.write(str(tmp_path / "a.mid"))
    t = np.arange(int(2.5 * 22050)) / 22050
    soundfile.write(tmp_path / "a.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 22050)
    for f in ("a.mid", "a.wav"):
        assert main(["predict", str(tmp_path / f), "--checkpoint", str(tmp_path / "run"),
                         "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert list(out["profile"]) == list(DIMENSIONS)
        assert all(0 < v < 2 for v in out["profile"].values())


def test_cli_predict_bad_inputs(tmp_path, capsys):
    (tmp_path / "bad.mid").write_text("not midi")
    (tmp_path / "bad.wav").write_text("not audio")
    (tmp_path / "x.txt").write_text("")
    soundfile = pytest.importorskip("soundfile")
    soundfile.write(tmp_path / "ok.wav", np.zeros(32000), 16000)
    for f, msg in (("bad.mid", "MIDI"), ("ok.wav", "no checkpoint"),
                   ("bad.wav", "not a readable audio"), ("x.txt", "unknown file type"),
                   ("missing.wav", "no such file")):
        assert main(["predict", str(tmp_path / f), "--checkpoint", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1
