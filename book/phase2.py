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
# (chapter-phase2)=
# # A new piece from a few labelled performances
#
# Holding out whole works is the hardest of the splits of {numref}`fig-w3-splits`: the test
# music shares neither notes nor movement with anything the model learned from. A teacher
# meeting a new piece does not start from nothing, though; a few performances of it, rated,
# may be enough to place the rest. This chapter asks how few.
#
# Every work of the development part (a Beethoven WoO 80 variation, a Schubert movement or
# impromptu) is held out in turn. Its segments are split once into a pool that may be labelled
# and a query that every learner is scored on; in each of {glue:text}`fs_draws` draws, the
# first *k* performances of the shuffled pool are labelled, for *k* in
# {glue:text}`fs_ks`, nested, so a curve differs from point to point only in how much of the
# work was labelled. The learners read the performance's MIDI descriptors:
#
# - **mean of the k**: no features at all, the mean rating of the *k* labelled performances
#   (the other works' mean at *k* = 0). Much of a rating is the music, so this is the bar;
# - **forest** and **ridge**: refitted on the other works and the *k* performances, which
#   carry a quarter of the total weight (fixed beforehand, not tuned);
# - **network, head tuned** and **network, all tuned**: a small network trained on the other
#   works, then its last layer, or all of it, fine-tuned on the *k* performances;
# - **Reptile, all tuned**: the same network after Reptile {cite}`nichol2018reptile` over
#   episodes of the other works (each a handful of one work's performances), a
#   meta-learned initialisation from which a few gradient steps on one work go far.
#
# Meta-training draws its episodes from the other works only: a performance of the held-out
# work never reaches it. {glue:text}`fs_works` works are held out in the
# {glue:text}`profile` profile.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import experiments, plots
from percepiano.analysis import fewshot_readings as say
from percepiano.analysis.page import open_page
from percepiano.evaluation import stats

page = open_page()  # the development part; the final exam stays locked
res = experiments.load_or_run("phase2_fewshot")
cfg = res.provenance["config"]
glue("fs_draws", cfg["draws"], display=False)
glue("fs_ks", ", ".join(map(str, cfg["ks"])), display=False)
glue("fs_works", len(res["works"]), display=False)
glue("fs_wall_min", res.provenance.get("wall_time_s", 0.0) / 60, display=False)

# %% [markdown]
# ## The k-shot curve

# %% tags=["hide-input"]
oof = res.oof
summary = page.summary(oof.drop(columns="work"), ["method", "k"], kind="work", human=False)
display(plots.table(plots.with_intervals(summary, ["method", "k"],
                                         {"mean_r2": "R²", "mean_pairwise": "pairwise accuracy"}),
                    f"Each learner with k labelled performances of the held-out work, on its "
                    f"query: pooled metrics averaged over draws, {stats.LEVEL:.0%} bootstrap "
                    "intervals over works."))
plots.glue_figure("fig_fs_curve", say.curve_figure(summary))

# %% [markdown]
# ```{glue:figure} fig_fs_curve
# :name: fig-fs-curve
#
# Pooled R² (left) and within-excerpt pairwise accuracy (right) on the held-out works' query
# performances against the number of labelled performances of the work;
# {glue:text}`level:.0%` bootstrap intervals over works.
# ```
#
# ## The least data that helps
#
# Each learner with *k* labelled performances against the same learner with none, paired over
# the same query performances and draws, with intervals over works and Holm's correction within
# each learner:

# %% tags=["hide-input"]
vs = say.against_no_labels(page, oof)
display(Markdown(say.least_that_helps(vs, "mean_r2") + " "
                 + say.least_that_helps(vs, "mean_pairwise")))
best = say.best_at(summary)
display(Markdown("The learner with the highest pooled R²: "
                 + "; ".join(f"at k = {k}, {m}" for k, m in best.items()) + "."))

# %% [markdown]
# Recomputing this chapter's experiment took {glue:text}`fs_wall_min:.0f` minutes in the
# {glue:text}`profile` profile on this machine.
