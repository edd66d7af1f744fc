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
# # Week 3: ensembles, and which split asks what
#
# {ref}`chapter-week2` left two families of models: trees on descriptors, strongest by R², and
# networks that listen, which reach them only when they read the same descriptors. This
# chapter asks two questions, and {ref}`chapter-interpret` a third (what the models use):
#
# 1. **Does combining models help, and at what cost?** Plain averages, seed ensembles and
#    bagging {cite}`breiman1996bagging` of the networks, stacked generalisation
#    {cite}`wolpert1992stacked,breiman1996stacked` on inner out-of-fold predictions, gradient-
#    boosted trees {cite}`ke2017lightgbm` beside the forests, and test-time augmentation. An
#    average only helps where its members err differently, so the correlation of their errors
#    is measured too.
# 2. **Which split answers which question?** The same learners on random, piece, performer,
#    composer, work and temporal splits, and whether their ranking holds.
#
# Every comparison is paired over the same {glue:text}`w3_folds` folds and
# {glue:text}`w3_seeds` seeds of the piece split, with bootstrap intervals over music groups and
# permutation tests Holm-corrected within each family ({ref}`chapter-baselines`).

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.analysis import ensemble_figures as F
from percepiano.analysis import readings as say
from percepiano.analysis.page import METRICS, Page, open_page
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import stats

page = open_page()  # the development part; the final exam stays locked
y = page.y
ens = experiments.load("week3_ensembles")
cvs = experiments.load("week3_splits")
ecfg = ens.provenance["config"]
glue("w3_seeds", len(ecfg["seeds"]), display=False)
glue("w3_folds", int(ecfg["folds"]), display=False)
glue("w3_members", int(ecfg["members"]), display=False)
glue("w3_inner", int(ecfg["k_inner"]), display=False)
table = pd.DataFrame(ens["table"])
cost = table.groupby("config", sort=False).fit_s_per_fold.mean()
family = table.drop_duplicates("config").set_index("config").family
preds = stats.by_config(ens.oof, "config", kind="piece")
summ = page.summary(ens.oof)


def shown(names):
    return Page.shown(summ).loc[names].assign(**{"fit s per fold": cost.reindex(names).round(1)})


# %% [markdown]
# (sec-week3-members)=
# ## Six members, and what combining them buys
#
# The members: the random forest and extremely randomised trees {cite}`geurts2006extremely` of
# {ref}`chapter-baselines`; LightGBM, one model per dimension, its settings chosen among a small
# grid on the nested validation fold of each training part (the learner itself, its fixed
# settings and that grid were picked earlier by probing these same piece folds, which flatters
# it here a little; the final exam is the check); the descriptor network (the
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
ab = page.compare({k: preds[k] for k in [best_single] + combos + singles if k in preds},
                  best_single)
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
    tta.append(page.compare(views, net).assign(network=net))
tta = pd.concat(tta, ignore_index=True)
display(Markdown("Test-time views (a crop grid at a quarter-crop hop, the other soundfont's "
                 "render, the performance transposed a semitone down and up, and all four "
                 "averaged with the original) against the same network's plain prediction: "
                 + " ".join(f"**{n}**: " + stats.tally(tta[tta.network == n], "it")
                            for n in dict.fromkeys(tta.network))))

# %% [markdown]
# (sec-week3-splits)=
# ## Which split answers which question
#
# A split is a question. **Random** folds ask how well a model fills in performances of music
# and performers it has heard; **piece** folds hold out whole music groups (excerpts that
# share notes, with every performance of them), asking about new passages of known works;
# **performer** folds hold out pianists; **composer** trains on one composer and tests on the
# other; **work** holds out whole works. **Temporal** holds out, in each work, the music heard
# last: the last {glue:text}`w3_temporal_share:.0%` of its music groups by the first bar at
# which each is heard ({glue:text}`w3_temporal` segments), and trains on the rest. A repeat
# of earlier music stays with that music, so nothing is on both sides: it is the case of a
# teacher who rated the first pages of a work and is handed the last ones.

# %% tags=["hide-input"]
scfg = cvs.provenance["config"]
glue("w3_temporal", int(cvs["temporal_test"]), display=False)
glue("w3_temporal_share", float(scfg["temporal_share"]), display=False)
s_summ = page.summary(cvs.oof, ["kind", "learner"], kind=None, human=False)
r2 = (s_summ[s_summ.metric == "mean_r2"]
      .rename(columns={"ci_lo": "lo", "ci_hi": "hi"})[["kind", "learner", "estimate", "lo",
                                                         "hi"]])
plots.glue_figure("fig_w3_splits", F.split_ranking(r2, scfg["splits"]))
wide = plots.with_intervals(s_summ, ["kind", "learner"], METRICS)
display(plots.table(wide, "The descriptor learners on six splits: pooled out-of-fold metrics "
                    f"with {stats.LEVEL:.0%} bootstrap intervals (the split's own units)."))
display(Markdown(say.splits(r2, scfg["splits"])))
wall = sum(r.provenance.get("wall_time_s", 0.0) for r in (ens, cvs))
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
