"""Unsupervised domain adaptation of descriptor tables: making a model trained on one composer's
performances read another's.

Both methods see the target domain's descriptors, never its labels, and change the inputs only;
the learner (forest, ridge) is fitted on the transformed source rows as usual.

* ``per_domain_standardise``: each domain's columns standardised by its own mean and standard
  deviation (missing values first filled with the domain's median). A descriptor then says how
  a performance stands among performances of the same music, not in absolute units: the first
  moment and the scale of every column are aligned.
* ``coral``: CORrelation ALignment (Sun, Feng & Saenko 2016, "Return of frustratingly easy
  domain adaptation", AAAI): after per-domain standardisation, the source rows are whitened
  with their own covariance and re-coloured with the target's, ``Xs Cs^-1/2 Ct^1/2``, both
  covariances regularised with ``eps`` times the identity (the paper adds the identity to
  standardised features); the target rows are left standardised. Second moments then match too.

Shapes: ``X`` (n, d) float, ``domain`` (n,) labels of any kind; the result (n, d) float in the
same row order, with no missing values. Raises ValueError for a table and labels of different
lengths.
"""

from __future__ import annotations

import numpy as np


def _check(X, domain) -> tuple[np.ndarray, np.ndarray]:
    X, domain = np.asarray(X, np.float64), np.asarray(domain)
    if X.ndim != 2 or len(X) != len(domain):
        raise ValueError(f"a (n, d) table and n domain labels expected, got {X.shape} and "
                         f"{domain.shape}")
    return X, domain


def per_domain_standardise(X, domain) -> np.ndarray:
    """(n, d): each domain's rows filled with its column medians (0 for a column it never
    has) and standardised by its own column means and standard deviations (a constant column
    becomes 0)."""
    X, domain = _check(X, domain)
    out = np.empty_like(X)
    for d in np.unique(domain):
        rows = domain == d
        part = X[rows]
        with np.errstate(all="ignore"):
            med = np.nan_to_num(np.nanmedian(part, axis=0))
        part = np.where(np.isnan(part), med, part)
        sd = part.std(axis=0)
        out[rows] = (part - part.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return out


def _power(C: np.ndarray, p: float) -> np.ndarray:
    """``C ** p`` of a symmetric positive-definite matrix, through its eigendecomposition."""
    w, V = np.linalg.eigh(C)
    return (V * np.clip(w, 1e-12, None) ** p) @ V.T


def coral(X, domain, target, eps: float = 1.0) -> np.ndarray:
    """(n, d): ``per_domain_standardise``, then every row outside the ``target`` domain
    whitened by the covariance of its own domain and re-coloured by the target's (each plus
    ``eps`` times the identity). Raises ValueError when no row is of the ``target`` domain."""
    X, domain = _check(X, domain)
    if not (domain == target).any():
        raise ValueError(f"no row of the target domain {target!r}")
    Z = per_domain_standardise(X, domain)
    eye = eps * np.eye(Z.shape[1])
    colour = _power(np.cov(Z[domain == target], rowvar=False) + eye, 0.5)
    for d in np.unique(domain[domain != target]):
        rows = domain == d
        white = _power(np.cov(Z[rows], rowvar=False) + eye, -0.5)
        Z[rows] = Z[rows] @ white @ colour
    return Z
