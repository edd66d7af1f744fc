"""The locked final exam: frozen, drawn as whole music groups, and kept from being moved.

Style rule 12: the locked final-exam set is read only by the final results chapter. The exam's
names are frozen in ``percepiano/data/final_exam.txt``; ``dataset.load`` leaves them out, and
``part="all"`` holds their metadata but not their labels, unless asked with the capability that
``percepiano.data.exam.grant`` gives the final-exam experiment alone; every read is recorded
(``tests/data/test_exam.py``). Redrawing the exam needs ``--force``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from percepiano.cli import splits as splits_cmd
from percepiano.cli.main import main
from percepiano.data import dataset, exam, splits

ROOT = Path(__file__).resolve().parents[1]
REDRAW = "percepiano splits --redraw-exam --force"


def test_redraw_refuses_without_force(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path))
    monkeypatch.setenv("PERCEPIANO_PROFILE", "smoke")
    frozen = (ROOT / "percepiano" / "data" / exam.FINAL_EXAM_FILE).read_bytes()
    assert main(["splits", "--redraw-exam"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("percepiano splits: error: --redraw-exam would move the locked final "
                          "exam; add --force")
    exam.record_read(exam.grant(exam.EXPERIMENT))  # into the temporary results store
    assert main(["splits", "--redraw-exam"]) == 2
    assert "which has been read 1 time(s) in this profile" in capsys.readouterr().err
    assert main(["splits", "--force"]) == 2
    assert "--force only goes with --redraw-exam" in capsys.readouterr().err
    assert (ROOT / "percepiano" / "data" / exam.FINAL_EXAM_FILE).read_bytes() == frozen


def test_redraw_with_force_writes(capsys, full, monkeypatch):
    written = []
    monkeypatch.setattr(splits_cmd.dataset, "load", lambda data=None, part="all": full)
    monkeypatch.setattr(splits_cmd.dataset, "write_final_exam",
                        lambda segments: written.append(len(segments)) or Path("exam.txt"))
    assert main(["splits", "--redraw-exam", "--force"]) == 0
    assert written == [len(full.names)] and "(0 names moved)" in capsys.readouterr().out


def test_frozen_exam_equals_the_draw(full):
    frozen = list(dataset.final_exam_names())
    drawn = splits.draw_final_exam(full.segments)
    moved = sorted(set(frozen) ^ set(drawn))
    assert not moved, (
        f"the frozen final exam (percepiano/data/final_exam.txt) differs from "
        f"draw_final_exam for the current music groups in {len(moved)} names (e.g. {moved[0]!r}):"
        f" the grouping changed. If no result on the exam exists yet, redraw it with `{REDRAW}` "
        f"and commit the file; otherwise restore the grouping")
    text = (ROOT / "percepiano" / "data" / dataset.FINAL_EXAM_FILE).read_text()
    assert text == dataset.final_exam_text(full.segments, drawn), \
        f"header changed: run `{REDRAW}`"


def test_no_music_group_straddles_exam_and_development(full):
    group = splits.groups(full.segments, "piece")
    in_exam = full.segments.index.isin(dataset.final_exam_names())
    assert not set(group[in_exam]) & set(group[~in_exam])


def test_exam_size_and_spread(full):
    exam = full.segments.loc[list(dataset.final_exam_names())]
    assert 0.12 <= len(exam) / len(full.names) <= 0.18
    assert set(exam.composer) == set(full.segments.composer)  # every composer present
    strata = splits.groups(full.segments, "piece").map(splits.exam_strata(full.segments))
    share = (strata[exam.index].value_counts() / strata.value_counts()).fillna(0.0)
    assert share.between(0.08, 0.25).all(), share  # every stratum (each Schubert work) present


def test_cli_exam_counts_only(capsys, data_root):
    assert main(["splits", "--exam", "--json", "--data", str(data_root)]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["segments"] == len(dataset.final_exam_names())
    assert sum(counts["segments_per_composer"].values()) == counts["segments"]
    assert counts["composers"] == 2
    assert main(["splits", "--exam", "--data", str(data_root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("locked final exam:") and not any(d in out for d in dataset.DIMENSIONS)


@pytest.mark.parametrize("part,n", [("all", 1202), ("development", None)])
def test_cli_splits_work(capsys, data_root, part, n):
    argv = ["splits", "--kind", "work", "--k", "4", "--part", part, "--json",
            "--data", str(data_root)]
    assert main(argv) == 0
    folds = json.loads(capsys.readouterr().out)
    assert len(folds) == (n or 1202 - len(dataset.final_exam_names()))
    assert set(folds.values()) == {0, 1, 2, 3}
    if part == "development":
        dataset.assert_no_exam(folds)
