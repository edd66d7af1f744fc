"""The experiments behind the book: the results store (``store``) and one module per chapter,
named like the chapter's file (``book/ast.py`` <-> ``experiments/ast.py``; the Phase 2 chapter
has a second, ``phase2_explain``; the final results chapter's is ``results``, the one that
reads the locked final exam), plus ``networks``,
the networks that the week-2 and week-3 chapters fit, and ``bench``, the speed benchmark,
which ``run --all`` leaves out.

Importing this package registers every chapter's experiments in ``store.REGISTRY``; the chapter
modules import ``store`` only, never this package, so no module imports its importer.
"""

from percepiano.experiments.reproduce import compare, differences, verify
from percepiano.experiments.store import (
    REGISTRY,
    Experiment,
    Results,
    code_changes,
    experiment,
    find,
    get,
    load,
    plan,
    provenance_table,
    results_path,
    run,
    status,
    stored,
)

# each chapter's module registers its experiments when imported, in the book's order
from percepiano.experiments import data, baselines, ast, week1, listener, week2, week3  # noqa: E402,F401,I001  isort: skip
from percepiano.experiments import interpret, transcription, phase2, phase2_explain, week4  # noqa: E402,F401,I001  isort: skip
from percepiano.experiments import results  # noqa: E402,F401,I001  isort: skip
# and the speed benchmark (`percepiano bench`), which measures the machine, not the data
from percepiano.experiments import bench  # noqa: E402,F401,I001  isort: skip

__all__ = ["REGISTRY", "Experiment", "Results", "code_changes", "compare", "differences",
           "experiment", "find", "get", "load", "plan", "provenance_table", "results_path", "run",
           "status", "stored", "verify"]
