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
from percepiano.data import dataset, published, splits
from percepiano.data.dataset import DIMENSIONS

plots.style()
ds = dataset.load()
glue("profile", config.profile(), display=False)


# %% [markdown]
# (sec-baselines-splits)=
# ## Four ways to split
#
# Every number in this book is an out-of-fold estimate from grouped cross-validation
# (`percepiano.data.splits`): all members of a group fall in the same test fold, so the model never
# trains on the group it is tested on.
#
# * **random**: each segment is its own group, as in most published work. The other
#   performances of a test excerpt are in the training folds.
# * **piece**: grouped by the music: by excerpt, with excerpts that share notes merged (a long
#   excerpt and the shorter ones inside it, literal repeats), so the *music* of every test
#   segment is new to the model.
# * **performer**: grouped by performer (the deadpan score renderings form one group), so the
#   *player* is new, but the same excerpts, played by others, are in the training folds.
# * **composer**: leave one composer out, the hardest transfer: the style itself is new.

# %% tags=["hide-input"]
ident = experiments.load_or_run("identity_baselines")
cfg = ident.provenance["config"]
groups = {kind: splits.groups(ds.segments, kind).nunique() for kind in cfg["kinds"]}
folds = {kind: (2 if kind == "composer" else cfg["folds"]) for kind in cfg["kinds"]}
plots.table(pd.DataFrame({"groups": groups, "test folds": folds}).rename_axis("split"),
            f"Groups and folds of each split ({config.profile()} profile, "
            f"{len(cfg['seeds'])} seed(s) of the fold assignment).")

# %% [markdown]
# (sec-baselines-identity)=
# ## Identity baselines
#
# Three predictors that never hear a note (`percepiano.models.identity`):
#
# * **global mean**: the mean label of the training segments;
# * **excerpt mean**: the mean label of the training segments of the same excerpt (the same
#   music by other performers), the global mean when the excerpt is not in the training folds;
# * **performer mean**: the mean label of the same performer's training segments, the global
#   mean for an unseen performer.
#
# On the random split the excerpt mean reaches a mean R² of {glue:text}`ex_random_r2:.3f`
# (mean r {glue:text}`ex_random_r:.3f`), {glue:text}`ex_random_of_ceiling:.0%` of the noise
# ceiling of {ref}`sec-data-ceiling`, without any information about the performance
# ({numref}`fig-baselines-identity`). That is the leak a random split invites: a model that
# learns to recognise the excerpt inherits this score. On the piece split the excerpt is never in
# training and the excerpt mean falls back to the global mean
# (R² {glue:text}`ex_piece_r2:.3f`). The performer split does not remove the leak: the test
# excerpts were played by other performers in training, and the excerpt mean still reaches
# R² {glue:text}`ex_performer_r2:.3f` there. Knowing the performer is worth less but not nothing
# (R² {glue:text}`perf_random_r2:.3f` on the random split, {glue:text}`perf_piece_r2:.3f` on the
# piece split): performers differ in how they play, and the listeners heard it.

# %% tags=["hide-input"]
table = pd.DataFrame(ident["table"])
mean = table.groupby(["kind", "baseline"], sort=False)[["mean_r2", "mean_r"]].mean()
ceiling = experiments.load_or_run("data_ceiling")
for (kind, baseline), key in [(("random", "excerpt_mean"), "ex_random"),
                              (("piece", "excerpt_mean"), "ex_piece"),
                              (("performer", "excerpt_mean"), "ex_performer"),
                              (("random", "performer_mean"), "perf_random"),
                              (("piece", "performer_mean"), "perf_piece")]:
    glue(f"{key}_r2", float(mean.loc[(kind, baseline), "mean_r2"]), display=False)
    glue(f"{key}_r", float(mean.loc[(kind, baseline), "mean_r"]), display=False)
glue("ex_random_of_ceiling",
     float(mean.loc[("random", "excerpt_mean"), "mean_r2"] / ceiling["mean_r2"]), display=False)
shown = table.assign(baseline=table.baseline.str.replace("_", " "))
plots.glue_figure("fig_identity", plots.split_bars(
    shown, reference={"noise ceiling (mean R²)": ceiling["mean_r2"]}))

# %% [markdown]
# ```{glue:figure} fig_identity
# :name: fig-baselines-identity
#
# Mean R² over the dimensions of the three identity baselines on each split (out-of-fold,
# averaged over folds and seeds; profile {glue:text}`profile`), with the noise ceiling as a dashed
# line. The excerpt mean scores wherever the test music was heard in training (random and
# performer splits) and nowhere else. The global mean scores below zero, as any constant does
# out of fold, most on the composer split, whose two folds differ most.
# ```

# %% tags=["hide-input"]
wide = mean.unstack("baseline").rename(columns={"mean_r2": "mean R²", "mean_r": "mean r"})
wide.columns = wide.columns.set_levels([c.replace("_", " ") for c in wide.columns.levels[1]],
                                       level=1)
plots.table(wide.rename_axis("split"),
            f"Identity baselines: mean R² and mean Pearson r over the {len(DIMENSIONS)} "
            f"dimensions, out-of-fold ({config.profile()} profile, seeds {cfg['seeds']}).")

# %% tags=["hide-input"]
# The random forests need descriptors of every segment; their section appears when their results
# are stored for this profile (`percepiano run forest_baselines`).
forest = (experiments.load("forest_baselines") if "forest_baselines" in experiments.REGISTRY
          else None)
if forest is not None:
    ftable = pd.DataFrame(forest["table"])
    fmean = ftable.groupby(["features", "kind"], sort=False)[["mean_r2", "mean_r"]].mean()
    fcfg = forest.provenance["config"]
    head = forest["headline"]
    best_feat = fmean.xs("piece", level="kind").mean_r2.idxmax()
    combined = pd.concat([
        shown[shown.kind.isin(fcfg["splits"]) & (shown.baseline != "global mean")],
        ftable.assign(baseline="forest: " + ftable.features + " descriptors"),
    ])

# %% tags=["hide-input"]
if forest is not None:
    display(Markdown(f"""
**Random forests on descriptors.** A model that does listen, in the simplest way: a random
forest {{cite}}`breiman2001random` on hand-made descriptors of each performance
(`percepiano.models.forest`), with fixed settings
({fcfg['forest']['n_estimators']} trees, at least {fcfg['forest']['min_samples_leaf']}
segments per leaf) and the descriptor sets {", ".join(fcfg['features'])}, on
{forest['n_segments']} segments. On the piece split, where the excerpt mean has nothing to
recognise, the best set ({best_feat}) reaches a mean R² of
{fmean.loc[(best_feat, 'piece'), 'mean_r2']:.3f} (mean r
{fmean.loc[(best_feat, 'piece'), 'mean_r']:.3f}); on the performer split
{fmean.xs('performer', level='kind').mean_r2.max():.3f}, against
{mean.loc[('performer', 'excerpt_mean'), 'mean_r2']:.3f} for the excerpt mean
({{numref}}`fig-baselines-forest`). Not all of it is the playing. The piece split hides the
excerpt, not the piece: other stretches of the same movement, played by the same performers, stay
in the training folds, and descriptors of register, texture and tempo can recognise them.
"""))

# %% tags=["hide-input"] mystnb={"figure": {"name": "fig-baselines-forest", "caption": "Random forests on performance descriptors beside the identity baselines, mean R\u00b2 over the dimensions on the piece and performer splits (out-of-fold; the dashed line is the noise ceiling). On the piece split the excerpt mean has nothing to recognise and the performer mean is the bar; on the performer split the excerpt mean is the bar a listening model must clear."}}
if forest is not None:
    fig = plots.split_bars(combined, reference={"noise ceiling (mean R²)": ceiling["mean_r2"]})
    display(fig)
    plt.close(fig)

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
# on which the excerpt mean alone reaches {glue:text}`ex_random_r2:.3f` here: about
# {glue:text}`muq_leak_share:.0%` of that score is within reach of a model that only recognises
# the music.

# %% tags=["hide-input"]
pub = published.published_table()
glue("pub_piece", float(pub.query("split == 'piece'").r2.iloc[0]), display=False)
glue("pub_performer", float(pub.query("split == 'performer'").r2.iloc[0]), display=False)
muq = pub[pub.model.str.contains("MuQ")].iloc[0]
glue("pub_muq", float(muq.r2), display=False)
glue("pub_muq_r", float(muq.r), display=False)
glue("muq_leak_share", float(mean.loc[("random", "excerpt_mean"), "mean_r2"] / muq.r2),
     display=False)

# %% tags=["hide-input"]
split_of = {"piece": "piece", "performer": "performer", "excerpt (random)": "random"}
best = mean.reset_index().sort_values("mean_r2").groupby("kind").tail(1).set_index("kind")
rows = [{"model": r.model, "input": r.input, "split": r.split, "R²": r.r2, "r": r.r,
         "source": r.source} for r in pub.itertuples()]
rows += [{"model": f"{best.loc[k, 'baseline'].replace('_', ' ')} (identity baseline)",
          "input": "which excerpt / which performer, no audio", "split": k,
          "R²": best.loc[k, "mean_r2"], "r": best.loc[k, "mean_r"],
          "source": f"this book, {config.profile()} profile"}
         for k in ("random", "piece", "performer")]
if forest is not None:
    fbest = fmean.reset_index().sort_values("mean_r2").groupby("kind").tail(1).set_index("kind")
    rows += [{"model": f"random forest, {fbest.loc[k, 'features']} descriptors",
              "input": {"midi": "descriptors of the performance MIDI",
                        "audio": "descriptors of the rendered audio",
                        "both": "MIDI and audio descriptors"}[fbest.loc[k, "features"]],
              "split": k, "R²": fbest.loc[k, "mean_r2"], "r": fbest.loc[k, "mean_r"],
              "source": f"this book, {config.profile()} profile"} for k in fcfg["splits"]]
plots.table(pd.DataFrame(rows).set_index("model"),
            "Published results (quoted) beside our best identity baseline of each split and, "
            f"where computed, our best random forest. Mean over the {len(DIMENSIONS)} "
            "dimensions; published folds differ from ours.")

# %% [markdown]
# The lesson for the rest of the book: results on a random split measure, to a large extent, how
# well a model recognises music it has already heard. We report the piece split as the main
# measure of hearing the playing, the performer split as a measure of generalising to new
# players, and always beside the identity baselines and the noise ceiling of the same split.
