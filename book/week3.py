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
# (chapter-week3)=
# # Week 3: ensembles, what the models use, and which split asks what
#
# {ref}`chapter-week2` left two families of models: trees on descriptors, strongest by R², and
# networks that listen, which reach them only when they read the same descriptors. This
# chapter asks three questions:
#
# 1. **Does combining models help, and at what cost?** Plain averages, seed ensembles and
#    bagging {cite}`breiman1996bagging` of the networks, stacked generalisation
#    {cite}`wolpert1992stacked,breiman1996stacked` on inner out-of-fold predictions, gradient-
#    boosted trees {cite}`ke2017lightgbm` beside the forests, and test-time augmentation. An
#    average only helps where its members err differently, so the correlation of their errors
#    is measured too.
# 2. **What do the models use?** The hybrid's pathways (permutation importance
#    {cite}`breiman2001random` of each descriptor group and of the whole audio branch), SHAP
#    values of the boosted trees {cite}`lundberg2017unified,lundberg2020local`, and where the
#    listening branch attends: attention rollout {cite}`abnar2020quantifying`, mean attention
#    distance {cite}`dosovitskiy2021image`, integrated gradients
#    {cite}`sundararajan2017axiomatic`, and whether attention falls on musical events.
# 3. **Which split answers which question?** The same learners on random, piece, performer,
#    composer, work and temporal splits, and whether their ranking holds.
#
# Every comparison is paired over the same {glue:text}`w3_folds` folds and
# {glue:text}`w3_seeds` seeds of the piece split, with bootstrap intervals over music groups and
# permutation tests Holm-corrected within each family ({ref}`chapter-baselines`).

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.analysis import readings as say
from percepiano.analysis import ensemble_figures as F
from percepiano.analysis import figures, headline, pathways
from percepiano.data import dataset
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import stats

plots.style()
ds = dataset.load()  # the development part; the final exam stays locked
y, excerpts = ds.labels[list(DIMENSIONS)], ds.segments.excerpt
units = stats.units_by_kind(ds.segments)
deadpan = headline.deadpan(ds.segments)
n_boot = config.settings().n_boot
METRICS = {"mean_r2": "R²", "mean_r": "r", "mean_pairwise": "pairwise accuracy"}
AB = ("mean_r2", "mean_r", "mean_pairwise")
ens = experiments.load_or_run("week3_ensembles")
cvs = experiments.load_or_run("week3_splits")
interp = experiments.load_or_run("week3_interpret")
ecfg = ens.provenance["config"]
glue("profile", config.profile(), display=False)
glue("level", stats.LEVEL, display=False)
glue("w3_seeds", len(ecfg["seeds"]), display=False)
glue("w3_folds", int(ecfg["folds"]), display=False)
glue("w3_members", int(ecfg["members"]), display=False)
glue("w3_inner", int(ecfg["k_inner"]), display=False)
table = pd.DataFrame(ens["table"])
cost = table.groupby("config", sort=False).fit_s_per_fold.mean()
family = table.drop_duplicates("config").set_index("config").family
preds = stats.by_config(ens.oof, "config", kind="piece")
summ = stats.summarise(y, ens.oof, ["config"], units["piece"], excerpts, metrics=list(METRICS),
                       n_boot=n_boot, deadpan=deadpan)


def shown(names):
    wide = plots.with_intervals(summ[summ.performances == "all"].drop(columns="performances"),
                                ["config"], METRICS)
    human = summ[(summ.performances == "human") & (summ.metric == "mean_pairwise")]
    out = wide.join(human.set_index("config").estimate.rename("pairwise, human only"))
    return out.loc[names].assign(**{"fit s per fold": cost.reindex(names).round(1)})


# %% [markdown]
# (sec-week3-members)=
# ## Six members, and what combining them buys
#
# The members: the random forest and extremely randomised trees {cite}`geurts2006extremely` of
# {ref}`chapter-baselines`; LightGBM, one model per dimension, its settings chosen among a small
# grid on the nested validation fold of each training part; the descriptor network (the
# hybrid's descriptor branch alone); the pretrained listener and the hybrid of
# {ref}`chapter-week2`. All read the same MIDI and audio descriptors. Each member is fitted once
# per fold and seed and shared by every ensemble that uses it, so an ensemble's cost is the sum
# of its members' fitting time (the stack's includes its {glue:text}`w3_inner` inner fits per
# member, which give the stacker predictions no member made on its own training rows).

# %% tags=["hide-input"]
singles = [c for c in family.index if family[c] == "single"]
combos = [c for c in family.index if family[c] in ("average", "stack")
          or (family[c] in ("seeds", "bagging") and c in preds)]
best_single = (summ[(summ.performances == "all") & (summ.metric == "mean_r2")]
               .set_index("config").estimate.loc[singles].idxmax())
display(plots.table(shown(singles + combos),
                    f"Members and ensembles, piece split: pooled out-of-fold metrics (mean over "
                    f"{len(ecfg['seeds'])} seeds, {stats.LEVEL:.0%} bootstrap intervals over "
                    f"music groups; {config.profile()} profile) and the fitting time they cost "
                    f"({ens.provenance.get('device', 'cpu')})."))
ab = stats.compare(y, {k: preds[k] for k in [best_single] + combos + singles if k in preds},
                   best_single, units["piece"], excerpts, metrics=AB, n_boot=n_boot)
glue("w3_best_single", best_single, display=False)
display(Markdown(f"Against the best single member by R², **{best_single}**, paired over the "
                 "same folds and seeds: " + stats.tally(ab, "it")))
plots.glue_figure("fig_w3_ensembles", plots.differences(
    ab, xlabel=f"difference from {best_single}"))

# %% [markdown]
# ```{glue:figure} fig_w3_ensembles
# :name: fig-w3-ensembles
#
# Each member and ensemble minus the best single member, piece split; {glue:text}`level:.0%`
# bootstrap intervals over music groups, filled points significant after Holm's correction.
# ```
#
# ### Do the members err differently?

# %% tags=["hide-input"]
corr = F.error_correlation({k: preds[k].groupby(level=0)[list(DIMENSIONS)].mean()
                            for k in singles}, y)
plots.glue_figure("fig_w3_errors", F.correlation_heatmap(corr))
display(Markdown(say.error_pairs(corr)))

# %% [markdown]
# ```{glue:figure} fig_w3_errors
# :name: fig-w3-errors
#
# Correlation of the members' errors (residuals standardised per dimension, pooled over
# dimensions, averaged over seeds), piece split.
# ```
#
# ### More members, more cost
#
# A seed ensemble averages networks that differ only in their initialisation and the order
# of their data (from the same pretrained weights); bagging fits each on a bootstrap resample
# of the training excerpts. Up to {glue:text}`w3_members` members of each:

# %% tags=["hide-input"]
curves = {"hybrid, seeds": ("hybrid × ", " seeds", "hybrid"),
          "descriptor net, seeds": ("descriptor net × ", " seeds", "descriptor net"),
          "descriptor net, bagged": ("descriptor net × ", " bags", None)}
plots.glue_figure("fig_w3_members", F.members_curve(table, curves))
points = (summ[(summ.performances == "all") & (summ.metric == "mean_r2")]
          .set_index("config").loc[singles + combos]
          .assign(fit_s_per_fold=cost, family=family).reset_index()
          .rename(columns={"ci_lo": "lo", "ci_hi": "hi"}))
plots.glue_figure("fig_w3_cost", F.cost_scatter(points))
display(Markdown(say.members_gain(table, curves)))

# %% [markdown]
# ```{glue:figure} fig_w3_members
# :name: fig-w3-members
#
# Pooled R² against the number of members (left; the band spans the seeds) and against the
# fitting time of all members (right).
# ```
#
# ```{glue:figure} fig_w3_cost
# :name: fig-w3-cost
#
# Every member and ensemble: pooled R² with its {glue:text}`level:.0%` interval against its
# fitting cost per fold.
# ```
#
# ### What the stack learns, and test-time views

# %% tags=["hide-input"]
weights = say.stack_weights(ens["stack_weights"])
display(plots.table(weights, "Mean stacking weight of each member (non-negative ridge per "
                    "dimension, averaged over dimensions, folds and seeds; a weight of zero "
                    "drops the member)."))
tta = []
for net in ("listener", "hybrid"):
    views = {k: v for k, v in preds.items() if k == net or k.startswith(f"{net}, ")}
    tta.append(stats.compare(y, views, net, units["piece"], excerpts, metrics=AB,
                             n_boot=n_boot).assign(network=net))
tta = pd.concat(tta, ignore_index=True)
display(Markdown("Test-time views (a crop grid at a quarter-crop hop, the other soundfont's "
                 "render, the performance transposed a semitone down and up, and all four "
                 "averaged with the original) against the same network's plain prediction: "
                 + " ".join(f"**{n}**: " + stats.tally(tta[tta.network == n], "it")
                            for n in dict.fromkeys(tta.network))))

# %% [markdown]
# (sec-week3-pathways)=
# ## What the models use
#
# The hybrid of the first seed, in each of the four piece folds, predicts its test fold again
# with one descriptor group, or the whole audio branch, permuted across the test segments; the
# R² it loses is what it needs from that pathway that no other pathway supplies. Beside it, the
# mean |SHAP value| of LightGBM per group (in points of the rating scale).

# %% tags=["hide-input"]
perm = pd.DataFrame(interp["permutation"])
shap = pd.DataFrame(interp["shap"])
plots.glue_figure("fig_w3_pathways", F.pathway_heatmap(
    perm.groupby(["group", "dimension"], as_index=False).r2_drop.mean(), "r2_drop",
    "hybrid: R² lost when the pathway is permuted"))
plots.glue_figure("fig_w3_shap", F.pathway_heatmap(
    shap.groupby(["group", "dimension"], as_index=False).mean_abs_shap.mean(), "mean_abs_shap",
    "LightGBM: mean |SHAP| per descriptor group"))
display(Markdown(say.pathways(perm, shap)))

# %% [markdown]
# ```{glue:figure} fig_w3_pathways
# :name: fig-w3-pathways
#
# R² the hybrid loses when one pathway is permuted, by dimension category (mean over folds and
# repeats). "audio branch" permutes the spectrograms, every descriptor intact.
# ```
#
# ```{glue:figure} fig_w3_shap
# :name: fig-w3-shap
#
# LightGBM's mean |SHAP value| per descriptor group and dimension category, on the test folds.
# ```
#
# ### Where the listening branch attends
#
# For the segments rated highest and lowest on two dimensions, the attention rollout of the
# hybrid's listening branch over the first crop of the segment, above its performance: notes
# (opacity by velocity, onsets as red ticks) and sustain-pedal presses (shaded).

# %% tags=["hide-input"]
ex = interp["examples"]
for i, e in enumerate(ex):
    crop = np.asarray(e["crop"]).T
    perf = pathways.performance(ds.segments.midi_path[e["name"]], e["times"][-1] + 0.2)
    fig = figures.plot_rollout(
        None, crop, e["rollout"], e["times"], perf["notes"], perf["pedal"],
        title=f"{plots.short_name(e['dimension'])}: {e['end']}est rated "
              f"({e['rating']:.2f}, predicted {e['prediction']:.2f}), {e['name']}",
        mel=say.pooled_mel(ecfg))
    plots.glue_figure(f"fig_w3_rollout_{i}", fig)
display(Markdown(say.rollout_vs_ig(ex)))

# %% [markdown]
# ```{glue:figure} fig_w3_rollout_0
# :name: fig-w3-rollout
#
# Attention rollout (white) over the log-mel of the segment rated highest on the first
# dimension, above its piano roll; the next figures show the lowest rated and the second
# dimension.
# ```
#
# ```{glue:figure} fig_w3_rollout_1
# ```
#
# ```{glue:figure} fig_w3_rollout_2
# ```
#
# ```{glue:figure} fig_w3_rollout_3
# ```
#
# Pictures of four segments prove little. Over every test segment of every fold, the question is
# whether the time patches holding a musical event get more rollout relevance than the
# segment's patches on average (a ratio of 1: attention ignores the events). The same events
# moved half a crop away give the control: a ratio away from 1 there would come from where
# events fall in a crop, not from attention to them.

# %% tags=["hide-input"]
align = say.alignment_table(interp["alignment"])
display(plots.table(align, f"Relevance on patches holding an event over the mean relevance, "
                    f"with {stats.LEVEL:.0%} bootstrap intervals over segments."))
display(Markdown(say.alignment(interp["alignment"])))
plots.glue_figure("fig_w3_distance",
                  figures.plot_attention_distance(None, np.asarray(interp["distance"])))

# %% [markdown]
# ```{glue:figure} fig_w3_distance
# :name: fig-w3-distance
#
# Mean attention distance per layer of the hybrid's listening branch (mean and standard
# deviation over test segments, in seconds of music).
# ```
#
# (sec-week3-splits)=
# ## Which split answers which question
#
# A split is a question. **Random** folds ask how well a model fills in performances of music
# and performers it has heard; **piece** folds hold out whole excerpts (every performance of
# them), asking about new passages of known works; **performer** folds hold out pianists;
# **composer** trains on one composer and tests on the other; **work** holds out whole works;
# **temporal** trains on the earlier excerpts of each work and tests on the later ones
# ({glue:text}`w3_temporal` segments), the case of a teacher who rated the first pages.

# %% tags=["hide-input"]
scfg = cvs.provenance["config"]
glue("w3_temporal", int(cvs["temporal_test"]), display=False)
clusters = {**units, "temporal": units["piece"]}
s_summ = stats.summarise(y, cvs.oof, ["kind", "learner"], clusters, excerpts,
                         metrics=list(METRICS), n_boot=n_boot)
r2 = (s_summ[s_summ.metric == "mean_r2"]
      .rename(columns={"ci_lo": "lo", "ci_hi": "hi"})[["kind", "learner", "estimate", "lo",
                                                         "hi"]])
plots.glue_figure("fig_w3_splits", F.split_ranking(r2, scfg["splits"]))
wide = plots.with_intervals(s_summ, ["kind", "learner"], METRICS)
display(plots.table(wide, "The descriptor learners on six splits: pooled out-of-fold metrics "
                    f"with {stats.LEVEL:.0%} bootstrap intervals (the split's own units)."))
display(Markdown(say.splits(r2, scfg["splits"])))
wall = sum(r.provenance.get("wall_time_s", 0.0) for r in (ens, cvs, interp))
glue("w3_wall_min", wall / 60, display=False)

# %% [markdown]
# ```{glue:figure} fig_w3_splits
# :name: fig-w3-splits
#
# Left: pooled R² of each learner on each split, with {glue:text}`level:.0%` bootstrap
# intervals over the split's units. Right: the learners' rank within each split.
# ```
#
# Recomputing this chapter's experiments took {glue:text}`w3_wall_min:.0f` minutes in the
# {glue:text}`profile` profile (with the week-2 chapter's pretrained listeners and the
# augmentation chapter's renders in the cache).
