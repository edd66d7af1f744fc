"""The lock on the final exam (``percepiano.data.exam``): the capability, the ledger of reads, the
whole dataset without the exam's labels, and the record of what saw the exam before it was drawn.

Tests that record reads point ``PERCEPIANO_RESULTS`` at a temporary folder, never at the
repository's ``results/``.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from percepiano.cli.main import main
from percepiano.data import dataset, exam
from percepiano.data.dataset import DIMENSIONS
from percepiano.errors import DataError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def results(tmp_path, monkeypatch) -> Path:
    """A temporary results store for this test (the ledger of reads goes there), smoke profile."""
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("PERCEPIANO_PROFILE", "smoke")
    return tmp_path / "results"


# --------------------------------------------------------------------------- the capability


def test_grant_gives_the_key_to_the_final_exam_experiment_only():
    key = exam.grant(exam.EXPERIMENT)
    assert isinstance(key, exam.ExamKey) and key.experiment == exam.EXPERIMENT
    for name in ("week1_architecture", "ast_cv", "", "final_exam "):
        with pytest.raises(DataError, match=f"only the 'final_exam' experiment .* not {name!r}"):
            exam.grant(name)


def test_a_key_cannot_be_made_without_grant():
    with pytest.raises(DataError, match="granted, not made"):
        exam.ExamKey(exam.EXPERIMENT)
    with pytest.raises(DataError, match="granted, not made"):
        exam.ExamKey(exam.EXPERIMENT, _seal=object())


def test_reading_the_exam_without_the_key_fails(data_root, results):
    for key in (None, "final_exam", object()):
        with pytest.raises(DataError, match="the final exam is locked"):
            dataset.load(data_root, part="exam", key=key)
    assert exam.reads() == [] and not results.exists()  # a refused read leaves nothing


def test_a_read_is_recorded_and_a_second_refused_unless_forced(data_root, results):
    key = exam.grant(exam.EXPERIMENT)
    part = dataset.load(data_root, part="exam", key=key)
    assert part.names == list(exam.final_exam_names())
    ledger = results / "smoke" / exam.EXPERIMENT / exam.LEDGER_FILE
    assert exam.ledger_path() == ledger and ledger.is_file()
    (entry,) = exam.reads()
    assert entry["experiment"] == exam.EXPERIMENT and entry["profile"] == "smoke"
    assert entry["forced"] is False and {"time", "commit", "dirty"} <= set(entry)
    with pytest.raises(DataError, match=r"already read 1 time\(s\) in profile 'smoke'"):
        dataset.load(data_root, part="exam", key=key)
    assert len(exam.reads()) == 1  # the refused read is not recorded
    assert dataset.load(data_root, part="exam", key=key, force=True).names == part.names
    assert [e["forced"] for e in exam.reads()] == [False, True]
    assert exam.reads("quick") == []  # profiles keep their own ledgers


def test_the_ledger_on_its_own(tmp_path):
    key = exam.grant(exam.EXPERIMENT)
    entry = exam.record_read(key, profile="full", root=tmp_path)
    assert exam.reads("full", tmp_path) == [entry]
    assert json.loads(exam.ledger_path("full", tmp_path).read_text()) == [entry]
    with pytest.raises(DataError, match="already read"):
        exam.record_read(key, profile="full", root=tmp_path)
    with pytest.raises(DataError, match="the final exam is locked"):
        exam.record_read(None, profile="quick", root=tmp_path)
    exam.ledger_path("full", tmp_path).write_text("{not json")
    with pytest.raises(DataError, match="is not valid JSON"):
        exam.reads("full", tmp_path)
    exam.ledger_path("full", tmp_path).write_text("{}")
    with pytest.raises(DataError, match="should be a JSON list"):
        exam.reads("full", tmp_path)


# --------------------------------------------------------------------------- the whole dataset


def test_the_whole_dataset_holds_no_exam_label_without_the_key(data_root, full, ds, results):
    locked = set(exam.final_exam_names())
    assert locked <= set(full.names) and locked <= set(full.rated.name)  # every segment's metadata
    assert list(full.labels.index) == list(full.label_std.index) == ds.names
    assert not locked & set(full.ratings.name)
    pd.testing.assert_frame_equal(pd.DataFrame(full.labels), ds.labels)
    pd.testing.assert_frame_equal(pd.DataFrame(full.label_std), ds.label_std)
    pd.testing.assert_frame_equal(full.ratings, ds.ratings)
    name = exam.final_exam_names()[0]
    one = "^1 of the segments looked up belong to the locked final exam " + re.escape(
        f"(e.g. {name!r})")
    for lookup in (lambda: full.labels.loc[name], lambda: full.label_std.loc[[name]],
                   lambda: full.labels.loc[[ds.names[0], name], list(DIMENSIONS)]):
        with pytest.raises(exam.ExamLocked, match=one):
            lookup()
    with pytest.raises(DataError, match=f"^{len(locked)} of the segments looked up"):
        full.labels.loc[full.names]
    with pytest.raises(KeyError) as missing:  # a name that is nowhere: pandas' own error
        full.labels.loc["nowhere"]
    assert not isinstance(missing.value, DataError)
    assert full.labels.loc[ds.names[:3], list(DIMENSIONS)].equals(ds.labels.iloc[:3])
    assert exam.reads() == [] and not results.exists()  # nothing read, nothing recorded


def test_data_info_checks_the_development_labels_only(capsys, data_root, ds, results):
    assert main(["data", "info", "--json", "--data", str(data_root)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["segments"] == 1202 and info["ratings"] == 14726 and info["raters"] == 63
    assert info["labelled_segments"] == info["labels_recomputed_match_1e-6"] == len(ds.names)
    assert exam.reads() == [] and not results.exists()


def test_the_whole_dataset_with_the_key_is_a_recorded_read(data_root, full, results):
    key = exam.grant(exam.EXPERIMENT)
    for bad in ("final_exam", object()):
        with pytest.raises(DataError, match="the final exam is locked"):
            dataset.load(data_root, part="all", key=bad)
    assert exam.reads() == []
    whole = dataset.load(data_root, part="all", key=key)
    assert list(whole.labels.index) == whole.names == full.names
    assert type(whole.labels) is pd.DataFrame and set(whole.ratings.name) == set(full.names)
    (entry,) = exam.reads()
    assert entry["experiment"] == exam.EXPERIMENT and entry["forced"] is False
    for part in ("all", "exam"):  # one ledger, whichever way the labels were read
        with pytest.raises(DataError, match=r"already read 1 time\(s\) in profile 'smoke'"):
            dataset.load(data_root, part=part, key=key)
    assert dataset.load(data_root, part="all", key=key, force=True).names == full.names
    assert [e["forced"] for e in exam.reads()] == [False, True]
    again = dataset.load(data_root, part="all")  # without the key it stays locked
    assert list(again.labels.index) == list(full.labels.index) and len(exam.reads()) == 2


def test_the_committed_exam_reads_are_the_final_exams_own_one_per_profile():
    """The committed results store records a read of the exam only beside the final exam's
    own results: once per profile, by the final-exam experiment, from a clean commit, not
    forced; never in the smoke profile, which tests read in a store of their own."""
    store = ROOT / "results"
    for path in sorted(store.rglob(exam.LEDGER_FILE)):
        assert path.parent.name == exam.EXPERIMENT, path
        profile = path.parent.parent.name
        assert profile != "smoke", path
        reads = exam.reads(profile, store)
        assert len(reads) == 1, f"{path}: the exam was read {len(reads)} times"
        read = reads[0]
        assert read["experiment"] == exam.EXPERIMENT and read["profile"] == profile
        assert not read["dirty"] and not read["forced"]
        assert (path.parent / "metrics.json").is_file() and (path.parent / "oof.csv.gz").is_file()


# --------------------------------------------------------------------------- what saw the exam


def test_history_is_complete_and_plain():
    h = exam.history()
    assert h.index.is_unique and len(h) > 0
    expected = {"what", "short", "kind", "on", "segments", "exam_segments", "commits",
                "remade_by", "remade"}
    assert expected <= set(h.columns)
    assert set(h.kind) <= {"choice", "development", "stored results"}
    assert (h.exam_segments <= h.segments).all()
    assert (h.exam_segments <= len(exam.final_exam_names())).all()
    # what was made again says how, what was not says nothing
    assert (h.remade_by.isna() == h.remade.isna()).all()
    assert h.loc["ast_size", "remade_by"] == "week1_architecture"
    assert h.remade_by.isna().any()  # some choices still stand as made before the lock
    assert len(exam.lock_commit()) == 40


def test_history_names_registered_experiments():
    from percepiano import experiments

    names = set(exam.history().remade_by.dropna())
    assert names <= set(experiments.REGISTRY), names - set(experiments.REGISTRY)


def _git(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture(scope="module")
def history_in_git():
    """Skip where the history the record names is not at hand (no git, a shallow clone)."""
    lock = exam.lock_commit()
    if _git("cat-file", "-e", f"{lock}^{{commit}}").returncode != 0:
        pytest.skip("the commit that drew the final exam is not in this checkout")
    return lock


def test_history_commits_come_before_the_lock(history_in_git):
    lock = history_in_git
    added = _git("show", "--name-status", "--format=", lock).stdout
    assert f"A\tpercepiano/data/{exam.FINAL_EXAM_FILE}" in added  # the lock drew the exam
    for commit in sorted({c for cs in exam.history().commits for c in cs}):
        assert _git("merge-base", "--is-ancestor", commit, f"{lock}^").returncode == 0, commit


def test_history_counts_match_what_git_stored(history_in_git):
    """The stored predictions held every exam segment; the AST choices used the nested split."""
    h, names = exam.history(), set(exam.final_exam_names())
    for key, path in (("ast_cv_predictions", "results/quick/ast_cv/oof.csv"),
                      ("forest_predictions", "results/quick/forest_baselines/oof.csv")):
        text = _git("show", f"{history_in_git}^:{path}").stdout
        stored = set(pd.read_csv(io.StringIO(text), index_col=0).index)
        assert h.loc[key, "segments"] == len(stored)
        assert h.loc[key, "exam_segments"] == len(stored & names) == len(names)
    tradeoff = json.loads(_git("show", f"{history_in_git}^:results/quick/ast_tradeoff/"
                                       "metrics.json").stdout)
    choices = h[h.index.str.startswith("ast_") & (h.kind == "choice")]
    assert (choices.segments == tradeoff["n_train"] + tradeoff["n_val"]).all()
