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
# (chapter-data)=
# # The data and its ceiling
#
# PercePiano {cite}`park2024percepiano` is a set of {glue:text}`n_segments` MIDI recordings of
# short piano segments, each rated by several listeners on
# {glue:text}`n_dimensions` bipolar scales from 1 to {glue:text}`scale_max`, grouped into
# {glue:text}`n_categories` categories: timing, articulation, pedal, timbre, dynamics, music
# making, emotion and mood, and interpretation. The dataset ships the MIDI of each performance
# (the listeners heard it rendered as audio), the label of each segment (the mean rating divided
# by {glue:text}`scale_max`), and the raw ratings. This chapter looks at what is there and at how
# much of it any model could hope to predict.
#
# The book's last chapter scores the chosen systems on a *final exam*: {glue:text}`n_exam` segments
# ({glue:text}`exam_share:.0%`, whole groups of shared music spread over both composers, drawn
# with a fixed seed and frozen in `percepiano/data/final_exam.txt`). Reading them takes a key that
# only the final-exam experiment is granted; every read is recorded with the results, and a
# second read is refused unless forced (`percepiano.data.exam`). The exam was not drawn first,
# though: it was drawn at commit {glue:text}`exam_lock_commit`, after work on the whole dataset
# had begun. Before then, the AST's default {glue:text}`exam_ast_choices` were chosen on
# {glue:text}`exam_ast_segments` segments ({glue:text}`exam_ast_share:.0%` of all of them),
# {glue:text}`exam_ast_seen` of which are now in the exam; the {glue:text}`exam_developed` were
# developed while forests were cross-validated on every segment; and results holding out-of-fold
# predictions for all {glue:text}`n_exam` exam segments were stored. Those results have since
# been recomputed on the development segments, and {glue:text}`exam_remade_by` has chosen the
# {glue:text}`exam_remade` again inside the development folds. The {glue:text}`exam_standing`
# stand as they were made then, on data that included the exam; the record of all this
# (`percepiano.data.exam.history`) is there for the final chapter to print beside its numbers.
# Counts in this chapter are of the whole dataset; every statistic of the labels and ratings,
# and every experiment of the book until the last chapter, uses the
# {glue:text}`n_development` development segments.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import pandas as pd
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.analysis import headline
from percepiano.data import dataset, structure
from percepiano.data.dataset import DIMENSIONS, SCALE_MAX
from percepiano.evaluation import stats
from percepiano.evaluation.ceiling import LEVEL

plots.style()
full = dataset.load(part="all")  # counts of the whole dataset, the final exam included
ds = dataset.load()  # labels and ratings: the development part, the final exam stays locked
info = dataset.summary(full)
seg = full.segments
glue("n_exam", len(full.names) - len(ds.names), display=False)
glue("n_development", len(ds.names), display=False)
glue("exam_share", 1 - len(ds.names) / len(full.names), display=False)
for key in ("segments", "dimensions", "categories", "pieces", "composers", "excerpts",
            "performers", "score_renderings", "raters", "ratings"):
    glue(f"n_{key}", int(info[key]), display=False)
glue("profile", config.profile(), display=False)
glue("scale_max", int(SCALE_MAX), display=False)

from percepiano.data import exam  # what saw the final exam before it was drawn


def said(words) -> str:
    """``a, b and c``."""
    words = list(words)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


seen = exam.history()
ast_choices = seen[(seen.kind == "choice") & seen.index.str.startswith("ast_")]
before = seen[seen.kind != "stored results"]
remade = before[before.remade_by.notna()]
assert ast_choices.segments.nunique() == 1 and ast_choices.exam_segments.nunique() == 1
assert set(seen.kind) == {"choice", "development", "stored results"}
assert set(seen[seen.kind == "development"].segments) == {len(full.names)}
assert seen[seen.kind == "stored results"].remade_by.notna().all()  # all recomputed since
assert remade.remade_by.nunique() == 1  # the prose names one experiment
glue("exam_lock_commit", exam.lock_commit()[:7], display=False)
glue("exam_ast_choices", said(ast_choices.short), display=False)
glue("exam_ast_segments", int(ast_choices.segments.iloc[0]), display=False)
glue("exam_ast_share", float(ast_choices.segments.iloc[0] / len(full.names)), display=False)
glue("exam_ast_seen", int(ast_choices.exam_segments.iloc[0]), display=False)
glue("exam_developed", said(seen[seen.kind == "development"].short), display=False)
glue("exam_remade_by", remade.remade_by.iloc[0], display=False)
glue("exam_remade", said(remade.short), display=False)
glue("exam_standing", said(before[before.remade_by.isna()].short), display=False)


# %% [markdown]
# (sec-data-segments)=
# ## Who played what
#
# The segments come from {glue:text}`n_pieces` pieces by {glue:text}`n_composers` composers
# (Schubert and Beethoven), cut into {glue:text}`n_excerpts` *excerpts*: a stretch of a piece,
# identified by its piece, length in bars and position. {glue:text}`n_human` human performers
# play them, beside {glue:text}`n_renderers` deadpan renderings of the score (performer ids
# `Score` and `Score2`, {glue:text}`n_score_renderings` segments). The same excerpt is played by a median of
# {glue:text}`performers_per_excerpt:.0f` performers (from {glue:text}`performers_per_excerpt_min`
# to {glue:text}`performers_per_excerpt_max`), and {glue:text}`repeated_share`: the splits of
# {ref}`chapter-baselines` have to decide where the other performances of a test excerpt go.

# %% tags=["hide-input"]
per_excerpt = seg.groupby("excerpt").performer.nunique()
n_renderers = seg[seg.is_score].performer.nunique()
glue("n_renderers", int(n_renderers), display=False)
glue("n_human", int(seg.performer.nunique() - n_renderers), display=False)
glue("performers_per_excerpt", float(per_excerpt.median()), display=False)
glue("performers_per_excerpt_min", int(per_excerpt.min()), display=False)
glue("performers_per_excerpt_max", int(per_excerpt.max()), display=False)
repeated = float(seg.excerpt.map(per_excerpt).gt(1).mean())
glue("repeated_share", ("every segment is" if repeated == 1
                        else f"{repeated:.0%} of the segments are")
     + " of an excerpt that another performer also played", display=False)
per_piece = seg.piece.value_counts()
n_top = int((per_piece.cumsum() < len(seg) / 2).sum()) + 1  # the fewest pieces over half
glue("top_pieces", said(per_piece.index[:n_top].str.replace("_", " ")), display=False)
glue("top_share", float(per_piece.iloc[:n_top].sum() / len(seg)), display=False)
once = seg.groupby(["piece", "performer"]).size().groupby(level="piece").max() == 1
glue("single_pieces", int(once.sum()), display=False)
plots.glue_figure("fig_coverage", plots.crosstab_heatmap(seg, "piece", "performer"))

# %% [markdown]
# ```{glue:figure} fig_coverage
# :name: fig-data-coverage
#
# Segments per piece (rows) and performer (columns). {glue:text}`top_pieces` hold
# {glue:text}`top_share:.0%` of the segments; {glue:text}`single_pieces` of the
# {glue:text}`n_pieces` pieces are a single segment per performer who played them. Blank cells:
# the performer never played that piece.
# ```

# %% [markdown]
# (sec-data-labels)=
# ## The labels
#
# Each label is a mean rating. {numref}`fig-data-labels` shows them on the raters' scale:
# {glue:text}`mid_share:.0%` of the means lie within a point of its midpoint, and the middle half of
# the segments of a dimension spans a median of {glue:text}`iqr_median:.2f` points (from
# {glue:text}`iqr_min:.2f` to {glue:text}`iqr_max:.2f`), {glue:text}`iqr_reading`.

# %% tags=["hide-input"]
points = ds.labels[list(DIMENSIONS)] * SCALE_MAX  # on the raters' 1-SCALE_MAX scale
iqr = points.quantile(0.75) - points.quantile(0.25)
even = (SCALE_MAX - 1) / 2  # the interquartile range of means spread evenly over the scale
glue("mid_share", float(((points - (1 + SCALE_MAX) / 2).abs() <= 1).to_numpy().mean()),
     display=False)
glue("extreme_share", float(((points < 2) | (points > SCALE_MAX - 1)).to_numpy().mean()),
     display=False)
glue("iqr_median", float(iqr.median()), display=False)
glue("iqr_min", float(iqr.min()), display=False)
glue("iqr_max", float(iqr.max()), display=False)
glue("iqr_reading", f"against {even:.0f} points if they were spread evenly over the scale" + (
    ": predicting them is a matter of small differences" if iqr.max() < even else ""),
    display=False)
plots.glue_figure("fig_labels", plots.label_distributions(ds.labels, scale=SCALE_MAX))

# %% [markdown]
# ```{glue:figure} fig_labels
# :name: fig-data-labels
#
# Distribution of the mean rating of each dimension over the development segments (box: quartiles, whiskers:
# one and a half interquartile ranges), coloured by category. Left is the first word of the scale, right the
# second. {glue:text}`extreme_share:.1%` of the means lie within a point of either end of the
# scale.
# ```

# %% tags=["hide-input"]
pairs = structure.correlation_pairs(ds.labels[list(DIMENSIONS)])
top = pairs.iloc[0]
shares = structure.principal_shares(ds.labels[list(DIMENSIONS)])
glue("corr_mean_abs", float(pairs.r.abs().mean()), display=False)
glue("corr_top_a", plots.short_name(top.a), display=False)
glue("corr_top_b", plots.short_name(top.b), display=False)
glue("corr_top_r", float(top.r), display=False)
glue("pc1_share", float(shares[0]), display=False)
glue("pc3_share", float(shares[:3].sum()), display=False)
glue("pc_even", float(1 / len(DIMENSIONS)), display=False)
mean_abs = float(pairs.r.abs().mean())  # Cohen's benchmarks: 0.1 small, 0.3 medium
glue("corr_lead", "The dimensions are far from independent" if mean_abs >= 0.3 else
     "The dimensions are weakly correlated" if mean_abs >= 0.1 else
     "The dimensions are close to independent", display=False)
glue("pc_reading", ": listeners seem to have judged a few broad qualities, and many scales "
     "follow them" if shares[:3].sum() > 0.5 else ": the scales do not reduce to a few "
     "broad qualities",
     display=False)
plots.glue_figure("fig_correlations", plots.correlation_clustermap(ds.labels[list(DIMENSIONS)]))

# %% [markdown]
# {glue:text}`corr_lead` ({numref}`fig-data-correlations`). The mean absolute
# correlation between two dimensions is {glue:text}`corr_mean_abs:.2f`; the strongest pair is
# *{glue:text}`corr_top_a`* and *{glue:text}`corr_top_b`* (r = {glue:text}`corr_top_r:.2f`).
# The first principal component of the standardised labels carries
# {glue:text}`pc1_share:.0%` of their variance (against {glue:text}`pc_even:.0%` for uncorrelated
# dimensions) and the first three {glue:text}`pc3_share:.0%`{glue:text}`pc_reading`. The blocks
# along the diagonal of the clustered matrix show which dimensions rise and fall together, and
# which stand apart.
#
# ```{glue:figure} fig_correlations
# :name: fig-data-correlations
#
# Pearson correlations between the labels over the development segments, rows and columns ordered by
# average-linkage clustering on 1 - r (the tree on the left and top), the side bar giving each
# dimension's category. Blocks of red or blue along the diagonal are groups of dimensions that
# move together; the side bar shows whether a block crosses categories.
# ```

# %% [markdown]
# (sec-data-ratings)=
# ## The raw ratings
#
# The labels are means of {glue:text}`n_ratings` individual ratings from {glue:text}`n_raters`
# listeners. A segment has between {glue:text}`ratings_min` and {glue:text}`ratings_max` ratings
# (median {glue:text}`ratings_median:.0f`); a listener rated a median of
# {glue:text}`per_rater_median:.0f` segments ({numref}`fig-data-ratings`), but
# {glue:text}`heavy_raters` listeners rated more than half of all segments and gave
# {glue:text}`heavy_share:.0%` of the ratings. So a label averages a median of
# {glue:text}`ratings_median:.0f` ratings, a median of {glue:text}`heavy_per_segment:.0f` of them
# from those {glue:text}`heavy_raters` listeners.

# %% tags=["hide-input"]
per_segment = seg.n_ratings
ratings_per_rater = full.rated.groupby("rater").size()
per_rater = full.rated.groupby("rater").name.nunique()  # segments: a repeat counts once
glue("ratings_min", int(per_segment.min()), display=False)
glue("ratings_max", int(per_segment.max()), display=False)
glue("ratings_median", float(per_segment.median()), display=False)
glue("per_rater_median", float(per_rater.median()), display=False)
heavy = per_rater[per_rater > len(seg) / 2]
glue("heavy_raters", int(len(heavy)), display=False)
glue("heavy_share", float(ratings_per_rater[heavy.index].sum() / ratings_per_rater.sum()),
     display=False)
glue("heavy_per_segment", float(full.rated[full.rated.rater.isin(heavy.index)]
                                .groupby("name").size().reindex(seg.index, fill_value=0)
                                .median()), display=False)
sizes = pd.Series(sorted(per_segment.unique()))
cut = sizes.iloc[int(sizes.diff().idxmax()) - 1] if len(sizes) > 1 else sizes.iloc[-1]
glue("panel_low", f"{int((per_segment <= cut).sum())} segments have {int(sizes.iloc[0])} to "
     f"{int(cut)} ratings", display=False)
glue("panel_high", f"{int((per_segment > cut).sum())} have more, up to {int(sizes.iloc[-1])}"
     if (per_segment > cut).any() else "none has more", display=False)
plots.glue_figure("fig_ratings", plots.count_histograms({"ratings per segment": per_segment,
                                                   "segments rated per listener": per_rater}))

# %% [markdown]
# ```{glue:figure} fig_ratings
# :name: fig-data-ratings
#
# Left: how many ratings each segment has (a listener who rated a segment twice counts twice).
# Right: how many segments each listener rated (a repeat counts once). The dashed lines are
# medians. Split at the widest gap between panel sizes, {glue:text}`panel_low` and
# {glue:text}`panel_high`; {glue:text}`heavy_raters` listeners each rated more than half of the
# segments.
# ```

# %% [markdown]
# (sec-data-between)=
# ## How much of a label is the music?
#
# Because every excerpt is played by several performers, the label variance of each dimension
# splits into a part *between excerpts* (some music simply sounds darker, faster or more dramatic
# whoever plays it) and a part *within* them, where performers differ. The share between groups is
# the variance of the group means over the total variance, Fisher's correlation ratio squared
# {cite}`fisher1925statistical`, computed by `percepiano.data.structure.between_share`. On average
# {glue:text}`between_excerpt_mean:.0%` of a label's variance lies between excerpts
# (from {glue:text}`between_excerpt_min:.0%` for *{glue:text}`between_excerpt_min_dim`* to
# {glue:text}`between_excerpt_max:.0%` for *{glue:text}`between_excerpt_max_dim`*), against
# {glue:text}`between_performer_mean:.0%` between performers ({numref}`fig-data-between`).

# %% tags=["hide-input"]
labels = ds.labels[list(DIMENSIONS)]
between = pd.DataFrame({
    "between excerpts": structure.between_share(labels, ds.segments.excerpt),
    "between performers": structure.between_share(labels, ds.segments.performer),
})
by_excerpt = between["between excerpts"]
glue("between_excerpt_mean", float(by_excerpt.mean()), display=False)
glue("between_excerpt_min", float(by_excerpt.min()), display=False)
glue("between_excerpt_min_dim", plots.short_name(by_excerpt.idxmin()), display=False)
glue("between_excerpt_max", float(by_excerpt.max()), display=False)
glue("between_excerpt_max_dim", plots.short_name(by_excerpt.idxmax()), display=False)
glue("between_performer_mean", float(between["between performers"].mean()), display=False)
plots.glue_figure("fig_between", plots.dimension_bars(between, "share of the label variance",
                                                sort_by="between excerpts", xlim=(0, 1)))

# %% [markdown]
# ```{glue:figure} fig_between
# :name: fig-data-between
#
# Share of each dimension's label variance that lies between excerpts (the same music played by
# different performers) and between performers (the same person playing different music), over
# the development segments. Long blue bars are dimensions that the excerpt alone largely determines: a model
# can score on them by recognising the music.
# ```

# %% [markdown]
# (sec-data-ceiling)=
# ## The noise ceiling
#
# A label is the mean of a few ratings, so part of it is rater noise that no model can predict.
# The *reliability* of a label is the correlation one would expect between it and the mean of an
# independent panel of the same size. We estimate it in two ways
# (`percepiano.evaluation.ceiling`, experiment `data_ceiling`), always splitting *raters*, not
# rating rows: {glue:text}`repeated_pairs` (rater, segment) pairs were rated more than once, and a
# rater's repeated ratings falling into both halves would count as agreement.
#
# * **split-half**: average each rater's ratings of a segment, split each segment's raters at
#   random into two halves, correlate the two half means across segments, and step the
#   correlation up to the full panel with the Spearman-Brown formula 2*r* / (1 + *r*)
#   {cite}`spearman1910correlation,brown1910some`, averaged over {glue:text}`ceiling_splits`
#   random splits;
# * **ICC(1,k)**: the one-way random-effects intraclass correlation of the mean of *k* raters
#   {cite}`shrout1979intraclass,mcgraw1996forming`, computed with pingouin
#   {cite}`vallat2018pingouin` on *k* raters drawn per segment and stepped up to the mean panel
#   size. One-way, because each segment was rated by a different subset of listeners.
#
# A model that predicted the noise-free mean rating exactly would reach R² equal to the
# reliability and Pearson r equal to its square root. Averaged over the dimensions, the split-half
# reliability is {glue:text}`mean_reliability:.3f` ({glue:text}`reliability_ci`; the interval
# resamples music groups and rater splits) and the ICC {glue:text}`mean_icc:.3f`: the ceiling is
# a mean R² of {glue:text}`ceiling_r2:.3f` (mean r {glue:text}`ceiling_r:.3f`). Across
# dimensions it ranges ({numref}`fig-data-ceiling`) from {glue:text}`ceiling_min:.2f` for
# *{glue:text}`ceiling_min_dim`* to {glue:text}`ceiling_max:.2f` for
# *{glue:text}`ceiling_max_dim`*. The reliability is that of the mean of a whole panel (a mean of
# {glue:text}`mean_raters:.1f` listeners per segment), and it includes the agreement on *which
# music* is played. {glue:text}`single_rater`.
#
# The task, though, is to judge the *playing*. Within an excerpt, how well does one half of the
# panel order the performances as the other half does? The within-excerpt Spearman correlation
# between the half panels averages {glue:text}`within_rho_half:.3f`
# ({glue:text}`within_rho_half_ci`), and they order {glue:text}`pairwise_half:.1%` of the pairs
# of performances of one excerpt alike, against half of them by chance. Over all segments
# together, the two half panels correlate at {glue:text}`half_r_all:.3f` on average (the
# split-half reliability stepped back down with Spearman-Brown, a Pearson correlation):
# {glue:text}`within_reading`. A model is scored against whole panels,
# so its ceiling follows the split-half recipe: step the half-panel agreement up to a whole panel
# with Spearman-Brown and take the square root, a within-excerpt Spearman of
# {glue:text}`within_rho_ceiling:.3f` ({glue:text}`within_rho_ceiling_ci`), which for normal
# scores means ordering {glue:text}`pairwise_ceiling:.1%` of the pairs correctly
# ({glue:text}`pairwise_ceiling_ci`; 1/2 + arcsin(rho)/π). Both steps treat rank correlations as
# linear ones, so these two ceilings are approximations; the half-panel figures are measured.

# %% tags=["hide-input"]
ceiling = experiments.load("data_ceiling")
rel = pd.Series(ceiling["reliability"])


def interval(pair) -> str:
    return f"{LEVEL:.0%} CI {pair[0]:.3f} to {pair[1]:.3f}"


glue("ceiling_splits", int(ceiling.provenance["config"]["n_splits"]), display=False)
glue("repeated_pairs", int(ceiling["repeated_pairs"]), display=False)
glue("mean_reliability", float(ceiling["mean_reliability"]), display=False)
glue("reliability_ci", interval(ceiling["mean_reliability_ci"]), display=False)
glue("mean_icc", float(ceiling["mean_icc"]), display=False)
glue("ceiling_r2", float(ceiling["mean_ceiling_r2"]), display=False)
glue("ceiling_r", float(ceiling["mean_ceiling_r"]), display=False)
glue("ceiling_min", float(rel.min()), display=False)
glue("ceiling_min_dim", plots.short_name(rel.idxmin()), display=False)
glue("ceiling_max", float(rel.max()), display=False)
glue("ceiling_max_dim", plots.short_name(rel.idxmax()), display=False)
glue("within_rho_half", float(ceiling["mean_within_rho_half"]), display=False)
glue("within_rho_half_ci", interval(ceiling["mean_within_rho_half_ci"]), display=False)
glue("pairwise_half", float(ceiling["mean_pairwise_half"]), display=False)
glue("pairwise_half_ci", interval(ceiling["mean_pairwise_half_ci"]), display=False)
glue("within_rho_ceiling", float(ceiling["mean_within_rho_ceiling"]), display=False)
glue("within_rho_ceiling_ci", interval(ceiling["mean_within_rho_ceiling_ci"]), display=False)
glue("pairwise_ceiling", float(ceiling["mean_pairwise_ceiling"]), display=False)
glue("pairwise_ceiling_ci", interval(ceiling["mean_pairwise_ceiling_ci"]), display=False)
glue("mean_raters", float(ceiling["mean_raters"]), display=False)
icc1 = float(pd.Series(ceiling["icc1"]).mean())  # one rater: ICC(1,1), mean over dimensions
fewer = "less" if icc1 < ceiling["mean_icc"] else "no less"
glue("single_rater", f"Two single listeners agree {fewer}: the one-rater ICC(1,1) averages "
     f"{icc1:.3f} over the dimensions, against "
     f"{ceiling['mean_icc']:.3f} for the whole panel", display=False)
half_r = float((rel / (2 - rel)).mean())  # Spearman-Brown inverted, per dimension
lo, hi = ceiling["mean_within_rho_half_ci"]
side = "below" if hi < half_r else "above" if lo > half_r else "around"
glue("half_r_all", float(half_r), display=False)
glue("within_reading", {
    "below": f"listeners agree {'far ' if hi < half_r / 2 else ''}less on how the same music "
             "was played than on everything together",
    "above": "listeners agree more on how the same music was played than on everything "
             "together",
    "around": "the agreement within excerpts cannot be told apart from that over all "
              "segments"}[side]
     + f" (the within-excerpt interval {'includes' if side == 'around' else 'lies ' + side} "
       f"{half_r:.3f})", display=False)
frame = pd.DataFrame({"split-half (Spearman-Brown)": rel,
                      "ICC(1,k), stepped up": pd.Series(ceiling["icc"]),
                      "within-excerpt rho, half panels": pd.Series(
                          ceiling["within_rho_half"])})
plots.glue_figure("fig_ceiling", plots.dimension_bars(
    frame, "reliability of the label (= ceiling R²); within-excerpt agreement",
    sort_by="split-half (Spearman-Brown)", xlim=(-0.1, 1)))

# %% [markdown]
# ```{glue:figure} fig_ceiling
# :name: fig-data-ceiling
#
# Reliability of each label, which is the R² a perfect model could reach against it: split-half
# by raters with the Spearman-Brown correction, and ICC(1,k); beside them, how well two half
# panels order the performances of one excerpt alike (within-excerpt Spearman). Profile
# {glue:text}`profile`, sorted by the split-half estimate. Where a bar is short, more of the label
# is rater noise: a model's score on that dimension should be read against its bar, not against 1.
# ```
#
# Every R² in the rest of the book is to be read against this ceiling, which the figures of
# {ref}`chapter-baselines` and {ref}`chapter-ast` draw as a dashed line. Together with the share
# of the variance that lies between excerpts it frames the question of the next chapter: how much
# of the predictable part is about the playing?

# %% [markdown]
# (sec-data-duplicates)=
# ## The same recording twice
#
# The dataset holds the same sound more than once: {glue:text}`dup_groups` groups of
# byte-identical MIDI files ({glue:text}`dup_files` files), and {glue:text}`dup_pairs` pairs of
# segments whose performed notes (pitch, velocity, duration) match in at least
# {glue:text}`dup_threshold:.0%` of the notes, {glue:text}`dup_same_performer` of them by the
# same performer, for instance a deadpan rendering of a passage the music repeats, or a short
# excerpt filed again inside a longer one (`percepiano.data.duplicates`). A split that put one
# copy in training and the other in test would let a model score by recognising a recording it
# has heard, so the music groups of {ref}`chapter-baselines` keep every such pair together
# (tested).
#
# The copies were rated by separate panels, which gives a second, independent estimate of label
# noise: two panels' means of the same sound. Over the {glue:text}`retest_pairs` pairs in the
# development part, the labels of the two copies correlate at {glue:text}`retest_r:.3f` on
# average over the dimensions (the test-retest reliability, on the scale of the split-half
# {glue:text}`mean_reliability:.3f` above) and differ by {glue:text}`retest_mad:.3f` on average
# ({glue:text}`retest_points:.2f` points on the 1-{glue:text}`scale_max` scale). The copies'
# labels have a standard deviation of {glue:text}`retest_sd:.3f` on average over the dimensions,
# against {glue:text}`dataset_sd:.3f` for all development segments{glue:text}`retest_spread`. On
# {glue:text}`retest_pairs` pairs, this is a check on the split-half ceiling, not a replacement.

# %% tags=["hide-input"]
dups = experiments.load("data_duplicates")
glue("dup_groups", int(dups["identical_files"]["groups"]), display=False)
glue("dup_files", int(dups["identical_files"]["segments"]), display=False)
glue("dup_pairs", int(dups["near_identical_pairs"]), display=False)
glue("dup_same_performer", int(dups["same_performer_pairs"]), display=False)
retest_sd = float(pd.Series(dups["test_retest"]["sd"]).mean())
dataset_sd = float(labels.std().mean())
glue("retest_sd", float(retest_sd), display=False)
glue("dataset_sd", float(dataset_sd), display=False)
glue("retest_spread", ": a narrower spread lowers a correlation" if retest_sd < dataset_sd
     else "", display=False)
glue("dup_threshold", float(dups.provenance["config"]["threshold"]), display=False)
glue("retest_pairs", int(dups["test_retest"]["n_pairs"]), display=False)
glue("retest_r", float(dups["test_retest"]["mean_retest_r"]), display=False)
glue("retest_mad", float(dups["test_retest"]["mean_mad"]), display=False)
glue("retest_points", float(dups["test_retest"]["mean_mad"] * SCALE_MAX), display=False)
plots.table(pd.DataFrame({"test-retest r": pd.Series(dups["test_retest"]["r"]),
                          "split-half reliability": rel,
                          "mean |difference| (points)": pd.Series(
                              dups["test_retest"]["mad"]) * SCALE_MAX})
            .rename(index=plots.short_name).rename_axis("dimension"),
            f"Label noise two ways: test-retest over {int(dups['test_retest']['n_pairs'])} pairs "
            "of identical recordings rated by separate panels, and the split-half reliability "
            f"({config.profile()} profile, development part).")

# %% [markdown]
# (sec-data-deadpan)=
# ## The score played without expression
#
# {glue:text}`n_deadpan` of the {glue:text}`n_development` development segments
# ({glue:text}`deadpan_share:.0%`) are not human performances: they are the score rendered
# without expression (performers `Score` and `Score2`), and the raters heard them like the
# others. Their mean rating lies {glue:text}`deadpan_gap_points:.2f` points
# {glue:text}`deadpan_gap_side` that of the human performances of the same excerpts on average
# over the dimensions (from
# {glue:text}`deadpan_gap_min:+.2f` for *{glue:text}`deadpan_gap_min_dim`* to
# {glue:text}`deadpan_gap_max:+.2f` for *{glue:text}`deadpan_gap_max_dim`*,
# {numref}`fig-data-deadpan`). A model that recognises a deadpan rendering can earn part of
# every metric without judging how anyone played: where the deadpan rendering of an excerpt is
# rated apart from its human performances, each pair of it and a human performance is an easy
# pair for the within-excerpt metrics too. So every headline table of the book reports the
# *human performances only* beside *all*: the same out-of-fold predictions, scored on the
# human performances alone. The table below shows what the deadpan renderings do to each metric
# for the models of the following chapters.

# %% tags=["hide-input"]
is_deadpan = headline.deadpan(ds.segments)
human_mean = labels[~is_deadpan].groupby(ds.segments.excerpt[~is_deadpan]).mean()
dead = labels[is_deadpan]
gap = (dead - human_mean.reindex(ds.segments.excerpt[is_deadpan]).to_numpy()).mean() * SCALE_MAX
glue("n_deadpan", int(is_deadpan.sum()), display=False)
glue("deadpan_share", float(is_deadpan.mean()), display=False)
glue("deadpan_gap_points", float(abs(gap.mean())), display=False)
glue("deadpan_gap_side", "below" if gap.mean() < 0 else "above", display=False)
glue("deadpan_gap_min", float(gap.min()), display=False)
glue("deadpan_gap_min_dim", plots.short_name(gap.idxmin()), display=False)
glue("deadpan_gap_max", float(gap.max()), display=False)
glue("deadpan_gap_max_dim", plots.short_name(gap.idxmax()), display=False)
plots.glue_figure("fig_deadpan", plots.dimension_bars(
    pd.DataFrame({"deadpan minus human, same excerpt": gap}),
    f"mean rating difference (points on the 1-{int(SCALE_MAX)} scale)"))

# %% [markdown]
# ```{glue:figure} fig_deadpan
# :name: fig-data-deadpan
#
# Mean rating of the deadpan renderings of the score minus that of the human performances of
# the same excerpts, per dimension, in points (development part, mean over the deadpan renderings
# of excerpts that humans also played; below zero: the deadpan renderings are rated nearer the
# first word of the scale).
# ```

# %% tags=["hide-input"]
HEADLINE_MODELS = {"forest_baselines": ("features", "midi", "forest (MIDI descriptors)"),
                   "ast_cv": (None, None, "AST (default)"),
                   "listener_pretraining": ("config", "both", "listener (both)")}
models = {}
for name, (column, value, label) in HEADLINE_MODELS.items():
    res = experiments.find(name) if name in experiments.REGISTRY else None
    if res is not None and res.oof is not None and (column is None or value in set(
            res.oof[column])):
        oof = res.oof if column is None else res.oof[res.oof[column] == value].drop(
            columns=column)
        models[label] = oof[oof.kind == "piece"]
ident = experiments.load("identity_baselines")
deadpan_metrics = ["mean_r2", "mean_r", "mean_within_rho", "mean_pairwise"]
effect = pd.concat([*([headline.summary(labels, models, ds.segments, metrics=deadpan_metrics,
                                        n_boot=config.settings().n_boot)] if models else []),
                    headline.identity_bar(labels, ident.oof, ds.segments, ["piece"],
                                          deadpan_metrics, n_boot=config.settings().n_boot)],
                   ignore_index=True)
plots.table(headline.wide(effect).droplevel("split", axis=1),
            "What the deadpan renderings do to each metric, piece split: pooled out-of-fold "
            "R², Pearson r, within-excerpt Spearman and pairwise accuracy on all development "
            "performances and on the human ones only (the same predictions), beside the "
            "identity bar (the best identity baseline per metric), with "
            f"{stats.LEVEL:.0%} bootstrap intervals over music groups ({config.profile()} "
            "profile).")
