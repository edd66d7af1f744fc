import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS, DataError
from percepiano.data.exam import EXPERIMENT, grant


def test_counts_and_columns(full, ds):
    seg = full.segments
    assert len(seg) == 1202 and ds.labels.shape == (len(ds.names), 19)
    assert list(ds.labels.columns) == list(DIMENSIONS)
    assert seg.index.is_monotonic_increasing and seg.index.is_unique
    assert seg.performer.nunique() == 22 and seg.excerpt.nunique() == 99
    assert seg.piece.value_counts()["Schubert_D960_mv3"] == 559
    assert seg.is_score.sum() == 129
    assert set(dataset.CATEGORIES.values()) == set(dataset.CATEGORY_NAMES)
    assert ((ds.labels > 0) & (ds.labels <= 1)).all().all()


def test_leading_space_file_is_found(full):
    path = Path(full.segments.loc["Schubert_D935_no.3_4bars_2_1", "midi_path"])
    assert path.name == " Schubert_D935_no.3_4bars_2_1.mid" and path.is_file()
    assert all(Path(p).is_file() for p in full.segments.midi_path)


def test_every_segment_has_its_score_midi(full):
    assert full.segments.score_midi_path.notna().all()
    # zero-padded segment numbers in score file names map to the same excerpt
    p = full.segments.loc["Schubert_D960_mv2_8bars_0_01", "score_midi_path"]
    assert Path(p).name == "Schubert_D960_mv2_8bars_Score_01.mid"


def test_score_spelling_and_names():
    assert dataset.normalise_name("Schubert_D935_no.3_4bars_score_9.wav") == \
        "Schubert_D935_no.3_4bars_Score_9"
    assert dataset.normalise_name(" X_8bars_score2_1.mid") == "X_8bars_Score2_1"
    info = dataset.parse_name("Beethoven_WoO80_var27_8bars_Score2_15")
    assert info == {"piece": "Beethoven_WoO80_var27", "composer": "Beethoven", "bars": 8,
                    "performer": "Score2", "segment": 15,
                    "excerpt": "Beethoven_WoO80_var27_8bars_15", "is_score": True}
    with pytest.raises(DataError, match="does not follow"):
        dataset.parse_name("not_a_segment")


def test_labels_recomputed_from_raw_ratings(ds):
    """Every mean label equals the mean of its valid raw ratings / 7 (to 1e-6)."""
    diff = (ds.recomputed_labels() - ds.labels).abs().to_numpy()
    assert np.isfinite(diff).all()
    assert (diff.max(axis=1) < 1e-6).sum() == len(ds.names)


def test_label_std_counts_unrated_cells_as_zero(ds):
    """The upstream std file is reproduced only when not-rated cells count as 0."""
    file_std = ds.label_std.to_numpy()
    as_zero = ds.recomputed_std(unrated_as_zero=True).to_numpy()
    assert (np.abs(as_zero - file_std).max(axis=1) < 1e-6).sum() == len(ds.names)
    proper = ds.recomputed_std().to_numpy()
    differs = np.abs(proper - file_std).max(axis=1) > 1e-6
    assert 100 < differs.sum() < 300  # the segments with some unrated cell


def test_ratings_quirks(ds):
    r = ds.ratings
    assert r.attrs["dropped_invalid"] == 208  # rows with a rating above 7
    vals = r[list(DIMENSIONS)].to_numpy()
    assert np.nanmin(vals) >= 1 and np.nanmax(vals) <= 7  # 0 = not rated -> NaN
    assert np.isnan(vals).any()
    assert set(r.name) == set(ds.segments.index)


def _write_csv(path, rows):
    head = "user,dataID,filename," + ",".join(f"Question_{i}" for i in range(20)) + ",message\n"
    path.write_text(head + "".join(rows))


def test_read_ratings_rules(tmp_path):
    ok = "1,1,A_8bars_score_1.wav," + ",".join(["4"] * 18) + ",0,,\n"
    invalid = "2,2,A_8bars_1_1.wav," + ",".join(["8"] + ["3"] * 18) + ",,\n"
    _write_csv(tmp_path / "r.csv", [ok, invalid])
    r = dataset.read_ratings(tmp_path / "r.csv")
    assert len(r) == 1 and r.attrs["dropped_invalid"] == 1
    assert r.name.iloc[0] == "A_8bars_Score_1"
    assert np.isnan(r[DIMENSIONS[-1]].iloc[0]) and r[DIMENSIONS[0]].iloc[0] == 4


def test_malformed_csv_row(tmp_path):
    _write_csv(tmp_path / "r.csv", ["1,1,a.wav," + ",".join(["4"] * 40) + "\n"])
    with pytest.raises(DataError, match="malformed row: line 2 has 43 fields"):
        dataset.read_ratings(tmp_path / "r.csv")
    bad = "1,1,a.wav," + ",".join(["x"] + ["4"] * 19) + ",\n"
    _write_csv(tmp_path / "r.csv", [bad])
    with pytest.raises(DataError, match="non-numeric rating 'x'"):
        dataset.read_ratings(tmp_path / "r.csv")


def _copy_minimal(src: Path, dst: Path) -> Path:
    for rel in (dataset.LABEL_FILE, dataset.STD_FILE, dataset.RATINGS_FILE):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / rel, dst / rel)
    (dst / dataset.MIDI_DIR).parent.mkdir(parents=True, exist_ok=True)
    (dst / dataset.MIDI_DIR).symlink_to(src / dataset.MIDI_DIR)
    return dst


def test_missing_and_incomplete_data(tmp_path, data_root, monkeypatch):
    with pytest.raises(DataError, match="not found at"):
        dataset.locate(tmp_path / "nowhere")
    root = _copy_minimal(data_root, tmp_path / "pp")
    (root / dataset.STD_FILE).unlink()
    with pytest.raises(DataError, match=f"{dataset.STD_FILE} is missing"):
        dataset.locate(root)
    monkeypatch.setenv("PERCEPIANO_DATA", str(tmp_path / "env"))
    with pytest.raises(DataError, match="PERCEPIANO_DATA"):
        dataset.locate()


def test_truncated_json(tmp_path, data_root):
    root = _copy_minimal(data_root, tmp_path / "pp")
    text = (root / dataset.LABEL_FILE).read_text()
    (root / dataset.LABEL_FILE).write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match="not valid JSON"):
        dataset.load(root)


def test_summary(full, ds):
    s = dataset.summary(full)
    assert s["segments"] == 1202 and s["dimensions"] == 19 and s["performers"] == 22
    # counts of the whole dataset, labels checked on the development part alone
    assert s["raters"] == 63 and s["ratings"] == len(full.rated) == full.segments.n_ratings.sum()
    assert s["labelled_segments"] == s["labels_recomputed_match_1e-6"] == len(ds.names)
    json.dumps(s)
    dev = dataset.summary(ds)
    assert dev["segments"] == dev["labelled_segments"] == len(ds.names)
    assert dev["ratings"] == len(ds.ratings) < s["ratings"]


# ------------------------------------------------------------------ fetch and verify


def _make_archive(tmp_path, files: dict[str, bytes]) -> tuple[Path, Path]:
    archive = tmp_path / "up.zip"
    lines = []
    with zipfile.ZipFile(archive, "w") as z:
        for rel, data in files.items():
            z.writestr(f"PercePiano-abc/{rel}", data)
            lines.append(f"{hashlib.sha256(data).hexdigest()}  {rel}")
    manifest = tmp_path / "manifest.sha256"
    manifest.write_text("\n".join(lines) + "\n")
    return archive, manifest


def test_fetch_from_local_archive(tmp_path):
    files = {"a.json": b"{}", "virtuoso/data/all_2rounds/ x.mid": b"MThd"}
    archive, manifest = _make_archive(tmp_path, files)
    dest = dataset.fetch(tmp_path / "out" / "PercePiano", source=str(archive),
                         manifest=manifest, progress=False)
    assert (dest / "virtuoso/data/all_2rounds/ x.mid").read_bytes() == b"MThd"
    assert dataset.verify(dest, manifest) == []
    # idempotent: a verified destination is kept as it is
    assert dataset.fetch(dest, source=str(archive), manifest=manifest) == dest


def test_fetch_rejects_mismatch_and_leaves_nothing(tmp_path):
    archive, manifest = _make_archive(tmp_path, {"a.json": b"{}"})
    manifest.write_text("0" * 64 + "  a.json\n")
    dest = tmp_path / "out" / "PercePiano"
    with pytest.raises(DataError, match="does not match the pinned checksums"):
        dataset.fetch(dest, source=str(archive), manifest=manifest)
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir()] == []  # no temp folder left behind
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a valid zip"):
        dataset.fetch(dest, source=str(tmp_path / "junk.zip"), manifest=manifest)


def test_shipped_manifest_matches_the_data(data_root):
    hashes = dataset.manifest_hashes()
    assert len(hashes) == 1733
    assert "virtuoso/data/all_2rounds/ Schubert_D935_no.3_4bars_2_1.mid" in hashes
    assert dataset.verify(data_root) == []


def test_labels_table_is_aligned(ds):
    assert (ds.labels.index == ds.segments.index).all()
    assert (ds.label_std.index == ds.segments.index).all()
    assert isinstance(ds.labels, pd.DataFrame)


def test_subset_spreads_over_the_sorted_segments(ds):
    sub = dataset.subset(ds, 100)
    assert len(sub.names) <= 100 and sub.names == sorted(sub.names)
    assert sub.segments.piece.nunique() > 5  # spread, not the first pieces only
    assert list(sub.labels.index) == sub.names
    assert set(sub.ratings.name) <= set(sub.names)
    assert dataset.subset(ds, None) is ds


# ------------------------------------------------------------------ the locked final exam


def test_parts_partition_the_dataset(data_root, full, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path))  # the read is recorded there
    dev = dataset.load(data_root)
    exam = dataset.load(data_root, part="exam", key=grant(EXPERIMENT))
    assert dataset.load(data_root, part="all") is full
    assert sorted(dev.names + exam.names) == full.names and not set(dev.names) & set(exam.names)
    assert exam.names == list(dataset.final_exam_names())
    for part in (dev, exam):
        assert list(part.labels.index) == part.names
        assert list(part.label_std.index) == part.names
        assert set(part.ratings.name) == set(part.rated.name) == set(part.names)
    assert len(dev.ratings) + len(exam.ratings) == len(full.rated)
    assert dataset.load(data_root) is dev  # cached per part


def test_the_exam_part_needs_the_key(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path))
    with pytest.raises(DataError, match="the final exam is locked: reading it needs key="):
        dataset.load(data_root, part="exam")
    assert not any(tmp_path.iterdir())  # nothing recorded


def test_unknown_part(data_root):
    with pytest.raises(ValueError, match="unknown part 'test'; choose from development, all, exam"):
        dataset.load(data_root, part="test")


def test_assert_no_exam(data_root, full):
    dataset.assert_no_exam(dataset.load(data_root).names)
    with pytest.raises(DataError, match=r"include \d+ segments of the locked final exam"):
        dataset.assert_no_exam(full.names, "the training set")
    with pytest.raises(DataError, match="the training set include 1 segments"):
        dataset.assert_no_exam([dataset.final_exam_names()[0]], "the training set")


def test_subset_of_the_development_part_stays_out_of_the_exam(data_root):
    sub = dataset.subset(dataset.load(data_root), 100)
    dataset.assert_no_exam(sub.names)
    dataset.assert_no_exam(sub.ratings.name)


def test_ratings_and_raters_per_segment(full):
    """4-19 valid ratings from 4-17 distinct raters: some raters rated a segment twice."""
    s = dataset.summary(full)
    assert s["ratings_per_segment"]["min"] == 4 and s["ratings_per_segment"]["max"] == 19
    assert s["raters_per_segment"] == {"min": 4, "max": 17}
    assert full.rated.duplicated(["rater", "name"]).any()


def test_performers_are_twenty_humans_and_two_renderings(full):
    performers = set(full.segments.performer)
    assert len(performers - set(dataset.SCORE_PERFORMERS)) == 20
    assert set(dataset.SCORE_PERFORMERS) <= performers


def test_summary_counts_the_locked_exam(data_root, full):
    assert dataset.summary(full)["locked_final_exam_segments"] == len(dataset.final_exam_names())
    assert dataset.summary(dataset.load(data_root))["locked_final_exam_segments"] == 0


def test_write_final_exam_is_atomic_and_reads_back(tmp_path, full):
    path = dataset.write_final_exam(full.segments, tmp_path / "final_exam.txt")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# ") and "percepiano splits --redraw-exam" in path.read_text()
    assert [n for n in lines if not n.startswith("#")] == list(dataset.final_exam_names())
    assert [p.name for p in tmp_path.iterdir()] == ["final_exam.txt"]  # no temp file left
