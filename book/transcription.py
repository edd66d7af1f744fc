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
# (chapter-transcription)=
# # Hearing the notes: scoring recordings through transcription
#
# In PercePiano the audio is a rendering of the MIDI, so no listener can know more about a
# segment than a perfect model of its MIDI; a listener's worth is for takes that exist only
# as sound. Such a take can also be turned back into notes. An automatic piano transcriber
# hears onsets, pitches, velocities and the sustain pedal, and the MIDI model of
# {ref}`chapter-baselines` can then score what it wrote down. This chapter measures that
# route with transkun {cite}`yan2024scoring`, a transformer with a semi-Markov CRF over note
# intervals trained on MAESTRO {cite}`hawthorne2019enabling`:
#
# 1. **how well it transcribes here**: note, velocity and pedal accuracy
#    {cite}`raffel2014mireval` on renderings of development segments, through the training
#    piano, another piano and a simulated room;
# 2. **what the transcription costs the MIDI model**: the same forest on the true MIDI, on the
#    transcribed MIDI, and the audio model on the same sound, on the final models' piece folds;
#    which dimensions suffer; and whether training on MIDI passed through a model of the
#    transcriber's errors helps.
#
# Transcribing every development segment takes about a day on two CPU cores, so the
# {glue:text}`profile` profile uses a fixed subset: {glue:text}`tr_n` segments in whole
# excerpts of both composers, the shortest first ({glue:text}`tr_part` of them also through
# the other piano and the room).

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import experiments, plots
from percepiano.analysis import scoring
from percepiano.analysis import transcription_readings as say
from percepiano.analysis.page import open_page
from percepiano.evaluation import stats
from percepiano.experiments import transcription_scoring as S

page = open_page()  # the development part; the final exam stays locked
res = experiments.load("transcription_route")
names, part = res["subset"], res["part"]
glue("tr_n", len(names), display=False)
glue("tr_part", len(part), display=False)
glue("tr_excerpts", page.ds.segments.excerpt.loc[names].nunique(), display=False)
glue("tr_part_excerpts", page.ds.segments.excerpt.loc[part].nunique(), display=False)
segments = pd.Series(names, index=names)  # resampling units: the segments themselves
speed = say.speed(res["accuracy"])
glue("tr_per_minute", speed["per_minute_s"] / 60, display=False)
glue("tr_wall_min", res.provenance.get("wall_time_s", 0.0) / 60, display=False)

# %% [markdown]
# (sec-transcription-accuracy)=
# ## How well transkun transcribes these renderings
#
# Each rendering is brought to the loudness target that `percepiano predict` uses, transcribed,
# and compared with the MIDI it was rendered from: notes matched by onset within 50 ms (and
# offset, and velocity), velocity as the correlation and slope of transcribed on true velocity
# over matched notes, and the sustain pedal frame by frame (10 ms) and press by press.

# %% tags=["hide-input"]
display(plots.table(say.accuracy_table(res["accuracy"], page.n_boot, stats.LEVEL),
                    f"Transcription accuracy per rendering (mean over segments, "
                    f"{stats.LEVEL:.0%} bootstrap intervals over segments)."))
plots.glue_figure("fig_tr_accuracy", say.accuracy_figure(res["accuracy"]))

# %% [markdown]
# ```{glue:figure} fig_tr_accuracy
# :name: fig-tr-accuracy
#
# Onset F1, onset + offset + velocity F1 and sustain-pedal frame F1 of every transcribed
# segment, by rendering.
# ```
#
# Transcribing took {glue:text}`tr_per_minute:.1f` minutes of computing per minute of audio
# on this machine.
#
# (sec-transcription-scoring)=
# ## Scoring through the notes
#
# The MIDI forest of `percepiano predict` is fitted, fold by fold, on the other folds' true
# MIDI, then scores the held-out segments from their true MIDI and from each transcription;
# the audio forest scores the same renderings from their sound. Intervals resample segments
# (the subset holds {glue:text}`tr_excerpts` excerpts, too few to resample music); the
# comparisons are paired on the same segments and folds. The part heard through the other
# piano and the room holds {glue:text}`tr_part_excerpts` excerpt(s): R² there is measured
# against the small spread of ratings within so little music and falls far below zero for
# every route, so read the within-excerpt pairwise accuracy for those rows.

# %% tags=["hide-input"]
oof = res.oof.drop(columns="fold")
preds = stats.by_config(oof, "route")
on_all = {k: v for k, v in preds.items() if set(v.index) == set(names)}
summ = page.summary(oof, ["route"], clusters=segments, human=False)
display(plots.table(plots.with_intervals(summ, ["route"], {"mean_r2": "R²", "mean_r": "r",
                                                           "mean_pairwise": "pairwise accuracy"}),
                    f"Each route on its segments: pooled metrics with {stats.LEVEL:.0%} "
                    "bootstrap intervals over segments."))
vs = page.compare(on_all, S.TRUE, clusters=segments)
display(Markdown("Against the MIDI forest on the true MIDI, on all the subset's segments: "
                 + stats.tally(vs, "it")))
plots.glue_figure("fig_tr_routes", plots.differences(vs, label="config",
                                                     xlabel="difference from the true MIDI"))

# %% [markdown]
# ```{glue:figure} fig_tr_routes
# :name: fig-tr-routes
#
# Each route minus the MIDI forest on the true MIDI, on the same segments;
# {glue:text}`level:.0%` bootstrap intervals over segments, filled points significant after
# Holm's correction.
# ```
#
# ### Which dimensions suffer

# %% tags=["hide-input"]
loss = say.dimension_loss(res["per_dimension"], S.transcribed("fluidr3"), S.TRUE)
plots.glue_figure("fig_tr_dimensions", plots.dimension_bars(
    loss.rename("R² lost").to_frame(), "R² through the transcription minus R² on the true MIDI"))
display(Markdown(say.dimensions_sentence(loss, plots.short_name)))

# %% [markdown]
# ```{glue:figure} fig_tr_dimensions
# :name: fig-tr-dimensions
#
# Per dimension, the R² the MIDI forest loses when it reads the transcription of the FluidR3
# rendering instead of the true MIDI.
# ```
#
# ### A model of the transcriber's errors
#
# For each fold, the transcriber's errors are measured on the subset's segments of the other
# folds (onset jitter, velocity mapping and noise, missed notes, kept sustain presses and the
# jitter of their edges), drawn onto the true MIDI of every training segment, and the forest is
# trained on the true and the perturbed MIDI together.

# %% tags=["hide-input"]
if res["error_models"]:  # none when the whole subset lies in one fold
    display(plots.table(pd.DataFrame(res["error_models"]).set_index("fold"),
                        "The error model fitted for each fold (seconds; MIDI velocity units)."))
noisy = {k: v for k, v in on_all.items() if k in (S.transcribed("fluidr3"),
                                                   S.with_errors("fluidr3"))}
if len(noisy) == 2:
    em = page.compare(noisy, S.transcribed("fluidr3"), clusters=segments)
    display(Markdown("Trained with the error model, against trained on true MIDI alone, both "
                     "reading the transcriptions: " + stats.tally(em, "it")))

# %% [markdown]
# ### Which route `percepiano predict` takes
#
# The notes route of the command line is the forest trained with the error model (fitted on
# every stored transcription; `percepiano model info --kind notes`), its intervals calibrated
# on this chapter's out-of-fold predictions on the transcriptions.

# %% tags=["hide-input"]
r2 = {r["route"]: r["pooled_r2"] for r in res["routes"]}
display(Markdown(say.route_choice(r2, S.with_errors("fluidr3"), S.audio("fluidr3"),
                                  scoring.AUDIO_ROUTE)))

# %% [markdown]
# Recomputing this chapter's experiment took {glue:text}`tr_wall_min:.0f` minutes in the
# {glue:text}`profile` profile (transcriptions cached per rendering: a run stopped part-way
# goes on where it stopped).
