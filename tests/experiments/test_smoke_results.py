"""The mechanical guard on stored results: every experiment, run again in the smoke profile,
reproduces the smoke results committed under ``results/smoke/`` (``percepiano verify --all
--profile smoke``). A change that moves an experiment's numbers fails here, naming the
experiment, until its ``version`` is bumped and its smoke results are stored again (then its
quick results are due too: ``percepiano run NAME``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from percepiano import experiments
from percepiano.data import exam

COMMITTED = Path(__file__).resolve().parents[2] / "results"
# every experiment but the benchmarks (they measure the machine) and the final exam (read once)
NAMES = sorted(n for n, e in experiments.REGISTRY.items()
               if not e.benchmark and n != exam.EXPERIMENT)


def test_the_smoke_results_of_every_experiment_are_committed():
    missing = [n for n in NAMES if experiments.find(n, "smoke", COMMITTED) is None]
    assert not missing, (f"no current smoke results committed for {', '.join(missing)}: "
                         f"percepiano run {' '.join(missing)} --profile smoke, then commit "
                         "results/smoke/")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_a_smoke_run_reproduces_the_committed_numbers(name, smoke_run):
    committed = experiments.find(name, "smoke", COMMITTED)
    if committed is None:
        pytest.fail(f"no current smoke results committed for {name}")
    diffs = experiments.differences(committed, smoke_run(name))
    assert not diffs, (
        f"{name}: {len(diffs)} numbers moved from the committed smoke results "
        f"(atol {experiments.get(name).atol:g}):\n  " + "\n  ".join(diffs[:15])
        + f"\nIf the change is meant to move them, bump {name}'s version, then "
        f"`percepiano run {name} --profile smoke` and `percepiano run {name}` (quick) from a "
        "clean commit, and commit both results.")
