"""The paired permutation test: swap the predictions of A and B for whole units.

Under "A and B score alike", which of the two predicted a unit's segments is exchangeable, so
swapping them per unit (a sign flip of unit-level differences) draws from the null. p = (1 +
#{|null| >= |observed|}) / (1 + n) over n random swaps (Phipson & Smyth 2010, "Permutation
p-values should never be zero", Stat. Appl. Genet. Mol. Biol.), with Monte Carlo standard error
sqrt(p(1-p)/n); with G units and 2^G <= n, every assignment once (the observed one among them)
and p = #{|null| >= |observed|} / 2^G, exact, never below 2 / 2^G (``small_g.sign_flip_floor``).
With two crossed factors (performers x music) no unit is independent of the others, so the test
swaps by each factor in turn and reports the larger p-value (conservative). It needs only the
stored out-of-fold predictions and works for every metric; it conditions on the trained models.
"""

from __future__ import annotations

import numpy as np

from percepiano.evaluation import bootstrap as B


def _swaps(prep: dict, factor: int, n_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``flips`` and its complement (the cells that keep their own predictions), drawn once per
    ``prep``, number and seed."""
    draws, key = prep.setdefault("draws", {}), ("flips", factor, n_perm, seed)
    if key not in draws:
        g = prep["n_levels"][factor]
        if exact(g, n_perm):  # every assignment once
            per_unit = (np.arange(2**g)[:, None] >> np.arange(g) & 1).astype(np.float64)
        else:
            per_unit = np.random.default_rng([seed, 1, factor]).integers(
                0, 2, (n_perm, g)).astype(np.float64)
        swap = per_unit[:, prep["levels"][:, factor]]
        draws[key] = swap, 1 - swap
    return draws[key]


def exact(units: int, n_perm: int) -> bool:
    """Whether swapping ``units`` units enumerates all 2^G assignments within ``n_perm``."""
    return 2**units <= n_perm


def flips(prep: dict, factor: int, n_perm: int, seed: int) -> np.ndarray:
    """(n_perm, C) 0/1 per cell: which cells swap their two predictions, drawn per unit of
    ``factor`` (all cells of a unit swap together); (2^G, C), every assignment of the G units
    once, where ``exact``."""
    return _swaps(prep, factor, n_perm, seed)[0]


def permutation_p(prep: dict, a: str, b: str, metric: str, n_perm: int,
                  seed: int) -> tuple[float, float]:
    """(two-sided p, its Monte Carlo standard error) for A (``a``) and B (``b``) of ``prep``
    scoring alike on ``metric``: the larger over the factors, and that factor's error (0 for
    an exact test)."""
    one, out = B.once(prep), []
    observed = (B.values(prep, [(b, one)], metric) - B.values(prep, [(a, one)], metric)).mean()
    for factor, units in enumerate(prep["n_levels"]):
        swap, keep = _swaps(prep, factor, n_perm, seed)
        null = (B.values(prep, [(b, keep), (a, swap)], metric)
                - B.values(prep, [(a, keep), (b, swap)], metric)).mean(1)
        extreme = np.sum(np.abs(null) >= abs(observed) - 1e-12)  # ties count against H1
        if exact(units, n_perm):
            out.append((extreme / len(null), 0.0))
        else:
            p = (1 + extreme) / (1 + n_perm)
            out.append((p, np.sqrt(p * (1 - p) / n_perm)))
    p, se = max(out)
    return float(p), float(se)


def paired_permutation_test(y_true, pred_a, pred_b, clusters, metric: str = "mean_r2",
                            groups=None, n_perm: int = B.N_RESAMPLES, seed: int = 0) -> float:
    """Two-sided p-value for "A and B score alike", swapping their predictions per unit
    (``clusters``, as for ``bootstrap.cluster_bootstrap_ci``). Raises ValueError on misaligned
    inputs or an unknown metric."""
    B.check(metric, groups)
    prep = B._prepare(y_true, {"a": pred_a, "b": pred_b}, clusters, groups, "a")
    return permutation_p(prep, "a", "b", metric, n_perm, seed)[0]
