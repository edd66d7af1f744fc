"""Why a final model scored a performance as it did: per dimension, the descriptors that moved
its prediction most, stated in musical words (``analysis.descriptor_words``).

Attributions are SHAP values (Lundberg & Lee 2017) of the final model's random forest,
computed exactly by path-dependent TreeSHAP (Lundberg et al. 2020) in the ``shap`` library:
the forest (``models.treearrays.ArrayForest``) is handed to ``shap.TreeExplainer`` in shap's
custom tree format, one dict of node arrays per tree, each node weighted by its cover (the
training samples that reached it, as shap weighs a scikit-learn forest). For every dimension
the base value (the forest's mean prediction over its training performances, each tree over
the sample it was grown on: shap's ``expected_value``, "the PercePiano mean") plus the
descriptors' attributions equals the prediction (local accuracy). A missing descriptor is
filled in as the forest fills it (the median of its training rows).

Attributions explain the model, not the raters: they say which descriptors moved this forest's
prediction, and by how much, not what the raters heard. A descriptor's place among the
PercePiano development performances (``FinalModel.rows``) is worded by
``descriptor_words.standing``. ``explain_segments`` and ``agreement`` put the explanations of
development segments beside their ratings, with a model fitted without them (``out_of_fold``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from percepiano.analysis import descriptor_words as W
from percepiano.analysis.final import SPLIT, FinalModel, K, to_scale
from percepiano.data.dataset import CATEGORIES, DIMENSIONS, SCALE_MAX
from percepiano.data.poles import POLES, category_label
from percepiano.models.treearrays import ArrayForest

METHOD = ("SHAP values of the final model's random forest (path-dependent TreeSHAP, "
          "Lundberg et al. 2020, through the shap library): how far each descriptor moves the "
          "prediction from the forest's mean over its training performances, in rating points")


def shap_model(forest: ArrayForest) -> dict:
    """``forest`` in shap's custom tree format: one dict per tree of ``children_left``,
    ``children_right``, ``children_default`` (-1 at leaves), ``features``, ``thresholds``,
    ``values`` ((nodes, outputs), divided by the number of trees, whose outputs shap sums) and
    ``node_sample_weight`` (the covers); inputs compared in float32, as the forest does."""
    ends = [*map(int, forest.roots), len(forest.left)]
    trees = []
    for a, b in zip(ends[:-1], ends[1:], strict=True):
        leaf = forest.left[a:b] < 0
        left = np.where(leaf, -1, forest.left[a:b] - a).astype(np.int32)
        trees.append({"children_left": left, "children_default": left,
                      "children_right": np.where(leaf, -1, forest.right[a:b] - a)
                      .astype(np.int32),
                      "features": np.where(leaf, -1, forest.feature[a:b]).astype(np.int32),
                      "thresholds": np.where(leaf, -2.0, forest.threshold[a:b]),
                      "values": forest.value[a:b] / len(forest.roots),
                      "node_sample_weight": forest.weight[a:b].astype(np.float64)})
    return {"trees": trees, "input_dtype": np.float32, "internal_dtype": np.float64,
            "tree_output": "raw_value", "base_offset": np.zeros(forest.n_outputs)}


def attributions(forest: ArrayForest, rows) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values ``(n, features, outputs)`` of descriptor rows ``(n, features)`` (NaN filled
    as the forest fills it) and the base value ``(outputs,)``, on the label scale (rating / 7):
    ``base + phi.sum(axis=1)`` equals ``forest.predict(rows)``. ``ValueError`` when the rows
    do not have the forest's number of features."""
    import shap

    X = np.atleast_2d(np.asarray(rows, np.float64))
    if X.shape[1] != forest.n_features:
        raise ValueError(f"expected {forest.n_features} descriptors, got {X.shape[1]}")
    X = np.where(np.isnan(X), forest.fill, X)
    explainer = shap.TreeExplainer(shap_model(forest), feature_perturbation="tree_path_dependent")
    phi = np.asarray(explainer.shap_values(X, check_additivity=False), np.float64)
    base = np.broadcast_to(np.asarray(explainer.expected_value, np.float64), (forest.n_outputs,))
    return phi.reshape(len(X), forest.n_features, forest.n_outputs), base.copy()


def reasons(phi, values, reference, columns: list[str], direction: float, top: int = 1
            ) -> list[dict]:
    """The ``top`` descriptors that moved one dimension's prediction most in ``direction`` (the
    sign of prediction minus base; at 0, the largest move either way), each as
    ``{"column", "descriptor", "value", "shap", "shares", "clause"}``: ``shap`` in rating points
    (+ toward pole 7); ``shares`` of ``reference`` (the development rows, (n, columns)) below,
    equal to and above ``value``; ``clause`` the value and its standing in words (a NaN
    value is said to be unmeasured). ``KeyError`` for a column without words."""
    phi = np.asarray(phi, np.float64) * SCALE_MAX
    order = np.argsort(-np.abs(phi), kind="stable")
    picked = [i for i in order if np.sign(phi[i]) == np.sign(direction) != 0][:top]
    out = []
    for i in picked or order[:1]:
        w, v = W.words(columns[i]), float(values[i])
        if np.isfinite(v):
            clause = f"{w.say(v)}, {W.standing(v, reference[:, i], w.more, w.less)}"
            shares = W.shares(v, reference[:, i])
        else:
            clause = (f"{w.what} could not be measured (the model read the median of its "
                      "training performances)")
            shares = None
        out.append({"column": columns[i], "descriptor": w.what, "value": v if np.isfinite(v)
                    else None, "shap": float(phi[i]), "shares": shares, "clause": clause})
    return out


def toward(dimension: str, score: float, mean: float) -> str | None:
    """The pole a score (1-7) leans to from the PercePiano ``mean``, to the hundredth of a
    point (None at it)."""
    lean = round(score - mean, 2)
    return None if not lean else POLES[dimension][int(lean > 0)]


def sentence(dimension: str, score: float, low: float, high: float, mean: float,
             clauses: list[tuple[str, float]]) -> str:
    """One dimension's explanation: its aspect and poles, the score with its interval (1-7),
    which pole it leans to from the PercePiano ``mean`` and how far, and each
    ``(clause, shap)`` (rating points, + toward pole 7) saying how far it moves the score.
    ``KeyError`` for an unknown dimension."""
    p1, p7 = POLES[dimension]
    pole = toward(dimension, score, mean)
    where = (f"toward '{pole}', {abs(score - mean):.2f} from the PercePiano mean {mean:.1f}"
             if pole else f"at the PercePiano mean {mean:.1f}")
    parts = []
    for k, (clause, s) in enumerate(clauses):
        parts.append(f"{clause}, which moves it {abs(s):.2f} toward '{p7 if s > 0 else p1}'"
                     if k == 0 else f"{clause}, which adds {abs(s):.2f}")
    said = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]
    return (f"{category_label(CATEGORIES[dimension])} ({p1} - {p7}) {score:.1f} "
            f"[{low:.1f}, {high:.1f}] ({where}): {said}.")


def explain(take, model: FinalModel, level: float = 0.8, top: int = 1) -> dict:
    """``scoring.score``'s profile of ``take`` (JSON-able) with, per dimension, ``mean`` (the
    base value on the 1-7 scale), ``toward`` (the pole the score leans to from it, None at
    it), ``reasons`` (``reasons``' dicts, ``top`` of them) and ``sentence``; and
    ``attribution``: the method and what descriptors are compared with. A take scored in
    several spans is explained by the mean of their attributions, and its descriptors by
    their mean over the spans. Raises ``ValueError`` as ``scoring.score`` does."""
    from percepiano.analysis import scoring

    profile = scoring.score(take, model, level)
    phi, base = attributions(model.forest, take.rows)
    phi = phi.mean(axis=0)
    values = np.array([np.nanmean(c) if np.isfinite(c).any() else np.nan
                       for c in np.asarray(take.rows, np.float64).T])
    for j, d in enumerate(profile["dimensions"]):
        mean = float(to_scale(base[j]))
        found = reasons(phi[:, j], values, model.rows, model.columns, d["score"] - mean, top)
        said = sentence(d["dimension"], d["score"], d["low"], d["high"], mean,
                        [(r["clause"], r["shap"]) for r in found])
        d.update(mean=mean, toward=toward(d["dimension"], d["score"], mean), reasons=found,
                 sentence=said)
    profile["attribution"] = {"method": METHOD, "compared_with": compared_with(model)}
    return profile


def compared_with(model: FinalModel) -> str:
    """What a take's descriptors are placed among, in words."""
    what = {"audio": " (their FluidR3 renderings)", "notes": " (their MIDI)"}.get(model.kind, "")
    return f"the descriptors of the {len(model.rows)} PercePiano development performances{what}"


def explain_segments(model: FinalModel, ds, names, top: int = 1, level: float = 0.8,
                     route=None) -> pd.DataFrame:
    """Explanations of development segments ``names`` of ``ds`` beside their ratings: one row
    per (segment, dimension) with ``name``, ``dimension``, ``rating`` (the raters' mean, 1-7),
    ``mean_rating`` (over the segments ``model`` was calibrated on: ``oof_true``),
    ``prediction``, ``low``, ``high`` (the ``level`` marginal split-conformal interval),
    ``expected`` (the base value), ``toward``, ``sentence``, the first reason's ``descriptor``
    (its column), ``value`` and ``shap`` (rating points, + toward pole 7), and the descriptor
    with the largest |SHAP| whichever way it points (``strongest``, ``strongest_shap``). For
    a check against the ratings, ``model`` must not have seen ``names``: see
    ``out_of_fold``. Raises ``KeyError`` for a name ``ds`` lacks."""
    from percepiano.analysis.scoring import LABEL_BOUNDS

    names = list(names)
    X = segment_rows(ds, model, names)
    phi, base = attributions(model.forest, X)
    pred = model.predict(X)
    # the plain split-conformal intervals (``FinalModel.marginal``), which the stored
    # ``phase2_explain`` results were made with; ``explain`` of a take prints ``interval``'s
    low, high = model.marginal(level).interval(pred, LABEL_BOUNDS)
    ratings = ds.labels.loc[names, list(DIMENSIONS)].to_numpy(np.float64)
    mean_rating = model.oof_true.mean(axis=0)
    rows = []
    for n, name in enumerate(names):
        for j, dim in enumerate(DIMENSIONS):
            p, b = float(to_scale(pred[n, j])), float(to_scale(base[j]))
            found = reasons(phi[n, :, j], X[n], model.rows, model.columns, p - b, top)
            strongest = int(np.argmax(np.abs(phi[n, :, j])))
            rows.append({
                "name": name, "dimension": dim, "rating": ratings[n, j] * SCALE_MAX,
                "mean_rating": mean_rating[j] * SCALE_MAX, "prediction": p,
                "low": float(to_scale(low[n, j])), "high": float(to_scale(high[n, j])),
                "expected": b, "toward": toward(dim, p, b),
                "sentence": sentence(dim, p, float(to_scale(low[n, j])),
                                     float(to_scale(high[n, j])), b,
                                     [(r["clause"], r["shap"]) for r in found]),
                "descriptor": found[0]["column"], "value": found[0]["value"],
                "shap": found[0]["shap"], "strongest": model.columns[strongest],
                "strongest_shap": float(phi[n, strongest, j] * SCALE_MAX)})
    return pd.DataFrame(rows)


def segment_rows(ds, model: FinalModel, names: list[str]) -> np.ndarray:
    """The descriptor rows (len(names), columns) ``model`` reads for development segments: of
    their MIDI, or for the audio model of their FluidR3 renderings (cached; only these are
    rendered). ``KeyError`` for a name ``ds`` lacks."""
    if model.kind != "audio":
        from percepiano.models import forest

        return forest.feature_table(ds, "midi")[model.columns].loc[names].to_numpy(np.float64)
    from percepiano.features import takes

    t = takes.take_table(ds, "fluidr3", names=names, progress=False)
    return t.add_prefix("audio:")[model.columns].loc[names].to_numpy(np.float64)


def agreement(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dimension, over the segments of ``explain_segments``'s ``frame`` whose rating is not
    exactly the mean: ``segments``; ``agrees``, the share where the sentence's first reason
    pushes the way the raters went (sign of its SHAP value = sign of rating minus mean
    rating); ``strongest_agrees``, the same for the descriptor with the largest |SHAP|
    whichever way it points; ``explained``, the median share of the prediction's distance
    from the base value that the first reason accounts for.

    The first reason is chosen to push the way the prediction leans, so ``agrees`` is the
    share of segments on which the model leans the raters' way at all; it measures whether the
    sentence points the right way, not whether the descriptor it names is why the raters
    heard it so (only a controlled listening test could say that)."""
    diff = np.sign(frame["rating"] - frame["mean_rating"])
    f = frame.assign(diff=diff)[diff != 0]
    lean = f["prediction"] - f["expected"]
    f = f.assign(agrees=np.sign(f["shap"]) == f["diff"],
                 strongest_agrees=np.sign(f["strongest_shap"]) == f["diff"],
                 explained=(f["shap"] / lean.where(lean != 0)))
    out = f.groupby("dimension", sort=False).agg(
        segments=("name", "size"), agrees=("agrees", "mean"),
        strongest_agrees=("strongest_agrees", "mean"), explained=("explained", "median"))
    return out.reindex([d for d in DIMENSIONS if d in out.index])


def out_of_fold(model: FinalModel, ds, names, route=None, progress: bool = False
                ) -> FinalModel:
    """``model``'s recipe refitted without the fold that holds ``names``: in the
    cross-validation ``final.build`` ran (``K``-fold ``SPLIT`` split of ``ds``, the model's
    seed and forest settings), the forest of that fold, fitted on the other folds' segments
    (every version of them the model learns from; for ``notes``, ``route`` as in ``build``).
    Its rows, labels and out-of-fold predictions are those of the other folds (its intervals
    are calibrated on them; a notes model keeps its transcription calibration). Raises
    ``ValueError`` when ``names`` span several folds or are not development segments."""
    from percepiano.analysis.final import training_rows
    from percepiano.data.splits import make_folds, nested_split
    from percepiano.models import forest

    seed = int(model.meta["seed"])
    cfg = forest.ForestConfig(**model.meta["forest"])
    folds = make_folds(ds.segments, SPLIT, K, seed)
    names = list(names)
    unknown = sorted(set(names) - set(folds.index))
    if unknown:
        raise ValueError(f"{len(unknown)} names are not development segments, e.g. {unknown[0]}")
    held = sorted(set(folds.loc[names]))
    if len(held) != 1:
        raise ValueError(f"the names lie in folds {held} of the {SPLIT} split; give names of "
                         "one fold")
    train, val = nested_split(ds.segments, folds.index[folds != held[0]], SPLIT, seed)
    fit = list(train) + list(val)
    X, extra = training_rows(ds, model.kind, model.columns, progress, route)
    parts = [X.loc[fit]] + [t.loc[t.index.intersection(fit)] for t in extra.values()]
    dims = list(DIMENSIONS)
    pipe = forest.make_model("rf", forest.variant(cfg, {}), seed).fit(
        np.vstack([t.to_numpy() for t in parts]),
        np.vstack([ds.labels.loc[t.index, dims].to_numpy() for t in parts]))
    keep = np.isin(model.names, fit)
    return dataclasses.replace(
        model, forest=ArrayForest.from_pipeline(pipe), oof_true=model.oof_true[keep],
        oof_pred=model.oof_pred[keep], names=model.names[keep], rows=model.rows[keep],
        folds=None if model.folds is None else model.folds[keep],
        meta={**model.meta, "out_of_fold": {"fold": int(held[0]), "held_out": int((~keep).sum())}})
