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
# (chapter-week4)=
# # Week 4: every system, its errors, its limits
#
# Three weeks built many systems, each in its own chapter against its own reference. This
# chapter puts them side by side on the same segments, folds and seeds, asks where all of
# them fail, how they hold up when the sound is worse than what they learned from, and how
# far their stated uncertainty can be trusted. It reads only development results: the
# locked final exam comes in the next chapter, once, for the systems chosen here.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import numpy as np
from IPython.display import Audio, Markdown, display
from myst_nb import glue

from percepiano import experiments, plots
from percepiano.analysis import calibration, errors, final, headline, systems
from percepiano.analysis import robustness_readings as robust
from percepiano.analysis import week4_readings as say
from percepiano.analysis.final import descriptor_columns
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import small_g, stats
from percepiano.evaluation.verdicts import tally
from percepiano.analysis.page import open_page
from percepiano.audio import perturb, render
from percepiano.models import forest

page = open_page()  # the development part; the final exam stays locked
oof, recipe = systems.collect(experiments.load, page.y)
glue("w4_systems", oof.system.nunique(), display=False)
glue("w4_recipe", recipe, display=False)
glue("w4_recipe_note", systems.transductive_note(recipe), display=False)
glue("w4_target", systems.TARGET_R, display=False)
glue("w4_tempo", max(abs(x - 1) for x in perturb.LEVELS["tempo"]), display=False)
glue("w4_share", errors.WORST_SHARE, display=False)
METRICS = ["mean_r2", "mean_r", "mean_within_rho", "mean_pairwise"]
summary = stats.summarise(page.y, oof, ["system", "kind"], page.units, page.excerpts, METRICS,
                          page.n_boot, deadpan=page.deadpan)

# %% [markdown]
# ## The results table
#
# {glue:text}`w4_systems` systems, each read from the out-of-fold predictions its chapter
# stored: the forests, extremely randomised trees and LightGBM on the descriptors, the AST of
# every size, the pretrained listener, the descriptor network and the hybrid, the ensembles
# and stacks of week 3, and the best recipe of week 2 ({glue:text}`w4_recipe`, chosen as the
# best of that chapter's configurations on these same folds, which
# flatters it{glue:text}`w4_recipe_note`). Every
# metric is pooled over the out-of-fold predictions, averaged over the 19 dimensions and
# over seeds, with a {glue:text}`level:.0%` cluster-bootstrap interval over what the split
# generalises over; "human only" leaves out the deadpan renderings of the score.

# %% tags=["hide-input"]
for kind in systems.SHOWN_KINDS:  # a small profile runs some splits only
    table = systems.split_table(summary, kind)
    if table is not None:
        display(plots.table(table, f"{kind.capitalize()} split: every system that ran on it, "
                            f"best R² first; {stats.LEVEL:.0%} bootstrap intervals."))
ceiling = experiments.load("data_ceiling")
bars = headline.identity_bar(page.y, experiments.load("identity_baselines").oof,
                             page.ds.segments, list(systems.SHOWN_KINDS), n_boot=page.n_boot)
plots.glue_figure("fig_w4_systems", say.systems_figure(summary,
                                                       systems.references(ceiling, bars)))
best, sentence = say.best_text(summary, exclude=(systems.BEST_WEEK2,))
display(Markdown(sentence))
glue("w4_best", best, display=False)

# %% [markdown]
# ```{glue:figure} fig_w4_systems
# :name: fig-w4-systems
#
# Every system's pooled R² (top) and within-excerpt pairwise accuracy (bottom) on the three
# splits, with {glue:text}`level:.0%` bootstrap intervals; the dashed lines are the noise
# ceiling of {ref}`sec-data-ceiling` and each split's identity bar (the best baseline that
# knows only who plays and which music).
# ```
#
# ## Against the best system
#
# Each system of the piece split against {glue:text}`w4_best`, the one with the highest
# point estimate there (the best week-2 recipe left out, since it was itself chosen on these
# folds), paired over the same segments, folds and seeds, with a permutation test and Holm's
# correction over the whole family:

# %% tags=["hide-input"]
versus = stats.compare(page.y, systems.pairable(oof), best, page.units["piece"],
                       page.excerpts, metrics=("mean_r2", "mean_r", "mean_pairwise"),
                       n_boot=page.n_boot)
plots.glue_figure("fig_w4_versus", plots.differences(versus, xlabel=f"difference from the "
                                                                     f"{best}"))
display(Markdown(tally(versus, best)))
own = systems.own_designs(experiments.load)
display(plots.table(systems.own_table(page.y, own, page.units, page.excerpts, page.n_boot),
                    "Systems scored with designs of their own, not paired with the table "
                    "above: the transcription route on the segments it transcribed, and the "
                    "forest given labelled performances of each held-out work (on its query "
                    f"performances); {stats.LEVEL:.0%} bootstrap intervals."))

# %% [markdown]
# ```{glue:figure} fig_w4_versus
# :name: fig-w4-versus
#
# Each system minus the best one, paired, with {glue:text}`level:.0%` bootstrap intervals over
# music groups; filled points are significant after Holm's correction.
# ```
#
# ## The roadmap's targets
#
# The roadmap asked for a pooled r above {glue:text}`w4_target` on timing, dynamics and musical expression (the
# music-making dimensions). Here is the best system's r on each of those dimensions beside
# the ceiling the raters' own agreement sets:

# %% tags=["hide-input"]
best_oof = systems.pairable(oof)[best]
targets = systems.targets(page.y, best_oof, page.units["piece"], ceiling["ceiling_r"],
                          page.n_boot)
plots.glue_figure("fig_w4_targets", say.targets_figure(targets, systems.TARGET_R))
display(Markdown(say.targets_text(targets, systems.TARGET_R, best)))

# %% [markdown]
# ```{glue:figure} fig_w4_targets
# :name: fig-w4-targets
#
# Pooled out-of-fold r of the best system on the dimensions of the roadmap's targets, with
# {glue:text}`level:.0%` bootstrap intervals over music groups; open diamonds are each
# dimension's noise ceiling, the dashed line the target.
# ```
#
# ## Where every system fails
#
# The mean absolute error of the best system (points of the 1-7 scale) by dimension, by work
# and by performer, hardest first, with intervals from a bootstrap over music groups:

# %% tags=["hide-input"]
mean_pred = best_oof.groupby(level=0)[list(DIMENSIONS)].mean()
seg = page.ds.segments
for title, groups in (("dimension", None), ("work", seg.piece), ("performer", seg.performer)):
    table = errors.group_errors(page.y, mean_pred, groups, page.units["piece"], page.n_boot)
    if groups is None:
        table["group"] = table.group.map(plots.short_name)
    display(plots.table(table.head(8).rename(columns={"group": title}),
                        f"The {best}'s hardest {title}s: mean absolute error (1-7 points), "
                        f"{stats.LEVEL:.0%} intervals over music groups."))
dis = errors.against_disagreement(page.y, mean_pred, page.ds.recomputed_std(),
                                  page.ds.rated.groupby("name").size().reindex(page.y.index)
                                  .fillna(0))
display(Markdown("Are these errors the model's, or the raters'? "
                 + say.disagreement_text(dis)))

# %% [markdown]
# Some performances no system gets right: those in the worst {glue:text}`w4_share:.0%` of
# every system's errors.
# Each below with its sound (the rendering every audio model heard) and a reading of the
# descriptors on which it stands furthest from the other development performances:

# %% tags=["hide-input"]
means = {s: p.groupby(level=0)[list(DIMENSIONS)].mean()
         for s, p in systems.pairable(oof).items()}
worst = errors.always_wrong(page.y, means)
glue("w4_always_wrong", len(worst), display=False)
X = forest.feature_table(page.ds, "midi")[descriptor_columns("midi")]
paths = render.render_dataset(page.ds, sr=16000, progress=False, names=list(worst.index[:3]))
for name in worst.index[:3]:  # none when no segment is in every system's worst share
    display(Markdown(f"**{name}** ({seg.performer[name]}; mean error "
                     f"{worst.loc[name, 'mean']:.2f} points over the systems). "
                     + errors.reading(X.loc[name], X)))
    display(Audio(np.load(paths[name]), rate=16000))

# %% [markdown]
# {glue:text}`w4_always_wrong` segments are in every system's worst
# {glue:text}`w4_share:.0%`.
#
# ## Robustness: worse sound than the training sound
#
# A pianist's take is not a clean rendering. The final models' recipes, fitted on the clean
# training folds of {glue:text}`w4_rob_folds` piece-split fold(s), score the held-out
# segments with one perturbation
# of the test input at a time: additive noise at a signal-to-noise ratio, room reverb, gain,
# tempo changed by up to {glue:text}`w4_tempo:.0%`, a telephone-like band limit, and a piano that no model trained
# on; the MIDI forest under the MIDI equivalents, velocities scaled (a keyboard's velocity
# curve) and onsets jittered. Every level, the identity too, goes through the same path, so
# each curve starts from the clean score. The networks are not perturbed here: each would be
# trained again per fold for it, which this chapter leaves to a GPU profile.

# %% tags=["hide-input"]
rob = experiments.load("week4_robustness")
rsum = page.summary(rob.oof.drop(columns="fold"), ["system", "perturbation", "level"],
                    kind="piece", human=False)
plots.glue_figure("fig_w4_robust", robust.robustness_figure(rsum))
clean_rows = {"audio forest": ("gain", 0.0), "MIDI forest": ("velocity", 1.0)}
identities = {k: v[0] for k, v in rob.provenance["config"]["levels"].items()}
paired = robust.versus_clean(page, rob.oof, clean_rows, identities)
rob_groups = page.units["piece"].loc[rob.oof.index.unique()].nunique()
display(Markdown(robust.robustness_text(paired, rsum, clean_rows, rob_groups)))
display(plots.table(robust.versus_table(paired), "Each perturbed level minus the clean score "
                    "of the same system on the same segments, paired: pooled R² and "
                    f"within-excerpt pairwise accuracy with {stats.LEVEL:.0%} intervals "
                    f"({small_g.describe(paired.interval.iloc[0], paired.df.iloc[0])}) over "
                    f"the {rob_groups} music groups, and the verdict of a permutation test "
                    "with Holm's correction over the system's levels and metrics."))
glue("w4_rob_interval", small_g.describe(rsum.interval.iloc[0], rsum.df.iloc[0]),
     display=False)
piano = rsum[(rsum.perturbation == "piano") & (rsum.metric == "mean_r2")].iloc[0]
glue("w4_piano", f"{piano.estimate:.3f} [{piano.ci_lo:.3f}, {piano.ci_hi:.3f}]",
     display=False)
glue("w4_rob_segments", rob.oof.index.nunique(), display=False)
glue("w4_rob_folds", len(rob.provenance["config"]["test_folds"]), display=False)
clean = rsum[(rsum.system == "audio forest") & (rsum.perturbation == "gain")
             & (rsum.level == 0.0) & (rsum.metric == "mean_r2")].iloc[0]
glue("w4_clean", f"{clean.estimate:.3f} [{clean.ci_lo:.3f}, {clean.ci_hi:.3f}]",
     display=False)
glue("w4_rob_min", rob.provenance.get("wall_time_s", 0.0) / 60, display=False)

# %% [markdown]
# ```{glue:figure} fig_w4_robust
# :name: fig-w4-robust
#
# Pooled R² of each final model's recipe on the {glue:text}`w4_rob_segments` held-out segments
# against the level of each perturbation of its test input, with {glue:text}`level:.0%`
# intervals ({glue:text}`w4_rob_interval`) over music groups.
# ```
#
# On the piano no model trained on, the audio forest scores {glue:text}`w4_piano`, against
# {glue:text}`w4_clean` on the piano it trained on.
#
# ## Calibration: can the intervals be trusted?
#
# A split-conformal interval {cite}`lei2018distribution` gives each score one half-width per
# dimension, calibrated on out-of-fold residuals. Its guarantee is marginal, an average over
# segments, and assumes that the take is exchangeable with the calibration segments; new
# music, a new performer or a new work is not. Calibrated on the other folds and scored on
# the held-out one, such intervals of the forest on the MIDI descriptors (the recipe of the
# model `percepiano predict` scores MIDI with, here with the score-relative descriptors,
# which that model leaves out) cover on average:

# %% tags=["hide-input"]
LEVEL = final.LEVELS[0]  # the level `percepiano predict` prints by default
splits = oof[(oof.system == "forest (MIDI descriptors)")]
cov = say.coverage_by_split(page.y, splits, LEVEL)
plots.glue_figure("fig_w4_coverage", say.coverage_figure(cov, LEVEL))
display(Markdown(say.coverage_text(cov, LEVEL)))
# %% [markdown]
# ```{glue:figure} fig_w4_coverage
# :name: fig-w4-coverage
#
# Marginal coverage of one-width split-conformal intervals of the forest on MIDI
# descriptors per dimension on held-out folds of each split, averaged over seeds; the dashed
# line is the nominal level.
# ```
#
# An average over segments can hide whom it leaves out. Predictions shrink toward the mean,
# so a performance rated in the outer tenths of a dimension (below its 10th or above its
# 90th percentile) lies farther from the mean than its prediction, and one width per
# dimension misses it more often than the middle: the unusual takes a user cares about. The
# intervals `percepiano predict` prints therefore move their centre away from the mean, by
# the least stretch at which the calibration folds' outer tenths are covered at least
# {glue:text}`w4_tail_level:.0%` at a nominal {glue:text}`w4_cov_level:.0%`, and scale their
# width by a forest's estimate of how far the take's rating strays, from its descriptors and
# predictions: the locally weighted conformal prediction of {cite}`lei2018distribution`. Both
# kinds, each fold scored with intervals calibrated on the other folds, by group of ratings:

# %% tags=["hide-input"]
from percepiano import config
from percepiano.analysis import tail_conformal

groups = tail_conformal.coverage_table(page.y, splits, LEVEL, X, page.deadpan)
display(plots.table(say.coverage_group_table(groups),
                    f"Coverage (%) of {LEVEL:.0%} intervals of the forest on MIDI descriptors "
                    "on held-out folds, by group of ratings, and the mean width of the middle "
                    "ratings' intervals (1-7 points); each split's folds, averaged over "
                    f"{splits.seed.nunique()} seeds, {config.profile()} profile.", digits=1))
display(Markdown(say.coverage_group_text(groups, LEVEL, tail_conformal.TAIL_LEVEL)))
glue("w4_tail_level", tail_conformal.TAIL_LEVEL, display=False)
glue("w4_cov_level", tail_conformal.STRETCH_LEVEL, display=False)
piece_groups = groups[groups.kind == "piece"].set_index("intervals")
for method, tag in (("marginal", "old"), ("tail", "new")):
    glue(f"w4_outer_{tag}", float(piece_groups.loc[method, "outer"]), display=False)
glue("w4_deadpan_new", float(groups[(groups.kind == "performer")
                                    & (groups.intervals == "tail")].deadpan.iloc[0]),
     display=False)

# %% [markdown]
# On the piece split, the split of the model `percepiano predict` scores with, the outer
# tenths are covered {glue:text}`w4_outer_new:.0%` of the time instead of
# {glue:text}`w4_outer_old:.0%`; the deadpan renderings, held out whole on the performer
# split, {glue:text}`w4_deadpan_new:.0%`. The guarantee itself stays marginal: what moves is
# where the misses fall, and the table's last column says what the middle of the range pays
# for it.
#
# How far are the predictions shrunk toward the mean? The variance ratio and the calibration
# slope {cite}`vancalster2019calibration` of the best system, per dimension, say:

# %% tags=["hide-input"]
shrunk = calibration.shrinkage(page.y.loc[mean_pred.index], mean_pred)
display(Markdown(say.shrinkage_text(shrunk, best)))
stacked, index = systems.members(experiments.load)
skill = calibration.spread_skill(page.y.loc[index], stacked)
glue("w4_skill", float(skill.spread_skill_rho.median()), display=False)
glue("w4_skill_pos", int((skill.spread_skill_rho > 0).sum()), display=False)
glue("w4_members", len(stacked), display=False)

# %% [markdown]
# An ensemble's disagreement is a second kind of uncertainty
# {cite}`whitaker1998relationship`: across the {glue:text}`w4_members` learners of week 3's
# ensemble (the three tree models, the descriptor network, the listener and the hybrid), the
# median Spearman correlation between the members' spread and the error of their mean is
# {glue:text}`w4_skill:.2f` (positive on {glue:text}`w4_skill_pos` of the 19 dimensions).
#
# Recomputing the robustness experiment took {glue:text}`w4_rob_min:.1f` minutes in the
# {glue:text}`profile` profile; every other table of this chapter is read from the stored
# results of the chapters before it.
