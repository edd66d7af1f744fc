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
# (chapter-baselines)=
# # Baselines and honest splits
#
# Before training anything that listens, we ask what can be predicted *without* listening. An
# *identity baseline* predicts a segment's labels from who plays it or which music it is, using
# only the training folds. Where such a baseline scores well, the split rewards recognising the
# music or the player, and a model's score there says little about how well it hears the
# playing. This is a form of leakage {cite}`kapoor2023leakage`: information about the test labels
# that reaches the model through the structure of the data, not through the performance.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.analysis import headline
from percepiano.analysis.page import METRICS, open_page
from percepiano.data import published, splits
from percepiano.data.dataset import DIMENSIONS
from percepiano.evaluation import stats

page = open_page()  # the development part; the final exam stays locked
glue("n_boot", page.n_boot, display=False)
glue("units", stats.describe_design(page.units, ["piece", "performer", "work"]), display=False)


# %% [markdown]
# (sec-baselines-splits)=
# ## Five ways to split
#
# Every number in this book is an out-of-fold estimate from grouped cross-validation
# (`percepiano.data.splits`) on the development part of the data (the final exam stays locked,
# {ref}`chapter-data`): all members of a group fall in the same test fold, so the model never
# trains on the group it is tested on.
#
# * **random**: each segment is its own group, as in most published work. Held out: single
#   segments; in training: the other performances of every test excerpt.
# * **piece**: grouped by the music. Held out: every excerpt that shares notes with a test
#   excerpt (a long excerpt and the shorter ones inside it, literal repeats, and identical
#   recordings filed under two excerpts); in training: other stretches of the same work, where
#   the work has any.
# * **performer**: grouped by performer (the deadpan score renderings form one group). Held out:
#   the player; in training: the same excerpts played by others.
# * **work**: grouped by work (one Beethoven variation, one Schubert movement or impromptu).
#   Held out: the whole work; in training: the other works, by the same performers.
# * **composer**: leave one composer out. Held out: the style itself; in training: only the
#   other composer's music.

# %% tags=["hide-input"]
ident = experiments.load("identity_baselines")
cfg = ident.provenance["config"]
groups = {kind: splits.groups(page.ds.segments, kind).nunique() for kind in cfg["kinds"]}
folds = {kind: (2 if kind == "composer" else cfg["folds"]) for kind in cfg["kinds"]}
plots.table(pd.DataFrame({"groups": groups, "test folds": folds}).rename_axis("split"),
            f"Groups and folds of each split on the {len(page.ds.names)} development segments "
            f"({config.profile()} profile, {len(cfg['seeds'])} seeds of the fold assignment).")

# %% [markdown]
# (sec-baselines-identity)=
# ## Identity baselines: the bar
#
# Five predictors that never hear a note (`percepiano.models.identity`), each fitted on the
# training folds only:
#
# * **global mean**: the mean label of the training segments;
# * **excerpt mean**: the mean label of the training segments of the same excerpt (the same
#   music by other performers), the global mean when the excerpt is not in the training folds;
# * **performer mean**: the mean label of the same performer's training segments;
# * **performer × work mean**: the same performer playing other excerpts of the same work, else
#   the performer mean;
# * **work mean + performer offset**: the work's mean label plus how far the performer's
#   segments lie from their works' means.
#
# The strongest of them on a split is the **bar** every listening model must clear there: it
# knows who plays and which music, and nothing about how it was played. Every figure below is
# the pooled out-of-fold score averaged over the seeds, with a {glue:text}`level:.0%` bootstrap interval
# over what the split holds out ({glue:text}`units`; music groups on the random and composer
# splits; {glue:text}`n_boot` resamples, `percepiano.evaluation.stats`).
#
# On the random split the excerpt mean reaches a mean R² of {glue:text}`ex_random_r2:.3f`
# ({glue:text}`ex_random_ci`), {glue:text}`ex_random_of_ceiling:.0%` of the noise ceiling of
# {ref}`sec-data-ceiling`, without any information about the performance
# ({numref}`fig-baselines-identity`). {glue:text}`ex_random_reading`. On the piece split the
# excerpt is never in training and the excerpt mean falls back to the global mean (R²
# {glue:text}`ex_piece_r2:.3f`); on the performer split, where the test excerpts were played by
# others in training, it reaches {glue:text}`ex_performer_r2:.3f`
# ({glue:text}`ex_performer_ci`).

# %% tags=["hide-input"]
id_summary = page.summary(ident.oof, by=["kind", "baseline"], kind=None, human=False)
est = id_summary.set_index(["kind", "baseline", "metric"])
for (kind, baseline), key in [(("random", "excerpt_mean"), "ex_random"),
                              (("piece", "excerpt_mean"), "ex_piece"),
                              (("performer", "excerpt_mean"), "ex_performer"),
                              (("piece", "performer_mean"), "perf_piece")]:
    row = est.loc[(kind, baseline, "mean_r2")]
    glue(f"{key}_r2", float(row.estimate), display=False)
    glue(f"{key}_ci", f"{stats.LEVEL:.0%} CI {row.ci_lo:.3f} to {row.ci_hi:.3f}", display=False)
ceiling = experiments.load("data_ceiling")
ex_random = est.loc[("random", "excerpt_mean", "mean_r2")]
of_ceiling = float(ex_random.estimate / ceiling["mean_ceiling_r2"])
glue("ex_random_of_ceiling", of_ceiling, display=False)
glue("ex_random_reading", "That is the leak a random split invites: a model that learns to "
     "recognise the excerpt can inherit this score" if ex_random.ci_lo > 0 else
     "Its interval includes zero: on this profile the excerpt gives away nothing measurable "
     "on the random split", display=False)
glue("random_lesson", "results on a random split include what a model earns by recognising "
     f"music it has already heard (the excerpt mean alone reaches {of_ceiling:.0%} of the noise "
     "ceiling there)" if ex_random.ci_lo > 0 else "recognising music already heard earns "
     "nothing measurable on this profile's random split, but a split that holds the music out "
     "removes the possibility", display=False)
bars = ident["bar"]
glue("bar_names", stats.join_items([f"the {plots.BASELINE_LABELS[b]} on the {k} split"
                                    for k, b in bars.items()]), display=False)
shown = id_summary[id_summary.metric == "mean_r2"].assign(
    baseline=lambda t: t.baseline.map(plots.BASELINE_LABELS))
plots.glue_figure("fig_identity", plots.split_bars(
    shown, value="estimate", ci=("ci_lo", "ci_hi"),
    reference={"noise ceiling (mean R²)": ceiling["mean_ceiling_r2"]}))

# %% [markdown]
# ```{glue:figure} fig_identity
# :name: fig-baselines-identity
#
# Mean R² over the dimensions of the five identity baselines on each split (pooled out-of-fold,
# averaged over seeds; black bars: {glue:text}`level:.0%` bootstrap intervals; profile
# {glue:text}`profile`), with the noise ceiling as a dashed line. The excerpt mean knows the test
# music only where it was heard in training (the random and performer splits) and is the global
# mean elsewhere. The strongest baseline of each split by R²: {glue:text}`bar_names`.
# ```

# %% tags=["hide-input"]
lines = []
for kind in ("piece", "performer", "work"):
    b = bars[kind]
    r2, pw = est.loc[(kind, b, "mean_r2")], est.loc[(kind, b, "mean_pairwise")]
    lines.append(f"* **{kind} split**: the {plots.BASELINE_LABELS[b]}, R² {r2.estimate:.3f} "
                 f"[{r2.ci_lo:.3f}, {r2.ci_hi:.3f}], within-excerpt pairwise accuracy "
                 f"{pw.estimate:.3f} [{pw.ci_lo:.3f}, {pw.ci_hi:.3f}]")
perf_vs_bar = est.loc[("piece", bars["piece"], "mean_r2")].estimate - est.loc[
    ("piece", "performer_mean", "mean_r2")].estimate
pw_bar = est.xs("mean_pairwise", level="metric").loc["piece"]
pw_best = pw_bar.estimate.idxmax()
pw = pw_bar.loc[pw_best]
side = ("above" if pw.ci_lo > 0.5 else "below" if pw.ci_hi < 0.5
        else "not distinguishable from")
who = ("knowing who plays orders the performances of one excerpt, because performers differ "
       "consistently (the deadpan renderings of the score count as one performer, "
       "{ref}`sec-data-deadpan`). " if side == "above" and "performer" in pw_best else "")
display(Markdown(
    "The bar of each split on which the book compares models:\n\n" + "\n".join(lines)
    + "\n\nOn the piece split the bar is "
    + ("the performer mean itself" if bars["piece"] == "performer_mean" else
       f"{perf_vs_bar:+.3f} R² {'above' if perf_vs_bar > 0 else 'below'} the performer mean "
       "alone") + ", the bar earlier versions of this book used. Within excerpts, the "
    f"{plots.BASELINE_LABELS[pw_best]} orders "
    f"{pw.estimate:.1%} of the pairs of performances correctly ({stats.LEVEL:.0%} interval "
    f"{pw.ci_lo:.3f} to {pw.ci_hi:.3f}), {side} the 0.5 of chance, although it never hears a "
    "note" + (": " + who if who else ". ") +
    "Within-excerpt metrics remove what the music gives away, not what the performer's "
    "identity does, so a listening model's within-excerpt score means something only beside "
    "this identity bar, which every headline table of the book shows."))

# %% tags=["hide-input"]
plots.table(plots.with_intervals(id_summary.assign(baseline=id_summary.baseline.map(
    plots.BASELINE_LABELS)), ["kind", "baseline"], METRICS).rename_axis(["split", "baseline"]),
            f"Identity baselines: mean R², mean Pearson r and within-excerpt pairwise accuracy "
            f"over the {len(DIMENSIONS)} dimensions, pooled out-of-fold, mean over seeds "
            f"{cfg['seeds']}, with {stats.LEVEL:.0%} bootstrap intervals over what each split "
            f"holds out ({config.profile()} profile).")

# %% tags=["hide-input"]
# The random forests need descriptors of every segment; their section appears when their results
# are stored for this profile (`percepiano run forest_baselines`).
forest = (experiments.find("forest_baselines") if "forest_baselines" in experiments.REGISTRY
          else None)
if forest is not None:
    fcfg = forest.provenance["config"]
    f_summary = page.summary(forest.oof, by=["kind", "features"], kind=None)
    f_human = f_summary[f_summary.performances == "human"]
    f_summary = f_summary[f_summary.performances == "all"].drop(columns="performances")
    blocks = {}
    for kind in fcfg["splits"]:
        bar_oof = stats.by_config(ident.oof, "baseline", kind=kind)[bars[kind]]
        blocks[kind] = {"bar": bar_oof, **{f"forest, {f} descriptors": p for f, p in
                                           stats.by_config(forest.oof, "features",
                                                           kind=kind).items()}}
    f_vs_bar = stats.compare_each(page.y, blocks, "bar", page.units, page.excerpts,
                                  metrics=("mean_r2", "mean_pairwise"), n_boot=page.n_boot)

# %% tags=["hide-input"]
if forest is not None:
    piece = f_vs_bar[(f_vs_bar.block == "piece") & (f_vs_bar.metric == "mean_r2")]
    best = piece.loc[piece.estimate_config.idxmax()]
    sentences = []
    for _, r in f_vs_bar[f_vs_bar.metric == "mean_r2"].iterrows():
        sentences.append(stats.verdict(
            r, f"on the {r.block} split the forest on {r.config.split(', ')[1]}",
            f"the bar ({plots.BASELINE_LABELS[bars[r.block]]})"))
    display(Markdown(f"""
**Random forests on descriptors.** A model that does listen, in the simplest way: a random
forest {{cite}}`breiman2001random` on hand-made descriptors of each performance
(`percepiano.models.forest`), {f"one multi-output forest for the {len(DIMENSIONS)} dimensions" if
fcfg['forest']['joint'] else "one forest per dimension"} with fixed settings
({fcfg['forest']['n_estimators']} trees, at least {fcfg['forest']['min_samples_leaf']}
segments per leaf), fitted on the whole training portion of each fold, on the descriptor sets
{", ".join(fcfg['features'])}. These settings and the descriptors themselves were compared on
piece-split scores of these same folds while they were developed, and on segments now in the
final exam ({{ref}}`chapter-data`): they were not chosen inside the training folds, so the
forest's numbers may be optimistic, by an amount this book does not measure. On the piece split
the best set
({best.config.split(', ')[1]}) reaches a mean R² of {best.estimate_config:.3f}
({{numref}}`fig-baselines-forest`). Against the bar of each split, with paired intervals over
what each split holds out and Holm's correction over the {len(f_vs_bar)} comparisons of this
section: {"; ".join(sentences)}.
"""))

# %% tags=["hide-input"] mystnb={"figure": {"name": "fig-baselines-forest", "caption": "Random forests on performance descriptors minus the bar of each split (the strongest identity baseline), in mean R\u00b2 and within-excerpt pairwise accuracy: paired differences over the same folds and seeds, with bootstrap intervals over what each split holds out; filled points are significant after Holm's correction."}}
if forest is not None:
    fig = plots.differences(f_vs_bar.assign(config=f_vs_bar.block + ": " + f_vs_bar.config))
    display(fig)
    plt.close(fig)

# %% tags=["hide-input"]
if forest is not None:
    shown = pd.concat([f_summary.assign(performances="all"), f_human], ignore_index=True)
    shown = shown[shown.metric.isin(headline.METRICS)].assign(
        model="forest, " + shown.features + " descriptors").drop(columns="features")
    bar = headline.identity_bar(page.y, ident.oof, page.ds.segments, fcfg["splits"],
                                n_boot=page.n_boot)
    display(plots.table(
        headline.wide(pd.concat([shown, bar], ignore_index=True)),
        "Random forests beside the identity bar (the best identity baseline of each split and "
        f"metric): pooled out-of-fold R² and within-excerpt pairwise accuracy on all "
        f"development performances and on the human ones only, mean over seeds "
        f"{fcfg['seeds']}, with {stats.LEVEL:.0%} bootstrap intervals over "
        f"{stats.describe_design(page.units, fcfg['splits'])} ({config.profile()} profile, "
        f"{forest['n_segments']} segments)."))

# %% [markdown]
# (sec-baselines-published)=
# ## Where published models stand
#
# The table below puts our baselines beside published results on PercePiano. These are quoted
# from their sources (`percepiano.data.published`), not reproduced here, and their folds are not ours:
# the original split scripts shuffle files in directory order, so their exact folds cannot be
# rebuilt. The Bi-LSTM with score alignment and hierarchical attention of
# {cite}`park2024percepiano` reaches R² {glue:text}`pub_piece:.3f` on its piece split and
# {glue:text}`pub_performer:.3f` on its performer split. Frozen MuQ {cite}`zhu2025muq`
# embeddings of audio rendered from the MIDI reach R² {glue:text}`pub_muq:.3f` (r
# {glue:text}`pub_muq_r:.3f`) on an excerpt-level random split {cite}`dhiman2026audio`, a split
# on which the excerpt mean alone reaches {glue:text}`ex_random_r2:.3f` here:
# {glue:text}`muq_reading`.

# %% tags=["hide-input"]
pub = published.published_table()
glue("pub_piece", float(pub.query("split == 'piece'").r2.iloc[0]), display=False)
glue("pub_performer", float(pub.query("split == 'performer'").r2.iloc[0]), display=False)
muq = pub[pub.model.str.contains("MuQ")].iloc[0]
glue("pub_muq", float(muq.r2), display=False)
glue("pub_muq_r", float(muq.r), display=False)
leak = float(est.loc[("random", "excerpt_mean", "mean_r2")].estimate / muq.r2)
glue("muq_reading", f"about {leak:.0%} of that score is within reach of a model that only "
     "recognises the music" if leak < 1 else "a model that only recognises the music reaches "
     "that score", display=False)

# %% tags=["hide-input"]
rows = [{"model": r.model, "input": r.input, "split": r.split, "R²": r.r2, "r": r.r,
         "source": r.source} for r in pub.itertuples()]
r2_of = id_summary[id_summary.metric == "mean_r2"].set_index(["kind", "baseline"]).estimate
r_of = id_summary[id_summary.metric == "mean_r"].set_index(["kind", "baseline"]).estimate
for kind in ("random", "piece", "performer", "work"):
    b = r2_of.loc[kind].idxmax()
    rows.append({"model": f"{plots.BASELINE_LABELS[b]} (identity baseline)",
                 "input": "who plays / which music, no audio", "split": kind,
                 "R²": r2_of.loc[(kind, b)], "r": r_of.loc[(kind, b)],
                 "source": f"this book, {config.profile()} profile"})
if forest is not None:
    fr2 = f_summary[f_summary.metric == "mean_r2"].set_index(["kind", "features"]).estimate
    fr = f_summary[f_summary.metric == "mean_r"].set_index(["kind", "features"]).estimate
    for kind in fcfg["splits"]:
        f = fr2.loc[kind].idxmax()
        rows.append({"model": f"random forest, {f} descriptors",
                     "input": {"midi": "descriptors of the performance MIDI",
                               "audio": "descriptors of the rendered audio",
                               "both": "MIDI and audio descriptors"}[f],
                     "split": kind, "R²": fr2.loc[(kind, f)], "r": fr.loc[(kind, f)],
                     "source": f"this book, {config.profile()} profile"})
plots.table(pd.DataFrame(rows).set_index("model"),
            "Published results (quoted) beside our best identity baseline of each split and, "
            f"where computed, our best random forest. Mean over the {len(DIMENSIONS)} "
            "dimensions; published folds differ from ours.")

# %% [markdown]
# The lesson for the rest of the book: {glue:text}`random_lesson`. We report the piece split as
# the main measure of hearing the playing, the performer and work splits as measures of
# generalising to new players and new music, always beside the bar of the same split, the noise
# ceiling, the within-excerpt metrics (which the music cannot move, though the performer's
# identity can), and the human performances alone beside all of them.
