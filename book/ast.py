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
# (chapter-ast)=
# # A tiny Audio Spectrogram Transformer on a CPU
#
# The central model of this book listens: an Audio Spectrogram Transformer (AST)
# {cite}`gong2021ast` reads a log-mel spectrogram of the performance, rendered from its MIDI with
# FluidSynth (the sustain pedal included), and predicts the 19 dimensions. Here it is trained
# from scratch on PercePiano's segments, without pre-training, which makes it small by necessity:
# {glue:text}`ast_params:,` parameters, against 86 million in the original AST.
#
# Speed decides what this book can show. A naive AST (patches of 16 × 16 spectrogram bins,
# hundreds of tokens for a ten-second crop) costs minutes per epoch on a laptop CPU. The default
# here turns each token into a whole-band slice: the {glue:text}`ast_mels` mel bands are pooled to
# {glue:text}`ast_bands`, frames to {glue:text}`ast_frame_ms` ms, and one token covers all bands
# over {glue:text}`ast_token_ms` ms, so a {glue:text}`ast_crop_s`-second crop is
# {glue:text}`ast_tokens` tokens. Time positions enter through rotary embeddings
# {cite}`su2024roformer` in attention, so what the model learns about a gesture does not depend
# on where in the crop it falls, and
# whole segments of any length are scored by averaging over a fixed grid of crops
# (`percepiano.models.ast`, `percepiano.training.train`).

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import config, experiments, plots
from percepiano.data.dataset import DIMENSIONS
from percepiano.models import ast

plots.style()
res = experiments.load_or_run("ast_cv")
cfg = res.provenance["config"]
ceiling = experiments.load_or_run("data_ceiling")
ident = experiments.load_or_run("identity_baselines")
forest = (experiments.load("forest_baselines") if "forest_baselines" in experiments.REGISTRY
          else None)
table = pd.DataFrame(res["table"])
mean = table.groupby("kind")[["mean_r2", "mean_r", "wall_s"]].mean()
model = cfg["model"]
glue("ast_params", int(res["n_params"]), display=False)
glue("ast_tokens", ast.preset(cfg["preset"]).n_tokens, display=False)
hop_ms = 1000 * cfg["mel"]["hop_length"] / cfg["mel"]["sr"]
glue("ast_mels", int(model["n_mels"]), display=False)
glue("ast_bands", int(model["n_mels"] // model["freq_pool"]), display=False)
glue("ast_frame_ms", int(round(hop_ms * model["time_pool"])), display=False)
glue("ast_token_ms", int(round(hop_ms * model["time_pool"] * model["patch"][1])), display=False)
glue("ast_crop_s", int(round(model["crop_frames"] * hop_ms / 1000)), display=False)
glue("ast_depth", int(model["depth"]), display=False)
glue("ast_dim", int(model["dim"]), display=False)
glue("ast_epochs", int(cfg["train"]["epochs"]), display=False)
glue("ast_folds", int(cfg["folds"]), display=False)
for kind in ("piece", "performer"):
    glue(f"ast_{kind}_r2", float(mean.loc[kind, "mean_r2"]), display=False)
    glue(f"ast_{kind}_r", float(mean.loc[kind, "mean_r"]), display=False)
    glue(f"ast_{kind}_minutes", float(mean.loc[kind, "wall_s"] / 60), display=False)
glue("profile", config.profile(), display=False)
glue("device", res.provenance.get("device", "cpu"), display=False)

# %% [markdown]
# (sec-ast-results)=
# ## How well it hears
#
# With {glue:text}`ast_depth` layers of width {glue:text}`ast_dim`, at most
# {glue:text}`ast_epochs` epochs and the epoch chosen on the validation part of each training
# portion, the AST reaches a mean R² of {glue:text}`ast_piece_r2:.3f` (mean r
# {glue:text}`ast_piece_r:.3f`) on the piece split and {glue:text}`ast_performer_r2:.3f`
# (r {glue:text}`ast_performer_r:.3f`) on the performer split, out of fold over
# {glue:text}`ast_folds` folds. A whole piece-split cross-validation took
# {glue:text}`ast_piece_minutes:.1f` minutes on the {glue:text}`device` ({glue:text}`profile`
# profile). {numref}`fig-ast-splits` sets it beside the bars of {ref}`chapter-baselines`.
#

# %% tags=["hide-input"]
id_table = pd.DataFrame(ident["table"])
id_mean = id_table.groupby(["kind", "baseline"])["mean_r2"].mean()
perf_piece = float(id_mean.loc[("piece", "performer_mean")])
lines = []
if forest is not None:
    fmean = pd.DataFrame(forest["table"]).groupby(["kind", "features"])["mean_r2"].mean()
    f_piece = float(fmean.loc["piece"].max())
    verdict = "clears" if mean.loc["piece", "mean_r2"] > f_piece else "does not clear"
    lines.append(f"On the piece split the AST {verdict} the best random forest on descriptors "
                 f"(R² {f_piece:.3f}).")
verdict = "above" if mean.loc["piece", "mean_r2"] > perf_piece else "below"
lines.append(f"It is {verdict} the performer mean, an identity baseline that never hears a note "
             f"(R² {perf_piece:.3f} on the piece split).")
gap = mean.loc["piece", "mean_r"] ** 2 - mean.loc["piece", "mean_r2"]
if gap > 0.05:
    lines.append("Its R² lags what its Pearson r would allow: the predictions order the "
                 "segments better than they place them, the mark of shrunken, miscalibrated "
                 "predictions on music the model has not heard.")
display(Markdown(" ".join(lines)))

# %% tags=["hide-input"]
id_table = pd.DataFrame(ident["table"])
rows = [table.assign(baseline="AST (audio)")[["kind", "baseline", "mean_r2", "mean_r"]]]
rows.append(id_table[id_table.kind.isin(table.kind.unique())
                     & (id_table.baseline != "global_mean")]
            .assign(baseline=lambda t: t.baseline.str.replace("_", " "))
            [["kind", "baseline", "mean_r2", "mean_r"]])
if forest is not None:
    ft = pd.DataFrame(forest["table"])
    ft = ft[ft.kind.isin(table.kind.unique())]
    rows.append(ft.assign(baseline="forest: " + ft.features + " descriptors")
                [["kind", "baseline", "mean_r2", "mean_r"]])
combined = pd.concat(rows, ignore_index=True)
plots.glue_figure("fig_ast_splits", plots.split_bars(
    combined, reference={"noise ceiling (mean R²)": ceiling["mean_r2"]}))

# %% [markdown]
# ```{glue:figure} fig_ast_splits
# :name: fig-ast-splits
#
# Mean R² over the dimensions of the default AST beside the identity baselines and, where
# computed, the random forests, on the piece and performer splits (out-of-fold; profile
# {glue:text}`profile`). The dashed line is the noise ceiling. The AST is the only model here
# trained end to end on audio.
# ```

# %% tags=["hide-input"]
per_dim = pd.DataFrame({"AST": {d: res["per_dimension"]["piece"][d]["r2"] for d in DIMENSIONS}})
if forest is not None and "both" in forest["per_dimension"]:
    per_dim["forest, both descriptor sets"] = {
        d: forest["per_dimension"]["both"]["piece"][d]["r2"] for d in DIMENSIONS}
per_dim["noise ceiling"] = pd.Series(ceiling["ceiling_r2"])
plots.glue_figure("fig_ast_dims", plots.dimension_bars(per_dim, "R² (piece split)",
                                                       sort_by="AST"))

# %% [markdown]
# ```{glue:figure} fig_ast_dims
# :name: fig-ast-dims
#
# Piece-split R² per dimension for the AST and the forest on both descriptor sets, with each
# dimension's noise ceiling, sorted by the AST's score.
# ```

# %% tags=["hide-input"]
top = per_dim["AST"].sort_values(ascending=False)
display(Markdown(
    "The dimensions the AST predicts best on unseen music are "
    + ", ".join(f"{plots.short_name(d)} (R² {v:.2f})" for d, v in top.head(3).items())
    + "; the worst are "
    + ", ".join(f"{plots.short_name(d)} (R² {v:.2f})" for d, v in top.tail(3).items()) + "."))

# %% tags=["hide-input"]
shown = table.rename(columns={"kind": "split", "mean_r2": "mean R²", "mean_r": "mean r",
                              "wall_s": "wall time (s)"})
plots.table(shown.drop(columns=[c for c in shown.columns if c.startswith("mean_")]),
            f"The default AST, {cfg['folds']}-fold cross-validation per split and seed "
            f"({config.profile()} profile, {res['n_segments']} segments, device "
            f"{res.provenance.get('device', 'cpu')}).")

# %% tags=["hide-input"]
# The trade-off appears when its results are stored for this profile
# (`percepiano run ast_tradeoff`).
tradeoff = experiments.load("ast_tradeoff")
if tradeoff is not None:
    tt = pd.DataFrame(tradeoff["table"])
    display(Markdown(f"""
**What the speed costs.** How the default was chosen: variants that change one thing that sets
the number of tokens or the model's size, each trained once on the first piece-split training
portion ({tradeoff['n_train']} segments) and scored on its validation part
({tradeoff['n_val']} segments), never on a test fold. Fewer, whole-band tokens make an epoch
cheap; {{numref}}`fig-ast-tradeoff` and the table below it show what each choice gains or costs
in validation accuracy. One training run per variant is noisy: differences of a few hundredths
in r are within the spread that a change of seed alone produces.
"""))
    best = tt.loc[tt.val_r.idxmax()]
    default = tt[tt.variant == "default"].iloc[0]
    if best.variant != "default":
        display(Markdown(
            f"The best validation r here, {best.val_r:.3f}, came from *{best.variant}*, at "
            f"{best.s_per_epoch / default.s_per_epoch:.1f} times the default's cost per epoch "
            f"(default: {default.val_r:.3f}); whether that gap survives other seeds is for "
            "runs over several seeds to say, not a single run."))

# %% tags=["hide-input"] mystnb={"figure": {"name": "fig-ast-tradeoff", "caption": "Seconds per training epoch against validation mean r for variants of the default AST (one run each on the first piece-split training portion, scored on its validation part). Up and to the left is better."}}
if tradeoff is not None:
    fig = plots.tradeoff_scatter(tt)
    display(fig)
    plt.close(fig)

# %% tags=["hide-input"]
if tradeoff is not None:
    display(plots.table(
        tt[["variant", "tokens", "params", "s_per_epoch", "epochs_run", "val_r", "val_r2"]]
        .rename(columns={"s_per_epoch": "s / epoch", "epochs_run": "epochs",
                         "val_r": "val mean r", "val_r2": "val mean R²"}),
        f"Speed and validation accuracy of AST variants ({config.profile()} profile, device "
        f"{tradeoff.provenance.get('device', 'cpu')}, one seed; seconds measured on the machine "
        "that computed the results, which may have been shared)."))
