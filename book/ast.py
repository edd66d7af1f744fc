# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (chapter-ast)=
# # A tiny Audio Spectrogram Transformer on a CPU
#
# The central model of this book listens: an Audio Spectrogram Transformer (AST)
# {cite}`gong2021ast` reads a log-mel spectrogram of the performance, rendered from its MIDI with
# FluidSynth (the sustain pedal included), and predicts the {glue:text}`n_dimensions` dimensions.
# Here it is trained from scratch on PercePiano's segments, without pre-training, which makes it
# small by necessity: {glue:text}`ast_params:,` parameters, against 86 million in the original AST.
#
# Speed decides what this book can show. A naive AST, cutting the spectrogram into patches of
# 16 × 16 bins as the original does (without its overlap), would make
# {glue:text}`ast_naive_tokens` tokens of the crop used here, and the cost of attention grows
# with the square of the number of tokens. The default here turns each token into a whole-band
# slice: the {glue:text}`ast_mels` mel bands are pooled to {glue:text}`ast_bands`, frames to
# {glue:text}`ast_frame_ms` ms, and one token covers all bands over {glue:text}`ast_token_ms` ms,
# so a {glue:text}`ast_crop_s`-second crop is
# {glue:text}`ast_tokens` tokens. Time positions enter through rotary embeddings
# {cite}`su2024roformer` in attention, so what the model learns about a gesture does not depend
# on where in the crop it falls, and
# whole segments of any length are scored by averaging over a fixed grid of crops
# (`percepiano.models.ast`, `percepiano.training.train`).

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.analysis import headline
from percepiano.analysis.page import open_page
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import stats
from percepiano.models import ast

page = open_page()  # the development part; the final exam stays locked
res = experiments.load("ast_cv")
cfg = res.provenance["config"]
ceiling = experiments.load("data_ceiling")
ident = experiments.load("identity_baselines")
forest = (experiments.find("forest_baselines") if "forest_baselines" in experiments.REGISTRY
          else None)
table = pd.DataFrame(res["table"])
per_fold = pd.DataFrame(res["per_fold"])
summary = page.summary(res.oof, by=["kind"], kind=None)
est = summary[summary.performances == "all"].set_index(["kind", "metric"])
human = summary[summary.performances == "human"].set_index(["kind", "metric"])
model = cfg["model"]
glue("ast_params", int(res["n_params"]), display=False)
glue("ast_tokens", ast.preset(cfg["preset"]).n_tokens, display=False)
glue("n_dimensions", len(DIMENSIONS), display=False)
hop_ms = 1000 * cfg["mel"]["hop_length"] / cfg["mel"]["sr"]
glue("ast_mels", int(model["n_mels"]), display=False)
glue("ast_bands", int(model["n_mels"] // model["freq_pool"]), display=False)
glue("ast_frame_ms", int(round(hop_ms * model["time_pool"])), display=False)
glue("ast_token_ms", int(round(hop_ms * model["time_pool"] * model["patch"][1])), display=False)
glue("ast_crop_s", int(round(model["crop_frames"] * hop_ms / 1000)), display=False)
glue("ast_naive_tokens", int((model["n_mels"] // 16) * (model["crop_frames"] // 16)),
     display=False)
glue("ast_depth", int(model["depth"]), display=False)
glue("ast_dim", int(model["dim"]), display=False)
glue("ast_epochs", int(cfg["train"]["epochs"]), display=False)
glue("ast_folds", int(cfg["folds"]), display=False)
glue("ast_seeds", len(cfg["seeds"]), display=False)
for kind in cfg["splits"]:
    for metric, name in (("mean_r2", "r2"), ("mean_r", "r"), ("mean_pairwise", "pairwise")):
        row = est.loc[(kind, metric)]
        glue(f"ast_{kind}_{name}", float(row.estimate), display=False)
        glue(f"ast_{kind}_{name}_ci", f"{stats.LEVEL:.0%} CI {row.ci_lo:.3f} to {row.ci_hi:.3f}",
             display=False)
    row = human.loc[(kind, "mean_r2")]
    glue(f"ast_{kind}_human_r2", float(row.estimate), display=False)
    glue(f"ast_{kind}_human_r2_ci", f"{stats.LEVEL:.0%} CI {row.ci_lo:.3f} to {row.ci_hi:.3f}",
         display=False)
    glue(f"ast_{kind}_minutes", float(table[table.kind == kind].wall_s.mean() / 60),
         display=False)
piece_folds = per_fold[per_fold.kind == "piece"]
glue("ast_n_train", float(piece_folds.n_train.mean()), display=False)
glue("ast_n_val", float(piece_folds.n_val.mean()), display=False)
glue("units", stats.describe_design(page.units, cfg["splits"]), display=False)
glue("device", res.provenance.get("device", "cpu"), display=False)

# %% [markdown]
# (sec-ast-results)=
# ## How well it hears
#
# With {glue:text}`ast_depth` layers of width {glue:text}`ast_dim`, at most
# {glue:text}`ast_epochs` epochs and the epoch chosen on the validation part of each training
# portion, the AST reaches a mean R² of {glue:text}`ast_piece_r2:.3f`
# ({glue:text}`ast_piece_r2_ci`; mean r {glue:text}`ast_piece_r:.3f`) on the piece split,
# {glue:text}`ast_performer_r2:.3f` ({glue:text}`ast_performer_r2_ci`) on the performer split and
# {glue:text}`ast_work_r2:.3f` ({glue:text}`ast_work_r2_ci`) on the work split: pooled out of fold
# over {glue:text}`ast_folds` folds, averaged over {glue:text}`ast_seeds` seeds, with {glue:text}`level:.0%`
# bootstrap intervals over what each split holds out ({glue:text}`units`). Within excerpts it
# orders {glue:text}`ast_piece_pairwise:.1%` of the pairs of performances correctly on the piece
# split ({glue:text}`ast_piece_pairwise_ci`). On the human performances alone, without the
# deadpan renderings of the score ({ref}`sec-data-deadpan`), its piece-split R² is
# {glue:text}`ast_piece_human_r2:.3f` ({glue:text}`ast_piece_human_r2_ci`). One piece-split
# cross-validation took
# {glue:text}`ast_piece_minutes:.1f` minutes on the {glue:text}`device`
# ({glue:text}`profile` profile).
#
# Two things make the comparisons below less than perfectly even, and they pull in opposite
# directions. The AST learns from the inner training part of each fold (about
# {glue:text}`ast_n_train:.0f` segments) and uses the validation part (about
# {glue:text}`ast_n_val:.0f`) only to choose the epoch, while the forests and the identity
# baselines, which have nothing to choose, fit on both: this favours the models it is compared
# with. But its default preset, crop, token layout and learning rate were fixed in an earlier
# exploration scored on segments that are test data for these folds (and on segments of the
# final exam, {ref}`chapter-data`): this favours the AST. {ref}`chapter-week1` makes the size
# choice again inside the training folds, comparing the sizes, token layouts and positional
# encodings on the same folds and seeds.

# %% tags=["hide-input"]
bars = ident["bar"]
blocks = {}
for kind in cfg["splits"]:
    blocks[kind] = {"bar": stats.by_config(ident.oof, "baseline", kind=kind)[bars[kind]],
                    "AST": stats.by_config(res.oof, "kind")[kind]}
    if forest is not None and kind in forest.provenance["config"]["splits"]:
        blocks[kind].update({f"forest, {f} descriptors": p for f, p in
                             stats.by_config(forest.oof, "features", kind=kind).items()})
versus = stats.compare_each(page.y, blocks, "bar", page.units, page.excerpts,
                            metrics=("mean_r2", "mean_pairwise"), n_boot=page.n_boot)
lines = []
for metric, name in (("mean_r2", "R²"), ("mean_pairwise", "pairwise accuracy")):
    for _, r in versus[(versus.config == "AST") & (versus.metric == metric)].iterrows():
        lines.append(stats.verdict(r, f"On the {r.block} split the AST",
                                   f"the bar ({plots.BASELINE_LABELS[bars[r.block]]})", name) + ".")
if forest is not None:
    for kind in blocks:
        ast_r2 = est.loc[(kind, "mean_r2")].estimate
        f = versus[(versus.block == kind) & (versus.metric == "mean_r2")
                   & versus.config.str.startswith("forest")]
        if len(f):
            above = f[f.estimate_config > ast_r2]
            lines.append(f"On the {kind} split {len(above)} of the {len(f)} forests on "
                         "descriptors score a higher R² than the AST"
                         + f" (best: {f.estimate_config.max():.3f}).")
display(Markdown(
    "Against the bar of each split (the strongest identity baseline of "
    "{ref}`chapter-baselines`), paired over the same folds and seeds, with Holm's correction "
    f"over the {len(versus)} comparisons of this chapter: " + " ".join(lines)))

# %% tags=["hide-input"]
r_sq = est.loc[("piece", "mean_r")].estimate ** 2
r2_piece = est.loc[("piece", "mean_r2")].estimate
if r_sq - r2_piece > 0.05:
    display(Markdown(
        f"Its R² ({r2_piece:.3f}) lags what its Pearson r would allow (r² {r_sq:.3f}): the "
        "predictions order the segments better than they place them, the mark of predictions "
        "off in scale or offset on music the model has not heard."))
plots.glue_figure("fig_ast_versus", plots.differences(
    versus.assign(config=versus.block + ": " + versus.config)))

# %% [markdown]
# ```{glue:figure} fig_ast_versus
# :name: fig-ast-versus
#
# The AST and, where computed, the random forests on descriptors, minus the bar of each split
# (the strongest identity baseline), in mean R² and within-excerpt pairwise accuracy: paired
# differences over the same folds and seeds with {glue:text}`level:.0%` bootstrap intervals over what each split
# holds out; filled points are significant after Holm's correction (profile {glue:text}`profile`).
# ```

# %% tags=["hide-input"]
id_summary = stats.summarise(page.y, ident.oof[ident.oof.kind.isin(cfg["splits"])],
                             ["kind", "baseline"], page.units, page.excerpts,
                             metrics=["mean_r2"], n_boot=page.n_boot)
rows = [summary[(summary.metric == "mean_r2") & (summary.performances == "all")].drop(
            columns="performances").assign(baseline="AST (audio)"),
        id_summary[id_summary.baseline != "global_mean"].assign(
            baseline=lambda t: t.baseline.map(plots.BASELINE_LABELS))]
if forest is not None:
    f_summary = stats.summarise(page.y, forest.oof, ["kind", "features"], page.units,
                                page.excerpts, metrics=["mean_r2"], n_boot=page.n_boot)
    rows.append(f_summary.assign(baseline="forest: " + f_summary.features + " descriptors"))
combined = pd.concat(rows, ignore_index=True)
plots.glue_figure("fig_ast_splits", plots.split_bars(
    combined, value="estimate", ci=("ci_lo", "ci_hi"),
    reference={"noise ceiling (mean R²)": ceiling["mean_ceiling_r2"]}))

# %% [markdown]
# ```{glue:figure} fig_ast_splits
# :name: fig-ast-splits
#
# Mean R² over the dimensions of the default AST beside the identity baselines and, where
# computed, the random forests, on the piece, performer and work splits (pooled out-of-fold,
# averaged over seeds, with {glue:text}`level:.0%` bootstrap intervals over what each split holds out; profile
# {glue:text}`profile`). The
# dashed line is the noise ceiling. The AST is the only model here trained end to end on audio.
# ```

# %% tags=["hide-input"]
per_dim = pd.DataFrame({"AST": {d: res["per_dimension"]["piece"][d]["r2"] for d in DIMENSIONS}})
if forest is not None and "both" in forest["per_dimension"]:
    per_dim["forest, both descriptor sets"] = {
        d: forest["per_dimension"]["both"]["piece"][d]["r2"] for d in DIMENSIONS}
per_dim["noise ceiling"] = pd.Series(ceiling["ceiling_r2"])
plots.glue_figure("fig_ast_dims", plots.dimension_bars(per_dim, "R² (piece split)",
                                                       sort_by="AST"))

# %% [markdown]
# ```{glue:figure} fig_ast_dims
# :name: fig-ast-dims
#
# Piece-split R² per dimension (fold means, averaged over seeds) for the AST and the forest on
# both descriptor sets, with each dimension's noise ceiling, sorted by the AST's score.
# ```

# %% tags=["hide-input"]
top = per_dim["AST"].sort_values(ascending=False)
display(Markdown(
    "The dimensions the AST predicts best on unseen music are "
    + ", ".join(f"{plots.short_name(d)} (R² {v:.2f})" for d, v in top.head(3).items())
    + "; the worst are "
    + ", ".join(f"{plots.short_name(d)} (R² {v:.2f})" for d, v in top.tail(3).items()) + "."))

# %% tags=["hide-input"]
bar = headline.identity_bar(page.y, ident.oof, page.ds.segments, cfg["splits"],
                            n_boot=page.n_boot)
shown = summary[summary.metric.isin(headline.METRICS)].assign(model="AST (default)")
plots.table(headline.wide(pd.concat([shown, bar], ignore_index=True)),
            f"The default AST beside the identity bar (the best identity baseline of each split "
            f"and metric: {', '.join(sorted(set(bar.baseline.map(plots.BASELINE_LABELS))))}): "
            "pooled out-of-fold R² and within-excerpt pairwise accuracy on all development "
            "performances and on the human ones only, mean over seeds "
            f"{cfg['seeds']}, with {stats.LEVEL:.0%} bootstrap intervals over "
            f"{stats.describe_design(page.units, cfg['splits'])} ({cfg['folds']}-fold "
            f"cross-validation, {config.profile()} profile, {res['n_segments']} development "
            f"segments, device {res.provenance.get('device', 'cpu')}).")

# %% tags=["hide-input"]
shown = table[["kind", "seed", "pooled_r2", "pooled_r", "pooled_pairwise", "wall_s"]].rename(
    columns={"kind": "split", "pooled_r2": "R²", "pooled_r": "r",
             "pooled_pairwise": "pairwise accuracy", "wall_s": "wall time (s)"})
plots.table(shown.set_index(["split", "seed"]),
            "The spread over seeds: each seed draws other folds and another initialisation "
            f"({config.profile()} profile; wall time per cross-validation on the machine that "
            "computed the results, which may have been shared).")
