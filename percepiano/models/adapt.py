"""Adapting to a new piece from k labelled performances: the classical learners.

Each function takes the training works' rows (``X_train`` (n, d), ``Y_train`` (n, 19), labels on
the 0-1 scale) and the new work's ``k`` labelled rows (``X_support`` (k, d), ``Y_support``
(k, 19); ``k = 0`` allowed) and returns predictions (m, 19) for the work's query rows ``X_query``
(m, d). The neural learners (fine-tuning a head, a meta-learned initialisation) are in
``models.meta``.

* ``support_mean``: the bar. No features: the mean rating of the ``k`` labelled performances
  (the training mean for ``k = 0``). Much of a rating is the music, so this bar is high once the
  work has a few labels (``percepiano.data.structure``).
* ``weighted_forest``: the random forest refitted on the training rows and the ``k`` support
  rows, the support rows weighted so that together they carry ``share`` of the total weight
  (sample weights in the split criterion and the bootstrap; Breiman 2001).
* ``ridge``: ridge regression (Hoerl & Kennard 1970) on standardised features (descriptors, or
  the frozen embeddings of a listener), with the support rows weighted as in
  ``weighted_forest``; the usual linear probe of few-shot transfer (Tian et al. 2020,
  "Rethinking few-shot image classification: a good embedding is all you need?").

``ridge_alpha`` chooses ridge's penalty by cross-validation over the training works (grouped
k-fold, ``sklearn.model_selection.GridSearchCV``), before any row of the new work is seen.

``share`` is fixed before any test work is seen (a quarter of the weight: enough to move a forest
fitted on hundreds of rows, not so much that eight rows decide alone); it is not tuned.
"""

from __future__ import annotations

import numpy as np

SHARE = 0.25  # the support rows' part of the total sample weight


def support_weights(n_train: int, k: int, share: float = SHARE) -> np.ndarray:
    """(n_train + k,) sample weights: 1 for each training row, and for each support row the
    weight that gives the ``k`` support rows ``share`` of the total. Raises ValueError for a
    ``share`` outside [0, 1)."""
    if not 0 <= share < 1:
        raise ValueError(f"share must lie in [0, 1), got {share}")
    w = np.ones(n_train + k)
    if k:
        w[n_train:] = share * n_train / ((1 - share) * k)
    return w


def support_mean(Y_train: np.ndarray, Y_support: np.ndarray, n_query: int) -> np.ndarray:
    """(n_query, 19): the mean of the support labels, or of the training labels for k = 0."""
    ref = Y_support if len(Y_support) else Y_train
    return np.repeat(np.asarray(ref, np.float64).mean(axis=0, keepdims=True), n_query, axis=0)


def _stack(X_train, Y_train, X_support, Y_support, share):
    X = np.vstack([X_train, np.asarray(X_support).reshape(-1, X_train.shape[1])])
    Y = np.vstack([Y_train, np.asarray(Y_support).reshape(-1, Y_train.shape[1])])
    return X, Y, support_weights(len(X_train), len(X) - len(X_train), share)


def weighted_forest(X_train, Y_train, X_support, Y_support, X_query, cfg=None, seed: int = 0,
                    share: float = SHARE) -> np.ndarray:
    """The forest (``models.forest.make_model("rf", cfg, seed)``) fitted on the training and
    support rows, the support weighted to ``share`` of the total; its predictions for
    ``X_query``."""
    from percepiano.models import forest

    X, Y, w = _stack(X_train, Y_train, X_support, Y_support, share)
    model = forest.make_model("rf", cfg, seed)
    model.fit(X, Y, **{f"{model.steps[-1][0]}__sample_weight": w})
    return model.predict(np.asarray(X_query))


ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)  # ridge penalties tried, standardised features


def _ridge_model(alpha: float):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                         StandardScaler(), Ridge(alpha=alpha))


def ridge_alpha(X_train, Y_train, groups, alphas=ALPHAS, folds: int = 5) -> float:
    """The ridge penalty of ``alphas`` with the lowest mean squared error in ``folds``-fold
    cross-validation grouped by ``groups`` (n,) (each training row's work; fewer folds when
    there are fewer groups). Raises ValueError with fewer than two distinct groups."""
    from sklearn.model_selection import GridSearchCV, GroupKFold

    folds = min(folds, len(np.unique(groups)))
    if folds < 2:
        raise ValueError("choosing the ridge penalty needs at least 2 groups")
    search = GridSearchCV(_ridge_model(alphas[0]), {"ridge__alpha": list(alphas)},
                          cv=GroupKFold(folds), scoring="neg_mean_squared_error")
    search.fit(np.asarray(X_train), np.asarray(Y_train), groups=np.asarray(groups))
    return float(search.best_params_["ridge__alpha"])


def ridge(X_train, Y_train, X_support, Y_support, X_query, alpha: float = 10.0,
          share: float = SHARE) -> np.ndarray:
    """Ridge regression (penalty ``alpha`` on standardised features, missing values imputed by
    the training medians) on the training and support rows, the support weighted to ``share``
    of the total; its predictions for ``X_query``."""
    X, Y, w = _stack(X_train, Y_train, X_support, Y_support, share)
    model = _ridge_model(alpha)
    model.fit(X, Y, ridge__sample_weight=w)
    return model.predict(np.asarray(X_query))
