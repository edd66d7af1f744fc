"""The notes route's final model: the package's frozen file agrees with the transcription
chapter's stored results and is written deterministically, its error model comes back from the
frozen transcriptions, its simulated transcriptions are reproducible, and it is calibrated on
real transcriptions."""

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pretty_midi
import pytest

from percepiano.analysis import final, notes_route
from percepiano.analysis.conformal import Conformal
from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.data.splits import make_folds
from percepiano.models import forest


@pytest.fixture(scope="module")
def dev(data_root):
    return dataset.load(data_root)


RESULTS = Path(__file__).resolve().parents[2] / "results"  # the committed ones


@pytest.fixture(scope="module")
def frozen():
    return notes_route.load()


@pytest.fixture(scope="module")
def stored(frozen):
    """The stored results the package's file was frozen from: (metrics, out-of-fold
    predictions, provenance), as scripts/freeze_notes_route.py reads them."""
    folder = RESULTS / frozen.provenance["profile"] / notes_route.EXPERIMENT
    if not (folder / "provenance.json").is_file():
        pytest.skip(f"no {notes_route.EXPERIMENT} results are stored in {folder}")
    return (json.loads((folder / "metrics.json").read_text()),
            pd.read_csv(folder / "oof.csv.gz", index_col=0),
            json.loads((folder / "provenance.json").read_text()))


def test_the_frozen_file_agrees_with_the_stored_results(frozen, stored):
    """The same transcriptions, predictions, folds and accuracy as the committed results, of
    the full profile when those are stored; frozen again from them, the same content."""
    metrics, oof, provenance = stored
    want = "full" if (RESULTS / "full" / notes_route.EXPERIMENT / "provenance.json").is_file() \
        else "quick"
    assert frozen.provenance["profile"] == want == provenance["profile"]
    for key in ("commit", "config_hash", "timestamp"):
        assert frozen.provenance[key] == provenance[key], key
    assert frozen.transcriptions == [{"name": r["name"], "midi": r["midi"]}
                                     for r in metrics["accuracy"] if r["version"] == "fluidr3"]
    rows = oof[oof.route.str.startswith("MIDI forest + error model")]
    assert list(frozen.calibration.index) == list(rows.index)
    assert list(frozen.calibration.route) == list(rows.route)
    assert (frozen.calibration.fold.to_numpy() == rows.fold.to_numpy()).all()
    dims = list(DIMENSIONS)
    np.testing.assert_array_equal(frozen.calibration[dims].to_numpy(), rows[dims].to_numpy())
    again = notes_route.load(notes_route.freeze(
        *stored, results_commit=frozen.provenance["results_commit"]))
    assert again.digest == frozen.digest == notes_route.digest()


def _toy(version="fluidr3"):
    dims = list(DIMENSIONS)
    midi = {"notes": [[0.1, 0.5, 60, 70]], "sustain": [[0.2, 0.9]]}
    metrics = {"accuracy": [{"name": "a", "version": version, "midi": midi},
                            {"name": "b", "version": "room", "midi": midi}],
               "routes": [{"route": notes_route.with_errors("fluidr3"), "pooled_r2": 0.25,
                           "pairwise": 0.625, "segments": 1}]}
    oof = pd.DataFrame(np.random.default_rng(0).uniform(size=(3, 19)), columns=dims,
                       index=pd.Index(["a", "b", "a"], name="name")).assign(
        route=[notes_route.with_errors("fluidr3"), notes_route.with_errors("room"),
               notes_route.TRUE], fold=[0, 1, 0])
    return metrics, oof, {"profile": "quick", "commit": "abc", "config_hash": "123"}


def test_freezing_is_deterministic_and_reads_back_exactly():
    blob = notes_route.freeze(*_toy())
    assert blob == notes_route.freeze(*_toy())  # equal content, equal bytes
    assert gzip.decompress(blob) and blob[4:8] == b"\0\0\0\0"  # no time in the header
    back = notes_route.load(blob)
    metrics, oof, _ = _toy()
    assert back.transcriptions == [{"name": "a", "midi": metrics["accuracy"][0]["midi"]}]
    assert back.route == {"r2": 0.25, "pairwise": 0.625, "segments": 1}
    assert back.provenance["experiment"] == notes_route.EXPERIMENT
    rows = oof.iloc[:2]  # the error-model recipe's rows, on every rendering
    np.testing.assert_array_equal(back.calibration[list(DIMENSIONS)], rows[list(DIMENSIONS)])
    assert list(back.calibration.fold) == [0, 1] and list(back.calibration.index) == ["a", "b"]
    assert notes_route.load(notes_route.freeze(*_toy(), note="x")).digest != back.digest
    with pytest.raises(ValueError, match="no fluidr3 transcriptions"):
        notes_route.freeze(*_toy("room"))


def test_a_stored_transcription_reads_back_as_the_notes_and_presses_it_stored():
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes = [pretty_midi.Note(70, 60, 0.1234, 0.5), pretty_midi.Note(30, 64, 0.4, 1.25)]
    piano.control_changes = [pretty_midi.ControlChange(64, 100, 0.2),
                             pretty_midi.ControlChange(64, 10, 0.9)]
    pm.instruments.append(piano)
    stored = notes_route.notes_json(pm)
    assert notes_route.notes_json(notes_route.from_notes(stored)) == stored
    assert stored["notes"][0] == [0.123, 0.5, 60, 70] and stored["sustain"] == [[0.2, 0.9]]


def test_the_frozen_transcriptions_give_back_the_error_model_the_chapter_fitted(frozen, stored,
                                                                                 dev):
    """Fold 0's error model, refitted from the notes frozen to the millisecond, is the one the
    experiment fitted from the full-precision transcriptions."""
    folds = make_folds(dev.segments, final.SPLIT, final.K, final.SEED)
    chapter = next(m for m in stored[0]["error_models"] if m["fold"] == 0)
    names = {r["name"] for r in frozen.transcriptions if folds[r["name"]] != 0}
    got = notes_route.error_model(frozen, dev, names).to_dict()
    assert got["n_presses"] == chapter["n_presses"]
    assert got["n_notes"] == pytest.approx(chapter["n_notes"], abs=5)
    for key, tol in {"velocity_slope": 1e-3, "velocity_intercept": 0.1, "note_miss": 1e-3,
                     "pedal_keep": 1e-9, "onset_shift": 1e-3, "pedal_edge_sd": 1e-3}.items():
        assert got[key] == pytest.approx(chapter[key], abs=tol), key


def test_simulated_transcriptions_are_reproducible_per_segment(dev):
    from percepiano.audio.transcription_errors import ErrorModel

    model = ErrorModel(onset_sd=0.02, velocity_slope=0.5, velocity_intercept=40.0,
                       velocity_sd=5.0, note_miss=0.05, pedal_keep=0.7, pedal_edge_sd=0.05)
    paths = dev.segments.midi_path.iloc[:3]
    cols = final.descriptor_columns("notes")
    a = notes_route.perturbed_rows(paths, model, cols, seed=0)
    assert a.shape == (3, len(cols)) and list(a.index) == list(paths.index)
    assert a.equals(notes_route.perturbed_rows(paths, model, cols, seed=0))
    assert a.equals(notes_route.perturbed_rows(paths.iloc[::-1], model, cols, seed=0).loc[a.index])
    assert not a.equals(notes_route.perturbed_rows(paths, model, cols, seed=1))
    clean = notes_route.perturbed_rows(paths, ErrorModel(), cols, seed=0)
    assert not np.allclose(a.to_numpy(), clean.to_numpy(), equal_nan=True)


def test_the_calibration_is_the_error_model_recipe_on_real_transcriptions(frozen, stored, dev):
    true, pred, folds, why, route = notes_route.calibration(frozen, dev)
    oof = stored[1]
    rows = oof[oof.route.str.startswith("MIDI forest + error model")]
    assert (folds == rows.fold.to_numpy()).all()
    assert true.shape == pred.shape == (len(rows), len(DIMENSIONS))
    np.testing.assert_array_equal(pred, rows[list(DIMENSIONS)].to_numpy())
    np.testing.assert_array_equal(true, dev.labels.loc[rows.index, list(DIMENSIONS)])
    chapter = next(r for r in stored[0]["routes"]
                   if r["route"] == notes_route.with_errors("fluidr3"))
    assert route == {"r2": chapter["pooled_r2"], "pairwise": chapter["pairwise"],
                     "segments": chapter["segments"]}
    assert f"{len(rows)} transcriptions" in why


@pytest.mark.slow
def test_the_notes_model_learns_from_simulated_transcriptions_and_is_calibrated_on_real_ones(
        frozen, dev, tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path / "no-results"))
    model = final.build(dev, "notes", cfg=forest.preset("smoke"), progress=False)
    assert model.kind == "notes" and model.columns == final.descriptor_columns("midi")
    assert model.meta["augmented_with"] == [final.SIMULATED]
    assert f"mean_r2_on_{final.SIMULATED}" in model.meta["cross_validation"]["accuracy"]
    assert model.oof_pred.shape == (len(dev.names), len(DIMENSIONS))
    true, pred, _, _, route = notes_route.calibration(frozen, dev)
    assert model.meta["route_accuracy"] == route
    assert model.meta["error_model"] == notes_route.error_model(frozen, dev).to_dict()
    assert model.meta["frozen_from"]["digest"] == notes_route.digest()
    dims = list(DIMENSIONS)
    want = Conformal.fit(pd.DataFrame(true, columns=dims), pd.DataFrame(pred, columns=dims), 0.9)
    assert np.allclose(model.marginal(0.9).q, want.q)
    assert not model.conformal(0.9).with_rows  # transcriptions come without stored rows
    back = final.FinalModel.load(model.save(tmp_path / "notes"))
    assert back.calibration is not None
    assert np.allclose(back.marginal(0.9).q, want.q)
    np.testing.assert_array_equal(back.calibration_folds, model.calibration_folds)
    assert np.allclose(back.conformal(0.9).q, model.conformal(0.9).q)
    assert "through simulated transcriptions" in back.percentile_of
    cov = model.meta["cross_validation"]["coverage"]["0.9"]
    assert 0.6 < cov["mean"] <= 1.0 and "transcriptions" in model.meta["cross_validation"][
        "coverage_on"]
