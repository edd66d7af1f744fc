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
# (chapter-week1)=
# # Week 1: the right size, more data, and what the MIDI knows
#
# The AST of {ref}`chapter-ast` is trained from scratch on the {glue:text}`w1_n_segments`
# development segments; {glue:text}`w1_ast_vs_forest`. This chapter asks
# the three questions of the first week of the roadmap, each with the same cross-validation as
# the default AST (same development part, same folds for each seed, epoch chosen on the nested
# validation fold inside each training portion), so every comparison is paired fold for fold:
#
# 1. **How big should a transformer be for this dataset?** A size sweep from
#    {glue:text}`w1_ppc_min:.0f` parameters per training segment upwards, the token layouts, and
#    the three positional encodings.
# 2. **Does augmentation help?** SpecAugment {cite}`park2019specaugment` and mixup
#    {cite}`zhang2018mixup` on the spectrogram, and exact MIDI-level variants of each training
#    performance, rendered again with FluidSynth: slower and faster, transposed, louder and
#    softer, and played on another piano.
# 3. **Does domain knowledge help?** A hybrid that fuses the AST's embedding with a small
#    network over the descriptors the forests use.
#
# Each comparison is a paired difference with a bootstrap interval over what the split holds out
# (music groups on the piece split, works on the work split, performers and music groups together
# on the performer split) and a permutation test that swaps the same units, Holm-corrected
# within each section's family of comparisons ({ref}`chapter-baselines`); a verdict within Monte
# Carlo error of its threshold is marked borderline. Every sentence that says "above", "below" or "cannot be told
# apart" is generated from those numbers.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.analysis import headline
from percepiano.analysis.page import METRICS, open_page
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import stats

page = open_page()  # the development part; the final exam stays locked
AB = ("mean_r2", "mean_pairwise")  # the metrics every comparison reports (the page's AB adds r)
arch = experiments.load("week1_architecture")
augm = experiments.load("week1_augmentation")
hyb = experiments.load("week1_hybrid")
base = experiments.load("ast_cv")
forest = (experiments.find("forest_baselines") if "forest_baselines" in experiments.REGISTRY
          else None)
default = f"size: {arch.provenance['config']['default']}"
base_oof = stats.by_config(base.oof, "kind")  # the default AST, per split (chapter ast)
glue("n_dimensions", len(DIMENSIONS), display=False)
glue("w1_n_segments", len(page.ds.names), display=False)
glue("w1_seeds", len(arch.provenance["config"]["seeds"]), display=False)
glue("w1_folds", int(arch.provenance["config"]["folds"]), display=False)
glue("w1_default", arch.provenance["config"]["default"], display=False)
ranges = augm.provenance["config"]["ranges"]
glue("w1_tempo_lo", ranges["tempo"][0], display=False)
glue("w1_tempo_hi", ranges["tempo"][1], display=False)
glue("w1_velocity_lo", ranges["velocity"][0], display=False)
glue("w1_velocity_hi", ranges["velocity"][1], display=False)
glue("w1_semitones", max(abs(v) for v in ranges["semitones"]), display=False)


# %% [markdown]
# (sec-week1-size)=
# ## How big a transformer for this dataset?
#
# The sizes are presets of `percepiano.models.ast` (width, depth and heads grow together), all
# with the default whole-band tokens and the spectrogram-aware positions; the layouts and
# positional encodings are then varied at the default size,
# {glue:text}`w1_default`. The cost of training is counted in floating-point operations, not
# seconds: XLA's cost analysis of one compiled training step, times the steps of the epochs
# each fit actually ran before early stopping (machine-independent; the wall times are in the
# table below).

# %% tags=["hide-input"]
arch_summary = page.summary(arch.oof, human=False)
shapes = pd.DataFrame(arch["models"]).T.rename_axis("config")
NUMERIC = ["n_params", "n_tokens", "dim", "depth", "train_gflop_per_step",
           "train_pflop_per_fit", "params_per_sample"]
shapes[NUMERIC] = shapes[NUMERIC].astype(float)
shapes[["n_params", "n_tokens", "dim", "depth"]] = shapes[
    ["n_params", "n_tokens", "dim", "depth"]].astype(int)
arch_table = pd.DataFrame(arch["table"])
fits = arch_table.groupby("config", sort=False)[
    ["train_loss", "best_epoch", "epochs_run", "wall_s", "n_train"]].mean()


def layout(name: str, row) -> str:
    tokens = "16-band" if row.patch[0] < 64 else "whole-band"
    overlap = ", overlapping" if list(row.patch) != list(row.stride) else ""
    return f"{tokens}{overlap}, {row.positional} positions"


r2 = arch_summary[arch_summary.metric == "mean_r2"].set_index("config")
points = shapes.join(r2[["estimate", "ci_lo", "ci_hi"]]).join(fits)
points["layout"] = [layout(n, r) for n, r in points.iterrows()]
points["size"] = [p if n.startswith("size: ") else "" for n, p in points.preset.items()]
points["fit"] = 1.0 - points.train_loss  # training R² of the selected epoch (standardised MSE)
plots.glue_figure("fig_w1_scaling", plots.scaling(
    points.reset_index(), {"n_params": "trainable parameters",
                           "train_pflop_per_fit": "training cost (PFLOP per fit)"},
    hue="layout", label="size"))

arch_oof = stats.by_config(arch.oof, "config", kind="piece")  # split once, read everywhere
versus_arch = page.compare(arch_oof, default, metrics=AB)
sizes = points[points.index.str.startswith("size: ")].sort_values("n_params")
best_size = sizes.estimate.idxmax()
glue("w1_best_size", sizes.loc[best_size, "preset"], display=False)
glue("w1_best_size_params", int(sizes.loc[best_size, "n_params"]), display=False)
glue("w1_best_size_r2", float(sizes.loc[best_size, "estimate"]), display=False)
glue("w1_smallest_params", int(sizes.n_params.min()), display=False)
glue("w1_largest_params", int(sizes.n_params.max()), display=False)
glue("w1_n_sizes", len(sizes), display=False)
glue("w1_ppc_min", float(sizes.params_per_sample.min()), display=False)
ppc_default = points.loc[default, "params_per_sample"]
glue("w1_threshold_sides", f"the smallest preset has {sizes.params_per_sample.min():.0f} "
     "parameters per training segment, "
     f"{'under' if sizes.params_per_sample.min() < 100 else 'already over'} the threshold, and "
     f"the default {ppc_default:.0f}, {'over' if ppc_default >= 100 else 'under'} it",
     display=False)
same = np.allclose(arch_oof[default][list(DIMENSIONS)]
                   .to_numpy(), base_oof["piece"][list(DIMENSIONS)].to_numpy(), atol=1e-5)
display(Markdown(
    f"The sweep ran {len(sizes)} size{'s' if len(sizes) != 1 else ''}, from "
    f"{sizes.n_params.min():,} to "
    f"{sizes.n_params.max():,} parameters. The default size here "
    + ("reproduces the default AST of {ref}`chapter-ast` prediction for prediction, so the two "
       "chapters' numbers are the same model's." if same else
       "does not reproduce the default AST of {ref}`chapter-ast` exactly (the two runs' "
       "predictions differ), so the chapters' numbers come from different runs.")))

# %% [markdown]
# ```{glue:figure} fig_w1_scaling
# :name: fig-w1-scaling
#
# Mean R² on the piece split (pooled out of fold, averaged over {glue:text}`w1_seeds` seeds,
# with {glue:text}`level:.0%` bootstrap intervals over music groups) against the number of trainable
# parameters and against the training cost of one fit; one line per token layout and
# positional encoding (single points: varied at the default size only). Profile
# {glue:text}`profile`.
# ```

# %% tags=["hide-input"]
size_rows = versus_arch[versus_arch.config.str.startswith("size: ")]
display(Markdown(
    "Against the default size, paired over the same folds and seeds (differences with "
    f"{stats.LEVEL:.0%} intervals; Holm's correction over the architecture family): "
    + stats.tally(size_rows, f"the default {default[6:]}", lambda r: r.config[6:])))

# %% [markdown]
# ### Do 100 parameters per sample guarantee overfitting?
#
# The roadmap warns that a model with more than about 100 parameters per training sample
# will overfit. The sweep tests it directly: {glue:text}`w1_threshold_sides`. If the claim held,
# every model above the threshold would generalise worse than the one below it, and the gap
# between its fit to the training data and its score on unseen music would grow with its size.
# The training fit here is 1 minus the training loss of the selected epoch (mean squared error on
# standardised labels, with dropout on, on random crops: a conservative, lower estimate of the
# training R²).

# %% tags=["hide-input"]
ppc = sizes.assign(gap=sizes.fit - sizes.estimate)
below = ppc[ppc.params_per_sample < 100]
above = ppc[ppc.params_per_sample >= 100]
shown = ppc[["n_params", "params_per_sample", "fit", "estimate", "ci_lo", "ci_hi", "gap",
             "best_epoch"]].rename(columns={
                 "n_params": "parameters", "params_per_sample": "per training segment",
                 "fit": "training fit", "estimate": "test R²", "ci_lo": "CI low",
                 "ci_hi": "CI high", "gap": "fit − test", "best_epoch": "selected epoch"})
display(plots.table(shown.set_index(ppc.preset.rename("size")),
                    "Sizes: parameters per training segment (inner training part of each fold), "
                    "training fit at the selected epoch, piece-split test R² with "
                    f"{stats.LEVEL:.0%} intervals, and the selected epoch (mean over folds and "
                    f"seeds; {config.profile()} profile)."))
if len(below) and len(above):
    low = below.iloc[0]
    cmp_low = page.compare({n: arch_oof[n] for n in [low.name] + list(above.index)},
                           low.name, metrics=("mean_r2",))
    better = cmp_low[cmp_low.significant & cmp_low.excludes_zero & (cmp_low.difference > 0)]
    worse = cmp_low[cmp_low.significant & cmp_low.excludes_zero & (cmp_low.difference < 0)]
    trend = np.corrcoef(np.log(above.n_params), above.gap)[0, 1] if len(above) > 2 else np.nan
    text = (f"Under the threshold, {low.preset} ({low.params_per_sample:.0f} parameters per "
            f"segment) reaches test R² {low.estimate:.3f}. Of the {len(above)} sizes above it "
            f"({above.params_per_sample.min():.0f} to {above.params_per_sample.max():.0f} per "
            f"segment), {len(better)} score significantly higher than {low.preset}, "
            f"{len(worse)} significantly lower, and {len(above) - len(better) - len(worse)} "
            "cannot be told apart from it (Holm-corrected over these comparisons). ")
    if len(better):
        text += ("So crossing 100 parameters per sample does not by itself make a model "
                 "generalise worse here: the claim, as a guarantee, does not hold. ")
    elif len(worse) == len(above):
        text += "Every larger model generalises worse, as the claim predicts. "
    elif len(worse):
        text += ("No size above the threshold generalises better than the one below it and "
                 "some generalise worse, which is consistent with the claim without proving "
                 "it. ")
    else:
        text += ("No size above the threshold scores significantly better or worse than the "
                 "one below it: this sweep cannot tell the claim from no effect of size. ")
    if np.isfinite(trend):
        moves = ("grows" if trend > 0.5 else "shrinks" if trend < -0.5
                 else "does not move steadily")
        text += (f"Above the threshold the gap between training fit and test R² {moves} "
                 f"with size (correlation with log parameters {trend:+.2f}). ")
    text += (f"Every fit is early-stopped on its validation fold: the selected epoch averages "
             f"{ppc.best_epoch.min():.1f} to {ppc.best_epoch.max():.1f} (counting from 0) "
             "across sizes.")
    display(Markdown(text))

# %% [markdown]
# ### Token layouts and positional encodings

# %% tags=["hide-input"]
other_rows = versus_arch[~versus_arch.config.str.startswith("size: ")]
cost = points.loc[other_rows.config.unique(), "train_gflop_per_step"] \
    / points.loc[default, "train_gflop_per_step"]
display(Markdown(stats.tally(other_rows, "the default (whole-band tokens, spectrogram-aware "
                                   "positions)") + " Per training step, "
                 + ", ".join(f"{n} cost {c:.1f} times the default" for n, c in cost.items())
                 + "."))
plots.glue_figure("fig_w1_arch_versus", plots.differences(versus_arch))

# %% [markdown]
# ```{glue:figure} fig_w1_arch_versus
# :name: fig-w1-arch-versus
#
# Each size, layout and positional encoding minus the default AST
# ({glue:text}`w1_default`, whole-band tokens, spectrogram-aware positions), in mean R² and
# within-excerpt pairwise accuracy on the piece split: paired differences over the same folds
# and seeds with {glue:text}`level:.0%` bootstrap intervals over music groups; filled points are
# significant after Holm's correction.
# ```

# %% tags=["hide-input"]
arch_shown = points[["n_params", "n_tokens", "train_gflop_per_step", "train_pflop_per_fit",
                     "epochs_run", "wall_s"]].join(
    plots.with_intervals(arch_summary, ["config"], METRICS))
display(plots.table(arch_shown.rename(columns={
    "n_params": "parameters", "n_tokens": "tokens per crop",
    "train_gflop_per_step": "GFLOP per step", "train_pflop_per_fit": "PFLOP per fit",
    "epochs_run": "epochs run", "wall_s": "seconds per cross-validation"}),
    f"Architecture sweep, piece split: pooled out-of-fold metrics (mean over seeds, "
    f"{stats.LEVEL:.0%} bootstrap intervals over music groups), model shape and training cost "
    f"({config.profile()} profile; wall time on {arch.provenance.get('device', 'cpu')}, "
    "which may have been shared)."))

# %% [markdown]
# (sec-week1-augmentation)=
# ## Augmentation
#
# Two augmentations act on the model's input inside the compiled training step: SpecAugment
# zeroes random stripes of time and frequency, mixup trains on convex combinations of two
# examples and their labels. The others change the performance itself and render it again, so
# the spectrogram is exactly that of the changed performance (a test checks that a transposed
# variant's audio equals, sample for sample, the audio of a MIDI file written transposed):
#
# * **tempo**: every event time scaled, the whole performance {glue:text}`w1_tempo_lo` to
#   {glue:text}`w1_tempo_hi` times as fast;
# * **pitch**: transposed {glue:text}`w1_semitones` semitone down or up;
# * **velocity**: every velocity scaled by {glue:text}`w1_velocity_lo` to
#   {glue:text}`w1_velocity_hi`;
# * **soundfont**: played on another piano.
#
# The default soundfont is FluidR3 GM (a stereo-sampled grand); the swap uses TimGM6mb (a small
# General MIDI set with a mono piano). Each segment gets a fixed pool of variants, rendered
# once and cached by content (`percepiano.audio.augment.variant_spectrograms`), and each epoch
# draws one member of the pool (the original or a variant) per segment; variants of segments
# outside a fold's training part are never read. "All MIDI-level" draws tempo, pitch, velocity
# and soundfont together for each variant; "all" adds SpecAugment and mixup. The labels are
# kept: small changes of pace, register, loudness and instrument are assumed not to change
# how raters would judge the playing, an assumption these experiments test only indirectly.

# %% tags=["hide-input"]
acfg = augm.provenance["config"]
glue("w1_pool", int(acfg["pool_size"]), display=False)
glue("w1_secondary", "".join(f'; "{n}" also on the {stats.join_items(list(k))} split'
                             + ("s" if len(k) > 1 else "")
                             for n, k in acfg.get("secondary", {}).items()), display=False)
aug_blocks = {kind: {"default AST": base_oof[kind],
                     **stats.by_config(augm.oof, "config", kind=kind)}
              for kind in dict.fromkeys(augm.oof.kind)}
versus_aug = stats.compare_each(page.y, aug_blocks, "default AST", page.units,
                                page.excerpts, metrics=AB, n_boot=page.n_boot)
piece_aug = versus_aug[versus_aug.block == "piece"]
display(Markdown("On the piece split, each augmentation against the default AST without "
                 "augmentation: " + stats.tally(piece_aug, "the default")))
plots.glue_figure("fig_w1_aug_versus", plots.differences(
    versus_aug.assign(config=versus_aug.config + " (" + versus_aug.block + ")")))

# %% [markdown]
# ```{glue:figure} fig_w1_aug_versus
# :name: fig-w1-aug-versus
#
# Each augmentation minus the default AST without augmentation, in mean R² and within-excerpt
# pairwise accuracy (piece split{glue:text}`w1_secondary`): paired
# differences with {glue:text}`level:.0%` bootstrap intervals over what each split holds out, filled points
# significant after Holm's correction over the whole figure. Pools of
# {glue:text}`w1_pool` rendered variants per segment and kind (one for the soundfont swap).
# ```

# %% tags=["hide-input"]
secondary = versus_aug[versus_aug.block != "piece"]
if len(secondary):
    display(Markdown("On the other splits: " + stats.tally(
        secondary, "the default", lambda r: f"{r.config} ({r.block} split)")))
r2_aug = piece_aug[piece_aug.metric == "mean_r2"].set_index("config")
best_aug = r2_aug.difference.idxmax()
single = r2_aug.loc[[n for n, c in acfg["configs"].items()
                     if n in r2_aug.index and not n.startswith("all")]]
worst = single.difference.idxmin()
if worst == "soundfont" and single.loc[worst, "ci_hi"] < 0:
    display(Markdown(
        "The soundfont swap has the largest R² loss of the single augmentations: "
        + stats.verdict(single.loc[worst], "it", "the default AST") + ". Every "
        "segment the model is tested on is rendered with FluidR3, so "
        + ("" if single.loc[worst, "significant"] else "if the loss is real, ")
        + "a plausible reading is that training on another piano adds a difference between "
        "training and test sound that the labels do not follow, rather than an invariance the "
        "test rewards."))
glue("w1_best_aug", best_aug, display=False)
aug_table = pd.DataFrame(augm["table"])
aug_cost = aug_table[aug_table.kind == "piece"].groupby("config", sort=False).wall_s.mean()
base_wall = pd.DataFrame(base["table"]).query("kind == 'piece'").wall_s.mean()
renders = pd.Series(augm["render_s"])
kinds = {name: c["variants"] for name, c in acfg["configs"].items()}
cost_table = pd.DataFrame({
    "variants rendered": [augm["n_variants"].get(kinds[n], 0) for n in aug_cost.index],
    "render + log-mel (s, once)": [renders.get(kinds[n], 0.0) if kinds[n] else 0.0
                                   for n in aug_cost.index],
    "seconds per cross-validation": aug_cost.to_numpy(),
    "× the default's": aug_cost.to_numpy() / base_wall,
    "R² difference": [r2_aug.loc[n, "difference"] for n in aug_cost.index]},
    index=aug_cost.index.rename("augmentation"))
display(plots.table(cost_table,
                    "What each augmentation costs: variants rendered (cached, shared by every "
                    "seed and fold), the time to render them and compute their log-mels, and "
                    "the training time per piece-split cross-validation beside the default "
                    f"AST's ({base_wall:.0f} s in the AST chapter's run; "
                    f"{config.profile()} profile, a possibly shared machine), with the paired "
                    "R² difference from the default."))

# %% [markdown]
# (sec-week1-hybrid)=
# ## The hybrid: the AST and the descriptors together
#
# The descriptor network reads the same MIDI and audio descriptors as the forest on both
# descriptor sets (`percepiano.features.midi`, `percepiano.features.audio`), standardised on
# each fold's training part: input dropout, then two GELU layers. The hybrid concatenates its
# embedding with the default AST's pooled embedding, and one linear map predicts the
# {glue:text}`n_dimensions` dimensions; it is trained end to end with the AST's loop and recipe.
# The descriptor network alone is the same model without the AST branch, trained the same way.

# %% tags=["hide-input"]
hcfg = hyb.provenance["config"]
glue("w1_n_descriptors", int(hyb["n_descriptors"]), display=False)
features = None
if forest is not None:
    feats = list(dict.fromkeys(forest.oof.features))
    features = hcfg["features"] if hcfg["features"] in feats else feats[0]
aug_best_name = "all" if "all" in set(augm.oof.config) else best_aug
contenders = {}
for kind in hcfg["splits"]:
    block = {f"AST ({default[6:]})": base_oof[kind],
             **stats.by_config(hyb.oof, "config", kind=kind)}
    if ((augm.oof.kind == kind) & (augm.oof.config == aug_best_name)).any():
        block[f"AST + {aug_best_name} augmentation"] = stats.by_config(
            augm.oof, "config", kind=kind)[aug_best_name]
    if kind == "piece" and best_size != default:
        block[f"AST, best size ({best_size[6:]})"] = arch_oof[best_size]
    if features is not None:
        block["forest"] = stats.by_config(forest.oof, "features", kind=kind)[features]
    contenders[kind] = block
reference = "forest" if features is not None else f"AST ({default[6:]})"
versus_forest = stats.compare_each(page.y, contenders, reference, page.units,
                                   page.excerpts, metrics=AB, n_boot=page.n_boot)
ast_row = versus_forest[(versus_forest.block == "piece") & (versus_forest.metric == "mean_r2")
                        & (versus_forest.config == f"AST ({default[6:]})")]
glue("w1_ast_vs_forest", stats.verdict(
    ast_row.iloc[0], "on unseen pieces it", "a random forest on " + {
        "midi": "MIDI", "audio": "audio", "both": "MIDI and audio"}.get(features, features)
    + " descriptors")
     if features is not None and len(ast_row) else
     "no random forest results are stored for this profile to compare it with", display=False)
summary_rows = []
for kind, block in contenders.items():
    oof = pd.concat([p.assign(model=n) for n, p in block.items()])
    summary_rows.append(page.summary(oof, by=["model"], kind=kind).assign(kind=kind))
contender_all = pd.concat(summary_rows, ignore_index=True)
contender_summary = contender_all[contender_all.performances == "all"].drop(
    columns="performances")
plots.glue_figure("fig_w1_contenders", plots.split_bars(
    contender_summary[contender_summary.metric == "mean_r2"], value="estimate", hue="model",
    ci=("ci_lo", "ci_hi")))
forest_name = (f"the forest on {features} descriptors" if features is not None
               else "the default AST")
display(Markdown("On the piece split, against " + forest_name + ": " + stats.tally(
    versus_forest[versus_forest.block == "piece"], "it")))

# %% [markdown]
# ```{glue:figure} fig_w1_contenders
# :name: fig-w1-contenders
#
# Mean R² of the default AST, the AST with augmentation, the descriptor network
# ({glue:text}`w1_n_descriptors` descriptors), the hybrid and the random forest on the same
# descriptors, on the piece, performer and work splits (pooled out of fold, averaged over
# seeds, {glue:text}`level:.0%` bootstrap intervals over what each split holds out; profile
# {glue:text}`profile`).
# ```

# %% tags=["hide-input"]
display(Markdown("On the other splits: " + stats.tally(
    versus_forest[versus_forest.block != "piece"], forest_name,
    lambda r: f"{r.config} ({r.block} split)")))
parts_of = {kind: {n: block[n] for n in (f"AST ({default[6:]})", "descriptor net", "hybrid")}
            for kind, block in contenders.items()}
pairs = []
for other in (f"AST ({default[6:]})", "descriptor net"):
    part = stats.compare_each(page.y, {k: {other: b[other], "hybrid": b["hybrid"]}
                                       for k, b in parts_of.items()}, other, page.units,
                              page.excerpts, metrics=("mean_r2",), n_boot=page.n_boot)
    pairs.append(part)
hybrid_vs = stats.mark(pd.concat(pairs, ignore_index=True))  # Holm over these comparisons
display(Markdown(
    "Does the fusion add anything to its parts? The hybrid against each branch alone, in R² "
    "(Holm's correction over these comparisons): " + " ".join(
        stats.verdict(r, f"On the {r.block} split the hybrid", f"the {r.baseline}") + "."
        for _, r in hybrid_vs.iterrows())))
plots.glue_figure("fig_w1_forest_versus", plots.differences(
    versus_forest.assign(config=versus_forest.config + " (" + versus_forest.block + ")"),
    xlabel=f"difference from {forest_name}"))

# %% [markdown]
# ```{glue:figure} fig_w1_forest_versus
# :name: fig-w1-forest-versus
#
# Every contender minus the random forest on the same folds and seeds, in mean R² and
# within-excerpt pairwise accuracy, on each split: paired differences with
# {glue:text}`level:.0%` bootstrap intervals over what each split holds out; filled points significant after Holm's
# correction over the figure.
# ```

# %% [markdown]
# (sec-week1-verdict)=
# ## The verdict

# %% tags=["hide-input"]
piece = versus_forest[(versus_forest.block == "piece") & (versus_forest.metric == "mean_r2")]
listening = piece[piece.config.str.startswith("AST")]
beats = listening[listening.significant & listening.excludes_zero & (listening.difference > 0)]
best_listening = listening.loc[listening.estimate_config.idxmax()]
hybrid_row = piece[piece.config == "hybrid"]
size_diff = size_rows[(size_rows.config == best_size) & (size_rows.metric == "mean_r2")]
text = []
if len(beats):
    text.append(f"A listening model beats {forest_name} on unseen pieces: "
                + ", ".join(beats.config) + ".")
else:
    text.append(
        f"No model that only listens beats {forest_name} on unseen pieces: the best, the "
        f"{best_listening.config}, reaches R² {best_listening.estimate_config:.3f} against "
        f"{best_listening.estimate_baseline:.3f} (difference "
        f"{best_listening.difference:+.3f}, {stats.LEVEL:.0%} CI {best_listening.ci_lo:+.3f} "
        f"to {best_listening.ci_hi:+.3f}).")
if best_size == default:
    text.append(f"The best size is the default, {default[6:]}.")
elif len(size_diff):
    r = size_diff.iloc[0]
    text.append(f"The best size by R² is {best_size[6:]} "
                f"({sizes.loc[best_size, 'n_params']:,} parameters), "
                + "; " + stats.verdict(r, "it", f"the default ({default[6:]})") + ".")
ra = r2_aug.loc[best_aug]
text.append(f"The augmentation with the largest R² gain on the piece split is {best_aug}: "
            + stats.verdict(ra, "it", "the default AST") + ".")
if len(hybrid_row):
    h = hybrid_row.iloc[0]
    text.append(stats.verdict(h, "With the descriptors, the hybrid", forest_name) + ".")
text.append("Best-of-several figures (the best size, the best augmentation) are selected on "
            "the same cross-validation that scores them, so they are optimistic; the locked "
            "final exam will score the choices once.")
display(Markdown(" ".join(text)))

# %% tags=["hide-input"]
ident = experiments.load("identity_baselines")
shown = contender_all[contender_all.metric.isin(headline.METRICS)]
bar = headline.identity_bar(page.y, ident.oof, page.ds.segments, list(contenders),
                            n_boot=page.n_boot)
display(plots.table(headline.wide(pd.concat([shown, bar], ignore_index=True)),
                    "The week's contenders beside the identity bar (the best identity baseline of "
                    "each split and metric): pooled out-of-fold R² and within-excerpt pairwise "
                    "accuracy on all development performances and on the human ones only, mean "
                    f"over seeds, {stats.LEVEL:.0%} bootstrap intervals over "
                    f"{stats.describe_design(page.units, list(contenders))} "
                    f"({config.profile()} profile)."))

# %% tags=["hide-input"]
walls = {"architecture": arch.provenance.get("wall_time_s"),
         "augmentation": augm.provenance.get("wall_time_s"),
         "hybrid": hyb.provenance.get("wall_time_s")}
display(Markdown(
    "Recomputing this chapter's experiments (`percepiano run week1_architecture "
    "week1_augmentation week1_hybrid`, or `make book RERUN=1`) took "
    + ", ".join(f"{v / 60:.1f} minutes for the {k}" for k, v in walls.items() if v)
    + f" on {arch.provenance.get('device', 'cpu')} ({config.profile()} profile)."))
