"""The notes route's final model: its error model comes back from the stored transcriptions,
its simulated transcriptions are reproducible, and it is calibrated on real transcriptions."""

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


@pytest.fixture(scope="module")
def res():
    from percepiano.cli.model import route_results

    found = route_results()
    if found is None:
        pytest.skip("the transcription route has no current stored results")
    return found


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


def test_the_stored_transcriptions_give_back_the_error_model_the_chapter_fitted(res, dev):
    """Fold 0's error model, refitted from the notes stored to the millisecond, is the one the
    experiment fitted from the full-precision transcriptions."""
    folds = make_folds(dev.segments, final.SPLIT, final.K, final.SEED)
    stored = next(m for m in res["error_models"] if m["fold"] == 0)
    names = {r["name"] for r in res["accuracy"] if folds[r["name"]] != 0}
    got = notes_route.error_model(res, dev, names).to_dict()
    assert got["n_presses"] == stored["n_presses"]
    assert got["n_notes"] == pytest.approx(stored["n_notes"], abs=5)
    for key, tol in {"velocity_slope": 1e-3, "velocity_intercept": 0.1, "note_miss": 1e-3,
                     "pedal_keep": 1e-9, "onset_shift": 1e-3, "pedal_edge_sd": 1e-3}.items():
        assert got[key] == pytest.approx(stored[key], abs=tol), key


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


def test_the_calibration_is_the_error_model_recipe_on_real_transcriptions(res, dev):
    true, pred, folds, why, route = notes_route.calibration(res, dev)
    rows = res.oof[res.oof.route.str.startswith("MIDI forest + error model")]
    assert (folds == rows.fold.to_numpy()).all()
    assert true.shape == pred.shape == (len(rows), len(DIMENSIONS))
    assert np.allclose(pred, rows[list(DIMENSIONS)].to_numpy())
    stored = next(r for r in res["routes"] if r["route"] == notes_route.with_errors("fluidr3"))
    assert route == {"r2": stored["pooled_r2"], "pairwise": stored["pairwise"],
                     "segments": stored["segments"]}
    assert f"{len(rows)} transcriptions" in why


@pytest.mark.slow
def test_the_notes_model_learns_from_simulated_transcriptions_and_is_calibrated_on_real_ones(
        res, dev, tmp_path):
    with pytest.raises(ValueError, match="stored results"):
        final.build(dev, "notes", cfg=forest.preset("smoke"), progress=False)
    model = final.build(dev, "notes", cfg=forest.preset("smoke"), progress=False, route=res)
    assert model.kind == "notes" and model.columns == final.descriptor_columns("midi")
    assert model.meta["augmented_with"] == [final.SIMULATED]
    assert f"mean_r2_on_{final.SIMULATED}" in model.meta["cross_validation"]["accuracy"]
    assert model.oof_pred.shape == (len(dev.names), len(DIMENSIONS))
    true, pred, _, _, route = notes_route.calibration(res, dev)
    assert model.meta["route_accuracy"] == route
    assert model.meta["error_model"] == notes_route.error_model(res, dev).to_dict()
    dims = list(DIMENSIONS)
    want = Conformal.fit(pd.DataFrame(true, columns=dims), pd.DataFrame(pred, columns=dims), 0.9)
    assert np.allclose(model.conformal(0.9).q, want.q)
    back = final.FinalModel.load(model.save(tmp_path / "notes"))
    assert back.calibration is not None
    assert np.allclose(back.conformal(0.9).q, want.q)
    assert "through simulated transcriptions" in back.percentile_of
    cov = model.meta["cross_validation"]["coverage"]["0.9"]
    assert 0.6 < cov["mean"] <= 1.0 and "transcriptions" in model.meta["cross_validation"][
        "coverage_on"]
