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
# (chapter-week2)=
# # Week 2: training for what is measured, small data, and fusion
#
# The best listener of {ref}`chapter-listener` (pretrained on masked patches, then on the exact
# descriptors of expressive variants) is this chapter's starting point, and the random forest
# on MIDI descriptors of {ref}`chapter-baselines` its bar. Two things may explain part of the gap:
# the listener is trained to get each rating right in isolation (mean squared error), while
# the task is scored by correlation and by the *order* of performances of the same music; and
# ~900 training segments are few for a transformer. This chapter asks:
#
# 1. **Can training that targets the measure close the gap?** Pearson and concordance
#    (CCC, {cite}`lin1989concordance`) losses, a pairwise ranking loss over performances of the same
#    excerpt (RankNet's logistic loss, {cite}`burges2005ranknet`) that trains exactly what
#    within-excerpt pairwise accuracy measures, its sum with mean squared error under learned
#    uncertainty weights {cite}`kendall2018multitask`, and mean squared error weighted per
#    dimension by how well the forest predicts each dimension inside the training folds.
# 2. **What matters when training on ~900 segments?** Dropout, weight decay, a spectral-norm
#    constraint on every linear map (the projection form of spectral normalisation
#    {cite}`miyato2018spectral,gouk2021lipschitz`), three learning-rate schedules (warm-up then
#    cosine, one-cycle {cite}`smith2019superconvergence`, constant with halving on a plateau),
#    early stopping on validation r or on validation loss, and bf16 arithmetic.
# 3. **Which fusion of listening and descriptors works best?** Concatenation, descriptor tokens
#    {cite}`gorishniy2021revisiting` attending to the spectrogram tokens, and a learned gate
#    {cite}`arevalo2017gated`, all from the pretrained listener;
#    which groups of descriptors help; how wide the descriptor branch should be.
# 4. **Which descriptors do the models lack?** Descriptors of the music itself (key and mode,
#    harmonic rhythm, register, density, notated tempo) and of a performance relative to the
#    other performances of the same excerpt.
#
# Every model starts from the same pretrained weights in each fold (pretrained once per fold
# and seed, inside its training part), so each configuration differs from its reference by one
# choice. Every comparison is paired over the same {glue:text}`w2_folds` folds and
# {glue:text}`w2_seeds` seeds of the piece split, with bootstrap intervals over music groups
# and permutation tests Holm-corrected within each family ({ref}`chapter-baselines`).

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.analysis import headline
from percepiano.data import dataset, structure
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import stats
from percepiano.models import ast

plots.style()
ds = dataset.load()  # the development part; the final exam stays locked
y, excerpts = ds.labels[list(DIMENSIONS)], ds.segments.excerpt
units = stats.units_by_kind(ds.segments)["piece"]  # music groups: what the piece split holds out
deadpan = headline.deadpan(ds.segments)
n_boot = config.settings().n_boot
METRICS = {"mean_r2": "R²", "mean_r": "r", "mean_pairwise": "pairwise accuracy"}
AB = ("mean_r2", "mean_r", "mean_pairwise")
train = experiments.load_or_run("week2_training")
fusion = experiments.load_or_run("week2_fusion")
desc = experiments.load_or_run("week2_descriptors")
forest = (experiments.load("forest_baselines") if "forest_baselines" in experiments.REGISTRY
          else None)
tcfg = train.provenance["config"]
glue("profile", config.profile(), display=False)
glue("level", stats.LEVEL, display=False)
glue("w2_seeds", len(tcfg["seeds"]), display=False)
glue("w2_folds", int(tcfg["folds"]), display=False)
glue("w2_per_excerpt", int(tcfg["per_excerpt"]), display=False)
glue("w2_steps", int(tcfg["steps"]), display=False)
glue("w2_dropout", ast.preset(tcfg["default"]).dropout, display=False)
glue("w2_weight_decay", tcfg["train"]["weight_decay"], display=False)
glue("w2_between", float(structure.between_share(y, excerpts).mean()), display=False)
REF_T, REF_F = "MSE (reference)", "concat (reference)"


def summary(oof, by=("config",)):
    """Each configuration's pooled metrics with intervals, all and human performances."""
    return stats.summarise(y, oof, list(by), units, excerpts, metrics=list(METRICS),
                           n_boot=n_boot, deadpan=deadpan)


def versus(oof, reference, family=None, table=None):
    """Paired differences from ``reference``, Holm within the family."""
    preds = stats.by_config(oof, "config", kind="piece")
    if family is not None:
        keep = {r["config"] for r in table if r["family"] in (family, "reference")}
        preds = {k: v for k, v in preds.items() if k in keep}
    return stats.compare(y, preds, reference, units, excerpts, metrics=AB, n_boot=n_boot)


def shown(summ):
    wide = plots.with_intervals(summ[summ.performances == "all"].drop(columns="performances"),
                                ["config"], METRICS)
    human = summ[(summ.performances == "human") & (summ.metric == "mean_pairwise")]
    return wide.join(human.set_index("config").estimate.rename("pairwise, human only"))


t_summary = summary(train.oof)
both = experiments.load("listener_pretraining")  # the listener chapter's runs, if stored
if both is not None and "both" in set(both.oof.config):
    ref, theirs = (stats.by_config(o, "config", kind="piece")[c] for o, c in
                   ((train.oof, REF_T), (both.oof, "both")))
    gap = (ref.sort_index()[list(DIMENSIONS)] - theirs.sort_index()[list(DIMENSIONS)]).abs()
    glue("w2_reproduces", "The reference fine-tunes exactly as the listener chapter's "
         "\"both\" recipe did, from the same pretrained weights; "
         + (f"its out-of-fold predictions match that chapter's to within {gap.max().max():.1e} "
            "on the 1-7 scale, so the two chapters' numbers are the same model's."
            if len(ref) == len(theirs) and gap.max().max() < 1e-3 else
            "its predictions differ from that chapter's (floating-point order, or a changed "
            "recipe), so the reference here is its own run."), display=False)
else:
    glue("w2_reproduces", "", display=False)

# %% [markdown]
# (sec-week2-losses)=
# ## Losses that target the measure
#
# The ranking loss needs pairs: a random batch of 32 from ~900 segments seldom holds two
# performances of one excerpt, so ranking batches are built from blocks of
# {glue:text}`w2_per_excerpt` performances of one excerpt (`training.sampling`). The batches
# alone might change the result, so "MSE, excerpt batches" trains the reference loss on them.
# Every loss keeps the listener's auxiliary descriptor head, as its pretraining recipe does.
# {glue:text}`w2_reproduces`

# %% tags=["hide-input"]
t_table = train["table"]
losses_vs = versus(train.oof, REF_T, "loss", t_table)
loss_names = [REF_T] + list(dict.fromkeys(losses_vs.config))
display(plots.table(shown(t_summary).loc[loss_names],
                    f"Losses, piece split: pooled out-of-fold metrics (mean over "
                    f"{len(tcfg['seeds'])} seeds, {stats.LEVEL:.0%} bootstrap intervals over "
                    f"music groups; {config.profile()} profile)."))
display(Markdown("Against mean squared error, paired over the same folds and seeds: "
                 + stats.tally(losses_vs, "it")))
plots.glue_figure("fig_w2_losses", plots.differences(losses_vs,
                                                     xlabel="difference from MSE"))

# %% [markdown]
# ```{glue:figure} fig_w2_losses
# :name: fig-w2-losses
#
# Each loss minus mean squared error (the listener's "both" recipe), in R², r and within-excerpt
# pairwise accuracy on the piece split; {glue:text}`level:.0%` bootstrap intervals over music
# groups, filled points significant after Holm's correction within the family.
# ```

# %% [markdown]
# (sec-week2-regimes)=
# ## Training on ~900 segments
#
# One change at a time from the reference recipe (dropout {glue:text}`w2_dropout`, weight
# decay {glue:text}`w2_weight_decay`, linear warm-up then cosine decay, early stopping on
# validation r, fp32).

# %% tags=["hide-input"]
regimes_vs = versus(train.oof, REF_T, "regime", t_table)
regime_names = [REF_T] + list(dict.fromkeys(regimes_vs.config))
fits = pd.DataFrame(train["fits"]).groupby("config", sort=False)[
    ["best_epoch", "epochs", "s_per_epoch"]].mean()
display(plots.table(shown(t_summary).loc[regime_names].join(fits).rename(columns={
    "best_epoch": "selected epoch", "epochs": "epochs run", "s_per_epoch": "s per epoch"}),
    "Small-data regimes, piece split: pooled out-of-fold metrics and the cost of fine-tuning "
    f"(mean over folds and seeds; {train.provenance.get('device', 'cpu')})."))
display(Markdown("Against the reference recipe: " + stats.tally(regimes_vs, "it")))
plots.glue_figure("fig_w2_regimes", plots.differences(regimes_vs,
                                                      xlabel="difference from the reference"))
cpu = train["cpu"]
bf = regimes_vs[regimes_vs.config == "bf16"].set_index("metric")
FASTER = 0.8  # a bf16 epoch must take at most this share of an fp32 one to count as faster
if len(bf):
    speed = fits.loc["bf16", "s_per_epoch"] / fits.loc[REF_T, "s_per_epoch"]
    same = not (bf.significant & bf.excludes_zero).any()
    listener_oof = stats.by_config(train.oof, "config", kind="piece")
    moved = (listener_oof["bf16"].sort_index()[list(DIMENSIONS)]
             - listener_oof[REF_T].sort_index()[list(DIMENSIONS)]).abs().to_numpy().max()
    units_ = ("with AMX" if cpu["amx_bf16"] else "with AVX-512 BF16" if cpu["avx512_bf16"]
              else "without bf16 matrix units (no AMX, no AVX-512 BF16)")
    display(Markdown(
        f"On this CPU ({cpu['model']}, {units_}) a bf16 epoch takes {speed:.2f} times as long "
        f"as an fp32 one; bf16 "
        + ("cannot be told apart from fp32 in any metric" if same else
           "differs from fp32 in " + stats.join_items(
               [METRICS[m] for m in bf.index[bf.significant & bf.excludes_zero]]))
        + f", and its out-of-fold predictions differ from fp32's by at most {moved:.3f} on the "
        "1-7 scale (XLA's CPU backend may keep excess precision between bf16 operations). "
        + (f"It is faster here (under {FASTER:.0%} of the fp32 time) and as accurate, so bf16 "
           "suits this machine." if speed <= FASTER and same else
           f"It is not faster here (a bf16 epoch would need to take under {FASTER:.0%} of the "
           "fp32 time), so the quick profile keeps fp32 on this machine; bf16 pays where the "
           "CPU multiplies bf16 matrices natively (AMX) or on a GPU.")))

# %% [markdown]
# ```{glue:figure} fig_w2_regimes
# :name: fig-w2-regimes
#
# Each regime minus the reference recipe, piece split; {glue:text}`level:.0%` bootstrap
# intervals over music groups, filled points significant after Holm's correction.
# ```

# %% [markdown]
# (sec-week2-fusion)=
# ## Fusing listening and descriptors
#
# The hybrids of {ref}`chapter-week1` started from scratch; here the listening branch starts
# from the pretrained listener and the descriptor branch reads the forests' MIDI and audio
# descriptors. Concatenation is the reference; cross-attention lets each descriptor, as a
# token, look at the spectrogram tokens; the gate learns, feature by feature, how much to
# trust each branch. The narrow descriptor branch has a sixteenth of the reference's width
# in its embedding, to see whether the balance of capacity matters.

# %% tags=["hide-input"]
f_summary = summary(fusion.oof)
f_table = fusion["table"]
hyb = stats.by_config(fusion.oof, "config", kind="piece")
fusion_names = [REF_F] + [c for c in dict.fromkeys(r["config"] for r in f_table)
                          if c in hyb and next(r["family"] for r in f_table if r["config"] == c)
                          in ("fusion", "capacity")]
display(plots.table(shown(f_summary).loc[fusion_names],
                    "Fusions from the pretrained listener, piece split: pooled out-of-fold "
                    "metrics."))
fam = stats.compare(y, {k: hyb[k] for k in fusion_names}, REF_F, units, excerpts, metrics=AB,
                    n_boot=n_boot)
display(Markdown("Against concatenation: " + stats.tally(fam, "it")))

# %% [markdown]
# ### Which descriptors help?
#
# Removing one group at a time from the forest and from the descriptor network alone (the
# hybrid's descriptor branch, trained by itself) shows what each group adds to the rest.

# %% tags=["hide-input"]
d_oof = desc.oof
ablation = []
for learner in dict.fromkeys(d_oof.learner):
    preds = stats.by_config(d_oof[d_oof.learner == learner].drop(columns="learner"), "config",
                            kind="piece")
    keep = {k: v for k, v in preds.items() if k == "base" or k.startswith("without")}
    if len(keep) < 2:  # a profile that leaves this learner's ablation out
        continue
    ablation.append(stats.compare(y, keep, "base", units, excerpts, metrics=("mean_r2",
                                                                           "mean_pairwise"),
                                  n_boot=n_boot).assign(learner=learner))
ablation = pd.concat(ablation, ignore_index=True)
ablation["row"] = ablation.learner + ": " + ablation.config
plots.glue_figure("fig_w2_ablation", plots.differences(ablation, label="row",
                                                       xlabel="difference from all groups"))
hurt = ablation[(ablation.metric == "mean_r2")].sort_values("difference")
sizes = desc["group_sizes"]
display(Markdown(
    "Removing a group costs the forest most R² for "
    + stats.join_items([f"{r.config.removeprefix('without ')} ({r.difference:+.3f}, "
                        f"{sizes[r.config.removeprefix('without ')]} descriptors)"
                        for r in hurt[hurt.learner == "forest"].head(3).itertuples()])
    + ". Paired against the forest with every group (Holm within each learner): "
    + stats.tally(ablation[ablation.learner == "forest"], "all groups")))

# %% [markdown]
# ```{glue:figure} fig_w2_ablation
# :name: fig-w2-ablation
#
# Each learner without one group of descriptors minus the same learner with all of them, piece
# split; {glue:text}`level:.0%` bootstrap intervals over music groups. A negative difference
# means the group helps.
# ```

# %% [markdown]
# (sec-week2-descriptors)=
# ## Descriptors the models lack
#
# On average {glue:text}`w2_between:.0%` of a dimension's label variance lies between excerpts
# ({ref}`chapter-data`), and the dimensions furthest from their ceiling are mostly about the
# music itself. The **music-level descriptors** are
# computed from the notes of the excerpt's score (`percepiano.features.music`): key and mode
# from a duration-weighted pitch-class profile (Krumhansl–Schmuckler key finding
# {cite}`krumhansl1990cognitive` through music21 {cite}`cuthbert2010music21`), harmonic rhythm, register, density and the notated
# tempo. The **excerpt-relative descriptors** are each performance's descriptors minus the
# mean of the *other* performances of the same excerpt (no label is read). They need other
# takes of the same music, so they serve batch scoring and this book, not a lone take scored
# by `percepiano predict`.

# %% tags=["hide-input"]
new = []
for learner in dict.fromkeys(d_oof.learner):
    preds = stats.by_config(d_oof[d_oof.learner == learner].drop(columns="learner"), "config",
                            kind="piece")
    keep = {k: v for k, v in preds.items() if not k.startswith("without")}
    if len(keep) < 2:
        continue
    new.append(stats.compare(y, keep, "base", units, excerpts, metrics=AB,
                             n_boot=n_boot).assign(learner=learner))
hyb_new = {k: v for k, v in hyb.items()
           if k == REF_F or k in {r["config"] for r in f_table if r["family"] == "descriptors"}}
new.append(stats.compare(y, hyb_new, REF_F, units, excerpts, metrics=AB, n_boot=n_boot)
           .assign(learner="hybrid"))
new = pd.concat(new, ignore_index=True)
new["row"] = new.learner + ": " + new.config
plots.glue_figure("fig_w2_new", plots.differences(new, label="row",
                                                  xlabel="difference from the base set"))
lifted = new[new.metric == "mean_r2"]
display(Markdown(
    "Paired against the same learner on the base descriptors (Holm within each learner): "
    + " ".join(f"**{learner}**: " + stats.tally(new[new.learner == learner], "its base set")
               for learner in dict.fromkeys(new.learner))
    + f" Of the {len(lifted)} additions, {int((lifted.difference > 0).sum())} raise R² in "
    "the estimate and " + str(int((lifted.significant & lifted.excludes_zero
                                   & (lifted.difference > 0)).sum()))
    + " significantly."))

# %% [markdown]
# ```{glue:figure} fig_w2_new
# :name: fig-w2-new
#
# Music-level and excerpt-relative descriptors added to the forest, the descriptor network and
# the hybrid, minus the same learner without them, piece split; {glue:text}`level:.0%`
# bootstrap intervals over music groups.
# ```

# %% [markdown]
# (sec-week2-bar)=
# ## Against the forest, and the recipe

# %% tags=["hide-input"]
best_l = t_summary[(t_summary.performances == "all") & (t_summary.metric == "mean_r2")
                   ].set_index("config").estimate.idxmax()
best_h = f_summary[(f_summary.performances == "all") & (f_summary.metric == "mean_r2")
                   ].set_index("config").estimate.idxmax()
block = {f"listener ({best_l})": stats.by_config(train.oof, "config", kind="piece")[best_l],
         f"hybrid ({best_h})": hyb[best_h]}
forests = {} if forest is None else stats.by_config(forest.oof, "features", kind="piece")
if "midi" in forests:
    block["forest (MIDI descriptors)"] = forests["midi"]
    bar = stats.compare(y, block, "forest (MIDI descriptors)", units, excerpts, metrics=AB,
                        n_boot=n_boot)
    reach = bar[(bar.metric == "mean_r2")].set_index("config")
    below = [c for c, r in reach.iterrows() if r.excludes_zero and r.difference < 0]
    reached = [c for c in reach.index if c not in below]
    display(Markdown(
        "Against the random forest on MIDI descriptors, the same folds and seeds: "
        + stats.tally(bar, "it") + " "
        + ("In R², " + stats.join_items(reached) + (" reaches" if len(reached) == 1 else
                                                     " reach")
           + " the forest: the interval of the difference includes zero or favours the model."
           if reached else
           "No listening or hybrid model reaches the forest in R²: each lies below it by an "
           "interval that excludes zero (the verdicts above say whether that survives Holm's "
           "correction).")))
else:
    display(Markdown("No random forest results are stored for this profile to compare "
                     "with."))
choices = pd.concat([losses_vs.assign(reference=REF_T), regimes_vs.assign(reference=REF_T),
                     fam.assign(reference=REF_F),
                     new[new.learner == "hybrid"].assign(reference=REF_F)], ignore_index=True)
moves = choices.pivot_table(index="config", columns="metric", values="difference", sort=False)
human = pd.concat([t_summary, f_summary])
human = human[(human.performances == "human") & (human.metric == "mean_pairwise")
              ].drop_duplicates("config").set_index("config").estimate
refs = choices.drop_duplicates("config").set_index("config").reference
moves["pairwise, human only"] = human.reindex(moves.index) - human.reindex(refs).to_numpy()
display(plots.table(moves.rename(columns=METRICS),
                    "How far each choice moved the pooled metrics from its reference "
                    "(estimates; intervals in the figures above; human only: within-excerpt "
                    "pairwise accuracy on the human performances alone)."))
better = choices[choices.significant & choices.excludes_zero & (choices.difference > 0)]
worse = choices[choices.significant & choices.excludes_zero & (choices.difference < 0)]


def said(rows):
    """'config (metrics)' for each configuration among ``rows``."""
    return stats.join_items([f"{c} ({', '.join(METRICS[m] for m in rows[rows.config == c].metric)})"
                             for c in dict.fromkeys(rows.config)])


display(Markdown(
    ("Choices that improve on their reference significantly: " + said(better) + ". "
     if len(better) else "No choice improves on its reference significantly in any metric, so "
     "the best recipe remains the reference: the listener's \"both\" recipe fine-tuned with "
     "mean squared error, and for the hybrid, concatenation on the forests' descriptors. ")
    + ("Choices that make things significantly worse: " + said(worse) + "."
       if len(worse) else "None makes things significantly worse.")))
glue("w2_best_listener", best_l, display=False)
glue("w2_best_hybrid", best_h, display=False)
wall = sum(r.provenance.get("wall_time_s", 0.0) for r in (train, fusion, desc))
glue("w2_wall_min", wall / 60, display=False)

# %% [markdown]
# The best listener recipe by R² is **{glue:text}`w2_best_listener`** and the best hybrid
# **{glue:text}`w2_best_hybrid`**; both are the best of several configurations scored on the
# same cross-validation that chose them, so their numbers are optimistic until the locked
# final exam scores the choice once. Recomputing this chapter's experiments took
# {glue:text}`w2_wall_min:.0f` minutes in the {glue:text}`profile` profile (after the
# listener chapter's renders are cached).
