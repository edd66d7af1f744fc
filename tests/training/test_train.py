"""Training on synthetic spectrograms: logging, checkpoints, no retrace, resume, determinism."""

import dataclasses
import json

import numpy as np
import pytest

from percepiano.training import checkpoint, steps, train
from tests.training.toy import CFG, TC, params, toy_data


def test_fit_logs_and_checkpoint_roundtrip(tmp_path):
    inputs, labels, tr, va = toy_data()
    res = train.fit(inputs, labels, tr, va, CFG, TC, out_dir=tmp_path, progress=False)
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [0, 1] and lines == res.history
    assert all(np.isfinite(r["train_loss"]) and r["seconds"] > 0 for r in lines)
    pred = train.predict(res.model, inputs, va, res.norm, TC)
    assert pred.shape == (len(va), 19) and np.isfinite(pred).all()
    model, norm, tc = checkpoint.load_model(tmp_path)
    assert norm == res.norm and tc == TC and model.cfg == CFG
    np.testing.assert_allclose(train.predict(model, inputs, va, norm, tc), pred, rtol=1e-6)


def test_fit_compiles_the_epoch_and_the_evaluation_once():
    """One compiled epoch for the whole run, and for a second run of another seed and fewer
    training segments (the step count is an argument, not a shape)."""
    inputs, labels, tr, va = toy_data()
    tc = dataclasses.replace(TC, batch_size=2, eval_batch=6, epochs=3)
    before = dict(steps.TRACES)
    res = train.fit(inputs, labels, tr, va, CFG, tc, progress=False)
    assert len(res.history) == 3
    assert steps.TRACES["train_epoch"] - before.get("train_epoch", 0) == 1
    assert steps.TRACES["eval_crops"] - before.get("eval_crops", 0) == 1
    train.fit(inputs, labels, tr[:-3], va, CFG, dataclasses.replace(tc, seed=3), progress=False)
    assert steps.TRACES["train_epoch"] - before.get("train_epoch", 0) == 1
    assert steps.TRACES["eval_crops"] - before.get("eval_crops", 0) == 1


def test_kill_and_resume_equals_straight_run(tmp_path):
    inputs, labels, tr, va = toy_data()
    straight = train.fit(inputs, labels, tr, va, CFG, TC, out_dir=tmp_path / "a", progress=False)
    first = train.fit(inputs, labels, tr, va, CFG, TC, out_dir=tmp_path / "b", stop_after=1,
                      progress=False)
    assert len(first.history) == 1
    resumed = train.fit(inputs, labels, tr, va, CFG, TC, out_dir=tmp_path / "b", progress=False)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.history]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history] == strip
    assert resumed.best_epoch == straight.best_epoch
    for a, b in zip(params(straight.model), params(resumed.model), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="other settings"):
        train.fit(inputs, labels, tr, va, CFG, dataclasses.replace(TC, lr=1e-2),
                  out_dir=tmp_path / "b", progress=False)


def test_same_seed_same_result_other_seed_differs():
    inputs, labels, tr, va = toy_data()
    a = train.fit(inputs, labels, tr, va, CFG, TC, progress=False)
    b = train.fit(inputs, labels, tr, va, CFG, TC, progress=False)
    c = train.fit(inputs, labels, tr, va, CFG, dataclasses.replace(TC, seed=1), progress=False)
    assert a.history[-1]["val_r"] == b.history[-1]["val_r"]
    for pa, pb in zip(params(a.model), params(b.model), strict=True):
        np.testing.assert_array_equal(pa, pb)
    assert not all(np.array_equal(pa, pc)
                   for pa, pc in zip(params(a.model), params(c.model), strict=True))


def test_learns_a_loudness_signal():
    """A few epochs on loudness-driven labels: validation correlation clearly positive."""
    inputs, labels, tr, va = toy_data(n=40)
    tc = dataclasses.replace(TC, epochs=8, max_steps=None, lr=3e-3, batch_size=8)
    res = train.fit(inputs, labels, tr + va[:-8], va[-8:], CFG, tc, progress=False)
    assert res.best_val_r > 0.5


def test_bad_batch_size():
    inputs, labels, tr, va = toy_data()
    with pytest.raises(ValueError, match="batch_size"):
        train.fit(inputs, labels, tr[:2], va, CFG, TC, progress=False)


def _descriptors(inputs, labels, seed=0):
    """Two informative columns (the labels' driver, with a missing value), one noise column."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = list(inputs)
    loud = labels.iloc[:, 0].to_numpy()
    d = pd.DataFrame({"loud": loud, "twice": 2 * loud, "noise": rng.normal(size=len(names))},
                     index=names)
    d.iloc[3, 0] = np.nan
    return d


@pytest.mark.slow
def test_hybrid_fits_end_to_end_with_augmentation_without_recompiling():
    """The hybrid (tiny AST + descriptor net) with a pool of variants, SpecAugment and mixup:
    one compiled epoch for the run, finite predictions, and it learns from the descriptors."""
    from percepiano.audio.augment import InputAugment
    from percepiano.models.hybrid import HybridConfig

    inputs, labels, tr, va = toy_data(n=40)
    d = _descriptors(inputs, labels)
    variants = {n: [inputs[n][::-1].copy(), inputs[n] * 1.01] for n in tr}
    variants["not-a-training-name"] = [inputs[va[0]]]          # never read
    cfg = HybridConfig(3, ast=CFG, desc_hidden=16, desc_dim=8)
    tc = dataclasses.replace(TC, epochs=6, max_steps=None, lr=3e-3, batch_size=8)
    aug = InputAugment(time_masks=1, freq_masks=1, mixup_alpha=0.4)
    before = dict(steps.TRACES)
    res = train.fit(inputs, labels, tr + va[:-8], va[-8:], cfg, tc, progress=False,
                    descriptors=d, variants=variants, aug=aug)
    assert len(res.history) == 6
    assert steps.TRACES["train_epoch"] - before.get("train_epoch", 0) == 1
    assert steps.TRACES["eval_crops"] - before.get("eval_crops", 0) == 1
    assert res.best_val_r > 0.5
    pred = train.predict(res.model, inputs, va, res.norm, tc, descriptors=d)
    assert pred.shape == (len(va), 19) and np.isfinite(pred).all()
    with pytest.raises(ValueError, match="descriptors"):
        train.fit(inputs, labels, tr, va, cfg, tc, progress=False)


def test_augmentation_changes_training_and_same_seed_repeats():
    from percepiano.audio.augment import InputAugment

    inputs, labels, tr, va = toy_data()
    aug = InputAugment(time_masks=2, freq_masks=2)
    plain = train.fit(inputs, labels, tr, va, CFG, TC, progress=False)
    a = train.fit(inputs, labels, tr, va, CFG, TC, progress=False, aug=aug)
    b = train.fit(inputs, labels, tr, va, CFG, TC, progress=False, aug=aug)
    for pa, pb in zip(params(a.model), params(b.model), strict=True):
        np.testing.assert_array_equal(pa, pb)
    assert not all(np.array_equal(pa, pp)
                   for pa, pp in zip(params(a.model), params(plain.model), strict=True))


def test_embed_gives_each_segment_the_mean_pooled_embedding_of_its_crops():
    inputs, labels, tr, va = toy_data()
    res = train.fit(inputs, labels, tr, va, CFG, TC, progress=False)
    emb = train.embed(res.model, inputs, va, res.norm, TC)
    assert emb.shape == (len(va), CFG.dim) and np.isfinite(emb).all()
    # the head applied to the mean embedding is the mean prediction (the head is linear)
    head = res.model.head
    z = np.asarray(head(emb.astype(np.float32)))
    np.testing.assert_allclose(res.norm.y_inverse(z), train.predict(res.model, inputs, va,
                                                                     res.norm, TC), atol=1e-4)
    assert len({tuple(np.round(e, 4)) for e in emb}) == len(va)  # segments differ
