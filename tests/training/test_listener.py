"""Training the listener: pretraining stages, the auxiliary head, and the fold's recipe."""

import numpy as np
import pandas as pd
import pytest
from flax import nnx

from percepiano.data.dataset import DIMENSIONS
from percepiano.models.listener import ListenerConfig, ListenerModel
from percepiano.training import listener, steps
from percepiano.training.batches import Normaliser
from tests.training.toy import CFG, TC, params, toy_data

LCFG = ListenerConfig(ast=CFG, n_descriptors=3)


def _moved(before, module) -> float:
    """Relative change of a module's parameters since ``before``."""
    after = [np.array(p) for p in params(module)]
    num = sum(float(np.sum((a - b) ** 2)) for a, b in zip(after, before, strict=True))
    return np.sqrt(num / sum(float(np.sum(b ** 2)) for b in before))


def _descriptors(inputs, names):
    """Three descriptors: the input's mean level (what the toy labels follow), its spread, and
    noise."""
    rng = np.random.default_rng(1)
    return pd.DataFrame([[float(np.mean(inputs[n])), float(np.std(inputs[n])), rng.normal()]
                         for n in names], index=names, columns=["level", "spread", "noise"])


@pytest.fixture(scope="module")
def data():
    inputs, labels, train, val = toy_data(n=40)
    return inputs, labels, train + val[:12], val[12:], _descriptors(inputs, list(inputs))


def test_descriptor_pretraining_learns_the_descriptors(data):
    inputs, labels, train, val, desc = data
    norm = Normaliser.fit(inputs, labels, train, desc)
    model = ListenerModel(LCFG, rngs=nnx.Rngs(0))
    tc = steps.TrainConfig(epochs=1, batch_size=4, patience=5, max_steps=None, eval_batch=8,
                           lr=3e-3)
    before = [np.array(p) for p in params(model.ast.head)]
    losses = listener.pretrain(model, inputs, train, norm.d(desc, train), norm, tc,
                               listener.Task(labels=False, descriptors=True), steps=120)
    assert len(losses) == 18 and np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    # no gradient reaches the label head: only AdamW's weight decay moves it
    assert _moved(before, model.ast.head) < 0.01
    masked = listener.pretrain(model, inputs, train, norm.d(desc, train), norm, tc,
                               listener.Task(labels=False, masked=True), steps=30)
    assert np.isfinite(masked).all()


def test_finetuning_with_the_auxiliary_head_trains_both_heads(data):
    inputs, labels, train, val, desc = data
    norm = Normaliser.fit(inputs, labels, train, desc)
    runs = {}
    for aux in (False, True):
        model = ListenerModel(LCFG, rngs=nnx.Rngs(0))
        head = [np.array(p) for p in params(model.descriptor_head)]
        res = listener.finetune(model, inputs, labels, train, val, norm, TC, aux=aux,
                                descriptors=desc)
        runs[aux] = (res, _moved(head, model.descriptor_head))
    # only the auxiliary loss trains that head; without it, weight decay alone moves it
    assert runs[False][1] < 1e-3 and runs[True][1] > 10 * runs[False][1]
    assert runs[True][0].best_epoch >= 0 and len(runs[True][0].history) == TC.epochs
    with pytest.raises(ValueError, match="needs the descriptors table"):
        listener.finetune(ListenerModel(LCFG, rngs=nnx.Rngs(0)), inputs, labels, train, val,
                          norm, TC, aux=True)


def test_a_fold_pretrains_only_on_variants_of_its_training_names(data):
    inputs, labels, train, val, desc = data
    test = val[:4]
    calls = []

    def pool_inputs(train_names, held_out, n):
        calls.append((list(train_names), list(held_out), n))
        extra = {listener.pool_name(s, k): inputs[s] * 1.1 for s in train_names[:6]
                 for k in range(n)}
        return extra, _descriptors(extra, list(extra))

    fits = []
    recipe = listener.Recipe(stages=("masked", "descriptors"), steps=6, n_variants=2, aux=True)
    fp = listener.make_fit_predict(inputs, labels, desc, LCFG, TC, recipe, pool_inputs, fits)
    pred = fp(train, val[4:], test)
    assert pred.shape == (len(test), len(DIMENSIONS)) and np.isfinite(pred).all()
    assert calls == [(train, val[4:] + test, 2)]
    assert set(fits[0]["pretrain"]) == {"masked", "descriptors"}
    assert fits[0]["pretrain"]["descriptors"]["segments"] == len(train) + 12
    heard = fits[0]["test_descriptors"]
    assert heard.shape == (len(test), 3) and fits[0]["test_names"] == test
    # in the descriptors' own units: the level descriptor's scale, not a standardised one
    assert abs(heard[:, 0].mean() - desc.loc[train, "level"].mean()) < 3 * desc["level"].std()

    def leaky(train_names, held_out, n):
        extra = {listener.pool_name(held_out[0], 0): inputs[held_out[0]]}
        return extra, _descriptors(extra, list(extra))

    with pytest.raises(ValueError, match="not variants of training segments"):
        listener.make_fit_predict(inputs, labels, desc, LCFG, TC, recipe, leaky)(train, val[4:],
                                                                                 test)
    with pytest.raises(ValueError, match="unknown pretraining stage"):
        listener.Recipe(stages=("contrastive",))
