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
# (chapter-results)=
# # The final exam
#
# Everything before this chapter was measured on the development part. The locked final
# exam ({ref}`chapter-data`) was set aside for one purpose: to score, once, the systems the
# development chapters chose, each trained on every development segment. This chapter is
# that one reading. Its numbers are computed by the `final_exam` experiment, the only code
# granted the exam's labels; the systems are trained and make their predictions before the
# labels are read, every read is recorded, and a second read is refused unless forced.

# %% tags=["hide-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, no ipywidgets

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from percepiano import experiments, plots
from percepiano.analysis import exam_readings as say
from percepiano.analysis.page import open_page
from percepiano.data import dataset, exam
from percepiano.data.published import published_table
from percepiano.evaluation import stats
from percepiano.evaluation.verdicts import tally
from percepiano.experiments import results, store

page = open_page()  # the development part, for the development cross-validation's metrics
glue("fx_networks", say.networks_text(experiments.load, page.y), display=False)
res = results.exam_results()
m = res.metrics
glue("fx_segments", m["exam"]["segments"], display=False)
glue("fx_groups", m["exam"]["music_groups"], display=False)
glue("fx_excerpts", m["exam"]["excerpts"], display=False)
glue("fx_human", m["exam"]["human"], display=False)
glue("fx_performers", say.performers_text(dataset.load(part="all").segments,
                                          res.oof[res.oof.part == "exam"].index.unique(),
                                          exam.final_exam_names()), display=False)
glue("fx_reference", m["reference"], display=False)
glue("fx_commit", str(res.provenance.get("commit"))[:8], display=False)
glue("fx_lock", exam.lock_commit()[:8], display=False)
changed = store.code_changes(res.provenance)  # package files changed since, from git
glue("fx_status", "the code has not changed since" if changed == [] else
     "the code has changed since; the numbers below are still the exam's one answer, "
     "computed by that commit's code", display=False)

# %% [markdown]
# ## What was examined
#
# This reading scores {glue:text}`fx_segments` exam segments: {glue:text}`fx_excerpts`
# excerpts of {glue:text}`fx_groups` groups of shared music, none of which the development
# part holds ({glue:text}`fx_human` of them human performances, the rest deadpan renderings
# of the score), played by {glue:text}`fx_performers`. Its split is therefore closest to the
# piece split of development, whose folds hold out whole music groups. The systems:
#
# - **training mean** and **performer mean**: the identity references, which know nothing of
#   the performance (the second knows who plays);
# - **MIDI forest** and **audio forest**: the final models `percepiano predict` ships,
#   with the same descriptors, forest settings and training versions of the sound;
# - **LightGBM**: the best single learner of {ref}`chapter-week3`, on the MIDI and audio
#   descriptors, its settings chosen on an inner validation split among a grid that was, with
#   the learner and its fixed settings, picked by probing the development piece folds: the
#   exam is the first place it meets music no choice of it has seen.
#
# The paired comparisons take as reference the system with the best development R² of this
# same run, chosen before the exam's labels were read: {glue:text}`fx_reference`. The
# networks (the listener, the hybrid) and the stacks that use them are not examined here:
# training them on every development segment is the cost of a GPU profile, and on the
# development part ({numref}`fig-w4-systems`) {glue:text}`fx_networks`. The exam was read at
# commit {glue:text}`fx_commit`, and {glue:text}`fx_status`.

# %% tags=["hide-input"]
oof = res.oof
dev = oof[oof.part == "development"].drop(columns="part")
dev_summary = stats.summarise(page.y, dev, ["system"], page.units["piece"], page.excerpts,
                              list(results.METRICS), page.n_boot, deadpan=page.deadpan)
exam_summary = pd.DataFrame(m["summary"])
display(plots.table(say.side_by_side(dev_summary, exam_summary),
                    f"Each system's {res.provenance['config']['folds']}-fold piece-split "
                    "cross-validation on the development part beside its one score on the "
                    f"final exam; {stats.LEVEL:.0%} intervals over music groups (which "
                    "intervals: the text below)."))
plots.glue_figure("fig_fx", say.exam_figure(dev_summary, exam_summary))
dev_groups = page.units["piece"].loc[dev.index.unique()].nunique()
display(Markdown(say.gap_text(dev_summary, exam_summary, m["reference"]) + " "
                 + say.interval_text(dev_summary, exam_summary, dev_groups,
                                     m["exam"]["music_groups"])))
paired = pd.DataFrame(m["paired"])
display(Markdown(tally(paired, f"{m['reference']} on the exam") + " "
                 + say.power_text(paired, m["exam"]["music_groups"]) + " "
                 + say.reach_text(m["exam"]["music_groups"], len(paired))))

# %% [markdown]
# ```{glue:figure} fig_fx
# :name: fig-fx
#
# Pooled R² (left) and within-excerpt pairwise accuracy (right) of each examined system, on
# the development cross-validation and on the final exam, with {glue:text}`level:.0%`
# intervals over music groups (the text before the figure says which).
# ```
#
# ## What saw the exam before it was locked

# %% tags=["hide-input"]
history = exam.history()
display(Markdown(say.caveat(history, len(exam.final_exam_names()))))
display(plots.table(history[["what", "kind", "segments", "exam_segments", "remade_by"]],
                    f"What saw the exam before it was drawn at commit {exam.lock_commit()[:8]}: "
                    "each choice or stored result, the segments it used and how many of them "
                    "are now in the exam, and the experiment that has since made it again "
                    "inside the development folds (none where blank)."))
display(plots.table(say.ledger_table(exam.reads(res.profile)),
                    f"Every read of the final exam in the {res.profile} profile (the ledger "
                    "beside these results)."))

# %% [markdown]
# ## Beside the published results
#
# The published numbers come from other splits, other inputs and other models; they stand
# beside ours to place them, not as a like-for-like comparison. PercePiano's own model reads
# the performance MIDI aligned to its score and was measured on a piece split of all the
# segments {cite}`park2024percepiano`; the frozen MuQ probe reads audio rendered with
# another piano and was measured on a random split of excerpts {cite}`dhiman2026audio`,
# which holds out neither the music nor the performer; our development numbers are the
# piece-split cross-validation of the same recipes in the exam's own run, and the exam's
# are above.

# %% tags=["hide-input"]
ours = say.our_rows(dev_summary, exam_summary, res.provenance["config"]["folds"])
display(plots.table(say.published_beside(published_table(), ours),
                    "Published pooled R² on PercePiano, each on its own split, beside ours; "
                    "the leave-work-out numbers of every system are in the work-split table of "
                    "the week-4 chapter."))
glue("fx_wall_min", res.provenance.get("wall_time_s", 0.0) / 60, display=False)

# %% [markdown]
# Reading the exam took {glue:text}`fx_wall_min:.1f` minutes in the {glue:text}`profile`
# profile on this machine, most of it the development cross-validation beside it.
