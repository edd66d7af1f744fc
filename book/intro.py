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
# (chapter-intro)=
# # Hearing how it is played
#
# Give a listener a few bars of Schubert played by a student and ask: is the timing stable or
# unstable? The pedalling dry or wet? The sound bright or dark? Is the interpretation convincing?
# PercePiano {cite}`park2024percepiano` collected such judgements for
# {glue:text}`n_segments` short performance segments on {glue:text}`n_dimensions` perceptual
# dimensions, each rated by several listeners. This book asks how well a model can predict those
# judgements from the performance itself, and, above all, how much of what it predicts is about
# *how* the music is played rather than *which* music it is.
#
# The question is harder than a leaderboard makes it look. The dataset is small
# ({glue:text}`n_excerpts` distinct excerpts played by {glue:text}`n_human` human performers), the
# labels are means of {glue:text}`ratings_min` to {glue:text}`ratings_max` noisy ratings, and the
# same excerpt appears many times, played by different people. A model that recognises the
# excerpt can score well without listening to the playing at all. The first chapters therefore
# set the bar before any model is trained:
#
# * {ref}`chapter-data` describes the segments, the ratings and how much of the label variance
#   lies between excerpts, and measures the *noise ceiling*: how well any model could do, given
#   how much the listeners disagree;
# * {ref}`chapter-baselines` shows what predictions that know only *which* excerpt or *who* plays
#   reach on each way of splitting the data, and where published models stand.
#
# Then the listening models:
#
# * {ref}`chapter-ast` trains a small Audio Spectrogram Transformer from scratch on a CPU and
#   measures it against that bar;
# * {ref}`chapter-week1` sizes it for this dataset, augments its training data with
#   exact re-renderings of each performance, and fuses it with the descriptors, asking whether
#   any listening model beats a random forest on MIDI descriptors;
# * {ref}`chapter-listener` teaches it what the MIDI knows: an auxiliary head that predicts the
#   descriptors, pretraining on expressive re-renderings with exact descriptors, and masked-patch
#   pretraining.
#
# ## How to read this book
#
# Every chapter is a notebook executed when the book is built. Its code is hidden behind the
# "Show code cell source" buttons: each cell only calls the `percepiano` package, where every
# model, metric and statistic lives with its tests. Numbers in the text are computed at build
# time and inserted into the prose, never typed; every figure has a caption that says what to
# see in it; every table says which split, profile and seeds it comes from.
#
# (sec-profiles)=
# ## Profiles
#
# One switch, `PERCEPIANO_PROFILE`, sets how much work each experiment does. Results of different
# profiles are stored apart (`results/<profile>/<experiment>/`) and never mixed. This build uses
# the **{glue:text}`profile`** profile.

# %% tags=["remove-cell"]
import pandas as pd
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.data import dataset

ds = dataset.load(part="all")  # descriptive: the whole dataset, final exam included
info = dataset.summary(ds)
glue("n_segments", info["segments"], display=False)
glue("n_dimensions", info["dimensions"], display=False)
glue("n_excerpts", info["excerpts"], display=False)
glue("n_human", int(ds.segments.performer.nunique()
                    - ds.segments[ds.segments.is_score].performer.nunique()), display=False)
glue("ratings_min", int(info["ratings_per_segment"]["min"]), display=False)
glue("ratings_max", int(info["ratings_per_segment"]["max"]), display=False)
glue("profile", config.profile(), display=False)

# %% tags=["remove-input"]
purpose = {"smoke": "tests and the book check: seconds, checks the code runs",
           "quick": "a reader on a 2-core CPU: minutes, the default",
           "full": "the published configuration: a GPU, or patience"}
rows = {}
for name in config.PROFILES:
    s = config.settings(name)
    rows[name] = {"for": purpose[name], "CV folds": s.folds, "seeds": len(s.seeds),
                  "ceiling splits": s.ceiling_splits,
                  "forest descriptors": ", ".join(s.forest_features),
                  "segments (descriptor models)": s.max_segments or "all"}
plots.table(pd.DataFrame(rows).T.rename_axis("profile"),
            "What each profile runs (percepiano.config.settings).")

# %% [markdown]
# (sec-rerun)=
# ## Re-running the experiments
#
# `make book` builds from the results stored in `results/<profile>/`. Stored results are
# *current* when both their configuration and the code they ran (the experiment's module and every
# module of the package it imports, comments and docstrings aside) match the checkout; otherwise
# they are *stale* and the experiment runs again while its chapter executes. The table below says,
# for this profile, which stored results are current, and where, when and from which commit they
# were computed; `tree` says whether that commit's working tree was clean.

# %% tags=["remove-input"]
plots.table(experiments.provenance_table(),
            f"Stored results of the {config.profile()} profile "
            "(stale (config) / stale (code): the configuration / the code changed since; "
            "commit + = computed from uncommitted changes).", digits=1)

# %% [markdown]
# :::{admonition} Re-running on a GPU
# :class: tip
#
# The `quick` profile runs on a laptop CPU. The `full` profile is the published configuration;
# its training experiments want an accelerator. On a machine with a CUDA GPU, install JAX with
# CUDA support (`pip install -U "jax[cuda12]"`) in the project's environment, then
#
# ```bash
# make book RERUN=1 PROFILE=full        # recompute everything, then build
# percepiano run identity_baselines --profile full   # or one at a time
# percepiano verify data_ceiling --profile full       # re-run, compare with stored
# ```
#
# JAX uses the GPU without further settings; each `provenance.json` records the device, the
# commit, the package versions and the wall time of the run that produced it.
# :::
