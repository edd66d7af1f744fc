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
# and a query that every learner is scored on, the copies of one recording (PercePiano files
# some under several names, or cuts one segment from another's recording) all on one side;
# in each of {glue:text}`fs_draws` draws, the
# first *k* performances of the shuffled pool are labelled, for *k* in
# {glue:text}`fs_ks`, nested, so a curve differs from point to point only in how much of the
# work was labelled. The learners read the performance's MIDI descriptors, all but one that
# listens to its sound:
#
# - **mean of the k**: no features at all, the mean rating of the *k* labelled performances
#   (the other works' mean at *k* = 0). Much of a rating is the music, so this is the bar;
# - **forest** and **ridge**: refitted on the other works and the *k* performances, which
#   carry a quarter of the total weight (fixed beforehand, not tuned); ridge's penalty is
#   chosen by cross-validation over the other works;
# - **ridge on listener embeddings**: the same ridge on what a listener hears: the pooled
#   embedding of the listener chapter's best recipe, pretrained without any rating (masked
#   patches, then descriptors) on every development segment's sound, and frozen. This is the
#   linear probe of few-shot transfer {cite}`tian2020rethinking`, and of the frozen
#   foundation models whose collapse on unseen works opened this chapter. The pretraining
#   heard the held-out work's audio but never its ratings, as a foundation model may have
#   heard the music it is probed on;
# - **network (head tuned)** and **network (all tuned)**: a small network trained on the other
#   works with the week-2 descriptor network's recipe (dropout, early stopping on held-out
#   works), then its last layer, or all of it, fine-tuned on the *k* performances;
# - **Reptile (all tuned)**: the same network after Reptile {cite}`nichol2018reptile` over
#   episodes of the other works (each a handful of one work's performances), a
#   meta-learned initialisation from which a few gradient steps on one work go far.
#
# Meta-training draws its episodes from the other works only: a performance of the held-out
# work never reaches it. {glue:text}`fs_works` works are held out in the
# {glue:text}`profile` profile.
#
# These learners are a second version. After a first run on these same works, the networks
# were given the week-2 recipe (dropout, early stopping on held-out works), ridge's penalty
# came to be chosen by cross-validation over the other works, and ridge on listener
# embeddings was added. The curve is therefore not free of choices made with these works'
# results in view.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import experiments, plots
from percepiano.analysis import fewshot_readings as say
from percepiano.analysis.page import open_page
from percepiano.evaluation import stats

page = open_page()  # the development part; the final exam stays locked
res = experiments.load("phase2_fewshot")
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
# ## What the pooled R² counts

# %% tags=["hide-input"]
placing = say.placing_numbers(res["table"], oof)
for name, value in placing.items():
    glue(f"fs_{name}" if name in ("query_rows", "top_rows", "top", "placed_r2", "kmax")
         else f"fs_forest_{name}", value, display=False)
display(plots.table(say.placing_table(res["table"]),
                    "Each learner's R² on the held-out works' query at the smallest and the "
                    "largest k, split three ways: pooled (every query performance against the "
                    "mean of all), per work (each work's query against its own mean, works "
                    "weighted equally: the mean and the median over works) and within works (R² "
                    "of the deviations from each work's query mean); point estimates, the mean "
                    f"over {cfg['draws']} draws, {cfg['profile']} profile. The last row "
                    "predicts each work's true query mean.", digits=3))

# %% [markdown]
# The pooled R² scores every query performance of every work against the mean of all of
# them, so it counts placing each work's ratings as a whole as well as telling a work's
# performances apart, and it weighs the works by their query size:
# {glue:text}`fs_top_rows` of the {glue:text}`fs_query_rows` query performances come from the
# {glue:text}`fs_top` largest works. Predicting each work's true query mean, and nothing
# within it, scores a pooled R² of {glue:text}`fs_placed_r2:.3f`; the forest with no labelled
# performance scores {glue:text}`fs_forest_pooled_k0:.3f`. Its R² per work, each work's query
# on its own and the works weighted equally, is {glue:text}`fs_forest_per_work_k0:.2f` (mean)
# and {glue:text}`fs_forest_per_work_median_k0:.2f` (median), and
# {glue:text}`fs_forest_per_work_kmax:.2f` and {glue:text}`fs_forest_per_work_median_kmax:.2f`
# with {glue:text}`fs_kmax` labelled performances. Within works (labels and predictions each
# centred on their work's query mean, so only the spread about it counts) it is
# {glue:text}`fs_forest_within_k0:.3f` and {glue:text}`fs_forest_within_kmax:.3f`.

# %% [markdown]
# ## From one composer to the other
#
# The composer split is the extreme of {numref}`fig-w3-splits`: a model learns from one
# composer's performances and is scored on the other's, Beethoven's variations from
# Schubert's sonata movements and impromptu, and back. Part of the loss is in the inputs:
# the same descriptor may mean another thing in another style, since how long the pedal is
# held, or how much the tempo moves, depends on the music as well as on the player. Two
# unsupervised
# adaptations align the inputs, reading the other composer's descriptors but never its
# ratings: **per-composer standardisation** (each descriptor said relative to its own
# composer's performances) and **CORAL** {cite}`sun2016return`, which also matches the
# correlations between descriptors. Each is compared with the same learner on the
# descriptors as they are, paired over every segment (each scored by a model trained on the
# other composer), with intervals over music groups.

# %% tags=["hide-input"]
tr = experiments.load("phase2_transfer")
tsum = say.transfer_summary(page, tr.oof)
display(plots.table(plots.with_intervals(tsum, ["scored on", "config"],
                                         {"mean_r2": "R²", "mean_pairwise": "pairwise accuracy"}),
                    f"Each learner trained on one composer and scored on the other (scored on: "
                    f"the composer scored; both: every segment), pooled metrics averaged over "
                    f"seeds, {stats.LEVEL:.0%} bootstrap intervals over music groups."))
plots.glue_figure("fig_fs_transfer", say.transfer_figure(tsum))
tvs = say.transfer_against_plain(page, tr.oof)
display(Markdown(say.transfer_text(tvs)))
display(Markdown(say.label_shift(page.y, page.ds.segments.composer)))
glue("tr_wall_min", tr.provenance.get("wall_time_s", 0.0) / 60, display=False)

# %% [markdown]
# ```{glue:figure} fig_fs_transfer
# :name: fig-fs-transfer
#
# Pooled R² (left) and within-excerpt pairwise accuracy (right) of each learner trained on one
# composer's performances and scored on the other's, as the descriptors are and after each
# adaptation; {glue:text}`level:.0%` bootstrap intervals over music groups. The grey lines
# mark what predicting the mean rating scores (R²) and chance (pairwise accuracy).
# ```
#
# An alignment of the descriptors cannot move the mean of the ratings: if one composer's
# performances are rated more blurred on average, a model that never saw a rating of that
# composer cannot know by how much. A few labelled performances of the new music, as in the
# first half of this chapter, are what tells it.
#
# ### What this dataset cannot tell
#
# Two composers of one tradition, rated by listeners of one musical culture, played on one
# instrument and heard as renderings: transfer across *styles* is the furthest this data
# reaches. Whether the dimensions mean the same to listeners of other musical cultures is a
# question about raters, and studies of emotion in music find both shared cues and
# culture-specific ones {cite}`balkwill1999cross,fritz2009universal`. A study of it would
# need the same performances rated by panels from several cultures (a crossed design, so
# that the music and the listeners' background can be told apart), a vocabulary of
# dimensions translated and checked for each culture rather than assumed, and repertoire
# beyond the Austro-German canon, including music the raters know unequally. Other
# instruments change the dimensions themselves: pedalling is the piano's; bowing,
# breath and intonation take its place elsewhere, although performers on every instrument
# use largely the same code of tempo, loudness and articulation to express
# {cite}`juslin2003communication`. Such a study would need each instrument's own dimensions,
# recordings of real instruments in real rooms rather than renderings, and ratings collected
# as PercePiano's were {cite}`park2024percepiano`, or at scale as in the Con Espressione game
# {cite}`cancino2020characterization`.

# %% [markdown]
# ## Why a score: explanations in musical terms
#
# A teacher handed a score wants a reason. `percepiano explain take.mid` prints, for each
# dimension, the score with its interval and one sentence: the descriptor that moved the
# final model's prediction furthest in the direction it went, in musical words, and where the
# take stands on it among the PercePiano performances. The amounts are SHAP values of the
# forest {cite}`lundberg2017unified,lundberg2020local`, computed exactly; they explain the
# model, not the raters.
#
# To read the sentences beside the ratings, every development performance is explained by
# the final model's recipe fitted without its fold of the piece split, so no explanation
# comes from a model that saw the rating it is compared with. Three performances of different
# works, drawn at random, on the six dimensions where the raters heard each furthest from the
# average:

# %% tags=["hide-input"]
ex = experiments.load("phase2_explain")
shown = pd.DataFrame(ex["explanations"])
for name in ex["examples"]:
    display(plots.table(say.example_table(shown, name),
                        f"{name}: the raters' mean rating (1-7) and the explanation "
                        "`percepiano explain` prints, from a model that never saw it."))
agree = pd.DataFrame(ex["agreement"])
display(Markdown(say.agreement_text(agree, ex["segments"])))
glue("ex_wall_min", ex.provenance.get("wall_time_s", 0.0) / 60, display=False)

# %% [markdown]
# The reason is chosen among the descriptors that push the way the prediction leans, so
# pointing the raters' way is first of all the model leaning the raters' way; whether the
# named descriptor is *why* the raters heard it so only a listening test that varies it could
# say.
#
# Recomputing this chapter's experiments took {glue:text}`fs_wall_min:.0f` minutes (few-shot),
# {glue:text}`tr_wall_min:.1f` minutes (transfer) and {glue:text}`ex_wall_min:.1f` minutes
# (explanations) in the {glue:text}`profile` profile on this machine.
