"""The locked final exam: frozen, drawn as whole music groups, and read by no experiment.

Style rule 12: the locked final-exam set is read only by the final results chapter. The exam's
names are frozen in ``percepiano/data/final_exam.txt``; ``dataset.load`` leaves them out unless
asked for ``part="exam"``, and the static check below allows that only in ``EXAM_READERS``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from percepiano.cli.main import main
from percepiano.data import dataset, splits

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("percepiano", "book")
# modules (paths from the project root) allowed to load the exam with part="exam": only the
# final results chapter, which does not exist yet
EXAM_READERS: frozenset[str] = frozenset()
REDRAW = "percepiano splits --redraw-exam"


def exam_reads(source: str) -> list[int]:
    """Line numbers of calls that pass the literal "exam" as ``part=`` or as a positional."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        values = [kw.value for kw in node.keywords if kw.arg == "part"] + list(node.args)
        if any(isinstance(v, ast.Constant) and v.value == "exam" for v in values):
            lines.append(node.lineno)
    return lines


def test_the_exam_detector_finds_what_it_should():
    assert exam_reads('dataset.load(part="exam")\nload(None, "exam")\n') == [1, 2]
    assert exam_reads('dataset.load(part="all")\nx = "exam"\nload(part=p)\n') == []


def test_no_module_reads_the_exam():
    offenders = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for line in exam_reads(path.read_text(encoding="utf-8")):
                if rel not in EXAM_READERS:
                    offenders.append(f"{rel}:{line}")
    assert not offenders, ("only the final results chapter may load the locked final exam "
                           f"(part='exam'); found in {offenders}")


def test_frozen_exam_equals_the_draw(ds):
    frozen = list(dataset.final_exam_names())
    drawn = splits.draw_final_exam(ds.segments)
    moved = sorted(set(frozen) ^ set(drawn))
    assert not moved, (
        f"the frozen final exam (percepiano/data/final_exam.txt) differs from "
        f"draw_final_exam for the current music groups in {len(moved)} names (e.g. {moved[0]!r}):"
        f" the grouping changed. If no result on the exam exists yet, redraw it with `{REDRAW}` "
        f"and commit the file; otherwise restore the grouping")
    text = (ROOT / "percepiano" / "data" / dataset.FINAL_EXAM_FILE).read_text()
    assert text == dataset.final_exam_text(ds.segments, drawn), f"header changed: run `{REDRAW}`"


def test_no_music_group_straddles_exam_and_development(ds):
    group = splits.groups(ds.segments, "piece")
    in_exam = ds.segments.index.isin(dataset.final_exam_names())
    assert not set(group[in_exam]) & set(group[~in_exam])


def test_exam_size_and_spread(ds):
    exam = ds.segments.loc[list(dataset.final_exam_names())]
    assert 0.12 <= len(exam) / len(ds.names) <= 0.18
    assert set(exam.composer) == set(ds.segments.composer)  # every composer present
    strata = splits.groups(ds.segments, "piece").map(splits.exam_strata(ds.segments))
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
