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
# (chapter-interpret)=
# # What the models use
#
# {ref}`chapter-week3` combined the models; this chapter opens one of them, the hybrid of
# {ref}`chapter-week2` (concatenation of the pretrained listener's embedding and the forests'
# descriptors), and asks what it relies on. Three views, from the coarsest:
#
# 1. **Its pathways**: the R² it loses when one group of descriptors, or the whole audio
#    branch, is permuted across the test segments (permutation importance
#    {cite}`breiman2001random`), beside the SHAP values {cite}`lundberg2017unified,lundberg2020local`
#    of the boosted trees per descriptor group;
# 2. **where its listening branch attends**: attention rollout {cite}`abnar2020quantifying`
#    over the spectrogram, drawn above the performance, mean attention distance per layer
#    {cite}`dosovitskiy2021image`, and integrated gradients {cite}`sundararajan2017axiomatic`
#    for the same segments;
# 3. **whether attention falls on musical events** (note onsets, sustain-pedal changes,
#    loudness peaks): a ratio with an interval over every test segment, against a control.
#
# The hybrid is the first seed's, fitted in each of the {glue:text}`in_folds` piece folds;
# every view reads the fold's test segments only.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import experiments, plots
from percepiano.analysis import ensemble_figures as F
from percepiano.analysis import figures, pathways
from percepiano.analysis import readings as say
from percepiano.analysis.page import open_page
from percepiano.data.dataset import SCALE_MAX
from percepiano.evaluation import stats

page = open_page()  # the development part; the final exam stays locked
interp = experiments.load("week3_interpret")
icfg = interp.provenance["config"]
glue("in_folds", int(icfg["folds"]), display=False)
glue("in_r2", float(interp["pooled_r2"]), display=False)
glue("in_wall_min", interp.provenance.get("wall_time_s", 0.0) / 60, display=False)

# %% [markdown]
# (sec-interpret-pathways)=
# ## The hybrid's pathways
#
# The hybrid (pooled out-of-fold R² {glue:text}`in_r2:.3f` in this run) predicts its test fold
# again with one descriptor group, or the whole audio branch, permuted across the test segments;
# the R² it loses is what it needs from that pathway that no other pathway supplies. Beside it, the
# mean |SHAP value| of LightGBM per group (in points of the rating scale).

# %% tags=["hide-input"]
perm = pd.DataFrame(interp["permutation"])
shap = pd.DataFrame(interp["shap"])
plots.glue_figure("fig_in_pathways", F.pathway_heatmap(
    perm.groupby(["group", "dimension"], as_index=False).r2_drop.mean(), "r2_drop",
    "hybrid: R² lost when the pathway is permuted"))
plots.glue_figure("fig_in_shap", F.pathway_heatmap(
    shap.groupby(["group", "dimension"], as_index=False).mean_abs_shap.mean(), "mean_abs_shap",
    "LightGBM: mean |SHAP| per descriptor group"))
display(Markdown(say.pathways(perm, shap)))

# %% [markdown]
# ```{glue:figure} fig_in_pathways
# :name: fig-in-pathways
#
# R² the hybrid loses when one pathway is permuted, by dimension category (mean over folds and
# repeats). "audio branch" permutes the spectrograms, every descriptor intact.
# ```
#
# ```{glue:figure} fig_in_shap
# :name: fig-in-shap
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
    perf = pathways.performance(page.ds.segments.midi_path[e["name"]], e["times"][-1] + 0.2)
    fig = figures.plot_rollout(
        None, crop, e["rollout"], e["times"], perf["notes"], perf["pedal"],
        title=f"{plots.short_name(e['dimension'])}: {e['end']}est rated "
              f"({e['rating'] * SCALE_MAX:.1f} of 7, predicted "
              f"{e['prediction'] * SCALE_MAX:.1f}), {e['name']}",
        mel=say.pooled_mel(icfg))
    plots.glue_figure(f"fig_in_rollout_{i}", fig)
display(Markdown(say.rollout_vs_ig(ex)))

# %% [markdown]
# ```{glue:figure} fig_in_rollout_0
# :name: fig-in-rollout
#
# Attention rollout (white) over the log-mel of the segment rated highest on the first
# dimension, above its piano roll.
# ```
#
# ```{glue:figure} fig_in_rollout_1
#
# The same for the segment rated lowest on the first dimension.
# ```
#
# ```{glue:figure} fig_in_rollout_2
#
# The same for the segment rated highest on the second dimension.
# ```
#
# ```{glue:figure} fig_in_rollout_3
#
# The same for the segment rated lowest on the second dimension.
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
plots.glue_figure("fig_in_distance",
                  figures.plot_attention_distance(None, np.asarray(interp["distance"])))

# %% [markdown]
# ```{glue:figure} fig_in_distance
# :name: fig-in-distance
#
# Mean attention distance per layer of the hybrid's listening branch (mean and standard
# deviation over test segments, in seconds of music).
# ```
#
# Recomputing this chapter's experiment took {glue:text}`in_wall_min:.0f` minutes in the
# {glue:text}`profile` profile (with the week-2 chapter's pretrained listeners in the cache).
