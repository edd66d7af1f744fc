"""The human noise ceiling: how well can any model agree with the mean rating?

Each label is the mean of 4-17 listeners' ratings, so it holds rater noise that no model can
predict. The unit of everything below is the *rater*: some listeners rated the same segment more
than once, and their repeats are averaged first (``rater_means``), so a listener never agrees with
themself across the two halves of a split or counts twice in an ICC draw. (The label itself
is the mean of all rating rows, so it weighs such a rater a little more than the mean of rater
means whose reliability is estimated here; with about one rater in four repeating, and then
mostly once, the difference is small.)

* **Split-half reliability** (Spearman 1910; Brown 1910): split each segment's raters at random
  into two halves (the extra rater of an odd panel goes to the second half), correlate the two
  half means across segments, step the correlation up to the full panel with the Spearman-Brown
  formula ``2r / (1 + r)``, and average over many random splits. This is the reliability of the
  label as it is (the mean of all its raters).
* **ICC(1,k)** (Shrout & Fleiss 1979, one-way random effects, average measures) from pingouin.
  One-way because each segment is rated by a different subset of raters, so rater effects cannot
  be separated from error (the two-way models assume the same raters for every target). pingouin
  needs the same number of raters for each segment, so we draw ``k`` raters per segment
  (segments with fewer are left out of that draw), average over draws, and step the ICC(1,k) up
  to the mean number of raters per segment with Spearman-Brown, which makes it comparable with
  the split-half figure.
* **Within-excerpt ceiling**: on the same splits, how well the half-A means rank the performances
  of each excerpt as the half-B means do (``metrics.within_excerpt``: mean Spearman over excerpts
  with at least three performances, and the share of same-excerpt pairs ordered alike): the
  *half-panel* agreement (``within_rho_half``, ``pairwise_half``), where both sides carry the
  noise of half a panel. A model is scored against whole panels, so the ceiling follows the
  split-half recipe: the half-panel rank correlation, treated as the within-excerpt reliability
  of a half panel, is stepped up with Spearman-Brown to a whole panel, and a perfect model would
  correlate with whole-panel labels at its square root (``within_rho_ceiling``); for a bivariate
  normal pair with correlation rho, the share of pairs ordered alike is 1/2 + arcsin(rho) / pi
  (Greiner's relation), which turns it into ``pairwise_ceiling``. Both steps treat a Spearman
  correlation as a Pearson one; the ceiling is an approximation, the half-panel figures are not.

If the label has reliability ``rel``, a model that predicted the true (noise-free) mean rating
exactly would reach Pearson ``r = sqrt(rel)`` and ``R² = rel`` against the noisy labels: these
are the ceilings every number in the book is shown against.

**Intervals.** Each of ``n_boot`` replicates scores one random rater split (replicate ``b`` uses
split ``b mod n_splits``) on one cluster-bootstrap resample of the segments: whole music groups
drawn with replacement (Field & Welsh 2007), or single segments when no groups are known. The
interval is the percentile interval of the replicates (Efron & Tibshirani 1993). It covers which
music was rated and how the available raters fall into panels; it does not cover drawing other
listeners, and it is wider than the Monte-Carlo error of the mean over splits, which is small.
A replicate is cheap: per split we keep sufficient statistics per music group (sums for Pearson,
per-excerpt rank agreement) and a resample is a weighted sum of them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg

from percepiano.data.dataset import DIMENSIONS, PercePiano
from percepiano.evaluation.metrics import MIN_GROUP, within_excerpt

LEVEL = 0.95  # of every interval
N_BOOT = 1000  # replicates, as the quick profile's n_boot: the end points of a 95 % interval
# move by a few thousandths from one seed to the next on PercePiano


def spearman_brown(r, factor):
    """Reliability of a test ``factor`` times as long as one with reliability ``r``."""
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore"):  # r = -1 at factor 2: -inf, the limit
        return factor * r / (1 + (factor - 1) * r)


def rater_means(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per (segment, rater): the mean of that rater's ratings of that segment, per
    dimension (NaN where the rater never rated the dimension), sorted by segment name."""
    cols = list(DIMENSIONS)
    return ratings.groupby(["name", "rater"], sort=True)[cols].mean().reset_index()


def half_panels(table: pd.DataFrame, n_splits: int, seed: int = 0):
    """Segment names and a generator of ``n_splits`` random rater splits of ``rater_means``
    output: each split is (half-A means, half-B means), arrays (n_segments, n_dimensions) with NaN
    where a half has no rating of a dimension."""
    names, seg = np.unique(table["name"].to_numpy(), return_inverse=True)
    values = table[list(DIMENSIONS)].to_numpy(dtype=float)
    rated = ~np.isnan(values)
    values = np.nan_to_num(values)
    n_seg, n_dim = len(names), values.shape[1]
    counts = np.bincount(seg, minlength=n_seg)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = (seg[:, None] * n_dim + np.arange(n_dim)).ravel()  # (segment, dimension) cell

    def means(half):
        w = rated & half[:, None]
        tot = np.bincount(flat, weights=(values * w).ravel(), minlength=n_seg * n_dim)
        cnt = np.bincount(flat, weights=w.ravel(), minlength=n_seg * n_dim)
        with np.errstate(invalid="ignore"):
            return (tot / cnt).reshape(n_seg, n_dim)

    def splits():
        rng = np.random.default_rng(seed)
        for _ in range(n_splits):
            order = np.lexsort((rng.random(len(seg)), seg))  # random order within each segment
            rank = np.empty(len(seg), dtype=int)
            rank[order] = np.arange(len(seg)) - start[seg[order]]
            half_a = rank < counts[seg] // 2
            yield means(half_a), means(~half_a)

    return names, splits()


def _pearson_sums(a, b, shift) -> np.ndarray:
    """(n, 6, d) per-row sums n, a, b, a², b², ab over the cells where both are rated."""
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = np.where(ok, a - shift, 0.0), np.where(ok, b - shift, 0.0)
    return np.stack([ok.astype(float), a, b, a * a, b * b, a * b], axis=-2)


def _pearson_from_sums(s) -> np.ndarray:
    """Pearson r per column from summed ``_pearson_sums`` (0 where a side is constant, as in
    ``metrics.pearson``)."""
    n, sa, sb, saa, sbb, sab = np.moveaxis(s, -2, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        va, vb, cov = saa - sa * sa / n, sbb - sb * sb / n, sab - sa * sb / n
        flat = (va <= 1e-12 * saa) | (vb <= 1e-12 * sbb)
        r = np.where(flat, 0.0, cov / np.sqrt(np.abs(va * vb)))
    return np.clip(r, -1.0, 1.0)


def _within_sums(a, b, rows_of_excerpt) -> np.ndarray:
    """(n_excerpts, 4, d): Spearman rho, 1 where it counts (>= MIN_GROUP rated performances),
    pairs ordered alike, pairs with different half-A means; from ``metrics.within_excerpt``."""
    out = np.zeros((len(rows_of_excerpt), 4, a.shape[1]))
    for e, rows in enumerate(rows_of_excerpt):
        ea, eb = a[rows], b[rows]
        ok = ~(np.isnan(ea) | np.isnan(eb))
        columns = [slice(None)] if ok.all() else [[j] for j in range(a.shape[1])]
        for col in columns:  # one call per excerpt; per column only where a half is unrated
            keep = ok[:, col].all(axis=1)
            ta, tb = ea[keep][:, col], eb[keep][:, col]
            if len(ta) < 2:
                continue
            res = within_excerpt(ta, tb, np.zeros(len(ta)))
            i, j = np.triu_indices(len(ta), k=1)
            pairs = (ta[i] != ta[j]).sum(axis=0)
            counts = len(ta) >= MIN_GROUP
            out[e, 0, col] = res["within_rho"] if counts else 0.0
            out[e, 1, col] = float(counts)
            out[e, 2, col] = np.nan_to_num(res["pairwise"]) * pairs
            out[e, 3, col] = pairs
    return out


def _within_from_sums(s) -> tuple[np.ndarray, np.ndarray]:
    rho, n_rho, agree, pairs = np.moveaxis(s, -2, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return rho / n_rho, agree / pairs  # NaN where nothing qualifies


def _memberships(names, groups, clusters):
    """Cluster x segment and cluster x excerpt indicator matrices, and each excerpt's rows."""
    if groups is not None:
        ex = groups.reindex(names)
        if ex.isna().any():
            raise ValueError(f"no excerpt for {int(ex.isna().sum())} rated segments")
        ex = pd.factorize(ex)[0]
    if clusters is None:
        clusters = groups if groups is not None else pd.Series(names, index=names)
    cl = clusters.reindex(names)
    if cl.isna().any():
        raise ValueError(f"no cluster for {int(cl.isna().sum())} rated segments")
    cl = pd.factorize(cl)[0]
    member = np.zeros((cl.max() + 1, len(names)))
    member[cl, np.arange(len(names))] = 1.0
    if groups is None:
        return member, None, None
    rows_of_excerpt = [np.flatnonzero(ex == e) for e in range(ex.max() + 1)]
    if any(len(np.unique(cl[r])) > 1 for r in rows_of_excerpt):
        raise ValueError("every excerpt must lie within one cluster (music group)")
    ex_member = np.zeros((len(member), len(rows_of_excerpt)))
    ex_member[[cl[r[0]] for r in rows_of_excerpt], np.arange(len(rows_of_excerpt))] = 1.0
    return member, ex_member, rows_of_excerpt


def panel_agreement(ratings: pd.DataFrame, n_splits: int = 200, seed: int = 0,
                    groups: pd.Series | None = None, clusters: pd.Series | None = None,
                    n_boot: int = N_BOOT) -> dict[str, pd.DataFrame]:
    """Half-panel agreement per random rater split and per bootstrap replicate.

    ``groups`` (excerpt per segment name) adds the within-excerpt agreement; ``clusters`` (music
    group per segment name; every excerpt must lie in one) are resampled by the bootstrap, default
    the excerpts if given, else the segments. Returns DataFrames with one column per dimension:
    ``reliability`` (Spearman-Brown, one row per split) and ``reliability_boot`` (one row per
    replicate), and with groups ``within_rho``, ``pairwise`` and their ``_boot`` versions.
    """
    if n_splits < 1 or n_boot < 0:
        raise ValueError(f"need n_splits >= 1 and n_boot >= 0, got {n_splits} and {n_boot}")
    table = rater_means(ratings)
    names, splits = half_panels(table, n_splits, seed)
    member, ex_member, rows_of_excerpt = _memberships(names, groups, clusters)
    shift = np.nanmean(table[list(DIMENSIONS)].to_numpy(dtype=float), axis=0)
    stats = []  # per split: (clusters, K, d) sufficient statistics
    for a, b in splits:
        parts = [np.einsum("cn,nkd->ckd", member, _pearson_sums(a, b, shift))]
        if groups is not None:
            parts.append(np.einsum("ce,ekd->ckd", ex_member, _within_sums(a, b, rows_of_excerpt)))
        stats.append(np.concatenate(parts, axis=1))
    stats = np.stack(stats)  # (splits, clusters, K, d)
    n_cl = stats.shape[1]
    rng = np.random.default_rng([seed, 1])  # a stream apart from the splits'
    weights = rng.multinomial(n_cl, np.full(n_cl, 1 / n_cl), size=n_boot).astype(float)
    boot = np.empty((n_boot, *stats.shape[2:]))
    for split in range(min(n_splits, n_boot)):  # replicate b scores split b mod n_splits
        boot[split::n_splits] = np.einsum("bc,ckd->bkd", weights[split::n_splits], stats[split])

    out = {}
    for tail, kind, sums in (("", "split", stats.sum(axis=1)), ("_boot", "replicate", boot)):
        values = {"reliability": spearman_brown(_pearson_from_sums(sums[:, :6]), 2.0)}
        if groups is not None:
            values["within_rho"], values["pairwise"] = _within_from_sums(sums[:, 6:])
        for key, x in values.items():
            out[key + tail] = pd.DataFrame(x, columns=list(DIMENSIONS)).rename_axis(kind)
    return out


def split_half(ratings: pd.DataFrame, n_splits: int = 200, seed: int = 0) -> pd.Series:
    """Spearman-Brown corrected split-half reliability per dimension, averaged over random splits
    of each segment's raters. ``ratings`` has ``rater`` and ``name`` columns and one column per
    dimension (NaN = not rated)."""
    rel = panel_agreement(ratings, n_splits, seed, n_boot=0)["reliability"]
    return rel.mean().rename("split_half")


def icc(ratings: pd.DataFrame, k: int = 4, n_draws: int = 5, seed: int = 0) -> pd.DataFrame:
    """Per dimension: ICC(1,1) and ICC(1,k) from pingouin (averaged over random draws of ``k``
    raters per segment, a rater's repeats averaged first) and ICC(1,k) stepped up to the mean
    number of raters per segment."""
    rng = np.random.default_rng(seed)
    table = rater_means(ratings)
    rows = []
    for dim in DIMENSIONS:
        sub = table[["name", dim]].dropna()
        n_mean = sub.groupby("name").size().mean()
        draws = []
        for _ in range(n_draws):
            rank = pd.Series(rng.random(len(sub)), index=sub.index).groupby(sub["name"]).rank(
                method="first")
            pick = sub[rank <= k].assign(slot=rank[rank <= k].astype(int))
            full = pick[pick.groupby("name")["slot"].transform("size") == k]
            with warnings.catch_warnings():  # pingouin's own pandas deprecation, not ours
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                res = pg.intraclass_corr(full, targets="name", raters="slot", ratings=dim)
            res = res.set_index("Type")["ICC"]
            draws.append((res["ICC(1,1)"], res["ICC(1,k)"]))  # pingouin >= 0.7 names
        icc1, icc1k = np.mean(draws, axis=0)
        rows.append({"dimension": dim, "icc1": icc1, "icc1k": icc1k, "k": k,
                     "mean_raters": n_mean,
                     "icc1_mean_k": float(spearman_brown(icc1, n_mean))})
    return pd.DataFrame(rows).set_index("dimension")


def within_ceiling(half_rho):
    """Within-excerpt Spearman a perfect model could reach against whole-panel labels, from the
    half-panel agreement: the square root of its Spearman-Brown step-up to a whole panel."""
    half = half_rho.clip(lower=0.0)  # a Series or DataFrame of half-panel correlations
    return np.sqrt(2 * half / (1 + half))  # Spearman-Brown with factor 2, then the root


def _interval(x) -> list[float]:
    lo, hi = np.nanquantile(np.asarray(x, dtype=float), [(1 - LEVEL) / 2, (1 + LEVEL) / 2],
                            axis=0)
    return [float(lo), float(hi)]


def _summary(name: str, splits: pd.DataFrame, boot: pd.DataFrame, fn=None) -> dict:
    """Per dimension and mean over dimensions of ``fn`` (of the mean over splits), with their
    percentile intervals over the replicates."""
    fn = fn or (lambda x: x)
    point, reps = fn(splits.mean()), fn(boot)
    with warnings.catch_warnings():  # a replicate with no qualifying excerpt stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return {name: point.to_dict(), f"{name}_ci": {d: _interval(reps[d]) for d in point.index},
                f"mean_{name}": float(point.mean()),
                f"mean_{name}_ci": _interval(reps.mean(axis=1))}


def noise_ceiling(ds: PercePiano, n_splits: int = 200, seed: int = 0, icc_draws: int = 5,
                  n_boot: int = N_BOOT) -> dict:
    """Reliability and the implied ceilings per dimension and their means, the half-panel
    within-excerpt ceiling, all with percentile intervals (see the module docstring)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1 for the intervals, got {n_boot}")
    seg = ds.segments
    agree = panel_agreement(ds.ratings, n_splits, seed, groups=seg["excerpt"],
                            clusters=seg["music_group"], n_boot=n_boot)
    ic = icc(ds.ratings, n_draws=icc_draws, seed=seed)
    rel, rel_boot = agree["reliability"], agree["reliability_boot"]
    pairs = ds.ratings.groupby(["name", "rater"]).size()
    out = {
        **_summary("reliability", rel, rel_boot),
        **_summary("ceiling_r", rel, rel_boot, lambda x: np.sqrt(x.clip(lower=0.0))),
        **_summary("ceiling_r2", rel, rel_boot, lambda x: x.clip(lower=0.0)),
        **_summary("within_rho_half", agree["within_rho"], agree["within_rho_boot"]),
        **_summary("pairwise_half", agree["pairwise"], agree["pairwise_boot"]),
        **_summary("within_rho_ceiling", agree["within_rho"], agree["within_rho_boot"],
                   within_ceiling),
        **_summary("pairwise_ceiling", agree["within_rho"], agree["within_rho_boot"],
                   lambda x: 0.5 + np.arcsin(within_ceiling(x)) / np.pi),
        "mean_icc": float(ic["icc1_mean_k"].mean()),
        "icc": ic["icc1_mean_k"].to_dict(),
        "icc1": ic["icc1"].to_dict(),
        "icc1k": ic["icc1k"].to_dict(),
        "mean_raters": float(pairs.groupby(level="name").size().mean()),
        "repeated_pairs": int((pairs > 1).sum()),
    }
    out["method"] = {
        "split_half": f"Spearman-Brown corrected, mean over {n_splits} random splits of each "
                      "segment's raters (a rater's repeated ratings averaged first)",
        "icc": f"ICC(1,k) one-way random (pingouin), k=4 raters drawn per segment x {icc_draws} "
               "draws, stepped up to the mean number of raters",
        "within_excerpt": "half-panel: half-A vs half-B means ranked within each excerpt, "
                          "mean over the same splits; ceiling: Spearman-Brown to a whole "
                          "panel, square root, and 1/2 + arcsin(rho)/pi for pairs",
        "ci": f"{LEVEL:.0%} percentile interval over {n_boot} replicates, each one random rater "
              "split on one cluster-bootstrap resample of the music groups",
        "seed": seed,
    }
    return out
