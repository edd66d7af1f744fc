"""A fitted random forest as plain arrays: stored without pickle, loaded in milliseconds and
evaluated with numpy alone (no scikit-learn import on the scoring path).

``ArrayForest.from_pipeline`` reads a fitted ``forest.make_model`` pipeline (median imputation,
then a joint ``RandomForestRegressor`` or ``ExtraTreesRegressor``): every tree's nodes are
concatenated into one table (left and right child, split feature, threshold, node value, and
the node's cover: the training samples, bootstrap-weighted, that reach it) with child indices
made global. ``predict`` walks all trees for all rows at once, one level per step, and
reproduces scikit-learn's predictions: features are compared in float32, as its trees do, and
the leaf values are averaged in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIELDS = ("left", "right", "feature", "threshold", "value", "weight", "roots", "fill")


@dataclass(frozen=True)
class ArrayForest:
    """Nodes of all trees (``left``/``right``: global child index, -1 at a leaf; ``feature``,
    ``threshold``; ``value``: (nodes, outputs); ``weight``: (nodes,) scikit-learn's
    ``weighted_n_node_samples``, the cover that path-dependent TreeSHAP weighs paths by), each
    tree's root, and the imputation ``fill`` value of every input column."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    weight: np.ndarray
    roots: np.ndarray
    fill: np.ndarray

    @property
    def n_features(self) -> int:
        return len(self.fill)

    @property
    def n_outputs(self) -> int:
        return self.value.shape[1]

    @classmethod
    def from_pipeline(cls, pipeline) -> ArrayForest:
        """From a fitted ``SimpleImputer`` + joint tree-ensemble pipeline."""
        imputer, est = pipeline[0], pipeline[-1]
        if not hasattr(est, "estimators_") or not hasattr(est.estimators_[0], "tree_"):
            raise ValueError(f"need a fitted joint random forest or extra-trees model, got "
                             f"{type(est).__name__}")
        parts, offset = {f: [] for f in FIELDS[:6]}, 0
        roots = []
        for tree in (e.tree_ for e in est.estimators_):
            leaf = tree.children_left == -1
            roots.append(offset)
            parts["left"].append(np.where(leaf, -1, tree.children_left + offset))
            parts["right"].append(np.where(leaf, -1, tree.children_right + offset))
            parts["feature"].append(np.where(leaf, 0, tree.feature))
            parts["threshold"].append(tree.threshold)
            parts["value"].append(tree.value[:, :, 0])
            parts["weight"].append(tree.weighted_n_node_samples)
            offset += tree.node_count
        fill = np.asarray(imputer.statistics_, np.float64)
        return cls(left=np.concatenate(parts["left"]).astype(np.int32),
                   right=np.concatenate(parts["right"]).astype(np.int32),
                   feature=np.concatenate(parts["feature"]).astype(np.int32),
                   threshold=np.concatenate(parts["threshold"]).astype(np.float64),
                   value=np.concatenate(parts["value"]).astype(np.float64),
                   weight=np.concatenate(parts["weight"]).astype(np.float64),
                   roots=np.asarray(roots, np.int32), fill=fill)

    def predict(self, X) -> np.ndarray:
        """(rows, outputs) predictions for (rows, features) inputs; NaN is imputed."""
        X = np.atleast_2d(np.asarray(X, np.float64))
        if X.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got {X.shape[1]}")
        X = np.where(np.isnan(X), self.fill, X).astype(np.float32)  # the trees compare float32
        rows = np.arange(len(X))[None, :]
        node = np.repeat(self.roots[:, None], len(X), axis=1)  # (trees, rows)
        while True:
            inner = self.left[node] >= 0
            if not inner.any():
                break
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        return self.value[node].mean(axis=0)

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The fields as named plain arrays (for ``np.savez``; read back with
        ``allow_pickle=False``)."""
        return {prefix + f: getattr(self, f) for f in FIELDS}

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "") -> ArrayForest:
        return cls(**{f: np.asarray(arrays[prefix + f]) for f in FIELDS})
