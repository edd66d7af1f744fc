import json
import subprocess
import sys

import pytest

from percepiano.cli.main import main
from percepiano.models.identity import BASELINES


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_data_info_json(capsys, data_root):
    code, out, _ = run(capsys, "data", "info", "--json", "--data", str(data_root))
    info = json.loads(out)
    assert code == 0 and info["segments"] == 1202 and info["dimensions"] == 19
    assert info["performers"] == 22 and info["excerpts"] == 99


def test_splits_json(capsys, data_root):
    code, out, _ = run(capsys, "splits", "--kind", "performer", "--k", "4", "--json",
                       "--data", str(data_root))
    folds = json.loads(out)
    assert code == 0 and len(folds) == 1202 and set(folds.values()) == {0, 1, 2, 3}


def test_baselines_json(capsys, data_root):
    code, out, _ = run(capsys, "baselines", "--split", "random", "--json",
                       "--data", str(data_root))
    res = json.loads(out)
    assert code == 0 and set(res) == set(BASELINES)
    assert {"global_mean", "excerpt_mean", "performer_mean"} <= set(res)
    assert {"fold_mean_r2", "fold_mean_r", "per_dimension", "pooled"} <= set(res["excerpt_mean"])


def test_ceiling_json(capsys, data_root):
    code, out, _ = run(capsys, "ceiling", "--splits", "5", "--json", "--data", str(data_root))
    res = json.loads(out)
    assert code == 0 and len(res["reliability"]) == 19 and 0.7 < res["mean_reliability"] < 0.85


@pytest.mark.parametrize("argv,message", [
    (["data", "info", "--data", "/nonexistent/pp"], "not found at"),
    (["splits", "--kind", "pieces"], "unknown split kind"),
    (["splits", "--k", "1"], "k must be an integer >= 2"),
    (["splits", "--kind", "composer", "--k", "5"], "larger than the number of composer groups"),
    (["baselines", "--split", "nope"], "unknown split kind"),
    (["ceiling", "--splits", "0"], "--splits must be >= 1"),
])
def test_bad_input_is_one_line(capsys, data_root, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "percepiano", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("data", "splits", "ceiling", "baselines"):
        assert command in out


def test_a_reader_that_leaves_early_is_not_an_error():
    """`percepiano experiments | head -1`: the closed pipe ends the command quietly."""
    p = subprocess.Popen([sys.executable, "-m", "percepiano", "experiments"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before anything is written
    err = p.stderr.read().decode()
    assert p.wait() == 141 and "Traceback" not in err and "BrokenPipe" not in err


def test_json_output_is_only_json():
    """Nothing a library prints on import (pyfluidsynth says where it found FluidSynth) may
    reach stdout before the JSON."""
    out = subprocess.run([sys.executable, "-m", "percepiano", "experiments", "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert isinstance(json.loads(out), list)


def test_splits_temporal_puts_no_music_group_on_both_sides(capsys, data_root):
    from percepiano.data import dataset

    code, out, _ = run(capsys, "splits", "--kind", "temporal", "--part", "development",
                       "--json", "--data", str(data_root))
    sides = json.loads(out)
    groups = dataset.load(data_root).segments.music_group
    on = {side: {groups[n] for n, s in sides.items() if s == side} for side in ("train", "test")}
    assert code == 0 and set(sides.values()) == {"train", "test"}
    assert on["train"] and on["test"] and not on["train"] & on["test"]
    code, out, _ = run(capsys, "splits", "--kind", "temporal", "--data", str(data_root))
    assert code == 0 and "music groups on both sides: 0" in out
