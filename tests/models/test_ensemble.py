"""Ensembles: the stacker never learns from a prediction made on its own training rows,
averages and bags combine what they should, LightGBM's tuning never reads the test rows."""

import numpy as np
import pandas as pd
import pytest

from percepiano.data.dataset import DIMENSIONS
from percepiano.models import ensemble as E

D = len(DIMENSIONS)


@pytest.fixture
def toy():
    """60 segments in 12 groups of 5, a signal x and labels = 3 + x per dimension + noise."""
    rng = np.random.default_rng(0)
    names = [f"s{i:02d}" for i in range(60)]
    groups = pd.Series([f"g{i // 5}" for i in range(60)], index=names)
    x = pd.Series(rng.normal(size=60), index=names)
    labels = pd.DataFrame(3 + x.to_numpy()[:, None] + 0.1 * rng.normal(size=(60, D)),
                          index=names, columns=list(DIMENSIONS))
    return names, groups, x, labels


def _split(rest):
    return rest[: len(rest) * 4 // 5], rest[len(rest) * 4 // 5:]


def recording(labels, log):
    """A member that memorises: exact labels for rows it trained on, the mean elsewhere; it
    logs (trained rows, predicted rows)."""
    def fit_predict(train, val, test):
        log.append((set(train) | set(val), list(test)))
        known = set(train) | set(val)
        mean = labels.loc[list(known)].mean().to_numpy()
        return np.stack([labels.loc[n].to_numpy() if n in known else mean for n in test])
    return fit_predict


def honest(x):
    def fit_predict(train, val, test):
        return np.repeat(3 + x.loc[list(test)].to_numpy()[:, None], D, axis=1)
    return fit_predict


def test_stacker_trains_only_on_out_of_fold_predictions(toy):
    names, groups, x, labels = toy
    log, fits = [], []
    fp = E.stack({"memoriser": recording(labels, log), "honest": honest(x)}, labels, groups,
                 k=3, split=_split, fits=fits)
    train, val, test = names[:36], names[36:45], names[45:]
    pred = fp(train, val, test)
    inner = log[:-1]  # the last call is the refit on all the outer training rows
    assert len(inner) == 3
    for trained, predicted in inner:
        assert not trained & set(predicted)  # no row predicted by a fit that trained on it
        assert not set(test) & (trained | set(predicted))
    assert sorted(n for _, p in inner for n in p) == sorted(train + val)
    # a stacker fitted on in-sample predictions would trust the memoriser (it would look
    # perfect); out of fold it is the training mean and earns no weight
    w = np.asarray(fits[0]["weights"])
    assert w.shape == (2, D) and (w >= 0).all()
    assert w[0].max() < 0.2 and w[1].min() > 0.8
    assert np.abs(pred - labels.loc[test].to_numpy()).mean() < 0.2


def test_inner_folds_keep_groups_whole_and_balanced(toy):
    names, groups, _, _ = toy
    fold = E.inner_folds(names, groups, 3, seed=1)
    frame = pd.DataFrame({"g": groups.loc[names].to_numpy(), "f": fold})
    assert frame.groupby("g").f.nunique().eq(1).all()
    assert sorted(np.bincount(fold)) == [20, 20, 20]
    with pytest.raises(ValueError, match="groups"):
        E.inner_folds(names[:10], groups, 3)


def test_stacker_rejects_missing_and_mismatched_predictions():
    Z, yv = np.zeros((5, 2, D)), np.zeros((5, D))
    Z[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="missing"):
        E.Stacker().fit(Z, yv)
    with pytest.raises(ValueError, match="match"):
        E.Stacker().fit(np.zeros((5, 2, D)), np.zeros((4, D)))


def test_average_weights_and_views(toy):
    names, _, _, _ = toy
    a = lambda tr, va, te: np.ones((len(te), D))          # noqa: E731
    b = lambda tr, va, te: {"plain": np.full((len(te), D), 3.0),  # noqa: E731
                            "dense": np.zeros((len(te), D))}
    assert np.allclose(E.average([a, b])([], [], names[:4]), 2.0)
    assert np.allclose(E.average([a, b], [3, 1])([], [], names[:4]), 1.5)
    with pytest.raises(ValueError, match="non-negative"):
        E.average([a, b], [1, -1])
    assert np.allclose(E.pick(b([], [], names[:2]), "dense"), 0.0)


def test_bags_resample_whole_training_groups(toy):
    names, groups, _, _ = toy
    seen = []

    def make(b):
        def fit_predict(train, val, test):
            seen.append(list(train))
            return np.zeros((len(test), D))
        return fit_predict

    bags = E.bagged(make, groups, n_bags=3, seed=0)
    train = names[:40]
    for fp in bags:
        fp(train, names[40:45], names[45:])
    assert len(seen) == 3 and seen[0] != seen[1]
    for rows in seen:
        assert set(rows) <= set(train) and len(rows) % 5 == 0
        counts = pd.Series(rows).value_counts()
        per_group = pd.Series(rows).map(groups).value_counts()
        assert (per_group % 5 == 0).all() and counts.max() <= 8  # whole groups, drawn again
    again = []
    E.bagged(lambda b: (lambda tr, va, te: again.append(list(tr)) or np.zeros((len(te), D))),
             groups, 1, 0)[0](train, [], names[45:])
    assert again[0] == seen[0]  # deterministic in (seed, bag)


def test_memoized_fits_each_split_once(toy):
    names, _, _, _ = toy
    calls, log = [], []

    def make(seed):
        def fit_predict(train, val, test):
            calls.append(seed)
            return np.full((len(test), D), float(seed))
        return fit_predict

    fp = E.memoized(make, 7, log, "m")
    first = fp(names[:30], names[30:40], names[40:])
    assert fp(names[:30], names[30:40], names[40:]) is first
    fp(names[:20], names[30:40], names[40:])
    assert calls == [7, 7] and [r["member"] for r in log] == ["m", "m"]


def test_lgbm_tuning_never_reads_test_labels(toy):
    names, _, x, labels = toy
    X = pd.DataFrame({"x": x, "noise": np.random.default_rng(1).normal(size=60)})
    poisoned = labels.copy()
    test = names[50:]
    poisoned.loc[test] = np.nan  # a fit that read them would fail or predict NaN
    fp = E.lgbm_predictor(X, poisoned, seed=0, n_jobs=1)
    pred = fp(names[:40], names[40:50], test)
    assert pred.shape == (10, D) and np.isfinite(pred).all()
    assert np.corrcoef(pred[:, 0], x.loc[test])[0, 1] > 0.8
    assert len(fp.selections) == 1 and len(fp.selections[0]["val_r2"]) == len(E.LGBM_GRID)
    assert np.allclose(pred, E.lgbm_predictor(X, poisoned, seed=0, n_jobs=1)(
        names[:40], names[40:50], test))
    with pytest.raises(ValueError, match="validation"):
        fp(names[:40], [], test)
