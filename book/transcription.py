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
# the other piano and the room). That is {glue:text}`tr_groups` pieces of music: enough to
# see how each route ranks the performances of one piece, far too few to tell the routes
# apart with a test, so this chapter measures and does not decide.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import experiments, plots
from percepiano.analysis import scoring
from percepiano.analysis import transcription_readings as say
from percepiano.analysis.page import METRICS, open_page
from percepiano.evaluation import stats
from percepiano.experiments import transcription_scoring as S

page = open_page()  # the development part; the final exam stays locked
res = experiments.load("transcription_route")
names, part = res["subset"], res["part"]
glue("tr_n", len(names), display=False)
glue("tr_part", len(part), display=False)
glue("tr_part_groups", page.units["piece"].loc[part].nunique(), display=False)
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
# the audio forest scores the same renderings from their sound. Each route is judged first by
# its within-excerpt pairwise accuracy, how often it orders two performances of one excerpt as
# the raters did, which is what a route must get right to judge the playing. Pooled R² comes
# second: across {glue:text}`tr_groups` pieces of music it mostly measures how well a route
# places each piece, and the row "each piece's true mean", which knows the music's average
# rating and nothing of the performance, shows how far that alone goes. Intervals resample the
# pieces of music; the part heard through the other piano and the room holds
# {glue:text}`tr_part_groups` of them: on so little music, read its pairwise accuracy rather
# than its R², which measures the routes against the small spread of ratings within it.

# %% tags=["hide-input"]
oof = res.oof.drop(columns="fold")
preds = stats.by_config(oof, "route")
on_all = {k: v for k, v in preds.items() if set(v.index) == set(names)}
music = page.units["piece"].loc[names]  # resampling units: the subset's pieces of music
evidence = say.evidence(music)
glue("tr_groups", evidence["units"], display=False)
glue("tr_floor", evidence["floor"], display=False)
oracle = say.group_mean(page.y.loc[names], music)
summ = page.summary(pd.concat([oof, oracle.assign(route=say.GROUP_MEAN)]),
                    ["route"], clusters=music, human=False)
display(plots.table(say.route_table(summ, oof.route, music,
                                    {"mean_pairwise": "pairwise accuracy", "mean_r2": "R²",
                                     "mean_r": "r"}),
                    f"Each route on its segments: pooled metrics with {stats.LEVEL:.0%} "
                    "intervals over its pieces of music (none on two pieces); the last row "
                    "knows each piece's true mean rating."))
within = say.within_unit_r2(page.y, {k: preds[k] for k in on_all}, music)
display(plots.table(within.round(3), "R² of each route inside each piece of music (mean over "
                    "dimensions and seeds): against that music's own mean rating."))
display(Markdown(say.within_sentence(within)))
vs = page.compare(on_all, S.TRUE, clusters=music, metrics=("mean_pairwise", "mean_r2"))
plots.glue_figure("fig_tr_routes", plots.differences(vs, label="config",
                                                     xlabel="difference from the true MIDI"))

# %% [markdown]
# The differences between routes below are descriptions, not verdicts: no sign-flip test over
# {glue:text}`tr_groups` pieces can reach a p-value below {glue:text}`tr_floor:.3f`.
#
# ```{glue:figure} fig_tr_routes
# :name: fig-tr-routes
#
# Each route minus the MIDI forest on the true MIDI, on the same segments, in within-excerpt
# pairwise accuracy and R², with {glue:text}`level:.0%` intervals over the pieces of music.
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
    em = page.compare(noisy, S.transcribed("fluidr3"), clusters=music,
                      metrics=("mean_pairwise", "mean_r2"))
    display(plots.table(em.replace({"metric": METRICS}).set_index("metric")
                        [["difference", "ci_lo", "ci_hi"]],
                        "Trained with the error model minus trained on true MIDI alone, both "
                        f"reading the transcriptions ({stats.LEVEL:.0%} intervals over the "
                        "pieces of music; no test: too few pieces)."))

# %% [markdown]
# ### Which route `percepiano predict` takes
#
# The notes route of the command line is the forest trained with the error model (fitted on
# every stored transcription; `percepiano model info --kind notes`), its intervals calibrated
# on this chapter's out-of-fold predictions on the transcriptions.

# %% tags=["hide-input"]
pairwise = summ[summ.metric == "mean_pairwise"].set_index("route").estimate.to_dict()
display(Markdown(say.route_choice(pairwise, S.with_errors("fluidr3"), S.audio("fluidr3"),
                                  scoring.AUDIO_ROUTE, evidence)))

# %% [markdown]
# Recomputing this chapter's experiment took {glue:text}`tr_wall_min:.0f` minutes in the
# {glue:text}`profile` profile (transcriptions cached per rendering: a run stopped part-way
# goes on where it stopped).
