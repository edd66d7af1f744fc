"""`percepiano explain`: a PercePiano performance explained in one sentence per dimension, in
text and JSON, the final model built on first use (a model of the old storage format never
read), and one-line refusals that build and write nothing."""

import json

import numpy as np
import pytest

from percepiano.analysis import final
from percepiano.cli import model as model_cli
from percepiano.cli.main import build_parser
from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.models import forest
from tests.cli.conftest import bad_midi_files
from tests.cli.test_predict import _melody, run


@pytest.fixture(scope="module")
def take(ds):
    """A development performance's MIDI file."""
    return ds.segments.loc[ds.names[0], "midi_path"]


def test_a_percepiano_midi_is_explained_after_building_the_model(tmp_path, fresh_cache, capsys,
                                                                 data_root, take, monkeypatch):
    # a model stored in the previous format sits in the cache: it is never read, a new one is
    # built beside it (the format is part of the model's key)
    old = dataset.subset(dataset.load(data_root), 120)
    stale = final.build(old, "midi", cfg=forest.preset("smoke"), progress=False)
    with monkeypatch.context() as patch:
        patch.setattr(final, "FORMAT", final.FORMAT - 1)
        stale_dir = model_cli.model_dir("midi")
        stale.save(stale_dir)
    assert model_cli.model_dir("midi") != stale_dir
    with pytest.raises(ValueError, match=f"stored in format {final.FORMAT - 1}, expected "
                                         f"{final.FORMAT}"):
        final.FinalModel.load(stale_dir)

    code, out, err = run(capsys, "explain", take, "--json", "--top", "2", "--data", data_root)
    assert code == 0, err
    assert "building the midi model" in err
    prof = json.loads(out)
    assert prof["file"] == str(take) and prof["input"] == "midi"
    assert [d["dimension"] for d in prof["dimensions"]] == list(DIMENSIONS)
    assert "1012 PercePiano development performances" in prof["attribution"]["compared_with"]
    for d in prof["dimensions"]:
        assert 1 <= d["low"] <= d["score"] <= d["high"] <= 7 and 1 <= d["mean"] <= 7
        assert 1 <= len(d["reasons"]) <= 2 and d["sentence"].endswith(".")
        r = d["reasons"][0]
        assert r["column"].startswith("midi:") and r["column"] not in d["sentence"]
        assert np.sign(r["shap"]) == np.sign(d["score"] - d["mean"]) or d["toward"] is None
        assert abs(sum(r["shares"].values()) - 1) < 1e-9
        assert d["sentence"].startswith(d["aspect"])
    assert len(list((fresh_cache / "final").glob("midi-*/model.npz"))) == 2  # old and new

    # text: the cached model reused, one sentence per dimension, the same every time
    code, text, err = run(capsys, "explain", take, "--top", "2")
    assert code == 0 and "building" not in err
    assert text.startswith(f"{take}: MIDI") and "explain the model, not the raters" in text
    words = " ".join(text.split())  # the sentences are wrapped at 100 characters
    assert all(" ".join(d["sentence"].split()) in words for d in prof["dimensions"])
    assert sum(line.startswith(("Timing", "Articulation", "Pedal", "Timbre", "Dynamic",
                                "Music making", "Emotion", "Interpretation"))
               for line in text.splitlines()) == 19
    assert run(capsys, "explain", take, "--top", "2")[1] == text
    one = run(capsys, "explain", take, "--json")[1]
    assert all(len(d["reasons"]) == 1 for d in json.loads(one)["dimensions"])


def test_several_files_give_a_list(tmp_path, built_cache, capsys):
    built_cache("midi")
    for i in range(2):
        _melody(6.0, seed=i).write(str(tmp_path / f"take{i}.mid"))
    code, out, err = run(capsys, "explain", tmp_path, "--json")
    assert code == 0, err
    profiles = json.loads(out)
    assert [p["file"] for p in profiles] == [str(tmp_path / f"take{i}.mid") for i in range(2)]
    assert all(len(p["dimensions"]) == 19 for p in profiles)


def _bad(folder):
    (folder / "empty").mkdir()
    (folder / "garbage.mid").write_bytes(b"not a midi file at all")
    (folder / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01")
    (folder / "zero.mid").write_bytes(b"")
    return {"empty": "no performance files", "garbage.mid": "not a MIDI file",
            "corrupt.mid": "corrupt or truncated MIDI", "zero.mid": "the file is empty",
            **bad_midi_files(folder)}


def test_bad_files_are_one_line_naming_them_and_nothing_is_built(tmp_path, fresh_cache, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    cases = _bad(bad)
    before = sorted(tmp_path.iterdir()), sorted(bad.iterdir())
    for name, message in cases.items():
        code, out, err = run(capsys, "explain", bad / name, "--json")
        assert code == 2 and out == "", (name, err)
        assert err.startswith("percepiano explain: error: ") and message in err, (name, err)
        assert str(bad / name) in err and len(err.splitlines()) == 1, (name, err)
        assert "Traceback" not in err
    assert (sorted(tmp_path.iterdir()), sorted(bad.iterdir())) == before
    assert not (fresh_cache / "final").exists()


def test_a_folder_with_bad_files_names_each_and_explains_the_rest(tmp_path, built_cache,
                                                                    capsys):
    built_cache("midi")
    _melody().write(str(tmp_path / "good.mid"))
    (tmp_path / "no_notes.mid").write_bytes(b"MThd")
    (tmp_path / "zero.mid").write_bytes(b"")
    code, out, err = run(capsys, "explain", tmp_path, "--json")
    lines = [line for line in err.splitlines() if line.startswith("percepiano")]
    assert code == 1 and json.loads(out)["file"] == str(tmp_path / "good.mid")
    assert [line.startswith("percepiano explain: error: ") for line in lines] == [True, True,
                                                                                  False]
    assert lines[-1] == "percepiano explain: 2 of 3 files refused (above); the other 1 scored"


def test_a_folder_of_bad_files_only_explains_none(tmp_path, fresh_cache, capsys):
    (tmp_path / "no_notes.mid").write_bytes(b"MThd")
    (tmp_path / "zero.mid").write_bytes(b"")
    code, out, err = run(capsys, "explain", tmp_path)
    assert code == 2 and out == ""
    assert err.splitlines()[-1].endswith("2 of 2 files refused; nothing scored")
    assert not (fresh_cache / "final").exists()


@pytest.mark.parametrize("argv, message", [
    (["--level", "1.5"], "--level must lie strictly between 0 and 1"),
    (["--level", "0"], "--level must lie strictly between 0 and 1"),
    (["--top", "0"], "--top must be at least 1"),
])
def test_bad_options_are_refused_before_any_work(tmp_path, fresh_cache, capsys, argv, message):
    _melody().write(str(tmp_path / "take.mid"))
    code, out, err = run(capsys, "explain", tmp_path / "take.mid", *argv)
    assert code == 2 and out == "" and message in err and len(err.splitlines()) == 1
    assert not (fresh_cache / "final").exists()


def test_explain_is_listed_among_the_commands():
    text = build_parser().format_help()
    assert "explain" in text
    assert "Lundberg" in build_parser("explain")._subparsers._group_actions[0].choices[
        "explain"].description
